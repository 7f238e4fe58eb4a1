// What a hostile caller or a broken vendor must not be able to do: spend keys
// past the probe budget, starve the exporter, break the books, crash a reload,
// leak a key, or block start-up with a bad ledger file. Each case reproduces
// the attack first, then checks what the exporter does instead.

#include <netinet/in.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <thread>

#include "tests/integration/harness.h"

using namespace llm_exporter::testing;
namespace fs = std::filesystem;

namespace {

const std::string kKey = "sk-abuse-test-key-4815162342";
const std::map<std::string, std::string> kEnv = {{"FAKE_KEY", kKey}};

std::string Config(const FakeVendor& vendor, const std::string& exporter_section,
                   const std::string& probes) {
  return exporter_section +
         "\n[[vendor]]\nname = \"fake-openai\"\napi = \"openai\"\nbase_url = \"" + vendor.url() +
         "/v1\"\napi_key_env = \"FAKE_KEY\"\nprice_table = \"fake\"\n\n" + probes +
         "[pricing]\nfiles = [\"" + std::string(LLM_EXPORTER_SOURCE_DIR) +
         "/pricing/fake_prices.toml\"]\n";
}

std::string Probe(const std::string& name, const std::string& model, const std::string& interval,
                  const std::string& extra = "") {
  // An explicit timeout, so that each case also runs (and fails for its own
  // reason) on builds that refused a default timeout above the interval.
  std::string timeout =
      extra.find("timeout") == std::string::npos ? "timeout = \"" + interval + "\"\n" : "";
  return "[[probe]]\nvendor = \"fake-openai\"\nmodel = \"" + model + "\"\nname = \"" + name +
         "\"\ninterval = \"" + interval + "\"\n" + timeout + extra + "\n";
}

// The fake vendor's served totals.
struct Served {
  int64_t requests = 0;
  double cost_usd = 0;
};
Served VendorServed(const FakeVendor& vendor) {
  HttpResult stats = HttpGet(vendor.url() + "/control/stats");
  rapidjson::Document doc;
  doc.Parse(stats.body.c_str());
  BOOST_REQUIRE(!doc.HasParseError() && doc.IsObject());
  const auto& totals = doc["totals"];
  return {totals["requests"].GetInt64(), totals["cost_nano_usd"].GetInt64() / 1e9};
}

double Sum(const std::string& scrape, const std::string& name,
           const std::map<std::string, std::string>& labels) {
  double sum = 0;
  for (const auto& [series, value] : ParseMetrics(scrape)) {
    if (series.rfind(name + "{", 0) != 0) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      if (series.find(k + "=\"" + v + "\"") == std::string::npos) match = false;
    }
    if (match) sum += value;
  }
  return sum;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(abuse)

// Short scrape timeouts made /probe give up before the vendor answered: the
// vendor billed every request, the exporter booked nothing. Now a caller's
// timeout has a floor, a run given up on is booked at its worst case, at most
// four run at once (429 beyond), and unpriced targets are refused.
BOOST_AUTO_TEST_CASE(short_timeout_flood_is_booked_and_bounded) {
  TempDir dir;
  // Replies take 1.5 s: longer than the 1 s floor, so every run is given up on.
  FakeVendor vendor(dir, {"--api-key", kKey, "--ttft-ms", "1500", "--prices",
                          std::string(LLM_EXPORTER_SOURCE_DIR) + "/pricing/fake_prices.toml"});
  Exporter exporter(dir,
                    Config(vendor, "",
                           Probe("flood", "fake-gpt", "1h", "timeout = \"5s\"\n") +
                               Probe("unpriced", "no-such-model", "1h")),
                    kEnv);
  const std::string url = exporter.url() + "/probe?target=flood";
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        HttpResult r = HttpGet(url, {"X-Prometheus-Scrape-Timeout-Seconds: 0.6"});
        (r.status == 200 ? ok : r.status == 429 ? refused : other)++;
      }
    });
  }
  // /metrics keeps answering promptly while the flood runs.
  auto start = std::chrono::steady_clock::now();
  HttpResult scrape = HttpGet(exporter.url() + "/metrics", {}, 2s);
  BOOST_TEST(scrape.status == 200);
  BOOST_TEST((std::chrono::steady_clock::now() - start < 1s));
  for (auto& c : callers) c.join();
  BOOST_TEST(ok + refused + other == 40);
  BOOST_TEST(other == 0);
  BOOST_TEST(refused > 0);  // more than four at once
  BOOST_TEST(ok > 0);

  // Every request that reached the vendor is served (and billed) by it.
  Served served;
  BOOST_REQUIRE(WaitFor(
      [&] {
        served = VendorServed(vendor);
        return served.requests >= ok;
      },
      10s));
  BOOST_TEST_MESSAGE("flood: " << ok << " runs sent, " << refused << " refused, vendor billed "
                               << served.cost_usd << " USD");
  std::string metrics = exporter.Metrics();
  const std::map<std::string, std::string> probe = {{"source", "probe"}, {"model", "fake-gpt"}};
  double booked = Sum(metrics, "llm_cost_usd_total", probe) +
                  Sum(metrics, "llm_cost_estimated_usd_total", probe);
  BOOST_TEST(booked >= served.cost_usd - 1e-12);
  BOOST_TEST(served.cost_usd > 0);
  BOOST_TEST(Sum(metrics, "llm_usage_missing_total",
                 {{"model", "fake-gpt"}, {"reason", "timeout"}}) == ok.load());
  // The on-demand part of the budget shrank by at least what was billed.
  BOOST_TEST(*Series(metrics, "llm_probe_on_demand_budget_remaining_usd") <=
             0.1 - served.cost_usd + 1e-12);

  // Unpriced targets cannot be run on demand at all.
  HttpResult unpriced = HttpGet(exporter.url() + "/probe?target=unpriced");
  BOOST_TEST(unpriced.status == 403);
}

