// The real llm_exporter binary, started on loopback port 0, driven over HTTP
// and signals.

#include <crypt.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

using namespace llm_exporter::testing;

namespace {

const std::string kVendor = R"([[vendor]]
name = "acme"
api = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "ACME_KEY"
)";

std::string ProbeConfig(const std::string& model) {
  return kVendor + "\n[[probe]]\nvendor = \"acme\"\nmodel = \"" + model + "\"\n";
}

const std::map<std::string, std::string> kEnv = {{"ACME_KEY", "sk-acme-test-key-4242"}};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(exporter)

BOOST_AUTO_TEST_CASE(config_check_names_file_line_column_and_exits_1) {
  TempDir dir;
  std::string path = dir.Write("bad.toml", kVendor + "colour = \"blue\"\n");
  Process check({ExporterBinary(), "--config.check", "--config.file", path}, kEnv, dir.path(),
                "check");
  BOOST_TEST(check.Wait(10s) == 1);
  auto lines = Lines(check.Stderr());
  BOOST_REQUIRE(!lines.empty());
  BOOST_TEST(lines[0] == path + ":6:1: vendor[0].colour: unknown key");
}

BOOST_AUTO_TEST_CASE(config_check_prints_all_five_mistakes) {
  TempDir dir;
  std::string path =
      std::string(LLM_EXPORTER_SOURCE_DIR) + "/config/testdata/invalid-five-mistakes.toml";
  Process check({ExporterBinary(), "--config.check", "--config.file=" + path}, {}, dir.path(),
                "check");
  BOOST_TEST(check.Wait(10s) == 1);
  std::regex located("^" +
                     std::regex_replace(path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                     R"(:\d+:\d+: \S+: .+$)");
  int matching = 0;
  for (const auto& line : Lines(check.Stderr())) matching += std::regex_match(line, located);
  BOOST_TEST(matching == 5);
  BOOST_TEST(check.Stderr().find("5 errors") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(config_check_accepts_a_good_file) {
  TempDir dir;
  std::string path = dir.Write("good.toml", ProbeConfig("m1"));
  Process check({ExporterBinary(), "--config.check", "--config.file=" + path}, kEnv, dir.path(),
                "check");
  BOOST_TEST(check.Wait(10s) == 0);
  BOOST_TEST(check.Stdout().find("OK") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(flags) {
  TempDir dir;
  Process bad({ExporterBinary(), "--no-such-flag"}, {}, dir.path(), "bad");
  BOOST_TEST(bad.Wait(10s) == 1);
  BOOST_TEST(bad.Stderr().find("unknown flag --no-such-flag") != std::string::npos);
  Process level({ExporterBinary(), "--log.level=loud"}, {}, dir.path(), "level");
  BOOST_TEST(level.Wait(10s) == 1);
  Process version({ExporterBinary(), "--version"}, {}, dir.path(), "version");
  BOOST_TEST(version.Wait(10s) == 0);
  BOOST_TEST(version.Stdout().rfind("llm_exporter, version ", 0) == 0);
  Process help({ExporterBinary(), "--help"}, {}, dir.path(), "help");
  BOOST_TEST(help.Wait(10s) == 0);
  for (const char* flag : {"--config.file", "--web.listen-address", "--web.telemetry-path",
                           "--web.config.file", "--proxy.listen-address", "--state.dir",
                           "--log.level", "--log.format", "--config.check", "--version"}) {
    BOOST_TEST(help.Stdout().find(flag) != std::string::npos, flag);
  }
  Process missing({ExporterBinary(), "--config.file=" + dir.File("none.toml"),
                   "--web.listen-address=127.0.0.1:0"},
                  {}, dir.path(), "missing");
  BOOST_TEST(missing.Wait(10s) == 1);
}

// Prometheus asks for gzip on every scrape: a large response comes back
// compressed (and decompresses to the plain text), a client that does not ask
// gets plain text, and small responses are never compressed.
BOOST_AUTO_TEST_CASE(responses_are_gzipped_when_asked) {
  TempDir dir;
  Exporter exporter(dir, ProbeConfig("m1"), kEnv);
  HttpResult plain = HttpGet(exporter.url() + "/metrics");
  BOOST_TEST(plain.headers.count("content-encoding") == 0u);
  BOOST_TEST(plain.headers["vary"] == "Accept-Encoding");
  HttpResult gzipped = HttpGet(exporter.url() + "/metrics", {"Accept-Encoding: gzip"});
  BOOST_REQUIRE(gzipped.status == 200);
  BOOST_TEST(gzipped.headers["content-encoding"] == "gzip");
  BOOST_REQUIRE(gzipped.body.size() > 2u);
  BOOST_TEST((static_cast<unsigned char>(gzipped.body[0]) == 0x1f &&
              static_cast<unsigned char>(gzipped.body[1]) == 0x8b));
  BOOST_TEST(gzipped.body.size() * 4 < plain.body.size());
  dir.Write("scrape.gz", gzipped.body);
  std::string unzipped;
  BOOST_REQUIRE(Run("gzip -dc " + dir.File("scrape.gz"), &unzipped) == 0);
  BOOST_TEST(unzipped.find("# TYPE llm_exporter_build_info gauge") != std::string::npos);
  BOOST_TEST(HttpGet(exporter.url() + "/metrics", {"Accept-Encoding: gzip;q=0"})
                 .headers.count("content-encoding") == 0u);
  BOOST_TEST(HttpGet(exporter.url() + "/-/healthy", {"Accept-Encoding: gzip"})
                 .headers.count("content-encoding") == 0u);
}

BOOST_AUTO_TEST_CASE(standard_endpoints) {
  TempDir dir;
  Exporter exporter(dir, ProbeConfig("m1"), kEnv, {"--web.enable-lifecycle"});
  BOOST_TEST(HttpGet(exporter.url() + "/-/healthy").status == 200);
  BOOST_TEST(HttpGet(exporter.url() + "/-/ready").status == 200);
  BOOST_TEST(HttpGet(exporter.url() + "/-/reload").status == 405);
  BOOST_TEST(HttpGet(exporter.url() + "/no/such/page").status == 404);
  BOOST_TEST(HttpGet(exporter.url() + "/probe").status == 400);
  BOOST_TEST(HttpGet(exporter.url() + "/probe?target=nobody").status == 400);
  HttpResult page = HttpGet(exporter.url() + "/");
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.headers["content-type"].find("text/html") == 0u);
  BOOST_TEST(page.body.find("acme/m1") != std::string::npos);
  HttpResult metrics = HttpGet(exporter.url() + "/metrics");
  BOOST_TEST(metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
  auto series = ParseMetrics(metrics.body);
  BOOST_TEST(series["llm_exporter_config_last_reload_successful"] == 1);
  BOOST_TEST(series["llm_exporter_config_last_reload_success_timestamp_seconds"] > 1.7e9);
  BOOST_TEST(series["process_resident_memory_bytes"] > 0);
  BOOST_TEST(series["process_open_fds"] > 0);
  BOOST_TEST(series["process_start_time_seconds"] > 1.7e9);
  bool build_info = false;
  for (const auto& [name, value] : series) {
    if (name.rfind("llm_exporter_build_info{", 0) == 0) build_info = value == 1;
  }
  BOOST_TEST(build_info);
}

BOOST_AUTO_TEST_CASE(promtool_accepts_metrics) {
  TempDir dir;
  Exporter exporter(dir, ProbeConfig("m1"), kEnv, {"--web.enable-lifecycle"});
  std::string file = dir.Write("metrics.txt", exporter.Metrics());
  std::string output;
  int code = Run("promtool check metrics < " + file, &output);
  BOOST_TEST(code == 0, output);
  BOOST_TEST(output.empty(), output);
}

BOOST_AUTO_TEST_CASE(broken_reload_keeps_the_old_config) {
  TempDir dir;
  Exporter exporter(dir, ProbeConfig("m1"), kEnv, {"--web.enable-lifecycle"});
  dir.Write("llm_exporter.toml", ProbeConfig("m2") + "bogus = 1\n");
  HttpResult reload = HttpPost(exporter.url() + "/-/reload", "");
  BOOST_TEST(reload.status == 500);
  BOOST_TEST(reload.body.find("bogus: unknown key") != std::string::npos);
  auto series = ParseMetrics(exporter.Metrics());
  BOOST_TEST(series["llm_exporter_config_last_reload_successful"] == 0);
  std::string page = HttpGet(exporter.url() + "/").body;
  BOOST_TEST(page.find("acme/m1") != std::string::npos);
  BOOST_TEST(page.find("acme/m2") == std::string::npos);
  BOOST_TEST(page.find("last reload failed") != std::string::npos);
  BOOST_TEST(exporter.process().Running());

  // SIGHUP with a fixed file takes the new config.
  dir.Write("llm_exporter.toml", ProbeConfig("m2"));
  exporter.process().Signal(SIGHUP);
  BOOST_TEST(WaitFor(
      [&] {
        return ParseMetrics(exporter.Metrics())["llm_exporter_config_last_reload_successful"] == 1;
      },
      10s));
  page = HttpGet(exporter.url() + "/").body;
  BOOST_TEST(page.find("acme/m2") != std::string::npos);
  BOOST_TEST(page.find("acme/m1") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(sigterm_exits_0_within_2s_with_a_request_in_flight) {
  TempDir dir;
  Exporter exporter(dir, ProbeConfig("m1"), kEnv, {"--web.enable-lifecycle"});
  // A client that sent half a request and waits: a worker is busy with it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port =
      htons(static_cast<uint16_t>(std::stoi(exporter.url().substr(exporter.url().rfind(':') + 1))));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  std::string partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  BOOST_REQUIRE(write(fd, partial.data(), partial.size()) > 0);
  BOOST_TEST(HttpGet(exporter.url() + "/-/healthy").status == 200);
  auto start = std::chrono::steady_clock::now();
  exporter.process().Signal(SIGTERM);
  auto code = exporter.process().Wait(5s);
  auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  BOOST_TEST(code == 0);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 2000);
}

BOOST_AUTO_TEST_CASE(secrets_never_leak) {
  TempDir dir;
  const std::string env_secret = "sk-env-SECRET-7f3a9c";
  const std::string file_secret = "sk-file-SECRET-b81d22";
  const std::string admin_secret = "sk-admin-SECRET-e5c0aa";
  dir.Write("key.txt", file_secret + "\n");
  std::string config = R"([[vendor]]
name = "one"
api = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "ONE_KEY"
  [vendor.billing]
  kind = "openai_org"
  api_key_env = "ONE_ADMIN_KEY"

[[vendor]]
name = "two"
api = "anthropic"
base_url = "http://127.0.0.1:9"
api_key_file = "key.txt"

[[probe]]
vendor = "one"
model = "m1"

[[probe]]
vendor = "two"
model = "m2"
)";
  std::map<std::string, std::string> env = {{"ONE_KEY", env_secret},
                                            {"ONE_ADMIN_KEY", admin_secret}};
  std::string seen;
  {
    Exporter exporter(dir, config, env, {"--log.level=debug", "--web.enable-lifecycle"});
    for (const char* path :
         {"/", "/details", "/metrics", "/probe?target=one/m1&debug=true",
          "/probe?target=two/m2&debug=true", "/reconcile", "/reconcile?format=json", "/-/ready"}) {
      seen += HttpGet(exporter.url() + path).body;
    }
    seen += HttpPost(exporter.url() + "/-/reload", "").body;
    // A failing reload logs diagnostics; they must not carry key values either.
    dir.Write("llm_exporter.toml", config + "api_key = \"" + env_secret + "\"\n");
    seen += HttpPost(exporter.url() + "/-/reload", "").body;
    seen += HttpGet(exporter.url() + "/").body;
    exporter.process().Signal(SIGTERM);
    exporter.process().Wait(5s);
    seen += exporter.process().Stderr() + exporter.process().Stdout();
  }
  BOOST_TEST(seen.size() > 1000u);
  for (const auto& secret : {env_secret, file_secret, admin_secret}) {
    BOOST_TEST(seen.find(secret) == std::string::npos, "secret leaked: " << secret);
  }
}

BOOST_AUTO_TEST_CASE(json_logs) {
  TempDir dir;
  std::string path = dir.Write("c.toml", ProbeConfig("m1"));
  Process process({ExporterBinary(), "--config.file=" + path, "--web.listen-address=127.0.0.1:0",
                   "--state.dir=" + dir.File("state"), "--log.format=json"},
                  kEnv, dir.path(), "json");
  BOOST_REQUIRE(
      WaitFor([&] { return process.Stderr().find("Listening on") != std::string::npos; }, 10s));
  process.Signal(SIGTERM);
  BOOST_TEST(process.Wait(5s) == 0);
  int lines = 0;
  for (const auto& line : Lines(process.Stderr())) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    BOOST_TEST_REQUIRE(!doc.HasParseError(), line);
    BOOST_TEST(doc["level"].IsString());
    BOOST_TEST(doc["msg"].IsString());
    BOOST_TEST(doc["source"].IsString());
    ++lines;
  }
  BOOST_TEST(lines >= 3);
}

BOOST_AUTO_TEST_CASE(several_listeners_and_custom_telemetry_path) {
  TempDir dir;
  std::string path = dir.Write("c.toml", ProbeConfig("m1"));
  Process process({ExporterBinary(), "--config.file=" + path, "--web.listen-address=127.0.0.1:0",
                   "--web.listen-address=localhost:0", "--web.telemetry-path=/custom",
                   "--state.dir=" + dir.File("state")},
                  kEnv, dir.path(), "multi");
  std::vector<std::string> addresses;
  BOOST_REQUIRE(WaitFor(
      [&] {
        addresses.clear();
        for (const auto& line : Lines(process.Stderr())) {
          auto f = ParseLogfmt(line);
          if (f["msg"] == "Listening on") addresses.push_back(f["address"]);
        }
        return addresses.size() == 2;
      },
      10s));
  for (const auto& address : addresses) {
    BOOST_TEST(HttpGet("http://" + address + "/custom").status == 200, address);
    BOOST_TEST(HttpGet("http://" + address + "/metrics").status == 404, address);
  }
}

BOOST_AUTO_TEST_CASE(basic_auth_from_web_config) {
  TempDir dir;
  crypt_data data{};
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  BOOST_REQUIRE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt) != nullptr);
  std::string hash = crypt_r("s3cret-pass", salt, &data);
  dir.Write("web.toml", "[basic_auth_users]\nalice = \"" + hash + "\"\n");
  Exporter exporter(dir, ProbeConfig("m1"), kEnv, {"--web.config.file=" + dir.File("web.toml")});
  HttpResult anonymous = HttpGet(exporter.url() + "/metrics");
  BOOST_TEST(anonymous.status == 401, anonymous.error);
  BOOST_TEST(anonymous.headers["www-authenticate"] == "Basic realm=\"llm_exporter\"");
  // alice:wrong, bob:s3cret-pass, alice:s3cret-pass
  BOOST_TEST(
      HttpGet(exporter.url() + "/metrics", {"Authorization: Basic YWxpY2U6d3Jvbmc="}).status ==
      401);
  BOOST_TEST(
      HttpGet(exporter.url() + "/metrics", {"Authorization: Basic Ym9iOnMzY3JldC1wYXNz"}).status ==
      401);
  for (int i = 0; i < 3; ++i) {  // the second and third hit the verified-password cache
    BOOST_TEST(
        HttpGet(exporter.url() + "/metrics", {"Authorization: Basic YWxpY2U6czNjcmV0LXBhc3M="})
            .status == 200);
  }
  BOOST_TEST(
      HttpGet(exporter.url() + "/metrics", {"Authorization: Basic YWxpY2U6d3Jvbmc="}).status ==
      401);
}

BOOST_AUTO_TEST_CASE(tls_config_is_refused_with_a_clear_error) {
  TempDir dir;
  dir.Write("cert.pem", "x");
  dir.Write("key.pem", "x");
  dir.Write("web.toml", "[tls_server_config]\ncert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n");
  std::string path = dir.Write("c.toml", ProbeConfig("m1"));
  Process process({ExporterBinary(), "--config.file=" + path, "--web.listen-address=127.0.0.1:0",
                   "--state.dir=" + dir.File("state"), "--web.config.file=" + dir.File("web.toml")},
                  kEnv, dir.path(), "tls");
  BOOST_TEST(process.Wait(10s) == 1);
  BOOST_TEST(process.Stderr().find("TLS (tls_server_config) is not available") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
