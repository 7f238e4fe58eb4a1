// The in-path proxy end to end, the client side: how the client's bytes are
// read (pieces, 100 Continue, chunks, pipelining), refused (too big, cut
// short, malformed, unrouted) and watched (a client that hangs up or stops
// reading ends the vendor's transfer).

#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>

#include "tests/integration/harness.h"
#include "tests/integration/mock_upstream.h"
#include "tests/integration/proxy_support.h"

namespace llm_exporter::testing {
namespace {

// The client's bytes are read as they come: a head and a body in pieces, a
// body after 100 Continue, a chunked body, two requests in one write, a body
// of megabytes. Each is answered once and reaches the vendor once.
BOOST_AUTO_TEST_CASE(a_request_is_read_however_its_bytes_arrive) {
  TempDir dir;
  FakeVendor vendor(dir, {"--max-body-bytes", "8388608"});
  Exporter exporter(dir, ProxyConfig(vendor.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  const std::string reply = "\"object\":\"chat.completion\"";
  const std::string body = Chat(false, false);
  const std::string request = PostRequest("/v1/chat/completions", body, kJson);
  const size_t head_end = request.find("\r\n\r\n") + 4;

  // In pieces: the head cut in its middle, the body in three.
  int fd = ConnectTo(proxy);
  SendAll(fd, request.substr(0, 20));
  SendAll(fd, request.substr(20, head_end - 20));
  SendAll(fd, request.substr(head_end, 5));
  SendAll(fd, request.substr(head_end + 5, 10));
  SendAll(fd, request.substr(head_end + 15));
  std::string received = ReadUntil(fd, reply);
  BOOST_TEST(received.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, received);
  BOOST_TEST(received.find(reply) != std::string::npos, received);

  // On the same connection: a body sent only after 100 Continue.
  std::string head = request.substr(0, head_end - 2) + "Expect: 100-continue\r\n\r\n";
  SendAll(fd, head);
  received = ReadUntil(fd, "\r\n\r\n");
  BOOST_TEST(received == "HTTP/1.1 100 Continue\r\n\r\n");
  SendAll(fd, body);
  received = ReadUntil(fd, reply);
  BOOST_TEST(received.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, received);

  // A chunked body, in two chunks sent apart.
  head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nContent-Type: "
      "application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto chunk = [](const std::string& data) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
  };
  SendAll(fd, head + chunk(body.substr(0, 10)));
  SendAll(fd, chunk(body.substr(10)) + "0\r\n\r\n");
  received = ReadUntil(fd, reply);
  BOOST_TEST(received.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, received);

  // Two requests in one write: two replies, in order.
  SendAll(fd, request + request);
  received = ReadUntil(fd, reply);
  const size_t first = received.find(reply);
  if (received.find(reply, first + 1) == std::string::npos) received += ReadUntil(fd, reply);
  close(fd);
  BOOST_TEST(received.find(reply, received.find(reply) + 1) != std::string::npos, received);

  // Megabytes, within max_body_bytes (10 MiB) but past Beast's default body
  // limit for requests (1 MiB), which used to answer 400: read in large
  // pieces, and more than one write to the vendor.
  const std::string big(3 * 1024 * 1024, 'x');
  HttpResult large = HttpPost(proxy + "/v1/chat/completions", Chat(false, false, big), kJson);
  BOOST_TEST(large.status == 200);
  BOOST_TEST(Json(large.body)["usage"]["prompt_tokens"].GetInt() == 3 * 1024 * 1024 / 4 + 4);

  BOOST_REQUIRE(WaitForSeries(exporter, "llm_requests_total",
                              {{"source", "proxy"}, {"vendor", "fo"}, {"code", "200"}}, 6));
  const auto stats = Json(HttpGet(vendor.url() + "/control/stats").body);
  BOOST_TEST(stats["totals"]["requests"].GetInt() == 6);
  StopCleanly(exporter);
}

// A head past 64 KiB, a head or a body cut short by the client's end of
// stream: each is refused in the dialect (431 or 400) and nothing reaches the
// vendor. A reset mid-body is the client gone: not counted as refused.
BOOST_AUTO_TEST_CASE(a_request_cut_short_or_too_big_is_refused_before_the_vendor) {
  TempDir dir;
  FakeVendor vendor(dir, {});
  Exporter exporter(dir, ProxyConfig(vendor.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  const std::string request = PostRequest("/v1/chat/completions", Chat(false, false), kJson);
  const size_t head_end = request.find("\r\n\r\n") + 4;

  int fd = ConnectTo(proxy);
  SendAll(fd, "POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nx-big: " +
                  std::string(70 * 1024, 'a') + "\r\n\r\n");
  std::string received = ReadUntil(fd, "}");
  close(fd);
  BOOST_TEST(received.rfind("HTTP/1.1 431 ", 0) == 0, received.substr(0, 200));
  BOOST_TEST(Json(received.substr(received.find("\r\n\r\n") + 4))["error"]["message"].IsString());

  // The client's end of stream after `sent`: a 400 saying `why`.
  auto cut_short = [&](const std::string& sent, const std::string& why) {
    const int cut = ConnectTo(proxy);
    SendAll(cut, sent);
    shutdown(cut, SHUT_WR);
    const std::string reply = ReadUntil(cut, "}");
    close(cut);
    BOOST_TEST(reply.rfind("HTTP/1.1 400 ", 0) == 0, reply);
    BOOST_TEST(reply.find(why) != std::string::npos, reply);
  };
  cut_short(request.substr(0, head_end + 10), "malformed HTTP request body");
  cut_short(request.substr(0, head_end / 2), "malformed HTTP request:");

  // A client that resets the connection mid-body is gone, not a bad request:
  // nothing to answer, nothing counted.
  fd = ConnectTo(proxy);
  SendAll(fd, request.substr(0, head_end + 10));
  const linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  close(fd);
  // Nothing to wait for but the absence of a count: half a second of it.
  const bool counted = WaitFor(
      [&] {
        return Series(exporter.Metrics(), "llm_proxy_rejected_requests_total",
                      {{"code", "400"}, {"endpoint", "chat_completions"}})
                   .value_or(0) > 1;
      },
      500ms, 20ms);
  BOOST_TEST(!counted);

  const std::string scrape = exporter.Metrics();
  BOOST_TEST(Series(scrape, "llm_proxy_rejected_requests_total", {{"code", "431"}}).value_or(0) ==
             1);
  // The body cut short came with its route's head; the head cut short, without.
  BOOST_TEST(Series(scrape, "llm_proxy_rejected_requests_total",
                    {{"code", "400"}, {"endpoint", "chat_completions"}})
                 .value_or(0) == 1);
  BOOST_TEST(
      Series(scrape, "llm_proxy_rejected_requests_total", {{"code", "400"}, {"endpoint", "other"}})
          .value_or(0) == 1);
  const auto stats = Json(HttpGet(vendor.url() + "/control/stats").body);
  BOOST_TEST(stats["totals"]["requests"].GetInt() == 0);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_client_hanging_up_stops_the_vendor_at_once_and_is_booked_499) {
  MockUpstream upstream(
      {.events = {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"po\"}}]}\n\n"}});
  TempDir dir;
  Exporter exporter(dir, ProxyConfig(upstream.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  const int fd =
      OpenStream(proxy, PostRequest("/v1/chat/completions", Chat(true, true), kJson), "\"po\"");
  const auto hung_up = std::chrono::steady_clock::now();
  close(fd);
  BOOST_REQUIRE(WaitFor([&] { return upstream.closed_at().has_value(); }, 5s, 1ms));
  const auto noticed = *upstream.closed_at() - hung_up;
  BOOST_TEST_MESSAGE("upstream closed "
                     << std::chrono::duration_cast<std::chrono::microseconds>(noticed).count()
                     << " us after the client hung up");
  BOOST_TEST(noticed < 100ms);
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_requests_total",
                              {{"source", "proxy"}, {"vendor", "fo"}, {"code", "499"}}, 1));
  const std::string scrape = exporter.Metrics();
  BOOST_TEST(ProxySeries(scrape, "llm_usage_missing_total",
                         {{"vendor", "fo"}, {"reason", "client_abort"}}) == 1);
  BOOST_TEST(Series(scrape, "llm_requests_in_flight", {{"vendor", "fo"}}).value_or(-1) == 0);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(bad_requests_get_errors_in_their_dialect_and_never_reach_the_vendor) {
  TempDir dir;
  FakeVendor vendor(dir, {});
  const int closed_port = FreePort();
  std::string config = ProxyConfig(vendor.url(), "max_body_bytes = 2000\n");
  config += "\n[[vendor]]\nname = \"gone\"\napi = \"openai\"\nbase_url = \"http://127.0.0.1:" +
            std::to_string(closed_port) + "/v1\"\n";
  // Routes are matched in file order: this one sits after "fake-*".
  config.replace(config.find("  [[proxy.route]]"), 0,
                 "  [[proxy.route]]\n  model = \"gone-*\"\n  vendor = \"gone\"\n\n");
  Exporter exporter(dir, config, kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);

  auto openai_code = [](const HttpResult& r) {
    auto doc = Json(r.body);
    return doc.IsObject() && doc["error"].IsObject() && doc["error"]["message"].IsString();
  };
  auto anthropic_shape = [](const HttpResult& r) {
    auto doc = Json(r.body);
    return doc.IsObject() && std::string(doc["type"].GetString()) == "error" &&
           doc["error"]["type"].IsString();
  };
  const std::string big(3000, 'x');
  HttpResult r = HttpPost(proxy + "/v1/messages", Messages(false, big), kAnthropicHeaders);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(anthropic_shape(r));
  // A chunked body that grows past the limit mid-read.
  std::vector<std::string> chunked = kJson;
  chunked.push_back("Transfer-Encoding: chunked");
  r = HttpPost(proxy + "/v1/chat/completions", Chat(false, false, big), chunked);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(openai_code(r));
  r = HttpPost(proxy + "/v1/chat/completions", "{\"model\":", kJson);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(openai_code(r));
  r = HttpPost(proxy + "/v1/messages", R"({"max_tokens":1,"messages":[]})", kAnthropicHeaders);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(anthropic_shape(r));
  r = HttpPost(proxy + "/v1/chat/completions", R"({"model":"unrouted","messages":[]})", kJson);
  BOOST_TEST(r.status == 404);
  BOOST_TEST(std::string(Json(r.body)["error"]["code"].GetString()) == "model_not_found");
  r = HttpPost(proxy + "/v1/nothing", "{}", kJson);
  BOOST_TEST(r.status == 404);
  r = HttpGet(proxy + "/v1/chat/completions");
  BOOST_TEST(r.status == 405);
  r = HttpPost(proxy + "/v1/chat/completions", R"({"model":"gone-1","messages":[]})", kJson);
  BOOST_TEST(r.status == 502);
  BOOST_TEST(openai_code(r));
  const auto models = Json(HttpGet(proxy + "/v1/models").body);
  BOOST_TEST(models["data"].Size() >= 2u);

  const auto stats = Json(HttpGet(vendor.url() + "/control/stats").body);
  BOOST_TEST(stats["totals"]["requests"].GetInt() == 0);
  const std::string scrape = exporter.Metrics();
  BOOST_TEST(Series(scrape, "llm_proxy_rejected_requests_total", {{"code", "413"}}).value_or(0) ==
             1);
  BOOST_TEST(Series(scrape, "llm_proxy_rejected_requests_total",
                    {{"code", "413"}, {"endpoint", "chat_completions"}})
                 .value_or(0) == 1);
  BOOST_TEST(Series(scrape, "llm_proxy_rejected_requests_total",
                    {{"code", "400"}, {"endpoint", "messages"}})
                 .value_or(0) == 1);
  BOOST_TEST(ProxySeries(scrape, "llm_requests_total", {{"vendor", "gone"}, {"code", "502"}}) == 1);
  BOOST_TEST(ProxySeries(scrape, "llm_usage_missing_total",
                         {{"vendor", "gone"}, {"reason", "upstream_reset"}}) == 0);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order_while_a_stream_runs) {
  TempDir dir;
  FakeVendor vendor(dir, {"--token-ms", "30"});
  Exporter exporter(dir, ProxyConfig(vendor.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  // The second request arrives while the first one's stream runs: it waits
  // in the socket (and must not be taken for a hang-up).
  const int fd =
      OpenStream(proxy, PostRequest("/v1/chat/completions", Chat(true, false), kJson), "data: ");
  const std::string second = PostRequest("/v1/chat/completions", Chat(false, false), kJson);
  BOOST_REQUIRE(send(fd, second.data(), second.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(second.size()));
  const std::string received = ReadUntil(fd, "\"object\":\"chat.completion\"");
  close(fd);
  BOOST_TEST(received.find("\"object\":\"chat.completion\"") != std::string::npos);
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_requests_total",
                              {{"source", "proxy"}, {"vendor", "fo"}, {"code", "200"}}, 2));
  BOOST_TEST(ProxySeries(exporter.Metrics(), "llm_requests_total",
                         {{"vendor", "fo"}, {"code", "499"}}) == 0);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_client_that_stops_reading_is_cut_after_the_idle_timeout) {
  // A long, fast stream to a client that reads nothing: the proxy's backlog and
  // the socket buffers fill, the vendor is paused, and after idle_timeout
  // without a finished write the request ends as the client's abort.
  TempDir dir;
  FakeVendor vendor(dir, {"--reply-tokens", "100000"});
  Exporter exporter(dir, ProxyConfig(vendor.url(), "idle_timeout = \"500ms\"\n"), kEnv,
                    {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  const std::string body =
      R"({"model":"fake-gpt","max_tokens":100000,"stream":true,"messages":[{"role":"user","content":"go"}]})";
  const int fd = OpenStream(proxy, PostRequest("/v1/chat/completions", body, kJson), "data: ");
  BOOST_TEST(WaitForSeries(exporter, "llm_requests_total",
                           {{"source", "proxy"}, {"vendor", "fo"}, {"code", "499"}}, 1, 15s));
  close(fd);
  BOOST_TEST(ProxySeries(exporter.Metrics(), "llm_usage_missing_total",
                         {{"vendor", "fo"}, {"reason", "client_abort"}}) == 1);
  StopCleanly(exporter);
}

}  // namespace
}  // namespace llm_exporter::testing