// One reply claiming 2^53 output tokens made today's spend wrap negative,
// re-opened the budget and made llm_cost_usd_total go down.
BOOST_AUTO_TEST_CASE(absurd_usage_is_invalid_and_leaves_the_books_sane) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey, "--fault", "huge_usage:1"});
  Exporter exporter(dir, Config(vendor, "", Probe("huge", "fake-gpt", "1s")), kEnv);
  const std::map<std::string, std::string> target = {{"target", "huge"}};
  std::vector<std::string> scrapes;
  BOOST_REQUIRE(WaitFor(
      [&] {
        scrapes.push_back(exporter.Metrics());
        return Series(scrapes.back(), "llm_probes_total", target).value_or(0) >= 3;
      },
      20s, 100ms));
  const std::string& last = scrapes.back();
  BOOST_TEST(*Series(last, "llm_probe_failures_total",
                     {{"target", "huge"}, {"reason", "invalid_response"}}) == 1);
  // Every counter only grows, and no figure is absurd.
  for (const char* name :
       {"llm_cost_usd_total", "llm_tokens_total", "llm_cost_estimated_usd_total"}) {
    double previous = -1;
    for (const auto& scrape : scrapes) {
      double value = Sum(scrape, name, {});
      BOOST_TEST(value >= previous, name << " went from " << previous << " to " << value);
      previous = value;
    }
    BOOST_TEST(previous < (std::string(name) == "llm_tokens_total" ? 1e6 : 1.0), name);
  }
  // The budget stays closed: what is left never exceeds the scheduled share.
  BOOST_TEST(*Series(last, "llm_probe_budget_remaining_usd") <= 0.9);
  BOOST_TEST(*Series(last, "llm_probe_budget_remaining_usd") > 0.8);
  BOOST_TEST(Sum(last, "llm_usage_missing_total", {{"reason", "not_reported"}}) == 1);
}

// A throwing std::filesystem call killed the daemon on SIGHUP (exit 134).
BOOST_AUTO_TEST_CASE(sighup_with_a_symlink_loop_keeps_the_old_config) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey});
  std::string good = Config(vendor, "", Probe("kept", "fake-gpt", "1s"));
  Exporter exporter(dir, good, kEnv);
  fs::create_symlink(dir.File("loop.toml"), dir.File("loop.toml"));
  std::string bad = good;
  bad.replace(bad.find("files = ["), 9, "files = [\"loop.toml\", ");
  dir.Write("llm_exporter.toml", bad);
  exporter.process().Signal(SIGHUP);
  BOOST_REQUIRE(WaitFor(
      [&] {
        return exporter.process().Running() &&
               Series(exporter.Metrics(), "llm_exporter_config_last_reload_successful") == 0.0;
      },
      10s));
  BOOST_TEST(exporter.process().Running());
  BOOST_TEST(exporter.process().Stderr().find("Too many levels of symbolic links") !=
             std::string::npos);
  BOOST_TEST(Series(exporter.Metrics(), "llm_probes_total", {{"target", "kept"}}).has_value());
}

