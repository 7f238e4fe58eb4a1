// The whole metric set, as a golden file: every family's HELP and TYPE and
// every series' labels, with sample values masked (node_exporter's e2e test is
// the model). A change to the exposition shows up as a diff of
// tests/integration/testdata/metrics.golden; rewrite it on purpose with
//   LLM_EXPORTER_UPDATE_GOLDEN=1 ctest -R integration
// and name every difference in the commit message.

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/harness.h"

using namespace llm_exporter::testing;

namespace {

const std::string kKey = "sk-golden-vendor-key-1234";
const std::string kAdminKey = "sk-admin-golden-key-5678";

std::string GoldenPath() {
  return std::string(LLM_EXPORTER_SOURCE_DIR) + "/tests/integration/testdata/metrics.golden";
}

// Every billing kind, both wire formats, streaming and plain probes: the
// steady state of a healthy exporter.
std::string Config(const FakeVendor& vendor) {
  std::string prices = std::string(LLM_EXPORTER_SOURCE_DIR) + "/pricing/fake_prices.toml";
  auto billed = [&](const std::string& name, const std::string& api, const std::string& path,
                    const std::string& kind, bool admin) {
    return "[[vendor]]\nname = \"" + name + "\"\napi = \"" + api + "\"\nbase_url = \"" +
           vendor.url() + path + "\"\napi_key_env = \"KEY\"\nprice_table = \"fake\"\n" +
           "  [vendor.billing]\n  kind = \"" + kind + "\"\n  interval = \"1s\"\n  base_url = \"" +
           vendor.url() + "\"\n" + (admin ? "  api_key_env = \"ADMIN_KEY\"\n" : "") + "\n";
  };
  return "[exporter]\nprobe_budget_usd_per_day = 1\n\n" +
         billed("acme", "openai", "/v1", "openai_org", true) +
         billed("claude", "anthropic", "", "anthropic_admin", true) +
         billed("gateway", "openai", "/v1", "openai_dashboard", false) +
         billed("deep", "openai", "/v1", "deepseek_balance", false) +
         billed("router", "openai", "/v1", "openrouter", false) +
         "[[probe]]\nvendor = \"acme\"\nmodel = \"fake-gpt\"\nstream = true\ninterval = \"1s\"\n\n"
         "[[probe]]\nvendor = \"acme\"\nmodel = \"fake-gpt\"\nname = \"acme/plain\"\n"
         "stream = false\ninterval = \"1s\"\n\n"
         "[[probe]]\nvendor = \"claude\"\nmodel = \"fake-claude\"\nstream = true\n"
         "interval = \"1s\"\n\n"
         "[pricing]\nfiles = [\"" +
         prices + "\"]\n";
}

// Label values that change from run to run or day to day.
const std::set<std::string> kMaskedLabels = {"day", "version", "revision", "verdict"};

// HELP and TYPE lines as they are; each family's series sorted (the
// serializer's order is a hash map's), with sample values masked and the
// labels above replaced by "*"; repeated lines (after masking) once.
std::string Mask(const std::string& exposition) {
  static const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  std::istringstream in(exposition);
  std::ostringstream out;
  std::set<std::string> series_of_family;
  auto flush = [&] {
    for (const auto& s : series_of_family) out << s << " <value>\n";
    series_of_family.clear();
  };
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# HELP", 0) == 0) flush();
      out << line << "\n";
      continue;
    }
    size_t end = line.find('}');
    std::string series =
        end == std::string::npos ? line.substr(0, line.find(' ')) : line.substr(0, end + 1);
    std::string masked;
    size_t last = 0;
    for (auto it = std::sregex_iterator(series.begin(), series.end(), label);
         it != std::sregex_iterator(); ++it) {
      masked += series.substr(last, it->position() - last);
      std::string name = (*it)[1];
      masked +=
          name + "=\"" + (kMaskedLabels.count(name) ? std::string("*") : (*it)[2].str()) + "\"";
      last = it->position() + it->length();
    }
    series_of_family.insert(masked + series.substr(last));
  }
  flush();
  return out.str();
}

double Count(const std::string& scrape, const std::string& name,
             const std::map<std::string, std::string>& labels) {
  return Series(scrape, name, labels).value_or(0);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(golden)

BOOST_AUTO_TEST_CASE(exposition_matches_the_golden_file) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey, "--admin-key", kAdminKey, "--prices",
                          std::string(LLM_EXPORTER_SOURCE_DIR) + "/pricing/fake_prices.toml",
                          "--reply-tokens", "8", "--ttft-ms", "5", "--token-ms", "1"});
  Exporter exporter(dir, Config(vendor), {{"KEY", kKey}, {"ADMIN_KEY", kAdminKey}});
  // Steady state: every target has run twice and every vendor has been polled
  // three times since (a gateway's checkpoint row needs two polls).
  std::string scrape;
  bool steady = WaitFor(
      [&] {
        scrape = exporter.Metrics();
        for (const char* target : {"acme/fake-gpt", "acme/plain", "claude/fake-claude"}) {
          if (Count(scrape, "llm_probes_total", {{"target", target}}) < 2) return false;
        }
        for (const char* v : {"acme", "claude", "gateway", "deep", "router"}) {
          if (Count(scrape, "llm_billing_polls_total", {{"vendor", v}}) < 3) return false;
        }
        return true;
      },
      30s, 100ms);
  BOOST_REQUIRE_MESSAGE(steady, scrape);
  std::string masked = Mask(scrape);

  if (const char* update = std::getenv("LLM_EXPORTER_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(GoldenPath()) << masked;
    BOOST_TEST_MESSAGE("rewrote " << GoldenPath());
    return;
  }
  std::string golden = ReadFile(GoldenPath());
  if (masked != golden) {
    std::string actual = dir.Write("metrics.actual", masked);
    std::string diff;
    Run("diff -u '" + GoldenPath() + "' '" + actual + "'", &diff);
    BOOST_ERROR("the exposition differs from " << GoldenPath()
                                               << " (LLM_EXPORTER_UPDATE_GOLDEN=1 rewrites it):\n"
                                               << diff);
  }
}

BOOST_AUTO_TEST_SUITE_END()
