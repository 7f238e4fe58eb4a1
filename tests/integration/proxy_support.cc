#include "tests/integration/proxy_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>

namespace llm_exporter::testing {

std::string ProxyUrl(Exporter& exporter) {
  auto fields = FindLog(exporter.process().Stderr(), "Proxy listening on");
  BOOST_REQUIRE(fields);
  return "http://" + (*fields)["address"];
}

std::string ProxyConfig(const std::string& base, const std::string& proxy_extra,
                        const std::string& keys_file) {
  std::string config = R"(
[[vendor]]
name = "fo"
api = "openai"
base_url = ")" + base + R"(/v1"
api_key_env = "VENDOR_KEY"
price_table = "fake"

[[vendor]]
name = "fa"
api = "anthropic"
base_url = ")" + base + R"("
api_key_env = "VENDOR_KEY"
price_table = "fake"

[pricing]
files = [")" LLM_EXPORTER_SOURCE_DIR R"(/pricing/fake_prices.toml"]

[proxy]
)" + proxy_extra;
  if (!keys_file.empty()) config += "client_keys_file = \"" + keys_file + "\"\n";
  config += R"(
  [[proxy.route]]
  model = "fake-claude*"
  vendor = "fa"
)" + std::string(keys_file.empty() ? "" : "  inject_key = true\n") +
            R"(
  [[proxy.route]]
  model = "fake-*"
  vendor = "fo"
)";
  return config;
}

const bool kThroughLibcurl = std::getenv("LLM_EXPORTER_TEST_LIBCURL") != nullptr;

const std::map<std::string, std::string> kEnv = [] {
  std::map<std::string, std::string> env = {{"VENDOR_KEY", "sk-vendor-key-0123456789"}};
  if (kThroughLibcurl) {
    env["http_proxy"] = "http://127.0.0.1:9";
    env["NO_PROXY"] = "*";
  }
  return env;
}();
const std::vector<std::string> kJson = {"Content-Type: application/json"};
const std::vector<std::string> kAnthropicHeaders = {"Content-Type: application/json",
                                                    "anthropic-version: 2023-06-01"};

std::string Chat(bool stream, bool include_usage, const std::string& prompt) {
  std::string body =
      R"({"model":"fake-gpt","max_tokens":8,"messages":[{"role":"user","content":")" + prompt +
      "\"}]";
  if (stream) body += R"(,"stream":true)";
  if (include_usage) body += R"(,"stream_options":{"include_usage":true})";
  return body + "}";
}

std::string Messages(bool stream, const std::string& prompt) {
  return R"({"model":"fake-claude","max_tokens":8,"messages":[{"role":"user","content":")" +
         prompt + "\"}]" + (stream ? R"(,"stream":true})" : "}");
}

double ProxySeries(const std::string& scrape, const std::string& name,
                   std::map<std::string, std::string> labels) {
  labels["source"] = "proxy";
  return Series(scrape, name, labels).value_or(0);
}

void StopCleanly(Exporter& exporter) {
  exporter.process().Signal(SIGTERM);
  const int code = exporter.process().Wait(20s);
  BOOST_TEST(code == 0);
  const std::string log = exporter.process().Stderr();
  BOOST_TEST(log.find("Sanitizer") == std::string::npos, log);
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

int ConnectTo(const std::string& proxy_url) {
  const std::string host_port = proxy_url.substr(std::string("http://").size());
  const int port = std::stoi(host_port.substr(host_port.rfind(':') + 1));
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void SendAll(int fd, const std::string& bytes) {
  BOOST_REQUIRE(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(bytes.size()));
}

int OpenStream(const std::string& proxy_url, const std::string& request,
               const std::string& marker) {
  const int fd = ConnectTo(proxy_url);
  SendAll(fd, request);
  std::string received;
  char buffer[4096];
  while (received.find(marker) == std::string::npos) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    BOOST_REQUIRE(n > 0);
    received.append(buffer, static_cast<size_t>(n));
  }
  return fd;
}

std::string ReadUntil(int fd, const std::string& marker) {
  std::string received;
  char buffer[4096];
  while (received.find(marker) == std::string::npos) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
  }
  return received;
}

std::string PostRequest(const std::string& path, const std::string& body,
                        const std::vector<std::string>& headers) {
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: proxy\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n";
  for (const auto& header : headers) request += header + "\r\n";
  return request + "\r\n" + body;
}

}  // namespace llm_exporter::testing
