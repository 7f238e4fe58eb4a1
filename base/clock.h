#pragma once

// Time as the probes see it: monotonic for durations and schedules, UTC wall
// time for days and timestamps. Injected so tests can drive both.

#include <chrono>

namespace llm_exporter::base {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
  virtual std::chrono::system_clock::time_point Wall() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point Wall() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace llm_exporter::base
