// Synthetic probes end to end: the real exporter probing the fake vendor.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>

#include "tests/integration/harness.h"

using namespace llm_exporter::testing;

namespace {

const std::string kKey = "sk-fake-vendor-key-31337";

std::string Vendors(const FakeVendor& vendor) {
  return "[[vendor]]\nname = \"fake-openai\"\napi = \"openai\"\nbase_url = \"" + vendor.url() +
         "/v1\"\napi_key_env = \"FAKE_KEY\"\nprice_table = \"fake\"\n\n"
         "[[vendor]]\nname = \"fake-anthropic\"\napi = \"anthropic\"\nbase_url = \"" +
         vendor.url() + "\"\napi_key_env = \"FAKE_KEY\"\nprice_table = \"fake\"\n\n";
}

std::string Pricing() {
  return "[pricing]\nfiles = [\"" + std::string(LLM_EXPORTER_SOURCE_DIR) +
         "/pricing/fake_prices.toml\"]\n";
}

std::string Probe(const std::string& vendor, const std::string& model, const std::string& name,
                  bool stream, const std::string& interval, const std::string& extra = "") {
  return "[[probe]]\nvendor = \"" + vendor + "\"\nmodel = \"" + model + "\"\nname = \"" + name +
         "\"\nstream = " + (stream ? "true" : "false") + "\ninterval = \"" + interval +
         "\"\ntimeout = \"" + interval + "\"\nexpect = \"(?i)pong\"\n" + extra + "\n";
}

const std::map<std::string, std::string> kEnv = {{"FAKE_KEY", kKey}};

// The acceptance figures (first token within 10 ms, output speed within 5 %)
// hold for the normal build; instrumented binaries on two loaded cores get a
// wider margin, since there the test checks behaviour, not speed.
#ifdef LLM_EXPORTER_SANITIZE_BUILD
constexpr double kTtftTolerance = 0.050, kSpeedTolerance = 0.20, kTotalTolerance = 0.100;
#else
constexpr double kTtftTolerance = 0.010, kSpeedTolerance = 0.05, kTotalTolerance = 0.025;
#endif

std::map<std::string, std::string> T(const std::string& target) { return {{"target", target}}; }

// Waits until `name{labels}` reaches at least `value`.
}  // namespace

BOOST_AUTO_TEST_SUITE(probes)

BOOST_AUTO_TEST_CASE(timing_of_streaming_and_plain_runs) {
  TempDir dir;
  FakeVendor vendor(
      dir, {"--api-key", kKey, "--ttft-ms", "200", "--token-ms", "20", "--reply-tokens", "16"});
  std::string config =
      Vendors(vendor) +
      Probe("fake-openai", "fake-gpt", "openai-stream", true, "2s", "max_tokens = 16\n") +
      Probe("fake-openai", "fake-gpt", "openai-plain", false, "2s", "max_tokens = 16\n") +
      Probe("fake-anthropic", "fake-claude", "anthropic-stream", true, "2s", "max_tokens = 16\n") +
      Pricing();
  Exporter exporter(dir, config, kEnv);
  for (const char* target : {"openai-stream", "openai-plain", "anthropic-stream"}) {
    BOOST_REQUIRE_MESSAGE(WaitForSeries(exporter, "llm_probes_total", T(target), 1), target);
  }
  std::string scrape = exporter.Metrics();
  for (const char* target : {"openai-stream", "anthropic-stream"}) {
    BOOST_TEST_CONTEXT(target) {
      BOOST_TEST(*Series(scrape, "llm_probe_success", T(target)) == 1);
      auto labels = T(target);
      labels["phase"] = "first_token";
      double ttft = *Series(scrape, "llm_probe_duration_seconds", labels);
      BOOST_TEST(std::abs(ttft - 0.200) <= kTtftTolerance, "first_token " << ttft);
      double tps = *Series(scrape, "llm_probe_output_tokens_per_second", T(target));
      BOOST_TEST(std::abs(tps - 50) <= 50 * kSpeedTolerance, "tokens/s " << tps);
      BOOST_TEST(*Series(scrape, "llm_probe_time_to_first_token_seconds_count", T(target)) >= 1);
    }
  }
  auto total = T("openai-plain");
  total["phase"] = "total";
  double plain = *Series(scrape, "llm_probe_duration_seconds", total);
  // 200 ms to the first token, then 15 more at 20 ms.
  BOOST_TEST(std::abs(plain - 0.500) <= kTotalTolerance, "plain total " << plain);
  BOOST_TEST(*Series(scrape, "llm_probe_success", T("openai-plain")) == 1);
  BOOST_TEST(!Series(scrape, "llm_probe_output_tokens_per_second", T("openai-plain")).has_value());

  // The probes' traffic and cost: fake-gpt costs $1/M input, $2/M output.
  std::map<std::string, std::string> gpt = {
      {"vendor", "fake-openai"}, {"model", "fake-gpt"}, {"source", "probe"}};
  auto output = gpt;
  output["type"] = "output";
  double requests = 0;
  for (const auto& [series, value] : ParseMetrics(scrape)) {
    if (series.rfind("llm_requests_total{", 0) == 0 &&
        series.find("vendor=\"fake-openai\"") != std::string::npos) {
      requests += value;
    }
  }
  BOOST_TEST(*Series(scrape, "llm_tokens_total", output) == 16 * requests);
  BOOST_TEST(*Series(scrape, "llm_cost_usd_total", gpt) > 0);
  auto price = std::map<std::string, std::string>{
      {"table", "fake"}, {"model", "fake-gpt"}, {"type", "output"}};
  BOOST_TEST(*Series(scrape, "llm_model_price_usd_per_million_tokens", price) == 2.0);

  std::string file = dir.Write("metrics.txt", scrape);
  std::string out;
  BOOST_TEST(Run("promtool check metrics < " + file, &out) == 0, out);
}