// A corrupt ledger.sqlite made every start fail with exit 1.
BOOST_AUTO_TEST_CASE(corrupt_ledger_is_moved_aside_and_a_fresh_one_started) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey});
  fs::create_directories(dir.File("state"));
  const std::string garbage(8192, 'x');
  dir.Write("state/ledger.sqlite", garbage);
  Exporter exporter(dir, Config(vendor, "", Probe("after", "fake-gpt", "1s")), kEnv);
  std::string moved;
  for (const auto& entry : fs::directory_iterator(dir.File("state"))) {
    std::string name = entry.path().filename().string();
    if (name.rfind("ledger.sqlite.corrupt-", 0) == 0) moved = entry.path().string();
  }
  BOOST_REQUIRE(!moved.empty());
  BOOST_TEST(ReadFile(moved) == garbage);  // kept, never deleted
  auto log = FindLog(exporter.process().Stderr(),
                     "The ledger file is not a readable database; it was moved aside and a fresh "
                     "ledger started (the figures it held are not counted)");
  BOOST_REQUIRE(log.has_value());
  BOOST_TEST((*log)["level"] == "error");
  // The fresh ledger works: runs are committed to the new file, and its
  // health is exported.
  const double opened =
      *Series(exporter.Metrics(), "llm_exporter_ledger_last_commit_success_timestamp_seconds");
  BOOST_REQUIRE(WaitFor(
      [&] {
        std::string m = exporter.Metrics();
        return Series(m, "llm_cost_usd_total", {{"source", "probe"}}).value_or(0) > 0 &&
               Series(m, "llm_exporter_ledger_pending_entries").value_or(1) == 0 &&
               Series(m, "llm_exporter_ledger_last_commit_success_timestamp_seconds").value_or(0) >
                   opened;
      },
      20s, 100ms));
  BOOST_TEST(*Series(exporter.Metrics(), "llm_exporter_ledger_commit_failures_total") == 0);
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open_v2(dir.File("state/ledger.sqlite").c_str(), &db, SQLITE_OPEN_READONLY,
                                nullptr) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(db, "SELECT SUM(requests) FROM totals", -1, &statement,
                                   nullptr) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  BOOST_TEST(sqlite3_column_int64(statement, 0) >= 1);
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

// A vendor echoing the key in a long error message: the text was cut to 200
// bytes first and redacted after, so the key's first half leaked.
BOOST_AUTO_TEST_CASE(a_key_cut_by_truncation_is_still_redacted) {
  TempDir dir;
  // A gateway key without the "sk-" shape that generic redaction knows.
  const std::string kKey = "gw-abuse-test-key-4815162342";
  FakeVendor vendor(dir, {"--api-key", kKey, "--fault", "echo_key_401"});
  Exporter exporter(dir, Config(vendor, "", Probe("echo", "fake-gpt", "1s")), {{"FAKE_KEY", kKey}},
                    {"--log.level=debug"});
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_probe_failures_total",
                              {{"target", "echo"}, {"reason", "auth"}}, 1));
  std::string seen = exporter.process().Stderr() + HttpGet(exporter.url() + "/").body +
                     HttpGet(exporter.url() + "/details").body +
                     HttpGet(exporter.url() + "/probe?target=echo&debug=true").body +
                     exporter.Metrics();
  BOOST_TEST(seen.find("Incorrect API key provided") != std::string::npos);
  // No eight characters of the key in a row, wherever the cut fell.
  for (size_t at = 0; at + 8 <= kKey.size(); ++at) {
    BOOST_TEST(seen.find(kKey.substr(at, 8)) == std::string::npos, "leaked " << kKey.substr(at, 8));
  }
}

