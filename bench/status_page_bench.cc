// The status page with 200 targets and a day of one-minute runs each: how long
// it takes to render (the aim: under 50 ms), how large it is plain and
// gzipped, and what the history costs in memory.
//   build/bench/status_page_bench [targets] [renders] [--html FILE]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "base/log.h"
#include "exporter/gzip.h"
#include "exporter/status_page.h"
#include "tests/unit/exporter/synthetic_targets.h"

using namespace llm_exporter;

int main(int argc, char** argv) {
  int targets = 200;
  int renders = 50;
  std::string html_file;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--html" && i + 1 < argc) {
      html_file = argv[++i];
    } else {
      positional.push_back(arg);
    }
  }
  if (!positional.empty()) targets = std::max(1, std::atoi(positional[0].c_str()));
  if (positional.size() > 1) renders = std::max(1, std::atoi(positional[1].c_str()));
  base::Log().Configure(base::LogLevel::kError, base::LogFormat::kLogfmt);

  exporter::ProbeStore store;
  auto specs = testing::SyntheticSpecs(targets);
  store.SetTargets(specs);
  const auto now = std::chrono::system_clock::now();
  const size_t rss_before = testing::ResidentBytes();
  testing::FeedDay(store, specs, now);
  const size_t rss_after = testing::ResidentBytes();

  auto config = std::make_shared<config::Config>();
  for (int v = 0; v < 10; ++v) {
    config::VendorConfig vendor;
    vendor.name = "vendor-" + std::to_string(v);
    config->vendors.push_back(vendor);
  }
  std::vector<double> ms;
  std::string html;
  for (int i = 0; i < renders; ++i) {
    auto start = std::chrono::steady_clock::now();
    exporter::StatusPageData data;
    data.config = config;
    data.telemetry_path = "/metrics";
    data.now = now;
    data.overview = store.Overview(now, exporter::kStatusSlice);
    html = exporter::RenderStatusPage(data);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  auto gz = exporter::Gzip(html);
  std::printf("status page, %d targets x 1440 runs, %d renders (snapshot + HTML, no HTTP)\n",
              targets, renders);
  std::printf("  render median %.1f ms, p90 %.1f ms, max %.1f ms\n", ms[ms.size() / 2],
              ms[ms.size() * 9 / 10], ms.back());
  std::printf("  page %zu bytes, gzip %zu bytes\n", html.size(), gz ? gz->size() : 0);
  std::printf("  history %zu KiB; RSS growth while filling a day: %zu KiB\n",
              store.HistoryBytes() / 1024, (rss_after - rss_before) / 1024);
  if (!html_file.empty()) std::ofstream(html_file) << html;
  return 0;
}
