#pragma once

// Receives probe results (the scheduler's observer, after the meter booked
// them) and keeps, per target, what the llm_probe_* series (docs/metrics.md)
// and the status page need: the last scheduled run, counts and histograms,
// the last runs and failures with their logs, and 24 h of history. The series
// are rendered at scrape time from these values (a Collectable), so a target
// a reload removed is simply no longer rendered. On-demand (/probe) runs only
// feed their own history.

#include <prometheus/collectable.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>

#include <deque>
#include <map>
#include <memory>
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

class ProbeStore : public probes::ProbeObserver, public prometheus::Collectable {
 public:
  ProbeStore();

  // Keeps the targets that stay (their values and history), starts new ones
  // at zero and drops the others (a reload).
  void SetTargets(const std::vector<probes::ProbeSpec>& specs);
  void OnResult(const probes::ProbeSpec& spec, const probes::ProbeResult& result) override;
  // The llm_probe_* families and llm_exporter_probe_schedule_delay_seconds.
  std::vector<prometheus::MetricFamily> Collect() const override;

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
  // A target's series as values.
  struct Series {
    explicit Series(bool stream);
    uint64_t probes = 0;                       // runs sent
    std::map<std::string, uint64_t> failures;  // by reason, every reason from 0
    // The last sent scheduled run: the result gauges exist from then on.
    std::optional<probes::ProbeResult> last;
    bool success_visible = false;  // hidden while runs are skipped by the budget
    double last_success_at = 0;    // start of the last successful run, epoch seconds
    double tokens_per_second = 0;  // of the last streaming run that measured it
    prometheus::Histogram latency;
    std::optional<prometheus::Histogram> ttft;  // streaming targets
  };
  struct Target {
    probes::ProbeSpec spec;
    std::unique_ptr<Series> series;
    std::deque<ProbeHistoryEntry> recent;
    std::deque<ProbeHistoryEntry> failures;
    std::deque<ProbeHistoryEntry> on_demand;
    ProbeHistory history;  // scheduled runs, 24 h
    std::optional<bool> last_success;
  };

  mutable std::mutex mutex_;
  std::map<std::string, Target> targets_;
  prometheus::Histogram schedule_delay_;
};

// The series of one /probe run, from a fresh registry, as text.
std::string RenderProbeResult(const probes::ProbeResult& result);

}  // namespace llm_exporter::exporter
