#pragma once

// A burst of a vendor's bytes being handed over (a libcurl action, or one
// read of the proxy's own HTTP/1.1 client): what the client side asks to run
// later meanwhile (the write of what the burst produced, say) runs at its
// end, before the event loop turns again, so a reply's head and body leave in
// one write and no extra turn of the loop. One per event loop.

#include <functional>
#include <vector>

namespace llm_exporter::proxy {

class Burst {
 public:
  bool active() const { return active_; }
  // Only while active().
  void Defer(std::function<void()> task) { deferred_.push_back(std::move(task)); }

  // Runs `work`, then whatever it deferred (and what that deferred).
  template <class Work>
  void Run(Work&& work) {
    const bool outer = !active_;
    active_ = true;
    work();
    if (!outer) return;  // the outermost run drains
    while (!deferred_.empty()) {
      std::vector<std::function<void()>> tasks;
      tasks.swap(deferred_);
      for (auto& task : tasks) task();
    }
    active_ = false;
  }

 private:
  bool active_ = false;
  std::vector<std::function<void()>> deferred_;
};

}  // namespace llm_exporter::proxy
