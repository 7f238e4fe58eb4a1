// Vendors behind TLS: the fake vendor behind Debian's nginx terminating TLS
// with a certificate authority this test makes, probed with per-vendor
// [vendor.tls] settings and through an egress proxy set by proxy_url.

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "tests/integration/connect_proxy.h"
#include "tests/integration/harness.h"

using namespace llm_exporter::testing;

namespace {

const std::string kKey = "sk-tls-test-key-2718281828";

// CA, a server certificate for "vendor.test" only (not for 127.0.0.1), and a
// client certificate, all with fresh EC keys.
void MakeCertificates(const TempDir& dir) {
  const std::string d = dir.path();
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
  dir.Write("server.ext",
            "subjectAltName=DNS:vendor.test\nbasicConstraints=CA:FALSE\n"
            "extendedKeyUsage=serverAuth\n");
  dir.Write("client.ext", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  const std::vector<std::string> commands = {
      "openssl req -x509" + key + "-keyout " + d + "/ca.key -out " + d +
          "/ca.pem -days 2 -subj '/CN=llm_exporter test CA'",
      "openssl req" + key + "-keyout " + d + "/server.key -out " + d +
          "/server.csr -subj '/CN=vendor.test'",
      "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -out " + d + "/server.pem -days 2 -extfile " + d + "/server.ext",
      "openssl req" + key + "-keyout " + d + "/client.key -out " + d +
          "/client.csr -subj '/CN=probe-client'",
      "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -out " + d + "/client.pem -days 2 -extfile " + d + "/client.ext",
  };
  for (const auto& command : commands) {
    std::string output;
    BOOST_REQUIRE_MESSAGE(Run(command, &output) == 0, command << "\n" << output);
  }
}

// nginx (one process, in the foreground) terminating TLS on `tls_port` and
// mutual TLS on `mtls_port`, passing plain HTTP to the fake vendor.
std::unique_ptr<Process> StartNginx(const TempDir& dir, int tls_port, int mtls_port,
                                    const std::string& upstream) {
  const std::string d = dir.path();
  const std::string location = "  location / { proxy_pass " + upstream +
                               "; proxy_buffering off; proxy_http_version 1.1; }\n";
  const std::string certs =
      "  ssl_certificate " + d + "/server.pem;\n  ssl_certificate_key " + d + "/server.key;\n";
  dir.Write("nginx.conf",
            "daemon off;\nmaster_process off;\nerror_log " + d + "/nginx-error.log;\npid " + d +
                "/nginx.pid;\nevents {}\nhttp {\n access_log off;\n client_body_temp_path " + d +
                "/tmp;\n proxy_temp_path " + d + "/tmp;\n fastcgi_temp_path " + d +
                "/tmp;\n uwsgi_temp_path " + d + "/tmp;\n scgi_temp_path " + d +
                "/tmp;\n server {\n  listen 127.0.0.1:" + std::to_string(tls_port) + " ssl;\n" +
                certs + location + " }\n server {\n  listen 127.0.0.1:" +
                std::to_string(mtls_port) + " ssl;\n" + certs + "  ssl_client_certificate " + d +
                "/ca.pem;\n  ssl_verify_client on;\n" + location + " }\n}\n");
  auto nginx = std::make_unique<Process>(
      std::vector<std::string>{NGINX_BIN, "-p", d, "-c", d + "/nginx.conf", "-e",
                               d + "/nginx-error.log"},
      std::map<std::string, std::string>{}, d, "nginx");
  BOOST_REQUIRE_MESSAGE(
      WaitFor(
          [&] {
            return HttpGet("http://127.0.0.1:" + std::to_string(tls_port) + "/").status == 400;
          },
          10s),
      "nginx did not start: " << ReadFile(d + "/nginx-error.log"));
  return nginx;
}

std::string Vendor(const std::string& name, int port, const std::string& tls,
                   const std::string& extra = "") {
  return "[[vendor]]\nname = \"" + name +
         "\"\napi = \"openai\"\nbase_url = \"https://127.0.0.1:" + std::to_string(port) +
         "/v1\"\napi_key_env = \"FAKE_KEY\"\nprice_table = \"fake\"\n" + extra +
         "\n  [vendor.tls]\n" + tls + "\n[[probe]]\nvendor = \"" + name +
         "\"\nmodel = \"fake-gpt\"\nname = \"" + name + "\"\ninterval = \"1s\"\n\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(vendors_behind_tls_a_private_ca_mutual_tls_and_an_egress_proxy) {
  TempDir dir;
  std::filesystem::create_directories(dir.File("tmp"));
  MakeCertificates(dir);
  FakeVendor vendor(dir, {"--api-key", kKey});
  const int tls_port = FreePort(), mtls_port = FreePort();
  auto nginx = StartNginx(dir, tls_port, mtls_port, vendor.url());
  ConnectProxy proxy;

  const std::string ca = "ca_file = \"" + dir.File("ca.pem") + "\"\n";
  const std::string name = "server_name = \"vendor.test\"\n";
  const std::string client = "cert_file = \"" + dir.File("client.pem") + "\"\nkey_file = \"" +
                             dir.File("client.key") + "\"\n";
  std::string config =
      Vendor("untrusted", tls_port, name) + Vendor("wrong-name", tls_port, ca) +
      Vendor("trusted", tls_port, ca + name) + Vendor("mtls-no-cert", mtls_port, ca + name) +
      Vendor("mtls", mtls_port, ca + name + client) +
      Vendor("proxied", tls_port, ca + name, "proxy_url = \"" + proxy.url() + "\"\n") +
      Vendor("insecure", tls_port, "insecure_skip_verify = true\n") + "[pricing]\nfiles = [\"" +
      std::string(LLM_EXPORTER_SOURCE_DIR) + "/pricing/fake_prices.toml\"]\n" +
      // The in-path proxy reaches vendors with the same TLS and egress settings.
      "[proxy]\n  [[proxy.route]]\n  model = \"fake-gpt\"\n  vendor = \"mtls\"\n"
      "  [[proxy.route]]\n  model = \"fake-gpt-*\"\n  vendor = \"proxied\"\n";
  Exporter exporter(dir, config, {{"FAKE_KEY", kKey}}, {"--proxy.listen-address=127.0.0.1:0"});

  auto runs = [&](const std::string& scrape, const std::string& target) {
    return Series(scrape, "llm_probes_total", {{"target", target}}).value_or(0);
  };
  const std::vector<std::string> targets = {"untrusted", "wrong-name", "trusted", "mtls-no-cert",
                                            "mtls",      "proxied",    "insecure"};
  std::string scrape;
  BOOST_REQUIRE(WaitFor(
      [&] {
        scrape = exporter.Metrics();
        for (const auto& t : targets) {
          if (runs(scrape, t) < 1) return false;
        }
        return true;
      },
      20s, 100ms));
  auto success = [&](const std::string& target) {
    return *Series(scrape, "llm_probe_success", {{"target", target}});
  };
  auto failures = [&](const std::string& target, const std::string& reason) {
    return *Series(scrape, "llm_probe_failures_total", {{"target", target}, {"reason", reason}});
  };
  // Untrusted CA, or a certificate for another name: a TLS failure.
  BOOST_TEST(success("untrusted") == 0);
  BOOST_TEST(failures("untrusted", "tls") >= 1);
  BOOST_TEST(success("wrong-name") == 0);
  BOOST_TEST(failures("wrong-name", "tls") >= 1);
  // Trusted through ca_file and verified as server_name: success, with a TLS phase.
  BOOST_TEST(success("trusted") == 1);
  BOOST_TEST(
      *Series(scrape, "llm_probe_duration_seconds", {{"target", "trusted"}, {"phase", "tls"}}) > 0);
  // Mutual TLS: refused without the client certificate, success with it.
  BOOST_TEST(success("mtls-no-cert") == 0);
  BOOST_TEST(success("mtls") == 1);
  // Through the egress proxy.
  BOOST_TEST(success("proxied") == 1);
  BOOST_TEST(proxy.tunnels() >= 1);
  // insecure_skip_verify works and is logged at warn.
  BOOST_TEST(success("insecure") == 1);
  auto warning = FindLog(exporter.process().Stderr(),
                         "TLS certificate verification is off for this vendor "
                         "(insecure_skip_verify): anyone on the path can read its key and replies");
  BOOST_REQUIRE(warning.has_value());
  BOOST_TEST((*warning)["level"] == "warn");
  BOOST_TEST((*warning)["vendor"] == "insecure");

  // Through the proxy: to the mutual-TLS vendor, and through the egress proxy.
  auto listening = FindLog(exporter.process().Stderr(), "Proxy listening on");
  BOOST_REQUIRE(listening.has_value());
  const std::string proxy_url = "http://" + (*listening)["address"] + "/v1/chat/completions";
  const int tunnels = proxy.tunnels();
  for (const std::string model : {"fake-gpt", "fake-gpt-via-egress"}) {
    HttpResult result = HttpPost(
        proxy_url, R"({"model":")" + model + R"(","messages":[{"role":"user","content":"ping"}]})",
        {"Content-Type: application/json", "Authorization: Bearer " + kKey});
    BOOST_TEST(result.status == 200, model << ": " << result.body);
  }
  BOOST_TEST(proxy.tunnels() > tunnels);
  scrape = exporter.Metrics();
  BOOST_TEST(Series(scrape, "llm_requests_total",
                    {{"source", "proxy"}, {"vendor", "mtls"}, {"code", "200"}})
                 .value_or(0) == 1);
  BOOST_TEST(Series(scrape, "llm_requests_total",
                    {{"source", "proxy"}, {"vendor", "proxied"}, {"code", "200"}})
                 .value_or(0) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
