// Billing pollers and reconciliation end to end: the real exporter polling the
// fake vendor's billing endpoints, which report the traffic it really served.

#include <rapidjson/document.h>
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <cmath>

#include "pricing/cost.h"
#include "pricing/ledger.h"
#include "tests/integration/harness.h"

using namespace llm_exporter::testing;

namespace {

const std::string kKey = "sk-fake-vendor-key-4711";
const std::string kAdminKey = "sk-admin-fake-vendor-0815";
const std::map<std::string, std::string> kEnv = {{"FAKE_KEY", kKey}, {"FAKE_ADMIN_KEY", kAdminKey}};

std::string PriceFile() {
  return std::string(LLM_EXPORTER_SOURCE_DIR) + "/pricing/fake_prices.toml";
}

std::vector<std::string> VendorFlags() {
  return {"--api-key", kKey,        "--admin-key",    kAdminKey,
          "--prices",  PriceFile(), "--reply-tokens", "8"};
}

// One OpenAI-style vendor with organization billing, two probed models that
// only run on demand (a 24 h interval), plus gateway-style billing kinds on the
// same fake vendor.
std::string Config(const FakeVendor& vendor) {
  return "[[vendor]]\nname = \"acme\"\napi = \"openai\"\nbase_url = \"" + vendor.url() +
         "/v1\"\napi_key_env = \"FAKE_KEY\"\nprice_table = \"fake\"\n"
         "  [vendor.billing]\n  kind = \"openai_org\"\n  interval = \"1s\"\n"
         "  api_key_env = \"FAKE_ADMIN_KEY\"\n  base_url = \"" +
         vendor.url() +
         "\"\n\n"
         "[[vendor]]\nname = \"gateway\"\napi = \"openai\"\nbase_url = \"" +
         vendor.url() +
         "/v1\"\napi_key_env = \"FAKE_KEY\"\nprice_table = \"fake\"\n"
         "  [vendor.billing]\n  kind = \"openai_dashboard\"\n  interval = \"1s\"\n"
         "  base_url = \"" +
         vendor.url() +
         "\"\n\n"
         "[[vendor]]\nname = \"deep\"\napi = \"openai\"\nbase_url = \"" +
         vendor.url() +
         "/v1\"\napi_key_env = \"FAKE_KEY\"\n"
         "  [vendor.billing]\n  kind = \"deepseek_balance\"\n  interval = \"1s\"\n"
         "  base_url = \"" +
         vendor.url() +
         "\"\n\n"
         "[[probe]]\nvendor = \"acme\"\nmodel = \"fake-gpt\"\ninterval = \"24h\"\n\n"
         "[[probe]]\nvendor = \"acme\"\nmodel = \"fake-claude\"\ninterval = \"24h\"\n\n"
         "[pricing]\nfiles = [\"" +
         PriceFile() + "\"]\n";
}

struct Row {
  std::string verdict;
  double local = 0;
  double vendor = 0;
  std::optional<double> drift;
  std::optional<double> price_drift;
  std::optional<double> input_drift;
};

double Number(const rapidjson::Value& v) {
  return v.IsString() ? std::stod(v.GetString()) : v.GetDouble();
}

std::map<std::string, Row> Reconciliation(const Exporter& exporter,
                                          const std::string& window = "today") {
  std::map<std::string, Row> out;
  ForEachReconcileRow(exporter, window, [&](const rapidjson::Value& row) {
    Row parsed;
    parsed.verdict = row["verdict"].GetString();
    parsed.local = Number(row["local_cost_usd"]);
    // Checked access: RapidJSON asserts on a missing member in debug builds.
    auto number = [&row](const char* name) -> std::optional<double> {
      if (!row.HasMember(name) || row[name].IsNull()) return std::nullopt;
      return Number(row[name]);
    };
    parsed.vendor = number("vendor_cost_usd").value_or(0);
    parsed.drift = number("drift_ratio");
    parsed.price_drift = number("price_drift_ratio");
    if (row.HasMember("token_drift") && row["token_drift"].HasMember("input")) {
      const auto& input = row["token_drift"]["input"];
      if (input.HasMember("ratio") && input["ratio"].IsNumber()) {
        parsed.input_drift = input["ratio"].GetDouble();
      }
    }
    out[std::string(row["vendor"].GetString()) + "/" + row["model"].GetString()] = parsed;
  });
  return out;
}

// Waits for two more completed polls: the second began after everything before the call.
void AwaitFreshPoll(const Exporter& exporter) {
  double polls = BillingPolls(exporter, "acme");
  BOOST_REQUIRE(WaitFor([&] { return BillingPolls(exporter, "acme") >= polls + 2; }, 20s, 50ms));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(billing)

BOOST_AUTO_TEST_CASE(reconciliation_tells_price_from_coverage) {
  TempDir dir;
  // Yesterday's traffic (the fake vendor only serves today): proxy traffic
  // recorded in the ledger before the exporter starts.
  {
    llm_exporter::pricing::LedgerOptions options;
    options.state_dir = dir.File("state");
    auto ledger = llm_exporter::pricing::Ledger::Open(options);
    BOOST_REQUIRE(ledger.has_value());
    llm_exporter::pricing::Usage usage;
    usage.input = 100;
    usage.output = 10;
    auto yesterday =
        llm_exporter::pricing::UtcDay(std::chrono::system_clock::now()) - std::chrono::days(1);
    (*ledger)->Record({yesterday, "acme", "fake-gpt", "proxy", usage, 123'000});
    BOOST_REQUIRE((*ledger)->Flush());
  }
  FakeVendor vendor(dir, VendorFlags());
  Exporter exporter(dir, Config(vendor), kEnv);
  ProbeNow(exporter, "acme/fake-gpt", 3);
  ProbeNow(exporter, "acme/fake-claude", 2);
  AwaitFreshPoll(exporter);

  // Same prices on both sides, all traffic seen: exactly no drift.
  auto rows = Reconciliation(exporter);
  for (const char* model : {"acme/fake-gpt", "acme/fake-claude"}) {
    BOOST_TEST_CONTEXT(model) {
      BOOST_REQUIRE(rows.count(model) == 1u);
      BOOST_TEST(rows[model].verdict == "match");
      BOOST_TEST(rows[model].drift.value_or(-1) == 0.0);
      BOOST_TEST(rows[model].local > 0);
      BOOST_TEST(rows[model].vendor == rows[model].local);
    }
  }
  std::string scrape = exporter.Metrics();
  BOOST_TEST(*Series(scrape, "llm_reconciliation_drift_ratio",
                     {{"vendor", "acme"}, {"model", "fake-gpt"}, {"window", "today"}}) == 0);
  BOOST_TEST(*Series(scrape, "llm_billing_up", {{"vendor", "acme"}}) == 1);
  BOOST_TEST(*Series(scrape, "llm_billing_cost_usd",
                     {{"vendor", "acme"}, {"model", "fake-gpt"}, {"period", "day"}}) ==
             rows["acme/fake-gpt"].vendor);
  double gpt_before = rows["acme/fake-gpt"].local;

  // The vendor raises fake-gpt's price by half: only fake-gpt drifts, upwards.
  BOOST_REQUIRE(
      HttpPost(vendor.url() + "/control/price_skew", "{\"model\":\"fake-gpt\",\"factor\":1.5}")
          .status == 200);
  ProbeNow(exporter, "acme/fake-gpt", 2);
  ProbeNow(exporter, "acme/fake-claude", 1);
  AwaitFreshPoll(exporter);
  rows = Reconciliation(exporter);
  double gpt_new = rows["acme/fake-gpt"].local - gpt_before;
  double expected = 0.5 * gpt_new / (gpt_before + 1.5 * gpt_new);
  BOOST_TEST(rows["acme/fake-gpt"].verdict == "price");
  BOOST_TEST(std::abs(rows["acme/fake-gpt"].drift.value_or(0) - expected) < 1e-6,
             "drift " << rows["acme/fake-gpt"].drift.value_or(0) << " expected " << expected);
  BOOST_TEST(rows["acme/fake-gpt"].price_drift.value_or(0) > 0);
  BOOST_TEST(rows["acme/fake-gpt"].input_drift.value_or(-1) == 0.0);  // tokens agree
  BOOST_TEST(rows["acme/fake-claude"].verdict == "match");
  BOOST_TEST(rows["acme/fake-claude"].drift.value_or(-1) == 0.0);

  // Traffic straight to the vendor, bypassing the exporter: coverage, not price.
  for (int i = 0; i < 2; ++i) {
    HttpResult direct = HttpPost(
        vendor.url() + "/v1/chat/completions",
        R"({"model":"fake-claude","max_tokens":8,"messages":[{"role":"user","content":"hello there"}]})",
        {"Authorization: Bearer " + kKey, "Content-Type: application/json"});
    BOOST_REQUIRE(direct.status == 200);
  }
  AwaitFreshPoll(exporter);
  rows = Reconciliation(exporter);
  BOOST_TEST(rows["acme/fake-claude"].verdict == "coverage");
  BOOST_TEST(rows["acme/fake-claude"].drift.value_or(0) > 0);
  BOOST_TEST(rows["acme/fake-claude"].price_drift.value_or(-1) == 0.0);
  BOOST_TEST(rows["acme/fake-claude"].input_drift.value_or(0) > 0);

  // The status page and /reconcile name the stories.
  std::string page = HttpGet(exporter.url() + "/reconcile").body;
  BOOST_TEST(page.find("coverage: the vendor counted tokens") != std::string::npos);
  BOOST_TEST(page.find("price: the vendor charges") != std::string::npos);
  BOOST_TEST(HttpGet(exporter.url() + "/").body.find("Reconciliation") != std::string::npos);

  // A restart mid-day changes none of the local figures, today's or yesterday's.
  auto before = Reconciliation(exporter);
  auto yesterday_before = Reconciliation(exporter, "yesterday");
  BOOST_TEST(yesterday_before["acme/fake-gpt"].local == 0.000123);
  exporter.process().Signal(SIGTERM);
  BOOST_REQUIRE(exporter.process().Wait(5s) == 0);
  Exporter again(dir, Config(vendor), kEnv);
  BOOST_REQUIRE(WaitFor([&] { return Reconciliation(again).size() >= 2; }, 20s, 50ms));
  auto after = Reconciliation(again);
  for (const auto& [key, row] : before) {
    BOOST_TEST(after[key].local == row.local, key);
  }
  auto yesterday_after = Reconciliation(again, "yesterday");
  BOOST_TEST(yesterday_after.size() == yesterday_before.size());
  for (const auto& [key, row] : yesterday_before) {
    BOOST_TEST(yesterday_after[key].local == row.local, key);
  }
}

BOOST_AUTO_TEST_CASE(gateway_and_balance_kinds) {
  TempDir dir;
  FakeVendor vendor(dir, VendorFlags());
  Exporter exporter(dir, Config(vendor), kEnv);
  ProbeNow(exporter, "acme/fake-gpt", 2);
  BOOST_REQUIRE(WaitFor(
      [&] {
        std::string s = exporter.Metrics();
        return Series(s, "llm_billing_up", {{"vendor", "gateway"}}).value_or(0) == 1 &&
               Series(s, "llm_billing_up", {{"vendor", "deep"}}).value_or(0) == 1;
      },
      20s, 50ms));
  AwaitFreshPoll(exporter);
  std::string scrape = exporter.Metrics();
  double limit = *Series(scrape, "llm_billing_limit_usd", {{"vendor", "gateway"}});
  double used = *Series(scrape, "llm_billing_used_usd", {{"vendor", "gateway"}});
  double balance =
      *Series(scrape, "llm_billing_balance", {{"vendor", "deep"}, {"currency", "USD"}});
  BOOST_TEST(limit == 25.0);
  BOOST_TEST(used > 0);
  BOOST_TEST(std::abs(balance - (25.0 - used)) < 0.01);
  // Totals-only kinds reconcile between checkpoints, as one row (gateway_test.cc).
  BOOST_TEST(Series(scrape, "llm_reconciliation_local_cost_usd",
                    {{"vendor", "gateway"}, {"model", "all"}, {"window", "today"}})
                 .has_value());
}

BOOST_AUTO_TEST_CASE(bad_admin_key_is_a_classified_failure) {
  TempDir dir;
  FakeVendor vendor(dir, VendorFlags());
  auto env = kEnv;
  env["FAKE_ADMIN_KEY"] = "sk-admin-wrong";
  Exporter exporter(dir, Config(vendor), env);
  BOOST_TEST(WaitForSeries(exporter, "llm_billing_poll_failures_total",
                           {{"vendor", "acme"}, {"reason", "auth"}}, 1));
  BOOST_TEST(*Series(exporter.Metrics(), "llm_billing_up", {{"vendor", "acme"}}) == 0);
  BOOST_TEST(exporter.process().Stderr().find("sk-admin-wrong") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
