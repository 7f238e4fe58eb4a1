#pragma once

// Builders for series computed at scrape time (prometheus-cpp's data model,
// without its registry): the meter's traffic series and the exporter's
// derived ones use them.

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llm_exporter::meter {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;
prometheus::MetricFamily NewFamily(std::string name, std::string help, prometheus::MetricType type);
// A sample for a gauge or counter family (both value fields are set).
prometheus::ClientMetric Sample(double value, const LabelPairs& labels = {});

// A histogram's counts between scrapes, cumulated only when rendered.
struct HistogramCounts {
  std::vector<uint64_t> counts;  // per bucket of `bounds`
  uint64_t count = 0;
  double sum = 0;
  void Observe(const std::vector<double>& bounds, double value);
  prometheus::ClientMetric ToMetric(const std::vector<double>& bounds,
                                    std::vector<prometheus::ClientMetric::Label> labels) const;
};

}  // namespace llm_exporter::meter