// Forty clients that open a connection and send half a request held every
// worker for 60 s; /metrics stopped answering.
BOOST_AUTO_TEST_CASE(idle_half_sent_connections_do_not_block_metrics) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey});
  Exporter exporter(dir, Config(vendor, "", ""), kEnv);
  std::string hostport = exporter.url().substr(7);
  int port = std::stoi(hostport.substr(hostport.find(':') + 1));
  auto HalfSent = [&] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    const char partial[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    BOOST_REQUIRE(send(fd, partial, sizeof partial - 1, 0) > 0);
    return fd;
  };
  std::vector<int> sockets;
  for (int i = 0; i < 40; ++i) sockets.push_back(HalfSent());
  auto start = std::chrono::steady_clock::now();
  HttpResult scrape = HttpGet(exporter.url() + "/metrics", {}, 3s);
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(scrape.status == 200);
  BOOST_TEST((took < 1s), "took " << std::chrono::duration<double>(took).count() << " s");
  // More of them than there are workers: each must send its request within
  // 5 s, so a scrape waits at most about that long (a minute before).
  for (int i = 0; i < 40; ++i) sockets.push_back(HalfSent());
  start = std::chrono::steady_clock::now();
  scrape = HttpGet(exporter.url() + "/metrics", {}, 15s);
  took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(scrape.status == 200);
  BOOST_TEST((took < 8s), "took " << std::chrono::duration<double>(took).count() << " s");
  for (int fd : sockets) close(fd);
}

// /-/reload is off unless --web.enable-lifecycle (SIGHUP always works), and
// refuses cross-site requests when on.
BOOST_AUTO_TEST_CASE(reload_endpoint_needs_the_lifecycle_flag_and_same_origin) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey});
  {
    Exporter off(dir, Config(vendor, "", ""), kEnv);
    HttpResult r = HttpPost(off.url() + "/-/reload", "");
    BOOST_TEST(r.status == 403);
    BOOST_TEST(r.body == "Lifecycle API is not enabled.\n");
  }
  TempDir dir2;
  Exporter on(dir2, Config(vendor, "", ""), kEnv, {"--web.enable-lifecycle"});
  BOOST_TEST(HttpPost(on.url() + "/-/reload", "").status == 200);
  BOOST_TEST(HttpPost(on.url() + "/-/reload", "", {"Origin: http://evil.example"}).status == 403);
  BOOST_TEST(HttpPost(on.url() + "/-/reload", "", {"Sec-Fetch-Site: cross-site"}).status == 403);
  std::string host = on.url().substr(7);
  BOOST_TEST(HttpPost(on.url() + "/-/reload", "", {"Origin: http://" + host}).status == 200);
}

// When the budget stops scheduled runs, the last success must not stay green.
BOOST_AUTO_TEST_CASE(budget_stop_makes_success_stale_not_green) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey});
  std::string probes = Probe("budgeted", "fake-gpt", "1s");
  Exporter exporter(dir, Config(vendor, "", probes), kEnv);
  const std::map<std::string, std::string> target = {{"target", "budgeted"}};
  BOOST_REQUIRE(WaitFor(
      [&] { return Series(exporter.Metrics(), "llm_probe_success", target) == 1.0; }, 20s, 50ms));
  dir.Write("llm_exporter.toml",
            Config(vendor, "[exporter]\nprobe_budget_usd_per_day = 0\n", probes));
  exporter.process().Signal(SIGHUP);
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_probe_failures_total",
                              {{"target", "budgeted"}, {"reason", "budget_exhausted"}}, 1));
  std::string metrics = exporter.Metrics();
  BOOST_TEST(!Series(metrics, "llm_probe_success", target).has_value());
  BOOST_TEST(Series(metrics, "llm_probe_last_run_timestamp_seconds", target).has_value());
}

// Config values that overflowed or silently wrapped are refused with a clear
// error by --config.check (as at start-up and on reload).
BOOST_AUTO_TEST_CASE(out_of_range_config_values_are_refused) {
  TempDir dir;
  struct Case {
    std::string config;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"[[vendor]]\nname = \"v\"\napi = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
       "[[probe]]\nvendor = \"v\"\nmodel = \"m\"\ninterval = \"20000w\"\n",
       "probe[0].interval: duration \"20000w\" is too long (at most 7d)"},
      {"[exporter]\nledger_retention_days = 4294967297\n",
       "exporter.ledger_retention_days: must be between 1 and 36500, got 4294967297"},
      {"[[vendor]]\nname = \"v\"\napi = \"openai\"\n"
       "base_url = \"https://user:hunter2@127.0.0.1:1/v1\"\n",
       "vendor[0].base_url: credentials in the URL are not allowed"},
  };
  for (const auto& c : cases) {
    std::string path = dir.Write("check.toml", c.config);
    std::string output;
    int code = Run(ExporterBinary() + " --config.check --config.file=" + path + " 2>&1", &output);
    BOOST_TEST(code == 1);
    BOOST_TEST(output.find(c.error) != std::string::npos, output);
    BOOST_TEST(output.find("hunter2") == std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
