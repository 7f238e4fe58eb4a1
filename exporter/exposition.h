#pragma once

// Prometheus text exposition format 0.0.4. Our own writer rather than
// prometheus-cpp's TextSerializer: it appends to one string with
// std::to_chars instead of going through a locale-aware ostream, which makes a
// 200-target scrape several times cheaper.

#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

#include "meter/families.h"

namespace llm_exporter::exporter {

// Families without metrics are left out.
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

// The builders of scrape-time series, for the exporter's own.
using meter::LabelPairs;
using meter::NewFamily;
using meter::Sample;

}  // namespace llm_exporter::exporter
