#include "meter/traffic_metrics.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "meter/families.h"

namespace llm_exporter::meter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<double> Doubling(double first, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i) out.push_back(first * (1 << i));
  return out;
}

// The entry of `items` (sorted by their first fields) for `key`, created
// with `value` on first use.
template <class Items, class Value, class... Parts>
Value& SortedEntry(Items& items, Value value, const Parts&... key) {
  constexpr size_t kParts = sizeof...(Parts);
  const auto key_of = [](const auto& item) {
    return [&item]<size_t... I>(std::index_sequence<I...>) {
      return std::make_tuple(std::string_view(std::get<I>(item))...);
    }
    (std::make_index_sequence<kParts>());
  };
  const auto wanted = std::make_tuple(std::string_view(key)...);
  auto it = std::lower_bound(items.begin(), items.end(), wanted,
                             [&](const auto& item, const auto& k) { return key_of(item) < k; });
  if (it == items.end() || key_of(*it) != wanted) {
    it = items.insert(it, {std::string(key)..., std::move(value)});
  }
  return std::get<kParts>(*it);
}

// The entry of `map` for `key`, created at 0 on first use.
int64_t& CountOf(std::map<std::string, int64_t, std::less<>>& map, std::string_view key) {
  auto found = map.find(key);
  if (found == map.end()) found = map.emplace(std::string(key), 0).first;
  return found->second;
}

ClientMetric::Label L(const std::string& name, const std::string& value) {
  ClientMetric::Label label;
  label.name = name;
  label.value = value;
  return label;
}

}  // namespace

const std::vector<double>& DurationBuckets() {
  static const std::vector<double> buckets = Doubling(0.01, 14);  // 0.01 ... 81.92
  return buckets;
}

const std::vector<double>& TtftBuckets() {
  static const std::vector<double> buckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                              0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};
  return buckets;
}

const std::vector<double>& TimePerOutputTokenBuckets() {
  static const std::vector<double> buckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                              0.3,  0.4,   0.5,  0.75,  1.0, 2.5};
  return buckets;
}

bool TrafficMetrics::Known(std::string_view vendor) const {
  return !vendors_known_ || vendors_.contains(vendor);
}

TrafficMetrics::Series& TrafficMetrics::SeriesOf(std::string_view vendor, std::string_view model,
                                                 std::string_view source) {
  const auto key = std::make_tuple(vendor, model, source);
  auto found = series_.find(key);
  if (found == series_.end()) {
    found = series_.emplace(Vms(vendor, model, source), Series{}).first;
  }
  return found->second;
}

void TrafficMetrics::Record(const TrafficSample& s) {
  std::lock_guard lock(mutex_);
  if (!Known(s.vendor)) return;
  Series& series = SeriesOf(s.vendor, s.model, s.source);
  ++SortedEntry(series.requests, int64_t{0}, s.endpoint, s.code);
  SortedEntry(series.duration, Histogram{}, s.endpoint)
      .Observe(DurationBuckets(), s.duration_seconds);
  if (s.ttft_seconds) {
    if (!series.ttft) series.ttft.emplace();
    series.ttft->Observe(TtftBuckets(), *s.ttft_seconds);
  }
  if (s.time_per_output_token_seconds) {
    if (!series.tpot) series.tpot.emplace();
    series.tpot->Observe(TimePerOutputTokenBuckets(), *s.time_per_output_token_seconds);
  }
  // Counters never go backwards: every sum saturates.
  auto add = [](std::optional<int64_t>& to, int64_t delta) {
    to = pricing::SatAdd(to.value_or(0), std::max<int64_t>(0, delta));
  };
  if (s.usage_missing_reason) {
    return BookUsageMissing(series, *s.usage_missing_reason, s.estimated_cost_nano_usd);
  }
  if (!s.usage_present) return;  // an error reply: nothing was billed
  const auto counts = pricing::CountsByType(s.usage);
  for (size_t i = 0; i < counts.size(); ++i) add(series.tokens[i], counts[i].count);
  if (s.cost_nano_usd) {
    add(series.cost_nano_usd, *s.cost_nano_usd);
  } else {
    add(series.unpriced, 1);
    add(series.cost_nano_usd, 0);
  }
}

