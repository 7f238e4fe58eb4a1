#include "proxy/proxy_metrics.h"

namespace llm_exporter::proxy {

using prometheus::ClientMetric;
using prometheus::MetricType;

const std::vector<double>& ProxyMetrics::OverheadBuckets() {
  static const std::vector<double> buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                              0.025,  0.05,    0.1,    0.25,  0.5,    1};
  return buckets;
}

void ProxyMetrics::ObserveOverhead(const std::string& vendor, const std::string& endpoint,
                                   double seconds) {
  std::lock_guard lock(mutex_);
  auto found =
      overhead_.find(std::make_tuple(std::string_view(vendor), std::string_view(endpoint)));
  if (found == overhead_.end()) found = overhead_.try_emplace({vendor, endpoint}).first;
  found->second.Observe(OverheadBuckets(), seconds);
}

void ProxyMetrics::AddClientCost(const std::string& client, const std::string& vendor,
                                 int64_t nano_usd) {
  std::lock_guard lock(mutex_);
  client_cost_[{client, vendor}] += nano_usd;
}

void ProxyMetrics::CountRejected(const std::string& endpoint, int code) {
  std::lock_guard lock(mutex_);
  ++rejected_[{endpoint, code}];
}

std::vector<prometheus::MetricFamily> ProxyMetrics::Collect() const {
  std::lock_guard lock(mutex_);
  auto label = [](std::string name, std::string value) {
    ClientMetric::Label l;
    l.name = std::move(name);
    l.value = std::move(value);
    return l;
  };
  std::vector<prometheus::MetricFamily> families;
  auto overhead = meter::NewFamily(
      "llm_proxy_overhead_seconds",
      "Time a proxied request spent in the proxy itself, excluding the wait for the vendor.",
      MetricType::Histogram);
  for (const auto& [key, counts] : overhead_) {
    overhead.metric.push_back(
        counts.ToMetric(OverheadBuckets(),
                        {label("endpoint", std::get<1>(key)), label("vendor", std::get<0>(key))}));
  }
  families.push_back(std::move(overhead));
  auto cost = meter::NewFamily(
      "llm_client_cost_usd_total",
      "Exact cost of proxied requests per client key name (from client_keys_file), in USD.",
      MetricType::Counter);
  for (const auto& [key, nano] : client_cost_) {
    cost.metric.push_back(meter::Sample(static_cast<double>(nano) / 1e9,
                                        {{"client", key.first}, {"vendor", key.second}}));
  }
  families.push_back(std::move(cost));
  auto rejected = meter::NewFamily(
      "llm_proxy_rejected_requests_total",
      "Requests the proxy answered with its own error (bad body, no route, bad client key, too "
      "large) without reaching a vendor.",
      MetricType::Counter);
  for (const auto& [key, count] : rejected_) {
    rejected.metric.push_back(
        meter::Sample(static_cast<double>(count),
                      {{"code", std::to_string(key.second)}, {"endpoint", key.first}}));
  }
  families.push_back(std::move(rejected));
  return families;
}

}  // namespace llm_exporter::proxy
