// ProbeStore's series, rendered at scrape time from the values it keeps, and
// the series of one /probe run.

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "exporter/exposition.h"
#include "exporter/probe_store.h"

namespace llm_exporter::exporter {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr const char* kPhases[] = {"resolve",    "connect",     "tls",
                                   "first_byte", "first_token", "total"};

double Phase(const probes::ProbeTimings& t, std::string_view phase) {
  if (phase == "resolve") return t.resolve;
  if (phase == "connect") return t.connect;
  if (phase == "tls") return t.tls;
  if (phase == "first_byte") return t.first_byte;
  if (phase == "first_token") return t.first_token.value_or(0);
  return t.total;
}

prometheus::ClientMetric WithLabels(prometheus::ClientMetric metric, const LabelPairs& labels) {
  for (const auto& [name, value] : labels) metric.label.push_back({name, value});
  return metric;
}

}  // namespace

std::vector<MetricFamily> ProbeStore::Collect() const {
  MetricFamily probes = NewFamily("llm_probes_total", "Probe runs sent.", MetricType::Counter);
  MetricFamily failures = NewFamily("llm_probe_failures_total",
                                    "Failed or skipped probe runs by reason.", MetricType::Counter);
  MetricFamily success = NewFamily(
      "llm_probe_success", "Whether the last scheduled probe run succeeded (cached between runs).",
      MetricType::Gauge);
  MetricFamily duration = NewFamily(
      "llm_probe_duration_seconds",
      "Phases of the last probe run: resolve, connect and tls are phase durations; first_byte, "
      "first_token and total count from the start (cached between runs).",
      MetricType::Gauge);
  MetricFamily tokens_per_second =
      NewFamily("llm_probe_output_tokens_per_second",
                "Output speed of the last streaming probe run after its first token (cached "
                "between runs).",
                MetricType::Gauge);
  MetricFamily status_code = NewFamily(
      "llm_probe_http_status_code",
      "HTTP status of the last probe run, 0 when none (cached between runs).", MetricType::Gauge);
  MetricFamily last_run = NewFamily("llm_probe_last_run_timestamp_seconds",
                                    "When the last probe run started.", MetricType::Gauge);
  MetricFamily last_success =
      NewFamily("llm_probe_last_success_timestamp_seconds",
                "When the last successful probe run started.", MetricType::Gauge);
  MetricFamily latency = NewFamily("llm_probe_latency_seconds",
                                   "Total duration of every probe run.", MetricType::Histogram);
  MetricFamily ttft =
      NewFamily("llm_probe_time_to_first_token_seconds",
                "Time to first token of streaming probe runs.", MetricType::Histogram);
  MetricFamily delay = NewFamily("llm_exporter_probe_schedule_delay_seconds",
                                 "How late scheduled probe runs started.", MetricType::Histogram);
  std::lock_guard lock(mutex_);
  for (const auto& [name, t] : targets_) {
    const Series& s = *t.series;
    // Label names in order, as every series of ours prints them.
    const LabelPairs labels = {
        {"model", t.spec.probe.model}, {"target", name}, {"vendor", t.spec.vendor.name}};
    probes.metric.push_back(Sample(static_cast<double>(s.probes), labels));
    for (const auto& [reason, count] : s.failures) {
      failures.metric.push_back(
          Sample(static_cast<double>(count), {{"model", t.spec.probe.model},
                                              {"reason", reason},
                                              {"target", name},
                                              {"vendor", t.spec.vendor.name}}));
    }
    latency.metric.push_back(WithLabels(s.latency.Collect(), labels));
    if (s.ttft) ttft.metric.push_back(WithLabels(s.ttft->Collect(), labels));
    if (!s.last) continue;  // no result gauges before the first run: a 0 would read as "down"
    const probes::ProbeResult& r = *s.last;
    if (s.success_visible) success.metric.push_back(Sample(r.success ? 1 : 0, labels));
    for (const char* phase : kPhases) {
      if (!t.spec.probe.stream && std::string_view(phase) == "first_token") continue;
      duration.metric.push_back(Sample(Phase(r.timings, phase), {{"model", t.spec.probe.model},
                                                                 {"phase", phase},
                                                                 {"target", name},
                                                                 {"vendor", t.spec.vendor.name}}));
    }
    if (t.spec.probe.stream) {
      tokens_per_second.metric.push_back(Sample(s.tokens_per_second, labels));
    }
    status_code.metric.push_back(Sample(static_cast<double>(r.http_status), labels));
    last_run.metric.push_back(
        Sample(std::chrono::duration<double>(r.started_at.time_since_epoch()).count(), labels));
    last_success.metric.push_back(Sample(s.last_success_at, labels));
  }
  delay.metric.push_back(schedule_delay_.Collect());
  return {probes,       failures, success, duration, tokens_per_second, status_code, last_run,
          last_success, latency,  ttft,    delay};
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
