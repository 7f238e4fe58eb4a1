#include "exporter/probe_history.h"

#include <algorithm>
#include <limits>

namespace llm_exporter::exporter {
namespace {

int64_t MinuteOf(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::minutes>(t).time_since_epoch().count();
}

void Bump(uint16_t& counter) {
  if (counter < std::numeric_limits<uint16_t>::max()) ++counter;
}

}  // namespace

void ProbeHistory::Add(std::chrono::system_clock::time_point started_at,
                       const probes::ProbeResult& r) {
  const int64_t minute = MinuteOf(started_at);
  if (minute < 0 || minute > std::numeric_limits<int32_t>::max()) return;
  if (slots_.empty()) slots_.resize(kMinutes);
  Slot& slot = slots_[static_cast<size_t>(minute % kMinutes)];
  if (slot.minute != minute) {
    if (slot.minute > minute) return;  // older than what the slot holds now
    slot = Slot{};
    slot.minute = static_cast<int32_t>(minute);
  }
  if (!r.sent) {
    Bump(slot.skipped);
    return;
  }
  Bump(r.success ? slot.ok : slot.failed);
  if (!r.success) slot.last_failure = static_cast<uint8_t>(r.failure);
  slot.latency_sum += static_cast<float>(r.timings.total);
  if (r.timings.first_token) {
    Bump(slot.ttft_runs);
    slot.ttft_sum += static_cast<float>(*r.timings.first_token);
  }
}

std::vector<ProbeHistory::Slice> ProbeHistory::Slices(std::chrono::system_clock::time_point now,
                                                      std::chrono::minutes length) const {
  const int64_t per_slice = std::clamp<int64_t>(length.count(), 1, 60);
  auto floor_to_slice = [per_slice](int64_t minute) {
    return minute - ((minute % per_slice) + per_slice) % per_slice;
  };
  const int64_t now_minute = MinuteOf(now);
  const int64_t day_start = now_minute - kDayMinutes + 1;
  const int64_t first_start = floor_to_slice(day_start);
  const int64_t last_start = floor_to_slice(now_minute);
  std::vector<Slice> out;
  out.reserve(static_cast<size_t>((last_start - first_start) / per_slice + 1));
  for (int64_t begin = first_start; begin <= last_start; begin += per_slice) {
    Slice& slice = out.emplace_back();
    slice.start = std::chrono::system_clock::time_point(std::chrono::minutes(begin));
    if (slots_.empty()) continue;
    double latency = 0;
    double ttft = 0;
    int ttft_runs = 0;
    for (int64_t m = std::max(begin, day_start); m < begin + per_slice && m <= now_minute; ++m) {
      if (m < 0) continue;
      const Slot& slot = slots_[static_cast<size_t>(m % kMinutes)];
      if (slot.minute != m) continue;
      slice.ok += slot.ok;
      slice.failed += slot.failed;
      slice.skipped += slot.skipped;
      if (slot.failed > 0) {
        slice.last_failure = static_cast<probes::ProbeFailure>(slot.last_failure);
      }
      latency += slot.latency_sum;
      ttft += slot.ttft_sum;
      ttft_runs += slot.ttft_runs;
    }
    if (const int sent = slice.ok + slice.failed; sent > 0) {
      slice.mean_latency_seconds = latency / sent;
    }
    if (ttft_runs > 0) slice.mean_ttft_seconds = ttft / ttft_runs;
  }
  return out;
}

size_t ProbeHistory::MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

}  // namespace llm_exporter::exporter
