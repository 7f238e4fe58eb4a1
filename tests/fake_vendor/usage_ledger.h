#pragma once

// What the fake vendor has served, for GET /control/stats and the fake billing
// endpoints. Token usage and its cost (integer nano-USD, priced at serve time by
// VendorPricer) are kept per UTC day and model (day -> model -> counters);
// request outcomes per route. Only completed replies count as served usage
// (FaultStillServes); failed requests only bump their route's `failed`.
// input_tokens counts every prompt token including cached reads and cache
// writes (OpenAI's prompt_tokens, Anthropic's input_tokens +
// cache_read_input_tokens + cache_creation_input_tokens); the cache writes are
// also counted apart by lifetime (only Anthropic replies have any).
//
// Billing endpoints see usage late, as real vendors report it: Reported() holds
// only replies served at least `report_delay` before the time asked about, while
// Snapshot() (the stats) holds everything at once.
// Thread-safe: one mutex guards everything.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fake_vendor/faults.h"

namespace llm_exporter::fake_vendor {

// The vendor's charge for served tokens in nano-USD, split the way line-item
// cost reports show it. The parts of one request always add up to its cost.
struct CostSplit {
  int64_t input = 0;  // uncached input tokens (no cache reads, no cache writes)
  int64_t cached_input = 0;
  int64_t output = 0;
  int64_t cache_write_5m = 0;
  int64_t cache_write_1h = 0;

  int64_t Total() const { return input + cached_input + output + cache_write_5m + cache_write_1h; }
  CostSplit& operator+=(const CostSplit& other);
  bool operator==(const CostSplit&) const = default;
};

struct TokenCounters {
  int64_t requests = 0;
  int64_t input_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_write_5m_tokens = 0;  // part of input_tokens
  int64_t cache_write_1h_tokens = 0;  // part of input_tokens
  CostSplit cost{};
  int64_t unpriced_requests = 0;  // served without a price row: cost 0

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
using DayCounters = std::map<std::string, ModelCounters, std::less<>>;  // "YYYY-MM-DD" -> ...

// Summed over every day and model.
TokenCounters Sum(const DayCounters& days);

struct LedgerSnapshot {
  DayCounters days;
  std::map<std::string, RouteCounters, std::less<>> routes;

  TokenCounters Totals() const;
  ModelCounters PerModel() const;  // summed over days
};

class UsageLedger {
 public:
  explicit UsageLedger(std::chrono::milliseconds report_delay = std::chrono::milliseconds(0));

  void CountRequest(std::string_view route);
  // A served chat reply; `usage.requests` is ignored (always 1). `day` is the UTC
  // day it was served on; `served_at` starts its reporting delay.
  void RecordServed(
      std::string_view day, std::string_view model, std::string_view route,
      const TokenCounters& usage,
      std::chrono::steady_clock::time_point served_at = std::chrono::steady_clock::now());
  // A served request that carries no tokens (e.g. GET /v1/models).
  void RecordServed(std::string_view route);
  void RecordFailed(std::string_view route);
  void Reset();
  LedgerSnapshot Snapshot() const;
  // Usage served at least report_delay before `now`: what billing reports show.
  DayCounters Reported(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Pending {
    std::chrono::steady_clock::time_point served_at;
    std::string day;
    std::string model;
    TokenCounters usage;
  };
  void FoldReported(std::chrono::steady_clock::time_point now);  // mutex_ held

  const std::chrono::milliseconds report_delay_;
  mutable std::mutex mutex_;
  LedgerSnapshot data_;
  DayCounters reported_;
  std::vector<Pending> pending_;  // served, not reported yet
};

// "YYYY-MM-DD" of the UTC day containing `time`.
std::string UtcDay(std::chrono::system_clock::time_point time);

// Price skew factors by model, as factor * 10^9 (1.5 = 1'500'000'000).
using SkewMap = std::map<std::string, int64_t, std::less<>>;

// The GET /control/stats body.
std::string RenderStatsJson(const LedgerSnapshot& snapshot, const FaultSpec& active_fault,
                            const SkewMap& price_skews = {});

}  // namespace llm_exporter::fake_vendor