void TrafficMetrics::RecordUsageMissing(const std::string& vendor, const std::string& model,
                                        const std::string& source, const std::string& reason,
                                        int64_t estimated_nano_usd) {
  std::lock_guard lock(mutex_);
  if (!Known(vendor)) return;
  BookUsageMissing(SeriesOf(vendor, model, source), reason, estimated_nano_usd);
}

void TrafficMetrics::BookUsageMissing(Series& series, std::string_view reason,
                                      int64_t estimated_nano_usd) {
  ++CountOf(series.usage_missing, reason);
  series.cost_estimated_nano_usd = pricing::SatAdd(series.cost_estimated_nano_usd.value_or(0),
                                                   std::max<int64_t>(0, estimated_nano_usd));
}

void TrafficMetrics::AddInFlight(const std::string& vendor, int delta) {
  std::lock_guard lock(mutex_);
  const bool known = Known(vendor);
  auto it = in_flight_.find(vendor);
  if (!known && it == in_flight_.end()) return;
  int64_t& count = it == in_flight_.end() ? in_flight_[vendor] : it->second;
  count += delta;
  // A vendor a reload removed is kept while its requests drain, then dropped.
  if (!known && count == 0) in_flight_.erase(vendor);
}

void TrafficMetrics::Touch(const std::string& vendor, const std::string& model,
                           const std::string& source) {
  std::lock_guard lock(mutex_);
  Series& series = SeriesOf(vendor, model, source);
  if (!series.cost_nano_usd) series.cost_nano_usd = 0;
  if (!series.unpriced) series.unpriced = 0;
  if (!series.cost_estimated_nano_usd) series.cost_estimated_nano_usd = 0;
  for (const char* reason : kUsageMissingReasons) series.usage_missing.try_emplace(reason, 0);
  in_flight_.try_emplace(vendor, 0);
}

void TrafficMetrics::RetainVendors(const std::vector<std::string>& vendors) {
  std::set<std::string, std::less<>> keep(vendors.begin(), vendors.end());
  std::lock_guard lock(mutex_);
  vendors_ = keep;
  vendors_known_ = true;
  for (auto it = series_.begin(); it != series_.end();) {
    it = keep.contains(std::get<0>(it->first)) ? std::next(it) : series_.erase(it);
  }
  // A removed vendor's requests still in flight keep its count (so that they
  // end at 0, not -1, should a later reload bring the vendor back).
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    it = keep.contains(it->first) || it->second != 0 ? std::next(it) : in_flight_.erase(it);
  }
}

