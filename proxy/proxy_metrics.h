#pragma once

// The proxy's own series (docs/metrics.md), beside the traffic series it
// feeds through the meter: llm_proxy_overhead_seconds (time in the proxy, not
// waiting for the vendor), llm_client_cost_usd_total (exact cost per client
// key name, bounded by the client keys file) and
// llm_proxy_rejected_requests_total (requests the proxy answered itself with
// an error, by endpoint and code: they never reached a vendor).

#include <prometheus/collectable.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "meter/families.h"

namespace llm_exporter::proxy {

class ProxyMetrics : public prometheus::Collectable {
 public:
  static const std::vector<double>& OverheadBuckets();

  void ObserveOverhead(const std::string& vendor, const std::string& endpoint, double seconds);
  void AddClientCost(const std::string& client, const std::string& vendor, int64_t nano_usd);
  void CountRejected(const std::string& endpoint, int code);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mutex_;
  // vendor, endpoint; std::less<>: a request's lookup copies no string.
  std::map<std::tuple<std::string, std::string>, meter::HistogramCounts, std::less<>> overhead_;
  std::map<std::pair<std::string, std::string>, int64_t> client_cost_;  // client, vendor
  std::map<std::pair<std::string, int>, int64_t> rejected_;             // endpoint, code
};

}  // namespace llm_exporter::proxy
