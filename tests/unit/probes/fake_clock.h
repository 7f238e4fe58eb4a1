#pragma once

// A clock for tests: monotonic time stands still until Set() moves it; wall
// time is 2025-08-02 10:00 UTC plus the same offset.

#include <atomic>
#include <chrono>

#include "base/clock.h"

namespace llm_exporter::testing {

class FakeClock final : public base::Clock {
 public:
  std::chrono::steady_clock::time_point Monotonic() const override { return base_ + offset(); }
  std::chrono::system_clock::time_point Wall() const override {
    using namespace std::chrono_literals;
    return std::chrono::sys_days{std::chrono::year{2025} / 8 / 2} + 10h + offset();
  }
  std::chrono::milliseconds offset() const { return std::chrono::milliseconds(offset_ms_.load()); }
  void Set(std::chrono::milliseconds offset) { offset_ms_ = offset.count(); }

 private:
  std::chrono::steady_clock::time_point base_ = std::chrono::steady_clock::now();
  std::atomic<int64_t> offset_ms_{0};
};

}  // namespace llm_exporter::testing
