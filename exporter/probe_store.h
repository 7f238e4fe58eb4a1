#pragma once

// Receives probe results (the scheduler's observer, after the meter booked
// them) and turns them into the llm_probe_* series (docs/metrics.md) and the
// per-target history that the status page shows. Scheduled results are cached
// between runs; on-demand (/probe) runs only feed their own history.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exporter/probe_history.h"
#include "probes/chat/scheduler.h"

namespace llm_exporter::exporter {

struct ProbeHistoryEntry {
  std::chrono::system_clock::time_point at;
  probes::ProbeResult result;
};

class ProbeStore : public probes::ProbeObserver {
 public:
  explicit ProbeStore(prometheus::Registry& registry);

  // Creates the series of new targets and removes those of targets that are
  // gone (a reload).
  void SetTargets(const std::vector<probes::ProbeSpec>& specs);
  void OnResult(const probes::ProbeSpec& spec, const probes::ProbeResult& result) override;

  struct TargetView {
    probes::ProbeSpec spec;
    std::vector<ProbeHistoryEntry> recent;     // newest first
    std::vector<ProbeHistoryEntry> failures;   // newest first, kept after later successes
    std::vector<ProbeHistoryEntry> on_demand;  // /probe runs, newest first
  };
  // Every target, or only `only` when given.
  std::vector<TargetView> Snapshot(std::optional<std::string> only = std::nullopt) const;

  // What the status page's first screen shows of a target: cheap to take for
  // hundreds of targets (no logs, no run tables).
  struct TargetOverview {
    probes::ProbeSpec spec;
    std::optional<ProbeHistoryEntry> last;  // the last scheduled run, without its log
    std::vector<ProbeHistory::Slice> slices;
    // Start times of the failures whose logs are kept (newest first).
    std::vector<std::chrono::system_clock::time_point> kept_failures;
  };
  std::vector<TargetOverview> Overview(std::chrono::system_clock::time_point now,
                                       std::chrono::minutes slice) const;
  // What the 24 h histories hold, in bytes.
  size_t HistoryBytes() const;

 private:
  struct Series {
    prometheus::Gauge* success;
    std::map<std::string, prometheus::Gauge*> duration;  // by phase
    prometheus::Histogram* latency;
    prometheus::Histogram* ttft;
    prometheus::Gauge* tokens_per_second;
    prometheus::Gauge* status_code;
    prometheus::Counter* probes;
    std::map<std::string, prometheus::Counter*> failures;  // by reason
    prometheus::Gauge* last_run;
    prometheus::Gauge* last_success;
    prometheus::Labels labels;
  };
  struct Target {
    probes::ProbeSpec spec;
    Series series;
    std::deque<ProbeHistoryEntry> recent;
    std::deque<ProbeHistoryEntry> failures;
    std::deque<ProbeHistoryEntry> on_demand;
    ProbeHistory history;  // scheduled runs, 24 h
    std::optional<bool> last_success;
  };
  Series AddSeries(const probes::ProbeSpec& spec);
  // The result gauges appear with a target's first run, not before: a 0
  // before any run would read as "down".
  void AddResultGauges(Series& series, bool stream);
  void RemoveSeries(Series& series);

  prometheus::Family<prometheus::Gauge>& success_;
  prometheus::Family<prometheus::Gauge>& duration_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Histogram>& ttft_;
  prometheus::Family<prometheus::Gauge>& tokens_per_second_;
  prometheus::Family<prometheus::Gauge>& status_code_;
  prometheus::Family<prometheus::Counter>& probes_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Gauge>& last_run_;
  prometheus::Family<prometheus::Gauge>& last_success_;
  prometheus::Histogram& schedule_delay_;

  mutable std::mutex mutex_;
  std::map<std::string, Target> targets_;
};

// The probe_* series of one /probe run, from a fresh registry, as text.
std::string RenderProbeResult(const probes::ProbeResult& result);

}  // namespace llm_exporter::exporter
