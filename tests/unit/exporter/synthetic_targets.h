#pragma once

// Synthetic probe targets with a day of history, for the status page's tests
// and its benchmark (bench/status_page_bench.cc).

#include <chrono>
#include <vector>

#include "exporter/probe_store.h"

namespace llm_exporter::testing {

// `count` streaming targets named "target-000"... on ten vendors.
std::vector<probes::ProbeSpec> SyntheticSpecs(int count);

// One scheduled run a minute for the 24 h before `now`, per target: every
// seventh target fails one run in 97 (timeout); target-000 fails its latest.
void FeedDay(exporter::ProbeStore& store, const std::vector<probes::ProbeSpec>& specs,
             std::chrono::system_clock::time_point now);

// This process's resident set, in bytes (from /proc/self/statm).
size_t ResidentBytes();

}  // namespace llm_exporter::testing
