#pragma once

// A burst of a vendor's bytes being handed over (a libcurl action, or one
// read of the proxy's own HTTP/1.1 client): what the client side asks to run
// later meanwhile (the write of what the burst produced, say) runs at its
// end, before the event loop turns again, so a reply's head and body leave in
// one write and no extra turn of the loop. One per event loop.

#include <functional>
#include <memory>
#include <vector>

namespace llm_exporter::proxy {

class Burst {
 public:
  bool active() const { return active_; }
  // Only while active(). `hold` (the caller's own shared_ptr, say) lives
  // until `task` has run; a task that captures only a pointer is stored
  // without an allocation.
  void Defer(std::shared_ptr<const void> hold, std::function<void()> task) {
    deferred_.push_back({std::move(hold), std::move(task)});
  }

  // Runs `work`, then whatever it deferred (and what that deferred).
  template <class Work>
  void Run(Work&& work) {
    const bool outer = !active_;
    active_ = true;
    work();
    if (!outer) return;  // the outermost run drains
    while (!deferred_.empty()) {
      running_.swap(deferred_);  // both keep their capacity
      for (Task& task : running_) task.run();
      running_.clear();
    }
    active_ = false;
  }

 private:
  struct Task {
    std::shared_ptr<const void> hold;
    std::function<void()> run;
  };
  bool active_ = false;
  std::vector<Task> deferred_;
  std::vector<Task> running_;
};

}  // namespace llm_exporter::proxy
