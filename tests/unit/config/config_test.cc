#define BOOST_TEST_MODULE unit_config
#include "config/config.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/decimal.h"
#include "base/log.h"
#include "config/values.h"
#include "config/web_config.h"

namespace fs = std::filesystem;
using namespace llm_exporter::config;
using namespace llm_exporter::base;

namespace {

const fs::path kTestdata = fs::path(LLM_EXPORTER_SOURCE_DIR) / "config" / "testdata";

std::optional<std::string> TestEnv(const std::string& name) {
  static const std::map<std::string, std::string> env = {
      {"TEST_KEY", "sk-test-0123456789"}, {"EMPTY_KEY", ""}, {"ADMIN_KEY", "sk-admin-secret"}};
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

// "# want: :LINE:COL: key: message" lines at the top of each invalid-*.toml,
// or the expectations table below.
std::vector<std::string> Diagnose(const fs::path& file) {
  auto loaded = LoadConfigFile(file.string(), TestEnv);
  std::vector<std::string> out;
  if (loaded) return out;
  for (const auto& d : loaded.error()) {
    std::string text = d.ToString();
    BOOST_REQUIRE(text.rfind(file.string(), 0) == 0);
    out.push_back(text.substr(file.string().size()));
  }
  return out;
}

// One entry per rule; every invalid-*.toml in testdata must be listed.
const std::map<std::string, std::vector<std::string>> kExpected = {
    {"unknown-key", {":6:1: vendor[0].colour: unknown key"}},
    {"unknown-section", {":4:2: probes: unknown key"}},
    {"wrong-type", {":10:10: probe[0].stream: expected a boolean, got a string"}},
    {"bad-duration",
     {":10:12: probe[0].interval: invalid duration \"5x\" (use e.g. \"500ms\", \"30s\", \"5m\", "
      "\"1h\")"}},
    {"missing-required", {":1:1: vendor[0].base_url: missing required key"}},
    {"bad-api",
     {":3:7: vendor[0].api: invalid value \"grpc\" (expected one of: openai, anthropic)"}},
    {"bad-billing-kind",
     {":8:10: vendor[0].billing.kind: invalid value \"stripe\" (expected one of: openai_org, "
      "anthropic_admin, openai_dashboard, deepseek_balance, openrouter)"}},
    {"env-unset",
     {":5:15: vendor[0].api_key_env: environment variable \"NOT_SET_ANYWHERE\" is not set"}},
    {"env-empty", {":5:15: vendor[0].api_key_env: environment variable \"EMPTY_KEY\" is empty"}},
    {"secret-file-missing",
     {":5:16: vendor[0].api_key_file: cannot read secret file \"" +
      (kTestdata / "no-such-key-file").string() + "\": No such file or directory"}},
    {"inline-secret",
     {":5:11: vendor[0].api_key: inline secrets are not allowed: put the key in an environment "
      "variable and set api_key_env, or in a file and set api_key_file"}},
    {"secret-env-and-file",
     {":6:16: vendor[0].api_key_file: api_key_env and api_key_file are mutually exclusive"}},
    {"duplicate-vendor", {":8:8: vendor[1].name: duplicate vendor name \"acme\""}},
    {"duplicate-probe", {":13:9: probe[1].model: duplicate probe name \"acme/m1\""}},
    {"unknown-vendor", {":8:10: probe[0].vendor: unknown vendor \"acne\""}},
    {"route-unknown-vendor", {":10:12: proxy.route[0].vendor: unknown vendor \"nobody\""}},
    {"bad-regex",
     {":10:10: probe[0].expect: invalid regular expression \"(pong\": Mismatched '(' and ')' in "
      "regular expression"}},
    {"timeout-exceeds-interval",
     {":11:11: probe[0].timeout: timeout (30s) must not exceed interval (10s)"}},
    {"negative-budget", {":2:28: exporter.probe_budget_usd_per_day: must not be negative"}},
    {"budget-precision",
     {":2:28: exporter.probe_budget_usd_per_day: not a dollar amount with at most nine "
      "decimals"}},
    {"max-tokens", {":10:14: probe[0].max_tokens: must be between 1 and 1000000, got 0"}},
    {"duration-too-long",
     {":10:12: probe[0].interval: duration \"20000w\" is too long (at most 7d)"}},
    {"retention-out-of-range",
     {":2:25: exporter.ledger_retention_days: must be between 1 and 36500, got 4294967297"}},
    {"base-url-credentials",
     {":4:12: vendor[0].base_url: credentials in the URL are not allowed (they would be shown on "
      "the status page and in logs): put the key in api_key_env or api_key_file"}},
    {"on-demand-budget",
     {":3:38: exporter.on_demand_probe_budget_usd_per_day: must not exceed "
      "probe_budget_usd_per_day (it is a part of it)",
      ":4:35: exporter.max_concurrent_on_demand_probes: must be between 1 and 64, got 0"}},
    {"base-url", {":4:12: vendor[0].base_url: must start with http:// or https://"}},
    {"client-keys",
     {":8:20: proxy.client_keys_file: " + (kTestdata / "bad_client_keys").string() +
          ":2: want two words, NAME KEY (the line's words are not shown)",
      ":9:22: proxy.first_byte_timeout: invalid duration \"never\" (use e.g. \"500ms\", \"30s\", "
      "\"5m\", \"1h\")"}},
    {"inject-without-client-keys",
     {":11:16: proxy.route[0].inject_key: proxy.client_keys_file is required when a route "
      "injects a vendor key"}},
    {"syntax", {":1:10: Error while parsing table header: expected ']', saw '\\n'"}},
    {"price-file-missing",
     {":2:9: pricing.files: price file \"" + (kTestdata / "no-such-prices.toml").string() +
      "\" does not exist"}},
    {"reasoning-effort",
     {":10:20: probe[0].reasoning_effort: invalid value \"extreme\" (expected one of: minimal, "
      "low, medium, high)"}},
    {"five-mistakes",
     {":2:28: exporter.probe_budget_usd_per_day: expected a number, got a string",
      ":3:26: exporter.default_probe_interval: invalid duration \"soon\" (use e.g. \"500ms\", "
      "\"30s\", \"5m\", \"1h\")",
      ":9:11: vendor[0].api_key: inline secrets are not allowed: put the key in an environment "
      "variable and set api_key_env, or in a file and set api_key_file",
      ":14:1: probe[0].temperature: unknown key",
      ":17:10: probe[1].vendor: unknown vendor \"nobody\""}},
};

}  // namespace

BOOST_AUTO_TEST_CASE(every_invalid_file_gives_its_exact_errors) {
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(kTestdata)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("invalid-", 0) != 0) continue;
    ++files;
    std::string rule = name.substr(8, name.size() - 8 - 5);
    BOOST_TEST_CONTEXT("rule " << rule) {
      auto expected = kExpected.find(rule);
      BOOST_REQUIRE_MESSAGE(expected != kExpected.end(), "no expectation for " << name);
      auto actual = Diagnose(entry.path());
      BOOST_TEST(actual == expected->second, boost::test_tools::per_element());
    }
  }
  BOOST_TEST(files == kExpected.size());
}

