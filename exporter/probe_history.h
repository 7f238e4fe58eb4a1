#pragma once

// 24 hours of one probe target's scheduled runs, one slot per UTC minute, for
// the status page's uptime bar and sparklines. Bounded whatever the interval:
// 1,500 slots of 24 bytes (25 h, about 35 KB a target, allocated with its
// first run), so 200 targets hold about 7 MB. Runs of the same minute are
// summed; a slot older than that is reused. Not thread-safe: its owner locks.

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "probes/chat/probe_result.h"

namespace llm_exporter::exporter {

class ProbeHistory {
 public:
  static constexpr int kDayMinutes = 24 * 60;
  // A day, and the part of a slice of up to an hour that starts before it.
  static constexpr int kMinutes = kDayMinutes + 60;

  // A scheduled run that started at `started_at` (sent or skipped).
  void Add(std::chrono::system_clock::time_point started_at, const probes::ProbeResult& result);

  // What happened in [start, start + length).
  struct Slice {
    std::chrono::system_clock::time_point start;
    int ok = 0;
    int failed = 0;
    int skipped = 0;  // not sent (budget)
    probes::ProbeFailure last_failure = probes::ProbeFailure::kNone;
    std::optional<double> mean_latency_seconds;  // of sent runs
    std::optional<double> mean_ttft_seconds;     // of streaming runs that saw a token
  };
  // The 24 h up to `now` (its minute and the 1,439 before) in slices of
  // `length` (1 to 60 minutes) that start on whole multiples of it, oldest
  // first: the first slice counts only its minutes inside the day, the last
  // holds `now`.
  std::vector<Slice> Slices(std::chrono::system_clock::time_point now,
                            std::chrono::minutes length) const;

  size_t MemoryBytes() const;

 private:
  // 24 bytes: the minute it holds, run counts and sums for the means.
  struct Slot {
    int32_t minute = -1;  // minutes since the epoch; -1: never used
    uint16_t ok = 0, failed = 0, skipped = 0, ttft_runs = 0;
    uint8_t last_failure = 0;  // a ProbeFailure
    float latency_sum = 0, ttft_sum = 0;
  };
  std::vector<Slot> slots_;  // kMinutes once the first run arrives
};

}  // namespace llm_exporter::exporter