std::vector<MetricFamily> TrafficMetrics::Collect() const {
  std::lock_guard lock(mutex_);
  std::vector<MetricFamily> out;
  auto counter = [](double value, std::vector<ClientMetric::Label> labels) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    return m;
  };
  auto histogram = [](const Histogram& h, const std::vector<double>& bounds,
                      std::vector<ClientMetric::Label> labels) {
    return h.ToMetric(bounds, std::move(labels));
  };
  auto vms = [](const Vms& k) {
    return std::vector<ClientMetric::Label>{L("model", std::get<1>(k)), L("source", std::get<2>(k)),
                                            L("vendor", std::get<0>(k))};
  };

  MetricFamily requests =
      NewFamily("llm_requests_total", "LLM API requests seen, by outcome.", MetricType::Counter);
  for (const auto& [k, series] : series_) {
    auto& [vendor, model, source] = k;
    for (const auto& [endpoint, code, v] : series.requests) {
      requests.metric.push_back(counter(
          static_cast<double>(v), {L("code", code), L("endpoint", endpoint), L("model", model),
                                   L("source", source), L("vendor", vendor)}));
    }
  }
  out.push_back(std::move(requests));

  MetricFamily duration =
      NewFamily("llm_request_duration_seconds", "Duration of LLM API requests, to the last byte.",
                MetricType::Histogram);
  for (const auto& [k, series] : series_) {
    auto& [vendor, model, source] = k;
    for (const auto& [endpoint, h] : series.duration) {
      duration.metric.push_back(histogram(
          h, DurationBuckets(),
          {L("endpoint", endpoint), L("model", model), L("source", source), L("vendor", vendor)}));
    }
  }
  out.push_back(std::move(duration));

  MetricFamily ttft =
      NewFamily("llm_time_to_first_token_seconds", "Time to the first token of streaming requests.",
                MetricType::Histogram);
  for (const auto& [k, series] : series_) {
    if (series.ttft) ttft.metric.push_back(histogram(*series.ttft, TtftBuckets(), vms(k)));
  }
  out.push_back(std::move(ttft));

  MetricFamily tpot = NewFamily("llm_time_per_output_token_seconds",
                                "Time per output token after the first, of streaming requests.",
                                MetricType::Histogram);
  for (const auto& [k, series] : series_) {
    if (series.tpot) {
      tpot.metric.push_back(histogram(*series.tpot, TimePerOutputTokenBuckets(), vms(k)));
    }
  }
  out.push_back(std::move(tpot));

  MetricFamily tokens = NewFamily("llm_tokens_total",
                                  "Tokens billed, by type; reasoning is the part of output spent "
                                  "reasoning (not extra).",
                                  MetricType::Counter);
  const auto types = pricing::CountsByType({});
  for (const auto& [k, series] : series_) {
    auto& [vendor, model, source] = k;
    for (size_t i = 0; i < types.size(); ++i) {
      if (!series.tokens[i]) continue;
      tokens.metric.push_back(counter(
          static_cast<double>(*series.tokens[i]),
          {L("model", model), L("source", source), L("type", types[i].type), L("vendor", vendor)}));
    }
  }
  out.push_back(std::move(tokens));

  MetricFamily cost = NewFamily(
      "llm_cost_usd_total", "Cost of priced requests in USD, from the price tables (exact sum).",
      MetricType::Counter);
  for (const auto& [k, series] : series_) {
    if (series.cost_nano_usd) {
      cost.metric.push_back(counter(static_cast<double>(*series.cost_nano_usd) / 1e9, vms(k)));
    }
  }
  out.push_back(std::move(cost));

  MetricFamily unpriced =
      NewFamily("llm_unpriced_requests_total", "Requests with usage but no price for their model.",
                MetricType::Counter);
  for (const auto& [k, series] : series_) {
    if (series.unpriced) {
      unpriced.metric.push_back(counter(static_cast<double>(*series.unpriced), vms(k)));
    }
  }
  out.push_back(std::move(unpriced));

  MetricFamily missing = NewFamily(
      "llm_usage_missing_total", "Replies that ended without a usage report.", MetricType::Counter);
  for (const auto& [k, series] : series_) {
    auto& [vendor, model, source] = k;
    for (const auto& [reason, v] : series.usage_missing) {
      missing.metric.push_back(counter(
          static_cast<double>(v),
          {L("model", model), L("reason", reason), L("source", source), L("vendor", vendor)}));
    }
  }
  out.push_back(std::move(missing));

  MetricFamily estimated = NewFamily(
      "llm_cost_estimated_usd_total",
      "Upper bound of the cost of replies that ended without usage (the vendor may have billed "
      "them), in USD; not part of llm_cost_usd_total.",
      MetricType::Counter);
  for (const auto& [k, series] : series_) {
    if (series.cost_estimated_nano_usd) {
      estimated.metric.push_back(
          counter(static_cast<double>(*series.cost_estimated_nano_usd) / 1e9, vms(k)));
    }
  }
  out.push_back(std::move(estimated));

  MetricFamily in_flight =
      NewFamily("llm_requests_in_flight", "LLM API requests in flight.", MetricType::Gauge);
  for (const auto& [vendor, v] : in_flight_) {
    ClientMetric m;
    m.label = {L("vendor", vendor)};
    m.gauge.value = static_cast<double>(v);
    in_flight.metric.push_back(m);
  }
  out.push_back(std::move(in_flight));
  return out;
}

}  // namespace llm_exporter::meter
