// The 24 h history behind the uptime bar: slices on whole quarter hours, runs
// counted where they started, nothing older than a day, a fixed size.

#include "exporter/probe_history.h"

#include <boost/test/unit_test.hpp>

using namespace llm_exporter;
using namespace std::chrono_literals;
using exporter::ProbeHistory;

namespace {

// 2026-03-01 12:07:30 UTC.
const auto kNow = std::chrono::system_clock::time_point(
    std::chrono::sys_days(std::chrono::year(2026) / 3 / 1) + 12h + 7min + 30s);

probes::ProbeResult Run(bool success, double seconds, std::optional<double> ttft = std::nullopt) {
  probes::ProbeResult r;
  r.success = success;
  r.failure = success ? probes::ProbeFailure::kNone : probes::ProbeFailure::kHttp5xx;
  r.timings.total = seconds;
  r.timings.first_token = ttft;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(probe_history)

BOOST_AUTO_TEST_CASE(slices_start_on_quarter_hours_and_the_last_holds_now) {
  ProbeHistory h;
  auto slices = h.Slices(kNow, 15min);
  // The day runs from 12:08 yesterday to 12:07 today: yesterday's 12:00
  // slice is partial, today's 12:00 holds now.
  BOOST_REQUIRE(slices.size() == 97u);
  BOOST_TEST((slices.back().start == kNow - 7min - 30s));  // 12:00
  BOOST_TEST((slices.front().start == slices.back().start - 24h));
  for (const auto& s : slices) BOOST_TEST(s.ok + s.failed + s.skipped == 0);
  BOOST_TEST(h.MemoryBytes() == 0u);  // nothing until the first run
}

BOOST_AUTO_TEST_CASE(runs_count_in_the_slice_they_started_in) {
  ProbeHistory h;
  h.Add(kNow - 1min, Run(true, 0.2, 0.1));
  h.Add(kNow - 2min, Run(true, 0.4, 0.3));
  h.Add(kNow - 3min, Run(false, 0.6));
  probes::ProbeResult skipped;
  skipped.sent = false;
  skipped.failure = probes::ProbeFailure::kBudgetExhausted;
  h.Add(kNow - 20min, skipped);  // 11:47: the slice before
  auto slices = h.Slices(kNow, 15min);
  const auto& last = slices.back();
  BOOST_TEST(last.ok == 2);
  BOOST_TEST(last.failed == 1);
  BOOST_TEST((last.last_failure == probes::ProbeFailure::kHttp5xx));
  BOOST_TEST(last.mean_latency_seconds.value_or(0) == 0.4, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(last.mean_ttft_seconds.value_or(0) == 0.2, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(slices[95].skipped == 1);
  BOOST_TEST(!slices[95].mean_latency_seconds.has_value());
  BOOST_TEST(h.MemoryBytes() == 1500u * 24u);
}

BOOST_AUTO_TEST_CASE(the_day_has_1440_minutes_and_no_more) {
  ProbeHistory h;
  h.Add(kNow - 1439min, Run(true, 1));   // the day's first minute: in the partial slice
  h.Add(kNow - 1440min, Run(false, 1));  // a minute too old
  auto slices = h.Slices(kNow, 15min);
  BOOST_TEST(slices.front().ok == 1);
  BOOST_TEST(slices.front().failed == 0);
}

BOOST_AUTO_TEST_CASE(a_day_old_run_is_gone_and_its_slot_reused) {
  ProbeHistory h;
  h.Add(kNow - 25h - 1min, Run(false, 1));
  auto slices = h.Slices(kNow, 15min);
  int failed = 0;
  for (const auto& s : slices) failed += s.failed;
  BOOST_TEST(failed == 0);
  // The minute 25 h later takes the slot over; the old run does
  // not come back, and a late older run does not overwrite it.
  h.Add(kNow - 1min, Run(true, 1));
  h.Add(kNow - 25h - 1min, Run(false, 1));
  slices = h.Slices(kNow, 15min);
  BOOST_TEST(slices.back().ok == 1);
  BOOST_TEST(slices.back().failed == 0);
}

BOOST_AUTO_TEST_CASE(counters_saturate_instead_of_wrapping) {
  ProbeHistory h;
  for (int i = 0; i < 70'000; ++i) h.Add(kNow, Run(true, 0.001));
  BOOST_TEST(h.Slices(kNow, 15min).back().ok == 65535);
}

BOOST_AUTO_TEST_SUITE_END()