BOOST_AUTO_TEST_CASE(fault_matrix) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey, "--slow-ms", "3000", "--reply-tokens", "4"});
  Exporter exporter(
      dir, Vendors(vendor) + Probe("fake-openai", "fake-gpt", "t", true, "1s") + Pricing(), kEnv);
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_probe_success", T("t"), 1));

  struct Case {
    std::string fault;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{{"slow_first_byte", "timeout"},
                                         {"stall", "timeout"},
                                         {"reset", "invalid_response"},
                                         {"truncated", "invalid_response"},
                                         {"http_401", "auth"},
                                         {"http_500", "http_5xx"},
                                         {"http_529", "http_5xx"},
                                         {"error_200", "invalid_response"},
                                         {"html", "invalid_response"},
                                         {"midstream_error", "invalid_response"},
                                         {"wrong_content", "content_mismatch"}}) {
    BOOST_TEST_CONTEXT(c.fault) {
      auto labels = T("t");
      labels["reason"] = c.reason;
      double before = *Series(exporter.Metrics(), "llm_probe_failures_total", labels);
      // Two failing runs in a row leave time to see the gauge at 0.
      vendor.SetFault(c.fault, 2);
      BOOST_TEST(WaitForSeries(exporter, "llm_probe_failures_total", labels, before + 1));
      std::string scrape = exporter.Metrics();
      BOOST_TEST(*Series(scrape, "llm_probe_success", T("t")) == 0);
      BOOST_TEST(WaitForSeries(exporter, "llm_probe_failures_total", labels, before + 2));
      // The next clean run succeeds again.
      BOOST_TEST(WaitForSeries(exporter, "llm_probe_success", T("t"), 1));
    }
  }

  // 429 with retry-after: 7 postpones the next run by at least 7 s.
  auto labels = T("t");
  labels["reason"] = "http_429";
  vendor.SetFault("http_429", 1);
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_probe_failures_total", labels, 1));
  double failed_at = *Series(exporter.Metrics(), "llm_probe_last_run_timestamp_seconds", T("t"));
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_probe_last_run_timestamp_seconds", T("t"),
                              failed_at + 0.001, 15s));
  double next = *Series(exporter.Metrics(), "llm_probe_last_run_timestamp_seconds", T("t"));
  BOOST_TEST(next - failed_at >= 6.9, "next run after " << next - failed_at << " s");
  BOOST_TEST(WaitForSeries(exporter, "llm_probe_success", T("t"), 1));
  BOOST_TEST(exporter.process().Running());
}

