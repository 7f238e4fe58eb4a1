#include "meter/families.h"

#include <algorithm>
#include <limits>

namespace llm_exporter::meter {

prometheus::MetricFamily NewFamily(std::string name, std::string help,
                                   prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

prometheus::ClientMetric Sample(double value, const LabelPairs& labels) {
  prometheus::ClientMetric m;
  for (const auto& [name, label_value] : labels) {
    prometheus::ClientMetric::Label label;
    label.name = name;
    label.value = label_value;
    m.label.push_back(std::move(label));
  }
  m.gauge.value = value;
  m.counter.value = value;
  return m;
}

void HistogramCounts::Observe(const std::vector<double>& bounds, double value) {
  if (counts.empty()) counts.assign(bounds.size(), 0);
  auto it = std::lower_bound(bounds.begin(), bounds.end(), value);
  if (it != bounds.end()) ++counts[static_cast<size_t>(it - bounds.begin())];
  ++count;
  sum += value;
}

prometheus::ClientMetric HistogramCounts::ToMetric(
    const std::vector<double>& bounds, std::vector<prometheus::ClientMetric::Label> labels) const {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = count;
  m.histogram.sample_sum = sum;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts.empty() ? 0 : counts[i];
    prometheus::ClientMetric::Bucket bucket;
    bucket.upper_bound = bounds[i];
    bucket.cumulative_count = cumulative;
    m.histogram.bucket.push_back(bucket);
  }
  prometheus::ClientMetric::Bucket inf;
  inf.upper_bound = std::numeric_limits<double>::infinity();
  inf.cumulative_count = count;
  m.histogram.bucket.push_back(inf);
  return m;
}

}  // namespace llm_exporter::meter
