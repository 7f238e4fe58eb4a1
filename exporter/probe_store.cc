#include "exporter/probe_store.h"

#include <prometheus/text_serializer.h>

#include <sstream>

#include "base/log.h"
#include "exporter/exposition.h"
#include "meter/traffic_metrics.h"

namespace llm_exporter::exporter {
namespace {

constexpr size_t kHistory = 10;
const char* const kPhases[] = {"resolve", "connect", "tls", "first_byte", "first_token", "total"};

double ToSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

ProbeStore::ProbeStore(prometheus::Registry& registry)
    : success_(prometheus::BuildGauge()
                   .Name("llm_probe_success")
                   .Help("Whether the last scheduled probe run succeeded (cached between runs).")
                   .Register(registry)),
      duration_(prometheus::BuildGauge()
                    .Name("llm_probe_duration_seconds")
                    .Help("Phases of the last probe run: resolve, connect and tls are phase "
                          "durations; first_byte, first_token and total count from the start "
                          "(cached between runs).")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("llm_probe_latency_seconds")
                   .Help("Total duration of every probe run.")
                   .Register(registry)),
      ttft_(prometheus::BuildHistogram()
                .Name("llm_probe_time_to_first_token_seconds")
                .Help("Time to first token of streaming probe runs.")
                .Register(registry)),
      tokens_per_second_(prometheus::BuildGauge()
                             .Name("llm_probe_output_tokens_per_second")
                             .Help("Output speed of the last streaming probe run after its first "
                                   "token (cached between runs).")
                             .Register(registry)),
      status_code_(prometheus::BuildGauge()
                       .Name("llm_probe_http_status_code")
                       .Help("HTTP status of the last probe run, 0 when none (cached between "
                             "runs).")
                       .Register(registry)),
      probes_(prometheus::BuildCounter()
                  .Name("llm_probes_total")
                  .Help("Probe runs sent.")
                  .Register(registry)),
      failures_(prometheus::BuildCounter()
                    .Name("llm_probe_failures_total")
                    .Help("Failed or skipped probe runs by reason.")
                    .Register(registry)),
      last_run_(prometheus::BuildGauge()
                    .Name("llm_probe_last_run_timestamp_seconds")
                    .Help("When the last probe run started.")
                    .Register(registry)),
      last_success_(prometheus::BuildGauge()
                        .Name("llm_probe_last_success_timestamp_seconds")
                        .Help("When the last successful probe run started.")
                        .Register(registry)),
      schedule_delay_(
          prometheus::BuildHistogram()
              .Name("llm_exporter_probe_schedule_delay_seconds")
              .Help("How late scheduled probe runs started.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.002, 0.005, 0.01, 0.02,
                                                               0.05, 0.1, 0.2, 0.5, 1, 2, 5})) {}

ProbeStore::Series ProbeStore::AddSeries(const probes::ProbeSpec& spec) {
  Series s{};
  s.labels = {
      {"target", spec.probe.name}, {"vendor", spec.vendor.name}, {"model", spec.probe.model}};
  s.latency = &latency_.Add(s.labels, meter::DurationBuckets());
  s.ttft = spec.probe.stream ? &ttft_.Add(s.labels, meter::TtftBuckets()) : nullptr;
  s.probes = &probes_.Add(s.labels);
  for (probes::ProbeFailure f : probes::kAllProbeFailures) {
    auto labels = s.labels;
    labels["reason"] = std::string(probes::ProbeFailureName(f));
    s.failures[labels["reason"]] = &failures_.Add(labels);
  }
  return s;
}

void ProbeStore::AddResultGauges(Series& s, bool stream) {
  if (s.success == nullptr) s.success = &success_.Add(s.labels);
  if (s.status_code != nullptr) return;
  for (const char* phase : kPhases) {
    if (!stream && std::string_view(phase) == "first_token") continue;
    auto labels = s.labels;
    labels["phase"] = phase;
    s.duration[phase] = &duration_.Add(labels);
  }
  s.tokens_per_second = stream ? &tokens_per_second_.Add(s.labels) : nullptr;
  s.status_code = &status_code_.Add(s.labels);
  s.last_run = &last_run_.Add(s.labels);
  s.last_success = &last_success_.Add(s.labels);
}

void ProbeStore::RemoveSeries(Series& s) {
  if (s.success != nullptr) success_.Remove(s.success);
  if (s.status_code != nullptr) {
    for (auto& [phase, g] : s.duration) duration_.Remove(g);
    if (s.tokens_per_second != nullptr) tokens_per_second_.Remove(s.tokens_per_second);
    status_code_.Remove(s.status_code);
    last_run_.Remove(s.last_run);
    last_success_.Remove(s.last_success);
  }
  latency_.Remove(s.latency);
  if (s.ttft != nullptr) ttft_.Remove(s.ttft);
  probes_.Remove(s.probes);
  for (auto& [reason, c] : s.failures) failures_.Remove(c);
}

void ProbeStore::SetTargets(const std::vector<probes::ProbeSpec>& specs) {
  std::lock_guard lock(mutex_);
  std::map<std::string, Target> next;
  for (const auto& spec : specs) {
    auto old = targets_.find(spec.probe.name);
    const bool same_model = old != targets_.end() &&
                            old->second.spec.vendor.name == spec.vendor.name &&
                            old->second.spec.probe.model == spec.probe.model;
    if (same_model && old->second.spec.probe.stream == spec.probe.stream) {
      Target target = std::move(old->second);
      target.spec = spec;
      targets_.erase(old);
      next.emplace(spec.probe.name, std::move(target));
      continue;
    }
    Target target;
    if (old != targets_.end()) {
      // Same target, same model, other series (streaming switched): the
      // series start afresh, the history of its runs stays.
      if (same_model) {
        target.recent = std::move(old->second.recent);
        target.failures = std::move(old->second.failures);
        target.history = std::move(old->second.history);
      }
      RemoveSeries(old->second.series);
      targets_.erase(old);
    }
    target.spec = spec;
    target.series = AddSeries(spec);
    next.emplace(spec.probe.name, std::move(target));
  }
  for (auto& [name, target] : targets_) RemoveSeries(target.series);
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
    t.on_demand.push_front(entry);
    if (t.on_demand.size() > kHistory) t.on_demand.pop_back();
    return;
  }
  t.history.Add(r.started_at, r);
  t.recent.push_front(entry);
  if (t.recent.size() > kHistory) t.recent.pop_back();
  if (!r.success) {
    t.failures.push_front(entry);
    if (t.failures.size() > kHistory) t.failures.pop_back();
  }
  schedule_delay_.Observe(r.schedule_delay_seconds);
  Series& s = t.series;
  if (!r.sent) {
    s.failures[std::string(probes::ProbeFailureName(r.failure))]->Increment();
    // Skipped by the budget: the last result is no longer news. The success
    // series goes away (stale in Prometheus) rather than stay green or turn
    // red, until a run is sent again.
    if (s.success != nullptr) {
      success_.Remove(s.success);
      s.success = nullptr;
    }
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
  AddResultGauges(s, spec.probe.stream);
  s.probes->Increment();
  s.success->Set(r.success ? 1 : 0);
  s.status_code->Set(static_cast<double>(r.http_status));
  s.duration["resolve"]->Set(r.timings.resolve);
  s.duration["connect"]->Set(r.timings.connect);
  s.duration["tls"]->Set(r.timings.tls);
  s.duration["first_byte"]->Set(r.timings.first_byte);
  if (auto it = s.duration.find("first_token"); it != s.duration.end()) {
    it->second->Set(r.timings.first_token.value_or(0));
  }
  s.duration["total"]->Set(r.timings.total);
  s.latency->Observe(r.timings.total);
  if (s.ttft != nullptr && r.timings.first_token) s.ttft->Observe(*r.timings.first_token);
  if (s.tokens_per_second != nullptr && r.output_tokens_per_second) {
    s.tokens_per_second->Set(*r.output_tokens_per_second);
  }
  if (!r.success) s.failures[std::string(probes::ProbeFailureName(r.failure))]->Increment();
  s.last_run->Set(ToSeconds(r.started_at));
  if (r.success) s.last_success->Set(ToSeconds(r.started_at));
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

std::string RenderProbeResult(const probes::ProbeResult& r) {
  prometheus::Registry registry;
  prometheus::BuildGauge()
      .Name("probe_success")
      .Help("Displays whether or not the probe was a success")
      .Register(registry)
      .Add({})
      .Set(r.success ? 1 : 0);
  prometheus::BuildGauge()
      .Name("probe_duration_seconds")
      .Help("Returns how long the probe took to complete in seconds")
      .Register(registry)
      .Add({})
      .Set(r.timings.total);
  auto& phases = prometheus::BuildGauge()
                     .Name("probe_http_duration_seconds")
                     .Help("Duration of http request by phase")
                     .Register(registry);
  phases.Add({{"phase", "resolve"}}).Set(r.timings.resolve);
  phases.Add({{"phase", "connect"}}).Set(r.timings.connect);
  phases.Add({{"phase", "tls"}}).Set(r.timings.tls);
  phases.Add({{"phase", "first_byte"}}).Set(r.timings.first_byte);
  phases.Add({{"phase", "first_token"}}).Set(r.timings.first_token.value_or(0));
  phases.Add({{"phase", "total"}}).Set(r.timings.total);
  prometheus::BuildGauge()
      .Name("probe_http_status_code")
      .Help("Response HTTP status code")
      .Register(registry)
      .Add({})
      .Set(static_cast<double>(r.http_status));
  if (r.timings.first_token) {
    prometheus::BuildGauge()
        .Name("probe_llm_time_to_first_token_seconds")
        .Help("Time from the start of the request to the first token")
        .Register(registry)
        .Add({})
        .Set(*r.timings.first_token);
  }
  prometheus::BuildGauge()
      .Name("probe_llm_output_tokens")
      .Help("Output tokens the vendor reported for this run")
      .Register(registry)
      .Add({})
      .Set(static_cast<double>(r.usage.output));
  prometheus::BuildGauge()
      .Name("probe_llm_cost_usd")
      .Help("What this run cost at the configured prices (0 when unpriced)")
      .Register(registry)
      .Add({})
      .Set(static_cast<double>(r.cost_nano_usd.value_or(0)) / 1e9);
  return SerializeText(registry.Collect());
}

}  // namespace llm_exporter::exporter
