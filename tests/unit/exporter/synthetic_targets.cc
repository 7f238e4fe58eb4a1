#include "tests/unit/exporter/synthetic_targets.h"

#include <unistd.h>

#include <cstdio>

namespace llm_exporter::testing {

std::vector<probes::ProbeSpec> SyntheticSpecs(int count) {
  std::vector<probes::ProbeSpec> specs;
  for (int i = 0; i < count; ++i) {
    probes::ProbeSpec spec;
    char name[32];
    std::snprintf(name, sizeof name, "target-%03d", i);
    spec.vendor.name = "vendor-" + std::to_string(i % 10);
    spec.vendor.api = config::WireApi::kOpenAi;
    spec.probe.name = name;
    spec.probe.vendor = spec.vendor.name;
    spec.probe.model = std::string("model-") + name;
    spec.probe.stream = true;
    spec.probe.interval = std::chrono::minutes(1);
    spec.probe.timeout = std::chrono::seconds(30);
    specs.push_back(spec);
  }
  return specs;
}

void FeedDay(exporter::ProbeStore& store, const std::vector<probes::ProbeSpec>& specs,
             std::chrono::system_clock::time_point now) {
  constexpr int kRuns = 24 * 60;
  const auto minute = std::chrono::floor<std::chrono::minutes>(now);
  for (size_t t = 0; t < specs.size(); ++t) {
    for (int i = kRuns - 1; i >= 0; --i) {
      probes::ProbeResult r;
      r.target = specs[t].probe.name;
      r.stream = true;
      r.started_at = minute - std::chrono::minutes(i);
      r.http_status = 200;
      r.success = !((t % 7 == 0 && i % 97 == 3) || (t == 0 && i == 0));
      if (!r.success) {
        r.failure = probes::ProbeFailure::kTimeout;
        r.message = "no reply within 30s";
        r.log = {"POST https://vendor.example/v1/chat/completions", "timeout after 30s"};
      }
      r.timings.total = 0.2 + 0.001 * static_cast<double>((i * 7 + static_cast<int>(t)) % 300);
      r.timings.first_token = r.timings.total / 2;
      r.output_tokens_per_second = 50;
      store.OnResult(specs[t], r);
    }
  }
}

size_t ResidentBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace llm_exporter::testing
