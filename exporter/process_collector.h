#pragma once

// The standard process_* metrics of Prometheus client libraries, read from
// /proc/self at scrape time. Reading our own procfs entries is the one piece
// of I/O a scrape does; it is local, bounded and what every client library does.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace llm_exporter::exporter {

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace llm_exporter::exporter
