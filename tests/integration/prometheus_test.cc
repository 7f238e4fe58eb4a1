// A real Prometheus (Debian's) scrapes the real exporter.

#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>

#include "tests/integration/harness.h"

using namespace llm_exporter::testing;

BOOST_AUTO_TEST_SUITE(prometheus)

BOOST_AUTO_TEST_CASE(prometheus_scrapes_the_exporter_and_reports_it_up) {
  TempDir dir;
  Exporter exporter(dir, R"([[vendor]]
name = "acme"
api = "openai"
base_url = "http://127.0.0.1:9/v1"
)");
  std::string target = exporter.url().substr(7);
  int port = FreePort();
  std::string config = dir.Write("prometheus.yml",
                                 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                 "scrape_configs:\n  - job_name: llm_exporter\n"
                                 "    static_configs:\n      - targets: ['" +
                                     target + "']\n");
  Process prometheus(
      {"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir.File("tsdb"),
       "--web.listen-address=127.0.0.1:" + std::to_string(port)},
      {}, dir.path(), "prometheus");
  std::string api = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/";
  std::string health, last_error;
  bool up = WaitFor(
      [&] {
        HttpResult r = HttpGet(api + "targets", {}, 2s);
        if (r.status != 200) return false;
        rapidjson::Document doc;
        doc.Parse(r.body.c_str());
        if (doc.HasParseError() || !doc.IsObject()) return false;
        const auto& active = doc["data"]["activeTargets"];
        if (!active.IsArray() || active.Empty()) return false;
        health = active[0]["health"].GetString();
        last_error = active[0]["lastError"].GetString();
        return health == "up";
      },
      60s, 200ms);
  BOOST_TEST(up, "target health " << health << ": " << last_error << "\n" << prometheus.Stderr());
  // The scraped series are queryable too.
  bool queried = WaitFor(
      [&] {
        HttpResult r =
            HttpGet(api + "query?query=llm_exporter_config_last_reload_successful", {}, 2s);
        rapidjson::Document doc;
        doc.Parse(r.body.c_str());
        if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("data")) return false;
        const auto& result = doc["data"]["result"];
        return result.IsArray() && result.Size() == 1 &&
               std::string(result[0]["value"][1].GetString()) == "1";
      },
      30s, 200ms);
  BOOST_TEST(queried);
}

BOOST_AUTO_TEST_SUITE_END()
