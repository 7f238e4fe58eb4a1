#pragma once

// The llm_requests_* / llm_tokens_total / llm_cost_usd_total family (docs/metrics.md),
// fed by the probes (source="probe") and the proxy (source="proxy"). Counts
// and money are kept as integers (cost in nano-USD) and only become floats in
// Collect(), so no float is ever summed.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "meter/families.h"
#include "pricing/usage.h"

namespace llm_exporter::meter {

struct TrafficSample {
  // Views of the caller's strings, read during Record only.
  std::string_view vendor;
  std::string_view model;
  std::string_view source;    // "probe" | "proxy"
  std::string_view endpoint;  // "chat_completions", "messages", ...
  std::string_view code;      // HTTP status, "0" when none came back
  double duration_seconds = 0;
  std::optional<double> ttft_seconds;
  std::optional<double> time_per_output_token_seconds;
  bool usage_present = false;
  pricing::Usage usage;
  std::optional<int64_t> cost_nano_usd;  // nullopt with usage: unpriced
  // The vendor may have billed this reply but its usage is unknown: why
  // (client_abort, upstream_reset, timeout, not_reported), and an upper bound
  // of its cost, counted apart from llm_cost_usd_total.
  std::optional<std::string_view> usage_missing_reason;
  int64_t estimated_cost_nano_usd = 0;
};

// The reasons of llm_usage_missing_total, all pre-set to 0.
inline constexpr const char* kUsageMissingReasons[] = {"client_abort", "upstream_reset", "timeout",
                                                       "not_reported"};

// Bucket bounds (OpenTelemetry GenAI semantic conventions).
const std::vector<double>& DurationBuckets();
const std::vector<double>& TtftBuckets();
const std::vector<double>& TimePerOutputTokenBuckets();

class TrafficMetrics : public prometheus::Collectable {
 public:
  void Record(const TrafficSample& sample);
  void AddInFlight(const std::string& vendor, int delta);
  // A request that may have been billed and whose reply we never read (no
  // latency to observe): llm_usage_missing_total and the estimate only.
  void RecordUsageMissing(const std::string& vendor, const std::string& model,
                          const std::string& source, const std::string& reason,
                          int64_t estimated_nano_usd);
  // Creates the counters of a (vendor, model, source) at 0, so that increase()
  // sees their first event, and the vendor's in-flight gauge.
  void Touch(const std::string& vendor, const std::string& model, const std::string& source);
  // Drops every series of vendors not in `vendors` (after a reload).
  void RetainVendors(const std::vector<std::string>& vendors);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  using Histogram = HistogramCounts;
  // Every series of one (vendor, model, source): a request's events are
  // booked with one lookup. A series exists once touched or observed.
  struct Series {
    std::vector<std::tuple<std::string, std::string, int64_t>> requests;  // endpoint, code: sorted
    std::vector<std::pair<std::string, Histogram>> duration;              // by endpoint: sorted
    std::optional<Histogram> ttft;
    std::optional<Histogram> tpot;
    // In pricing::CountsByType's order, one per type.
    std::array<std::optional<int64_t>, std::tuple_size_v<decltype(pricing::CountsByType({}))>>
        tokens;
    std::optional<int64_t> cost_nano_usd;
    std::optional<int64_t> unpriced;
    std::map<std::string, int64_t, std::less<>> usage_missing;  // by reason
    std::optional<int64_t> cost_estimated_nano_usd;
  };
  using Vms = std::tuple<std::string, std::string, std::string>;  // vendor, model, source
  Series& SeriesOf(std::string_view vendor, std::string_view model, std::string_view source);
  bool Known(std::string_view vendor) const;
  // A reply without usage: its reason counted, its estimate added apart.
  static void BookUsageMissing(Series& series, std::string_view reason, int64_t estimated_nano_usd);

  mutable std::mutex mutex_;
  // std::less<>: looked up by string_views, so a request's lookup copies no string.
  std::map<Vms, Series, std::less<>> series_;
  std::map<std::string, int64_t, std::less<>> in_flight_;
  // Vendors of the config in force: late events of removed vendors are dropped.
  std::set<std::string, std::less<>> vendors_;
  bool vendors_known_ = false;
};

}  // namespace llm_exporter::meter
