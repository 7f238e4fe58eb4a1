#include "meter/traffic_metrics.h"

#include <algorithm>
#include <limits>
#include <set>

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

// The entry of `map` for the key made of `parts`, created at 0 on first use;
// the lookup itself copies no string.
template <class Map, class... Parts>
typename Map::mapped_type& Entry(Map& map, const Parts&... parts) {
  auto found = map.find(std::make_tuple(std::string_view(parts)...));
  if (found == map.end()) {
    found = map.emplace(typename Map::key_type(std::string(parts)...), typename Map::mapped_type{})
                .first;
  }
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

void TrafficMetrics::Record(const TrafficSample& s) {
  std::lock_guard lock(mutex_);
  if (vendors_known_ && vendors_.count(s.vendor) == 0) return;
  ++Entry(requests_, s.vendor, s.model, s.endpoint, s.code, s.source);
  Entry(duration_, s.vendor, s.model, s.endpoint, s.source)
      .Observe(DurationBuckets(), s.duration_seconds);
  if (s.ttft_seconds) {
    Entry(ttft_, s.vendor, s.model, s.source).Observe(TtftBuckets(), *s.ttft_seconds);
  }
  if (s.time_per_output_token_seconds) {
    Entry(tpot_, s.vendor, s.model, s.source)
        .Observe(TimePerOutputTokenBuckets(), *s.time_per_output_token_seconds);
  }
  if (s.usage_missing_reason) {
    ++Entry(usage_missing_, s.vendor, s.model, s.source, *s.usage_missing_reason);
    int64_t& estimated = Entry(cost_estimated_nano_usd_, s.vendor, s.model, s.source);
    estimated = pricing::SatAdd(estimated, std::max<int64_t>(0, s.estimated_cost_nano_usd));
    return;
  }
  if (!s.usage_present) return;  // an error reply: nothing was billed
  const pricing::Usage& u = s.usage;
  // Counters never go backwards: every sum saturates.
  auto add = [](int64_t& to, int64_t delta) {
    to = pricing::SatAdd(to, std::max<int64_t>(0, delta));
  };
  for (auto [type, count] : pricing::CountsByType(u)) {
    add(Entry(tokens_, s.vendor, s.model, s.source, type), count);
  }
  if (s.cost_nano_usd) {
    add(Entry(cost_nano_usd_, s.vendor, s.model, s.source), *s.cost_nano_usd);
  } else {
    ++Entry(unpriced_, s.vendor, s.model, s.source);
    Entry(cost_nano_usd_, s.vendor, s.model, s.source);
  }
}

void TrafficMetrics::RecordUsageMissing(const std::string& vendor, const std::string& model,
                                        const std::string& source, const std::string& reason,
                                        int64_t estimated_nano_usd) {
  std::lock_guard lock(mutex_);
  if (vendors_known_ && vendors_.count(vendor) == 0) return;
  ++usage_missing_[{vendor, model, source, reason}];
  int64_t& estimated = cost_estimated_nano_usd_[{vendor, model, source}];
  estimated = pricing::SatAdd(estimated, std::max<int64_t>(0, estimated_nano_usd));
}

void TrafficMetrics::AddInFlight(const std::string& vendor, int delta) {
  std::lock_guard lock(mutex_);
  const bool known = !vendors_known_ || vendors_.count(vendor) > 0;
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
  Vms key{vendor, model, source};
  cost_nano_usd_.try_emplace(key, 0);
  unpriced_.try_emplace(key, 0);
  cost_estimated_nano_usd_.try_emplace(key, 0);
  for (const char* reason : kUsageMissingReasons) {
    usage_missing_.try_emplace({vendor, model, source, reason}, 0);
  }
  in_flight_.try_emplace(vendor, 0);
}

void TrafficMetrics::RetainVendors(const std::vector<std::string>& vendors) {
  std::set<std::string> keep(vendors.begin(), vendors.end());
  std::lock_guard lock(mutex_);
  vendors_ = keep;
  vendors_known_ = true;
  auto prune = [&keep](auto& map) {
    for (auto it = map.begin(); it != map.end();) {
      it = keep.count(std::get<0>(it->first)) ? std::next(it) : map.erase(it);
    }
  };
  prune(requests_);
  prune(duration_);
  prune(ttft_);
  prune(tpot_);
  prune(tokens_);
  prune(cost_nano_usd_);
  prune(unpriced_);
  prune(usage_missing_);
  prune(cost_estimated_nano_usd_);
  // A removed vendor's requests still in flight keep its count (so that they
  // end at 0, not -1, should a later reload bring the vendor back).
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    it = keep.count(it->first) || it->second != 0 ? std::next(it) : in_flight_.erase(it);
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
  for (const auto& [k, v] : requests_) {
    auto& [vendor, model, endpoint, code, source] = k;
    requests.metric.push_back(counter(static_cast<double>(v),
                                      {L("code", code), L("endpoint", endpoint), L("model", model),
                                       L("source", source), L("vendor", vendor)}));
  }
  out.push_back(std::move(requests));

  MetricFamily duration =
      NewFamily("llm_request_duration_seconds", "Duration of LLM API requests, to the last byte.",
                MetricType::Histogram);
  for (const auto& [k, h] : duration_) {
    auto& [vendor, model, endpoint, source] = k;
    duration.metric.push_back(histogram(
        h, DurationBuckets(),
        {L("endpoint", endpoint), L("model", model), L("source", source), L("vendor", vendor)}));
  }
  out.push_back(std::move(duration));

  MetricFamily ttft =
      NewFamily("llm_time_to_first_token_seconds", "Time to the first token of streaming requests.",
                MetricType::Histogram);
  for (const auto& [k, h] : ttft_) ttft.metric.push_back(histogram(h, TtftBuckets(), vms(k)));
  out.push_back(std::move(ttft));

  MetricFamily tpot = NewFamily("llm_time_per_output_token_seconds",
                                "Time per output token after the first, of streaming requests.",
                                MetricType::Histogram);
  for (const auto& [k, h] : tpot_) {
    tpot.metric.push_back(histogram(h, TimePerOutputTokenBuckets(), vms(k)));
  }
  out.push_back(std::move(tpot));

  MetricFamily tokens = NewFamily("llm_tokens_total",
                                  "Tokens billed, by type; reasoning is the part of output spent "
                                  "reasoning (not extra).",
                                  MetricType::Counter);
  for (const auto& [k, v] : tokens_) {
    auto& [vendor, model, source, type] = k;
    tokens.metric.push_back(
        counter(static_cast<double>(v),
                {L("model", model), L("source", source), L("type", type), L("vendor", vendor)}));
  }
  out.push_back(std::move(tokens));

  MetricFamily cost = NewFamily(
      "llm_cost_usd_total", "Cost of priced requests in USD, from the price tables (exact sum).",
      MetricType::Counter);
  for (const auto& [k, v] : cost_nano_usd_) {
    cost.metric.push_back(counter(static_cast<double>(v) / 1e9, vms(k)));
  }
  out.push_back(std::move(cost));

  MetricFamily unpriced =
      NewFamily("llm_unpriced_requests_total", "Requests with usage but no price for their model.",
                MetricType::Counter);
  for (const auto& [k, v] : unpriced_)
    unpriced.metric.push_back(counter(static_cast<double>(v), vms(k)));
  out.push_back(std::move(unpriced));

  MetricFamily missing = NewFamily(
      "llm_usage_missing_total", "Replies that ended without a usage report.", MetricType::Counter);
  for (const auto& [k, v] : usage_missing_) {
    auto& [vendor, model, source, reason] = k;
    missing.metric.push_back(counter(
        static_cast<double>(v),
        {L("model", model), L("reason", reason), L("source", source), L("vendor", vendor)}));
  }
  out.push_back(std::move(missing));

  MetricFamily estimated = NewFamily(
      "llm_cost_estimated_usd_total",
      "Upper bound of the cost of replies that ended without usage (the vendor may have billed "
      "them), in USD; not part of llm_cost_usd_total.",
      MetricType::Counter);
  for (const auto& [k, v] : cost_estimated_nano_usd_) {
    estimated.metric.push_back(counter(static_cast<double>(v) / 1e9, vms(k)));
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
