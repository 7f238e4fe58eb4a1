#pragma once

// What the fake vendor has served, for GET /control/stats now and fake billing
// endpoints later. Token usage is kept per UTC day and model (day -> model ->
// counters); request outcomes per route. Only completed replies count as served
// usage (FaultStillServes); failed requests only bump their route's `failed`.
// input_tokens counts every prompt token including cached ones (OpenAI's
// prompt_tokens, Anthropic's input_tokens + cache_read_input_tokens).
// Thread-safe: one mutex guards everything.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "tests/fake_vendor/faults.h"

namespace llm_exporter::fake_vendor {

struct TokenCounters {
  int64_t requests = 0;
  int64_t input_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;

  TokenCounters& operator+=(const TokenCounters& other);
  bool operator==(const TokenCounters&) const = default;
};

struct RouteCounters {
  int64_t requests = 0;
  int64_t served = 0;
  int64_t failed = 0;

  bool operator==(const RouteCounters&) const = default;
};

// std::less<> so lookups by string_view need no temporary string.
using ModelCounters = std::map<std::string, TokenCounters, std::less<>>;

struct LedgerSnapshot {
  std::map<std::string, ModelCounters, std::less<>> days;  // "YYYY-MM-DD" -> model -> counters
  std::map<std::string, RouteCounters, std::less<>> routes;

  TokenCounters Totals() const;
  ModelCounters PerModel() const;  // summed over days
};

class UsageLedger {
 public:
  void CountRequest(std::string_view route);
  // A served chat reply; `usage.requests` is ignored (always 1).
  void RecordServed(std::string_view day, std::string_view model, std::string_view route,
                    const TokenCounters& usage);
  // A served request that carries no tokens (e.g. GET /v1/models).
  void RecordServed(std::string_view route);
  void RecordFailed(std::string_view route);
  void Reset();
  LedgerSnapshot Snapshot() const;

 private:
  mutable std::mutex mutex_;
  LedgerSnapshot data_;
};

// "YYYY-MM-DD" of the UTC day containing `time`.
std::string UtcDay(std::chrono::system_clock::time_point time);

// The GET /control/stats body.
std::string RenderStatsJson(const LedgerSnapshot& snapshot, const FaultSpec& active_fault);

}  // namespace llm_exporter::fake_vendor
