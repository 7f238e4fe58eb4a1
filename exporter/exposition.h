#pragma once

// Prometheus text exposition format 0.0.4. Our own writer rather than
// prometheus-cpp's TextSerializer: it appends to one string with
// std::to_chars instead of going through a locale-aware ostream, which makes a
// 200-target scrape several times cheaper.

#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

namespace llm_exporter::exporter {

// Families without metrics are left out.
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

// Builders for series computed at scrape time.
using LabelPairs = std::vector<std::pair<std::string, std::string>>;
prometheus::MetricFamily NewFamily(std::string name, std::string help, prometheus::MetricType type);
// A sample for a gauge or counter family (both value fields are set).
prometheus::ClientMetric Sample(double value, const LabelPairs& labels = {});

}  // namespace llm_exporter::exporter
