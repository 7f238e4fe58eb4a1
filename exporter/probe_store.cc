#include "exporter/probe_store.h"

#include "base/log.h"
#include "meter/traffic_metrics.h"

namespace llm_exporter::exporter {
namespace {

constexpr size_t kHistory = 10;

double ToSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

template <typename T>
void PushBounded(std::deque<T>& queue, T entry) {
  queue.push_front(std::move(entry));
  if (queue.size() > kHistory) queue.pop_back();
}

}  // namespace

ProbeStore::Series::Series(bool stream) : latency(meter::DurationBuckets()) {
  if (stream) ttft.emplace(meter::TtftBuckets());
  for (probes::ProbeFailure f : probes::kAllProbeFailures) {
    failures[std::string(probes::ProbeFailureName(f))] = 0;
  }
}

ProbeStore::ProbeStore()
    : schedule_delay_({0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}) {}

void ProbeStore::SetTargets(const std::vector<probes::ProbeSpec>& specs) {
  std::lock_guard lock(mutex_);
  std::map<std::string, Target> next;
  for (const auto& spec : specs) {
    auto old = targets_.find(spec.probe.name);
    const bool same_model = old != targets_.end() &&
                            old->second.spec.vendor.name == spec.vendor.name &&
                            old->second.spec.probe.model == spec.probe.model;
    Target target;
    if (same_model) {
      target = std::move(old->second);
      // Same target and model: its runs and history stay; its series start
      // afresh only when streaming was switched (other series).
      if (target.spec.probe.stream != spec.probe.stream) {
        target.series = std::make_unique<Series>(spec.probe.stream);
      }
    } else {
      target.series = std::make_unique<Series>(spec.probe.stream);
    }
    target.spec = spec;
    next.emplace(spec.probe.name, std::move(target));
  }
  targets_ = std::move(next);
}

void ProbeStore::OnResult(const probes::ProbeSpec& spec, const probes::ProbeResult& r) {
  std::lock_guard lock(mutex_);
  auto it = targets_.find(r.target);
  if (it == targets_.end()) return;  // removed by a reload meanwhile
  Target& t = it->second;
  if (t.spec.Fingerprint() != spec.Fingerprint()) return;  // of a probe since changed
  ProbeHistoryEntry entry{r.started_at, r};
  if (r.on_demand) {
    // Kept apart: callers of /probe must not push the scheduled history's
    // failures out, nor set the scheduled series.
    PushBounded(t.on_demand, std::move(entry));
    return;
  }
  t.history.Add(r.started_at, r);
  if (!r.success) PushBounded(t.failures, entry);
  PushBounded(t.recent, std::move(entry));
  schedule_delay_.Observe(r.schedule_delay_seconds);
  Series& s = *t.series;
  if (!r.success) ++s.failures[std::string(probes::ProbeFailureName(r.failure))];
  if (!r.sent) {
    // Skipped by the budget: the last result is no longer news. The success
    // series goes away (stale in Prometheus) rather than stay green or turn
    // red, until a run is sent again.
    s.success_visible = false;
    return;
  }
  // Failures are logged at warn when a target turns bad, then at debug.
  if (!r.success && t.last_success.value_or(true)) {
    LOG_WARN("Probe failed", {"target", r.target},
             {"reason", std::string(probes::ProbeFailureName(r.failure))}, {"err", r.message});
  } else if (r.success && !t.last_success.value_or(true)) {
    LOG_INFO("Probe recovered", {"target", r.target});
  }
  t.last_success = r.success;
  ++s.probes;
  s.last = r;
  s.last->log.clear();  // the series need none of the text
  s.last->answer.clear();
  s.success_visible = true;
  if (r.success) s.last_success_at = ToSeconds(r.started_at);
  if (r.output_tokens_per_second) s.tokens_per_second = *r.output_tokens_per_second;
  s.latency.Observe(r.timings.total);
  if (s.ttft && r.timings.first_token) s.ttft->Observe(*r.timings.first_token);
}

std::vector<ProbeStore::TargetView> ProbeStore::Snapshot(std::optional<std::string> only) const {
  std::lock_guard lock(mutex_);
  std::vector<TargetView> out;
  for (const auto& [name, t] : targets_) {
    if (only && name != *only) continue;
    out.push_back({t.spec,
                   {t.recent.begin(), t.recent.end()},
                   {t.failures.begin(), t.failures.end()},
                   {t.on_demand.begin(), t.on_demand.end()}});
  }
  return out;
}

std::vector<ProbeStore::TargetOverview> ProbeStore::Overview(
    std::chrono::system_clock::time_point now, std::chrono::minutes slice) const {
  std::lock_guard lock(mutex_);
  std::vector<TargetOverview> out;
  out.reserve(targets_.size());
  for (const auto& [name, t] : targets_) {
    TargetOverview& o = out.emplace_back();
    o.spec = t.spec;
    if (!t.recent.empty()) {
      o.last.emplace(t.recent.front().at, probes::ProbeResult{});
      // Everything but the log and the answer text.
      probes::ProbeResult& r = o.last->result;
      const probes::ProbeResult& from = t.recent.front().result;
      r.target = from.target;
      r.success = from.success;
      r.failure = from.failure;
      r.sent = from.sent;
      r.http_status = from.http_status;
      r.timings = from.timings;
      r.stream = from.stream;
      r.output_tokens_per_second = from.output_tokens_per_second;
      r.started_at = from.started_at;
      r.message = from.message;
    }
    o.slices = t.history.Slices(now, slice);
    for (const auto& f : t.failures) o.kept_failures.push_back(f.at);
  }
  return out;
}

size_t ProbeStore::HistoryBytes() const {
  std::lock_guard lock(mutex_);
  size_t bytes = 0;
  for (const auto& [name, t] : targets_) bytes += t.history.MemoryBytes();
  return bytes;
}

}  // namespace llm_exporter::exporter
