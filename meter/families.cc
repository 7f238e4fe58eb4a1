#include "meter/families.h"

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

}  // namespace llm_exporter::meter