BOOST_AUTO_TEST_CASE(good_config_loads_every_section) {
  auto loaded = LoadConfigFile((kTestdata / "good.toml").string(), TestEnv);
  BOOST_REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().front().ToString()));
  const Config& c = *loaded;
  BOOST_TEST(c.exporter.probe_budget_nano_usd == 1'250'000'000);
  BOOST_TEST(c.exporter.ledger_retention_days == 400);
  BOOST_REQUIRE(c.vendors.size() == 2u);
  BOOST_TEST(c.vendors[0].base_url == "https://api.holysheep.ai/v1");  // trailing / dropped
  BOOST_TEST(c.vendors[0].api_key.Reveal() == "sk-test-0123456789");
  BOOST_TEST(c.vendors[0].api_key.Source() == "env TEST_KEY");
  BOOST_REQUIRE(c.vendors[0].billing.has_value());
  BOOST_TEST(c.vendors[0].billing->api_key.Reveal() == "sk-test-0123456789");  // vendor's key
  BOOST_TEST(c.vendors[0].billing->interval.count() == 15 * 60 * 1000);
  BOOST_TEST((c.vendors[1].api == WireApi::kAnthropic));
  BOOST_TEST(c.vendors[1].api_key.Reveal() == "sk-test-from-file");
  BOOST_TEST(c.vendors[1].price_table == "anthropic");
  BOOST_TEST(!c.vendors[1].billing->enabled);
  BOOST_TEST(c.vendors[1].billing->api_key.Reveal() == "sk-admin-secret");
  BOOST_REQUIRE(c.probes.size() == 2u);
  BOOST_TEST(c.probes[0].interval.count() == 90'000);
  BOOST_TEST(c.probes[0].stream);
  BOOST_TEST(c.probes[1].name == "anthropic/claude-sonnet-4-5");
  BOOST_TEST(c.probes[1].interval.count() == 60'000);  // exporter default
  BOOST_TEST(c.probes[1].timeout.count() == 20'000);
  BOOST_TEST(c.probes[1].max_tokens == 16);
  BOOST_REQUIRE(c.proxy.routes.size() == 2u);
  BOOST_TEST(c.proxy.routes[0].inject_key);
  BOOST_TEST(c.proxy.client_keys_file == (kTestdata / "client_keys").string());
  BOOST_REQUIRE(c.proxy.client_keys.size() == 2u);
  BOOST_TEST(c.proxy.client_keys[1].name == "team-b");
  BOOST_TEST(c.proxy.client_keys[1].key.Reveal() == "sk-client-bbbb-0002");
  BOOST_TEST(c.proxy.connect_timeout.count() == 3'000);
  BOOST_TEST(c.proxy.idle_timeout.count() == 90'000);
  BOOST_TEST(c.proxy.first_byte_timeout.count() == 600'000);  // the default
}

BOOST_AUTO_TEST_CASE(example_configs_are_valid) {
  for (const char* name : {"demo.toml", "example.toml"}) {
    fs::path file = fs::path(LLM_EXPORTER_SOURCE_DIR) / "config" / name;
    auto env = [](const std::string&) -> std::optional<std::string> { return "sk-example"; };
    auto loaded = LoadConfigFile(file.string(), env);
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(loaded.has_value());
      if (!loaded) {
        for (const auto& d : loaded.error()) BOOST_TEST_MESSAGE(d.ToString());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_file_is_one_clear_error) {
  auto loaded = LoadConfigFile("/nonexistent/llm_exporter.toml", TestEnv);
  BOOST_REQUIRE(!loaded);
  BOOST_TEST(loaded.error().front().ToString() ==
             "/nonexistent/llm_exporter.toml: cannot read config file: No such file or directory");
}

BOOST_AUTO_TEST_CASE(secret_prints_masked) {
  Secret secret("env X", "sk-very-secret");
  std::ostringstream out;
  out << secret;
  BOOST_TEST(out.str() == "<secret>");
  std::string line = Log().Format(LogLevel::kInfo, "x.cc", 1, "Probe", {{"key", secret}});
  BOOST_TEST(line.find("sk-very-secret") == std::string::npos);
  BOOST_TEST(line.find("key=<secret>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(secret_redacts_its_value_from_vendor_text) {
  Secret secret("env X", "AbC123token");
  BOOST_TEST(secret.Redact("invalid token AbC123token (AbC123token)") ==
             "invalid token <secret> (<secret>)");
  BOOST_TEST(Secret().Redact("nothing to hide") == "nothing to hide");
}

BOOST_AUTO_TEST_CASE(durations) {
  struct Case {
    const char* text;
    std::optional<int64_t> ms;
  };
  for (const Case& c : std::vector<Case>{{"30s", 30'000},
                                         {"5m", 300'000},
                                         {"1h30m", 5'400'000},
                                         {"500ms", 500},
                                         {"1d", 86'400'000},
                                         {"2w", 1'209'600'000},
                                         {"", std::nullopt},
                                         {"5", std::nullopt},
                                         {"5x", std::nullopt},
                                         {"-5s", std::nullopt},
                                         {"s", std::nullopt}}) {
    BOOST_TEST_CONTEXT(c.text) {
      auto parsed = ParseDuration(c.text);
      BOOST_TEST(parsed.has_value() == c.ms.has_value());
      if (parsed && c.ms) BOOST_TEST(parsed->count() == *c.ms);
    }
  }
  BOOST_TEST(FormatDuration(Duration(5'400'000)) == "1h30m");
  BOOST_TEST(FormatDuration(Duration(1500)) == "1s500ms");
}

BOOST_AUTO_TEST_CASE(decimal_dollars_are_exact) {
  BOOST_TEST(*ParseDecimalNanoUsd("1.25") == 1'250'000'000);
  BOOST_TEST(*ParseDecimalNanoUsd("0.000000001") == 1);
  BOOST_TEST(*ParseDecimalNanoUsd("2e-06") == 2'000);
  BOOST_TEST(*ParseDecimalNanoUsd("1.5e+2") == 150'000'000'000);
  BOOST_TEST(*ParseDecimalNanoUsd("-3") == -3'000'000'000);
  BOOST_TEST(!ParseDecimalNanoUsd("0.0000000001").has_value());
  BOOST_TEST(!ParseDecimalNanoUsd("abc").has_value());
  BOOST_TEST(!ParseDecimalNanoUsd("99999999999999999999").has_value());
  BOOST_TEST(llm_exporter::base::ShortestDecimal(0.1) == "0.1");
}

BOOST_AUTO_TEST_CASE(logfmt_and_json_lines) {
  Logger logger;
  logger.Configure(LogLevel::kDebug, LogFormat::kLogfmt);
  std::string line =
      logger.Format(LogLevel::kWarn, "/a/b/probe.cc", 42, "Probe failed",
                    {{"target", "x/y"}, {"err", "said \"no\"\n"}, {"n", int64_t{3}}});
  BOOST_TEST(line.find(" level=warn source=probe.cc:42 msg=\"Probe failed\" target=x/y "
                       "err=\"said \\\"no\\\"\\n\" n=3") != std::string::npos);
  BOOST_TEST(line.rfind("time=", 0) == 0);
  logger.Configure(LogLevel::kDebug, LogFormat::kJson);
  line = logger.Format(LogLevel::kError, "main.cc", 7, "Bad", {{"k", "v\"1"}});
  BOOST_TEST(line.find(R"("level":"error","source":"main.cc:7","msg":"Bad","k":"v\"1"})") !=
             std::string::npos);
  BOOST_TEST((ParseLogLevel("warn") == LogLevel::kWarn));
  BOOST_TEST(!ParseLogLevel("verbose").has_value());
  BOOST_TEST(!ParseLogFormat("xml").has_value());
}

BOOST_AUTO_TEST_CASE(web_config) {
  fs::path dir = fs::temp_directory_path() / ("llm_web_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "web.toml") << "[basic_auth_users]\nalice = \"$2b$04$abc\"\nbob = 5\n"
                                     "[tls_server_config]\ncert_file = \"c.pem\"\n";
  auto web = LoadWebConfigFile((dir / "web.toml").string());
  BOOST_REQUIRE(!web);
  std::vector<std::string> got;
  for (const auto& d : web.error())
    got.push_back(d.ToString().substr((dir / "web.toml").string().size()));
  std::vector<std::string> want = {":3:7: basic_auth_users.bob: expected a string, got an integer",
                                   ":4:1: tls_server_config.key_file: missing required key",
                                   ":5:13: tls_server_config.cert_file: file \"" +
                                       (dir / "c.pem").string() + "\" does not exist"};
  std::sort(got.begin(), got.end());
  BOOST_TEST(got == want, boost::test_tools::per_element());
  fs::remove_all(dir);
}

// A probe without its own timeout waits at most its interval (as Prometheus
// does with scrape_timeout); only an explicit timeout above it is refused.
BOOST_AUTO_TEST_CASE(default_timeout_never_exceeds_a_short_interval) {
  auto loaded = LoadConfigString(
      "[[vendor]]\nname = \"acme\"\napi = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
      "[[probe]]\nvendor = \"acme\"\nmodel = \"m1\"\ninterval = \"2s\"\n",
      "/tmp/short.toml", TestEnv);
  BOOST_REQUIRE(loaded.has_value());
  BOOST_TEST(loaded->probes[0].timeout.count() == 2000);
  BOOST_TEST(loaded->probes[0].interval.count() == 2000);
}

// Filesystem errors in configured paths are config errors with the path,
// never an exception (a throwing std::filesystem call aborted a reload).
BOOST_AUTO_TEST_CASE(symlink_loop_and_unreadable_paths_are_config_errors) {
  fs::path dir = fs::temp_directory_path() / ("unit_config_loop." + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_symlink(dir / "loop.toml", dir / "loop.toml");
  std::string config = "[pricing]\nfiles = [\"loop.toml\"]\nlitellm_json = \"loop.toml\"\n";
  std::vector<std::string> errors;
  BOOST_REQUIRE_NO_THROW({
    auto loaded = LoadConfigString(config, (dir / "c.toml").string(), TestEnv);
    BOOST_REQUIRE(!loaded.has_value());
    for (const auto& d : loaded.error()) errors.push_back(d.ToString());
  });
  BOOST_REQUIRE(errors.size() == 2u);
  const std::string loop = (dir / "loop.toml").string();
  BOOST_TEST(errors[0] == (dir / "c.toml").string() + ":2:9: pricing.files: price file \"" + loop +
                              "\" cannot be accessed: Too many levels of symbolic links");
  BOOST_TEST(errors[1].find("pricing.litellm_json: file \"" + loop + "\" cannot be accessed") !=
             std::string::npos);
  fs::remove_all(dir);
}
