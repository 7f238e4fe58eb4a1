// Reconciliation of the vendors that report only totals, end to end: three
// fake vendors, one per kind (a one-api/new-api dashboard configured from the
// example config's HolySheep section, OpenRouter credits, a DeepSeek
// balance), each billing exactly what it served.

#include <rapidjson/document.h>
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

#include "tests/integration/harness.h"

using namespace llm_exporter::testing;

namespace {

const std::string kKey = "sk-gateway-test-key-1618";
const std::string kSource = LLM_EXPORTER_SOURCE_DIR;

// The [[vendor]] and [[probe]] blocks of config/example.toml that name
// `vendor`, pointed at `url`; a long probe interval, so that traffic is what
// the test sends through /probe, and billing polls every second.
std::string ExampleSection(const std::string& vendor, const std::string& url) {
  std::string text = ReadFile(kSource + "/config/example.toml");
  std::string out;
  size_t at = 0;
  while ((at = text.find("[[", at)) != std::string::npos) {
    size_t end = text.find("\n[", at + 2);
    std::string block = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (block.rfind("[[proxy", 0) == 0) continue;
    if (block.find("name = \"" + vendor + "\"") != std::string::npos ||
        block.find("vendor = \"" + vendor + "\"") != std::string::npos) {
      out += block + "\n";
    }
  }
  for (size_t p; (p = out.find("https://api.holysheep.ai")) != std::string::npos;) {
    out.replace(p, 24, url);
  }
  // Polls every second instead of the example's 15 minutes.
  BOOST_REQUIRE(out.find("interval = \"15m\"") != std::string::npos);
  const std::string slow = "interval = \"15m\"";
  out.replace(out.find(slow), slow.size(), "interval = \"1s\"");
  BOOST_REQUIRE(out.find("[[probe]]") != std::string::npos);
  out.insert(out.find("[[probe]]") + 10, "interval = \"7d\"\n");
  return out;
}

std::string Vendor(const std::string& name, const std::string& kind, const FakeVendor& fake) {
  return "[[vendor]]\nname = \"" + name + "\"\napi = \"openai\"\nbase_url = \"" + fake.url() +
         "/v1\"\napi_key_env = \"FAKE_KEY\"\nprice_table = \"fake\"\n  [vendor.billing]\n  kind = "
         "\"" +
         kind + "\"\n  interval = \"1s\"\n\n[[probe]]\nvendor = \"" + name +
         "\"\nmodel = \"fake-gpt\"\ninterval = \"7d\"\n\n";
}

struct Row {
  std::string verdict;
  std::optional<double> drift;
  double vendor = 0;
  std::string span_start;
  bool reset = false;
};

std::map<std::string, Row> Today(const Exporter& exporter) {
  std::map<std::string, Row> rows;
  ForEachReconcileRow(exporter, "today", [&](const rapidjson::Value& row) {
    if (std::string(row["model"].GetString()) != "all") return;
    Row out;
    out.verdict = row["verdict"].GetString();
    if (row["drift_ratio"].IsNumber()) out.drift = row["drift_ratio"].GetDouble();
    if (row["vendor_cost_usd"].IsString())
      out.vendor = std::stod(row["vendor_cost_usd"].GetString());
    if (row["span_start"].IsString()) out.span_start = row["span_start"].GetString();
    out.reset = row["reset_at"].IsString();
    rows[row["vendor"].GetString()] = out;
  });
  return rows;
}

// Two more polls of every vendor: a checkpoint after everything sent so far.
void AwaitCheckpoints(const Exporter& exporter) {
  std::map<std::string, double> before;
  for (const char* v : {"holysheep", "router", "deep"}) before[v] = BillingPolls(exporter, v);
  BOOST_REQUIRE(WaitFor(
      [&] {
        for (auto& [v, polls] : before) {
          if (BillingPolls(exporter, v) < polls + 2) return false;
        }
        return true;
      },
      20s, 50ms));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gateways)

BOOST_AUTO_TEST_CASE(totals_only_vendors_reconcile_between_checkpoints) {
  TempDir dir;
  // The HolySheep-style gateway prices with the shipped reseller table, as
  // the example config does; the others with the fake table.
  FakeVendor holysheep(dir,
                       {"--api-key", kKey, "--prices", kSource + "/pricing/prices.toml",
                        "--price-table", "holysheep"},
                       "holysheep");
  FakeVendor router(dir, {"--api-key", kKey, "--prices", kSource + "/pricing/fake_prices.toml"},
                    "router");
  FakeVendor deep(dir, {"--api-key", kKey, "--prices", kSource + "/pricing/fake_prices.toml"},
                  "deep");
  const std::string config =
      ExampleSection("holysheep", holysheep.url()) + Vendor("router", "openrouter", router) +
      Vendor("deep", "deepseek_balance", deep) + "[pricing]\nfiles = [\"" + kSource +
      "/pricing/prices.toml\", \"" + kSource + "/pricing/fake_prices.toml\"]\n";
  const std::map<std::string, std::string> env = {{"FAKE_KEY", kKey}, {"HOLYSHEEP_API_KEY", kKey}};
  auto exporter = std::make_unique<Exporter>(dir, config, env);
  const std::vector<std::string> targets = {"holysheep/gpt-4.1", "router/fake-gpt",
                                            "deep/fake-gpt"};

  // Traffic through the exporter, then checkpoints after it: each gateway's
  // increase equals the ledger's, exactly.
  AwaitCheckpoints(*exporter);
  for (const auto& t : targets) {
    ProbeNow(*exporter, t);
    ProbeNow(*exporter, t);
  }
  AwaitCheckpoints(*exporter);
  auto rows = Today(*exporter);
  for (const char* v : {"holysheep", "router", "deep"}) {
    BOOST_TEST_CONTEXT(v) {
      BOOST_REQUIRE(rows.count(v) == 1u);
      BOOST_TEST(rows[v].verdict == "match");
      BOOST_TEST(rows[v].drift.value_or(-1) == 0.0);
      BOOST_TEST(rows[v].vendor > 0);
    }
  }
  std::string scrape = exporter->Metrics();
  BOOST_TEST(*Series(scrape, "llm_reconciliation_drift_ratio",
                     {{"vendor", "holysheep"}, {"model", "all"}, {"window", "today"}}) == 0);

  // The answer the tutorial's author wanted, on the page.
  std::string page = HttpGet(exporter->url() + "/reconcile").body;
  BOOST_TEST(page.find("<td>holysheep</td><td>all</td>") != std::string::npos);
  BOOST_TEST(page.find("tolerance $") != std::string::npos);

  // Traffic straight to the gateway, bypassing the exporter: coverage.
  HttpResult direct =
      HttpPost(holysheep.url() + "/v1/chat/completions",
               R"({"model":"gpt-4.1","max_tokens":400,"messages":[{"role":"user","content":")" +
                   std::string(40000, 'x') + R"("}]})",
               {"Authorization: Bearer " + kKey, "Content-Type: application/json"});
  BOOST_REQUIRE(direct.status == 200);
  AwaitCheckpoints(*exporter);
  BOOST_TEST(Today(*exporter)["holysheep"].verdict == "coverage");

  // A top-up raises the DeepSeek balance: inconclusive, never negative spend.
  const std::string start_before = Today(*exporter)["deep"].span_start;
  BOOST_REQUIRE(HttpPost(deep.url() + "/control/topup", R"({"nano_usd":5000000000})").status ==
                200);
  bool seen_topped_up = false;
  BOOST_REQUIRE(WaitFor(
      [&] {
        Row row = Today(*exporter)["deep"];
        BOOST_TEST(row.vendor >= 0);
        seen_topped_up = seen_topped_up || row.verdict == "topped_up";
        return row.reset && row.verdict == "match";  // two checkpoints after it
      },
      20s, 20ms));
  BOOST_TEST(seen_topped_up);
  BOOST_TEST(Today(*exporter)["deep"].span_start != start_before);

  // A restart between polls keeps the window (checkpoints are in the ledger).
  const std::string router_start = Today(*exporter)["router"].span_start;
  exporter->process().Signal(SIGTERM);
  BOOST_REQUIRE(exporter->process().Wait(5s) == 0);
  exporter = std::make_unique<Exporter>(dir, config, env);
  rows = Today(*exporter);
  BOOST_TEST(rows["router"].span_start == router_start);
  ProbeNow(*exporter, "router/fake-gpt");
  AwaitCheckpoints(*exporter);
  rows = Today(*exporter);
  BOOST_TEST(rows["router"].span_start == router_start);
  BOOST_TEST(rows["router"].verdict == "match");
  BOOST_TEST(rows["router"].drift.value_or(-1) == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
