#pragma once

// Builders for series computed at scrape time (prometheus-cpp's data model,
// without its registry): the meter's traffic series and the exporter's
// derived ones use them.

#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

namespace llm_exporter::meter {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;
prometheus::MetricFamily NewFamily(std::string name, std::string help, prometheus::MetricType type);
// A sample for a gauge or counter family (both value fields are set).
prometheus::ClientMetric Sample(double value, const LabelPairs& labels = {});

}  // namespace llm_exporter::meter
