#pragma once

// The llm_requests_* / llm_tokens_total / llm_cost_usd_total family (docs/metrics.md),
// fed by the probes (source="probe") and the proxy (source="proxy"). Counts
// and money are kept as integers (cost in nano-USD) and only become floats in
// Collect(), so no float is ever summed.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "meter/families.h"
#include "pricing/usage.h"

namespace llm_exporter::meter {

struct TrafficSample {
  std::string vendor;
  std::string model;
  std::string source;    // "probe" | "proxy"
  std::string endpoint;  // "chat_completions", "messages", ...
  std::string code;      // HTTP status, "0" when none came back
  double duration_seconds = 0;
  std::optional<double> ttft_seconds;
  std::optional<double> time_per_output_token_seconds;
  bool usage_present = false;
  pricing::Usage usage;
  std::optional<int64_t> cost_nano_usd;  // nullopt with usage: unpriced
  // The vendor may have billed this reply but its usage is unknown: why
  // (client_abort, upstream_reset, timeout, not_reported), and an upper bound
  // of its cost, counted apart from llm_cost_usd_total.
  std::optional<std::string> usage_missing_reason;
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
  using Vms = std::tuple<std::string, std::string, std::string>;  // vendor, model, source
  using Key4 = std::tuple<std::string, std::string, std::string, std::string>;
  using Key5 = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  // std::less<>: looked up by string_views, so a request's lookups copy no string.
  template <class Key, class Value>
  using Map = std::map<Key, Value, std::less<>>;

  mutable std::mutex mutex_;
  Map<Key5, int64_t> requests_;    // vendor, model, endpoint, code, source
  Map<Key4, Histogram> duration_;  // vendor, model, endpoint, source
  Map<Vms, Histogram> ttft_;
  Map<Vms, Histogram> tpot_;
  Map<Key4, int64_t> tokens_;  // vendor, model, source, type
  Map<Vms, int64_t> cost_nano_usd_;
  Map<Vms, int64_t> unpriced_;
  Map<Key4, int64_t> usage_missing_;  // vendor, model, source, reason
  Map<Vms, int64_t> cost_estimated_nano_usd_;
  std::map<std::string, int64_t> in_flight_;
  // Vendors of the config in force: late events of removed vendors are dropped.
  std::set<std::string> vendors_;
  bool vendors_known_ = false;
};

}  // namespace llm_exporter::meter
