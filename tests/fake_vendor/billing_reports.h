#pragma once

// The fake vendor's billing endpoints (docs/vendor-apis.md sections 1-6), derived
// from the usage and cost it actually served (a DayCounters of reported usage):
//
// - bucketed reports, one bucket per UTC day, paginated with opaque cursors:
//   OpenAI GET /v1/organization/usage/completions and /v1/organization/costs,
//   Anthropic GET /v1/organizations/usage_report/messages and /cost_report;
// - point-in-time figures: the one-api/new-api dashboard (subscription, usage),
//   DeepSeek's balance, OpenRouter's credits and key.
//
// Money is written as exact decimal text: OpenAI dollars and the gateways'
// cents as JSON numbers, Anthropic cents and DeepSeek balances as strings.
// The fake keeps usage per UTC day only, so a bucket that starts mid-day (an
// unaligned OpenAI start_time) still holds that whole day's usage.
// Pure functions: the server does auth, clocks and the reporting delay.

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "tests/fake_vendor/billing_query.h"
#include "tests/fake_vendor/usage_ledger.h"

namespace llm_exporter::fake_vendor {

enum class BillingReport { kOpenAiUsage, kOpenAiCosts, kAnthropicUsage, kAnthropicCosts };

struct ReportQuery {
  BillingReport report = BillingReport::kOpenAiUsage;
  std::chrono::sys_days first_day;  // the range's first bucket
  std::chrono::sys_days last_day;   // inclusive; before first_day: no buckets at all
  // OpenAI: the requested start_time when it is not a UTC midnight; the first
  // bucket then starts there (as the real API does).
  std::optional<int64_t> first_bucket_start;
  std::chrono::sys_days page_day;  // first bucket of the requested page
  int64_t limit = 7;               // buckets per page the client asked for
  std::set<std::string, std::less<>> group_by;
  std::set<std::string, std::less<>> models;  // usage reports' filter; empty: all
};

// Validates a report's query string by the vendor's documented rules (required
// times, bucket_width, group_by values, limit range, page cursor). Only
// bucket_width=1d is implemented. The range ends at end_time / ending_at
// (exclusive; default `now`) but never after the UTC day of `now`. The error
// is the 400 message.
std::expected<ReportQuery, std::string> ParseReportQuery(BillingReport report,
                                                         const QueryParams& params,
                                                         std::chrono::system_clock::time_point now);

// One page: min(query.limit, page_size) day buckets from query.page_day on.
// A day without usage is a bucket with "results": []. Grouped by model (usage)
// or line item/description (costs) there is one result per model (per token
// kind for costs: cached input and 5m / 1h cache writes only where there were
// such tokens), sorted by model; ungrouped, one result summing the day.
std::string RenderReport(const ReportQuery& query, const DayCounters& days, int64_t page_size);

// Lifetime figures ("used" = cost of everything reported so far).
std::string RenderDashboardSubscription(int64_t quota_nano_usd);
std::string RenderDashboardUsage(int64_t used_nano_usd);  // total_usage in cents
std::string RenderDeepSeekBalance(int64_t quota_nano_usd, int64_t used_nano_usd,
                                  std::optional<int64_t> cny_balance_nano);
std::string RenderOpenRouterCredits(int64_t credits_nano_usd, int64_t used_nano_usd);

// OpenRouter's key usage windows: all time, the UTC day, the UTC week (from
// Monday) and the UTC month of `today`.
struct KeySpend {
  int64_t total = 0;
  int64_t daily = 0;
  int64_t weekly = 0;
  int64_t monthly = 0;
};
KeySpend SpendWindows(const DayCounters& days, std::chrono::sys_days today);
std::string RenderOpenRouterKey(std::string_view label, int64_t limit_nano_usd,
                                const KeySpend& spend);
std::string RenderOpenRouterError(int code, std::string_view message);

// "sk-or-v1-au7...890" style: the first 11 and last 3 characters of a long key.
std::string MaskKey(std::string_view key);

}  // namespace llm_exporter::fake_vendor