BOOST_AUTO_TEST_CASE(connection_refused_is_connect) {
  TempDir dir;
  // A port bound but not listening refuses connections, and nobody else can
  // take it while the test runs.
  int holder = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);
  int closed = ntohs(address.sin_port);
  std::string config =
      "[[vendor]]\nname = \"gone\"\napi = \"openai\"\nbase_url = "
      "\"http://127.0.0.1:" +
      std::to_string(closed) + "/v1\"\n\n" + Probe("gone", "fake-gpt", "t", false, "1s");
  Exporter exporter(dir, config, kEnv);
  auto labels = T("t");
  labels["reason"] = "connect";
  BOOST_TEST(WaitForSeries(exporter, "llm_probe_failures_total", labels, 1));
  BOOST_TEST(*Series(exporter.Metrics(), "llm_probe_http_status_code", T("t")) == 0);
  close(holder);
}

BOOST_AUTO_TEST_CASE(budget_worth_n_runs_skips_run_n_plus_1) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey, "--reply-tokens", "8"});
  // Input is free so that a run's worst case (max_tokens of output) is exactly
  // what it costs: 8 tokens at $1 per million = $0.000008.
  dir.Write("prices.toml",
            "[[price]]\ntable = \"fake\"\nmodel = \"fake-gpt\"\neffective_from = 2020-01-01\n"
            "input = 0.0\noutput = 1.00\n");
  // All of it for scheduled runs: no part set aside for /probe.
  std::string config =
      "[exporter]\nprobe_budget_usd_per_day = 0.000024\n"
      "on_demand_probe_budget_usd_per_day = 0\n\n" +
      Vendors(vendor) + Probe("fake-openai", "fake-gpt", "t", false, "1s", "max_tokens = 8\n") +
      "[pricing]\nfiles = [\"prices.toml\"]\n";
  Exporter exporter(dir, config, kEnv);
  auto labels = T("t");
  labels["reason"] = "budget_exhausted";
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_probe_failures_total", labels, 1, 30s));
  std::string scrape = exporter.Metrics();
  BOOST_TEST(*Series(scrape, "llm_probes_total", T("t")) == 3);
  BOOST_TEST(*Series(scrape, "llm_probe_budget_remaining_usd") == 0);
  BOOST_TEST(*Series(scrape, "llm_cost_usd_total", {{"model", "fake-gpt"}}) == 0.000024);
  // The budget holds across a restart: the ledger remembers today's spend.
  exporter.process().Signal(SIGTERM);
  BOOST_REQUIRE(exporter.process().Wait(5s) == 0);
  Exporter again(dir, config, kEnv);
  BOOST_REQUIRE(WaitForSeries(again, "llm_probe_failures_total", labels, 1, 30s));
  BOOST_TEST(Series(again.Metrics(), "llm_probes_total", T("t")).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(on_demand_probe_endpoint) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey, "--slow-ms", "5000"});
  Exporter exporter(
      dir, Vendors(vendor) + Probe("fake-openai", "fake-gpt", "t", true, "1h") + Pricing(), kEnv);
  HttpResult probe = HttpGet(exporter.url() + "/probe?target=t");
  BOOST_TEST(probe.status == 200);
  BOOST_TEST(*Series(probe.body, "probe_success") == 1);
  BOOST_TEST(*Series(probe.body, "probe_http_status_code") == 200);
  BOOST_TEST(*Series(probe.body, "probe_llm_output_tokens") == 8);
  BOOST_TEST(*Series(probe.body, "probe_llm_cost_usd") > 0);
  BOOST_TEST(
      Series(probe.body, "probe_http_duration_seconds", {{"phase", "first_token"}}).has_value());
  BOOST_TEST(Series(probe.body, "probe_llm_time_to_first_token_seconds").has_value());
  BOOST_TEST(!Series(probe.body, "llm_probe_success").has_value());  // a fresh registry

  HttpResult debug = HttpGet(exporter.url() + "/probe?target=t&debug=true");
  BOOST_TEST(debug.body.find("Logs for the probe:") != std::string::npos);
  BOOST_TEST(debug.body.find("msg=\"Beginning probe\"") != std::string::npos);
  BOOST_TEST(debug.body.find("probe_success 1") != std::string::npos);
  BOOST_TEST(debug.body.find("vendor.api_key: <secret> (from env FAKE_KEY)") != std::string::npos);
  BOOST_TEST(debug.body.find(kKey) == std::string::npos);

  // The scrape timeout header bounds the run (minus half a second).
  vendor.SetFault("slow_first_byte", 1);
  auto start = std::chrono::steady_clock::now();
  HttpResult slow =
      HttpGet(exporter.url() + "/probe?target=t", {"X-Prometheus-Scrape-Timeout-Seconds: 1.5"});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(*Series(slow.body, "probe_success") == 0);
  BOOST_TEST(took < 1.5, "took " << took);
  BOOST_TEST(took >= 0.9, "took " << took);
  // On-demand runs leave the scheduled series alone.
  BOOST_TEST(Series(exporter.Metrics(), "llm_probes_total", T("t")).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(reload_removes_series_of_removed_targets) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey});
  std::string base = Vendors(vendor) + Pricing();
  Exporter exporter(dir,
                    base + Probe("fake-openai", "fake-gpt", "keep", false, "1s") +
                        Probe("fake-anthropic", "fake-claude", "drop", true, "1s"),
                    kEnv, {"--web.enable-lifecycle"});
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_probes_total", T("drop"), 1));
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_probes_total", T("keep"), 1));
  dir.Write("llm_exporter.toml", base + Probe("fake-openai", "fake-gpt", "keep", false, "1s"));
  BOOST_REQUIRE(HttpPost(exporter.url() + "/-/reload", "").status == 200);
  std::string scrape = exporter.Metrics();
  BOOST_TEST(scrape.find("target=\"drop\"") == std::string::npos);
  BOOST_TEST(Series(scrape, "llm_probes_total", T("keep")).value_or(0) >= 1);
  // keep's schedule and counters carried over the reload.
  double keep_runs = *Series(scrape, "llm_probes_total", T("keep"));
  BOOST_TEST(WaitForSeries(exporter, "llm_probes_total", T("keep"), keep_runs + 1));
}

