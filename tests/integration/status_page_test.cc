// The status page in a real browser: Debian's chromium (headless) loads / from
// the exporter, which has probed the fake vendor with one target failing; the
// test reads the DOM the browser built and saves a screenshot.

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <regex>

#include "tests/integration/harness.h"

using namespace llm_exporter::testing;

namespace {

const std::string kKey = "sk-status-page-key-2468";

std::string Config(const FakeVendor& vendor) {
  auto probe = [](const std::string& name, bool stream, const std::string& expect) {
    return "[[probe]]\nvendor = \"acme\"\nmodel = \"fake-gpt\"\nname = \"" + name +
           "\"\nstream = " + (stream ? "true" : "false") + "\ninterval = \"1s\"\nexpect = \"" +
           expect + "\"\n\n";
  };
  return "[[vendor]]\nname = \"acme\"\napi = \"openai\"\nbase_url = \"" + vendor.url() +
         "/v1\"\napi_key_env = \"KEY\"\nprice_table = \"fake\"\n\n" +
         probe("alpha-streaming", true, "(?i)pong") + probe("beta-plain", false, "(?i)pong") +
         // Answers never say this: fails every run with content_mismatch.
         probe("zulu-broken", true, "never said by anyone") + "[pricing]\nfiles = [\"" +
         std::string(LLM_EXPORTER_SOURCE_DIR) + "/pricing/fake_prices.toml\"]\n";
}

std::string Chromium(const TempDir& dir, const std::string& args) {
  std::string output;
  int code = Run(std::string(CHROMIUM_BIN) +
                     " --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars"
                     " --user-data-dir='" +
                     dir.File("chromium") + "' " + args + " 2>/dev/null",
                 &output);
  BOOST_REQUIRE_MESSAGE(code == 0, "chromium failed: " << output);
  return output;
}

struct Row {
  std::string name;
  std::string state;
  std::string reason;
  std::string html;
};

// The targets table's rows as the browser's DOM has them, in order.
std::vector<Row> Rows(const std::string& dom) {
  static const std::regex row(
      R"re(<tr id="target-([^"]+)" data-state="([^"]*)" data-reason="([^"]*)">([\s\S]*?)</tr>)re");
  std::vector<Row> out;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), row); it != std::sregex_iterator();
       ++it) {
    out.push_back({(*it)[1], (*it)[2], (*it)[3], (*it)[4]});
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(status_page)

BOOST_AUTO_TEST_CASE(a_browser_shows_the_failing_target_first_with_its_reason) {
  TempDir dir;
  FakeVendor vendor(dir, {"--api-key", kKey, "--ttft-ms", "5", "--token-ms", "1"});
  Exporter exporter(dir, Config(vendor), {{"KEY", kKey}});
  BOOST_REQUIRE(WaitFor(
      [&] {
        std::string scrape = exporter.Metrics();
        for (const char* t : {"alpha-streaming", "beta-plain"}) {
          if (Series(scrape, "llm_probe_success", {{"target", t}}).value_or(0) != 1) return false;
        }
        return Series(scrape, "llm_probe_failures_total",
                      {{"target", "zulu-broken"}, {"reason", "content_mismatch"}})
                   .value_or(0) >= 1;
      },
      20s, 100ms));

  std::string dom = Chromium(dir, "--dump-dom '" + exporter.url() + "/'");
  auto rows = Rows(dom);
  BOOST_REQUIRE_MESSAGE(rows.size() == 3u, dom);
  BOOST_TEST(rows[0].name == "zulu-broken");
  BOOST_TEST(rows[0].state == "failing");
  BOOST_TEST(rows[0].reason == "content_mismatch");
  BOOST_TEST(rows[0].html.find("failing: content_mismatch") != std::string::npos);
  // Its failed cell links to the run's log on the details page.
  BOOST_TEST(rows[0].html.find("<a href=\"/details?target=zulu-broken#run-") != std::string::npos);
  BOOST_TEST(rows[1].name == "alpha-streaming");
  BOOST_TEST(rows[1].state == "up");
  BOOST_TEST(rows[2].name == "beta-plain");
  BOOST_TEST(rows[2].state == "up");
  for (const auto& r : rows) {
    BOOST_TEST(r.html.find("role=\"img\" ") != std::string::npos);
    BOOST_TEST(r.html.find("aria-label=\"Last 24 hours: ") != std::string::npos);
  }
  BOOST_TEST(dom.find("1 failing") != std::string::npos);
  BOOST_TEST(dom.find("2 up") != std::string::npos);

  // The link leads to that run's log.
  std::smatch link;
  BOOST_REQUIRE(std::regex_search(
      rows[0].html, link, std::regex(R"re(href="/details\?target=zulu-broken#(run-\d+)")re")));
  std::string details = HttpGet(exporter.url() + "/details?target=zulu-broken").body;
  BOOST_TEST(details.find("id=\"" + link[1].str() + "\"") != std::string::npos);
  BOOST_TEST(details.find("alpha-streaming") == std::string::npos);
  // Query values are percent-decoded (civetweb's mg_get_var).
  std::string decoded = HttpGet(exporter.url() + "/details?target=zulu%2Dbroken").body;
  BOOST_TEST(decoded.find("id=\"" + link[1].str() + "\"") != std::string::npos);

  const std::string png = (std::filesystem::current_path() / "status_page.png").string();
  Chromium(dir, "--window-size=1280,720 --screenshot='" + png + "' '" + exporter.url() + "/'");
  BOOST_REQUIRE(std::filesystem::file_size(png) > 10'000u);
  BOOST_TEST_MESSAGE("status page screenshot: " << png);
  std::printf("status page screenshot: %s\n", png.c_str());
}

BOOST_AUTO_TEST_SUITE_END()
