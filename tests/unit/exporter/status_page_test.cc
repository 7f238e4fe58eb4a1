// The status page rendered from a real ProbeStore fed with synthetic runs:
// worst targets first, reasons named, every chart with a text alternative,
// honest when empty, and 200 targets x 24 h within the memory bound.

#include "exporter/status_page.h"

#include <prometheus/registry.h>

#include <boost/test/unit_test.hpp>
#include <regex>

#include "base/log.h"
#include "exporter/html.h"
#include "tests/unit/exporter/synthetic_targets.h"

using namespace llm_exporter;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  // The synthetic failures would log thousands of lines.
  Fixture() { base::Log().Configure(base::LogLevel::kError, base::LogFormat::kLogfmt); }
  exporter::ProbeStore store;
  std::shared_ptr<config::Config> config = std::make_shared<config::Config>();
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();

  exporter::StatusPageData Data() {
    exporter::StatusPageData data;
    data.config = config;
    data.telemetry_path = "/metrics";
    data.config_file = "/etc/llm_exporter/llm_exporter.toml";
    data.now = now;
    data.overview = store.Overview(now, exporter::kStatusSlice);
    return data;
  }
};

// The ids of the targets table's rows, in page order.
std::vector<std::string> RowIds(const std::string& html) {
  static const std::regex row(
      R"re(<tr id="target-([^"]+)" data-state="([^"]*)" data-reason="([^"]*)")re");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), row); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[1].str() + "|" + (*it)[2].str() + "|" + (*it)[3].str());
  }
  return out;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(status_page)

BOOST_FIXTURE_TEST_CASE(failing_first_then_skipped_then_no_runs_then_up, Fixture) {
  auto specs = testing::SyntheticSpecs(4);
  store.SetTargets(specs);
  probes::ProbeResult ok;
  ok.success = true;
  ok.http_status = 200;
  ok.timings.total = 0.25;
  ok.timings.first_token = 0.1;
  ok.started_at = now - 10s;
  ok.target = specs[0].probe.name;
  store.OnResult(specs[0], ok);
  probes::ProbeResult bad = ok;
  bad.success = false;
  bad.failure = probes::ProbeFailure::kHttp429;
  bad.message = "HTTP 429: rate limited";
  bad.target = specs[2].probe.name;
  store.OnResult(specs[2], bad);
  probes::ProbeResult skipped;
  skipped.sent = false;
  skipped.failure = probes::ProbeFailure::kBudgetExhausted;
  skipped.message = "daily probe budget exhausted";
  skipped.started_at = now - 5s;
  skipped.target = specs[3].probe.name;
  store.OnResult(specs[3], skipped);

  std::string html = exporter::RenderStatusPage(Data());
  auto rows = RowIds(html);
  BOOST_REQUIRE(rows.size() == 4u);
  BOOST_TEST(rows[0] == "target-002|failing|http_429");
  BOOST_TEST(rows[1] == "target-003|skipped|budget_exhausted");
  BOOST_TEST(rows[2] == "target-001|no runs yet|");
  BOOST_TEST(rows[3] == "target-000|up|");
  BOOST_TEST(html.find("1 failing") != std::string::npos);
  // The failed cell links to that run's log on /details.
  BOOST_TEST(html.find("/details?target=target-002#" + exporter::RunAnchor(bad.started_at)) !=
             std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(every_chart_has_a_text_alternative, Fixture) {
  auto specs = testing::SyntheticSpecs(14);
  store.SetTargets(specs);
  testing::FeedDay(store, specs, now);
  std::string html = exporter::RenderStatusPage(Data());
  size_t charts = Count(html, "<svg");
  BOOST_TEST(charts == 14u * 3u + 1u);  // bar and two sparklines a target, the budget bar
  BOOST_TEST(Count(html, "role=\"img\"") == charts);
  BOOST_TEST(Count(html, "aria-label=\"") == charts);
  // Every cell of every bar says what happened in it.
  std::regex untitled_cell(R"(<rect class="[updsn]"[^>]*/>)");
  BOOST_TEST(!std::regex_search(html, untitled_cell));
  BOOST_TEST(html.find("Last 24 hours: 1425 runs ok, 15 failed, 0 skipped") != std::string::npos);
  // No scripts, no external resources.
  BOOST_TEST(html.find("<script") == std::string::npos);
  BOOST_TEST(html.find("http://") == std::string::npos);
  BOOST_TEST(html.find("https://") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(honest_when_empty, Fixture) {
  std::string html = exporter::RenderStatusPage(Data());
  BOOST_TEST(html.find("No probe targets are configured") != std::string::npos);
  store.SetTargets(testing::SyntheticSpecs(1));
  html = exporter::RenderStatusPage(Data());
  BOOST_TEST(html.find("no runs yet") != std::string::npos);
  BOOST_TEST(html.find("Last 24 hours: no runs") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(auto_refresh_only_when_asked, Fixture) {
  BOOST_TEST(exporter::RenderStatusPage(Data()).find("http-equiv=\"refresh\"") ==
             std::string::npos);
  auto data = Data();
  data.refresh_seconds = 30;
  BOOST_TEST(exporter::RenderStatusPage(data).find(
                 "<meta http-equiv=\"refresh\" content=\"30\">") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(history_survives_a_reload_of_targets_that_still_exist, Fixture) {
  auto specs = testing::SyntheticSpecs(3);
  store.SetTargets(specs);
  testing::FeedDay(store, specs, now);
  auto changed = specs;
  changed[0].probe.stream = false;           // same model: history kept
  changed[1].probe.model = "another-model";  // another model: history starts afresh
  changed.pop_back();                        // gone
  store.SetTargets(changed);
  auto overview = store.Overview(now, exporter::kStatusSlice);
  BOOST_REQUIRE(overview.size() == 2u);
  auto runs = [](const auto& o) {
    int n = 0;
    for (const auto& s : o.slices) n += s.ok + s.failed;
    return n;
  };
  BOOST_TEST(runs(overview[0]) == 1440);
  BOOST_TEST(runs(overview[1]) == 0);
}

// The issue's bound: 200 targets x 24 h of one-minute runs within 20 MB.
BOOST_FIXTURE_TEST_CASE(two_hundred_targets_a_day_of_history_within_20_mb, Fixture) {
  auto specs = testing::SyntheticSpecs(200);
  store.SetTargets(specs);
  const size_t before = testing::ResidentBytes();
  testing::FeedDay(store, specs, now);
  const size_t after = testing::ResidentBytes();
  const size_t history = store.HistoryBytes();
  BOOST_TEST_MESSAGE("200 targets x 1440 runs: history " << history / 1024 << " KiB, RSS growth "
                                                         << (after - before) / 1024 << " KiB");
  BOOST_TEST(history <= 200u * 1500u * 24u);
  BOOST_TEST(history < 20u << 20);
#if !defined(__SANITIZE_ADDRESS__)
  // Under ASan every allocation carries redzones and a quarantine: only the
  // normal build measures the process.
  BOOST_TEST(after - before < size_t{20} << 20);
#endif
  std::string html = exporter::RenderStatusPage(Data());
  BOOST_TEST(RowIds(html).size() == 200u);
  BOOST_TEST(RowIds(html).front().find("|failing|timeout") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