BOOST_AUTO_TEST_CASE(unpriced_model_is_counted_never_guessed) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey});
  Exporter exporter(
      dir, Vendors(vendor) + Probe("fake-openai", "mystery-model", "t", false, "1s") + Pricing(),
      kEnv);
  std::map<std::string, std::string> labels = {{"model", "mystery-model"}, {"source", "probe"}};
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_unpriced_requests_total", labels, 1));
  std::string scrape = exporter.Metrics();
  BOOST_TEST(*Series(scrape, "llm_cost_usd_total", labels) == 0);
  BOOST_TEST(*Series(scrape, "llm_probe_success", T("t")) == 1);
  BOOST_TEST(HttpGet(exporter.url() + "/").body.find("unpriced") != std::string::npos);
  std::string page = HttpGet(exporter.url() + "/details").body;
  BOOST_TEST(page.find("fake / mystery-model") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pricing_config)

BOOST_AUTO_TEST_CASE(config_check_validates_price_tables) {
  TempDir dir;
  dir.Write("prices.toml",
            "[[price]]\ntable = \"t\"\nmodel = \"m\"\neffective_from = 2025-01-01\ninput = -1.0\n"
            "output = 2.0\ncolour = 1\n");
  std::string path = dir.Write("c.toml", "[pricing]\nfiles = [\"prices.toml\"]\n");
  Process check({ExporterBinary(), "--config.check", "--config.file=" + path}, {}, dir.path(),
                "check");
  BOOST_TEST(check.Wait(10s) == 1);
  std::string err = check.Stderr();
  BOOST_TEST(err.find(dir.File("prices.toml") + ":5:") != std::string::npos, err);
  BOOST_TEST(err.find("price[0].colour") != std::string::npos, err);
  BOOST_TEST(err.find("2 errors") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(unwritable_state_dir_is_a_clear_start_up_error) {
  TempDir dir;
  dir.Write("file", "x");
  std::string path = dir.Write("c.toml", "");
  Process process({ExporterBinary(), "--config.file=" + path, "--web.listen-address=127.0.0.1:0",
                   "--state.dir=" + dir.File("file") + "/state"},
                  {}, dir.path(), "state");
  BOOST_TEST(process.Wait(10s) == 1);
  BOOST_TEST(process.Stderr().find("state directory") != std::string::npos, process.Stderr());
}

BOOST_AUTO_TEST_SUITE_END()
