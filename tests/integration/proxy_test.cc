// The in-path proxy end to end, the vendor side: the real exporter between a
// real HTTP client and the fake vendor (or, where the test must see the wire,
// a mock upstream).
// What the client gets is what the vendor sent; what the meter books is what
// the vendor served; every fault ends in the right error or the right cut, and
// is booked once.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>

#include "tests/integration/harness.h"
#include "tests/integration/mock_upstream.h"
#include "tests/integration/proxy_support.h"

namespace llm_exporter::testing {
namespace {

BOOST_AUTO_TEST_CASE(replies_pass_through_and_the_meter_books_what_the_vendor_served) {
  TempDir dir;
  FakeVendor vendor(dir, {"--prices", LLM_EXPORTER_SOURCE_DIR "/pricing/fake_prices.toml"});
  Exporter exporter(dir, ProxyConfig(vendor.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);

  HttpResult plain = HttpPost(proxy + "/v1/chat/completions", Chat(false, false), kJson);
  BOOST_TEST(plain.status == 200);
  BOOST_TEST(plain.headers.count("x-request-id") == 1u);
  BOOST_TEST(Json(plain.body)["usage"]["completion_tokens"].GetInt() == 8);

  // Asked for usage: the usage chunk reaches the client.
  HttpResult with_usage = HttpPost(proxy + "/v1/chat/completions", Chat(true, true), kJson);
  BOOST_TEST(with_usage.status == 200);
  BOOST_TEST(with_usage.body.find(R"("choices":[],"usage":{)") != std::string::npos);
  // Not asked: the proxy asks for it and the client never sees it.
  HttpResult without =
      HttpPost(proxy + "/v1/chat/completions", Chat(true, false, "[cached] a b c d"), kJson);
  BOOST_TEST(without.status == 200);
  BOOST_TEST(without.body.find(R"("choices":[])") == std::string::npos);
  BOOST_TEST(without.body.find("data: [DONE]") != std::string::npos);
  BOOST_TEST(without.headers["content-type"].starts_with("text/event-stream"));

  HttpResult message =
      HttpPost(proxy + "/v1/messages", Messages(true, "[cached] hello there"), kAnthropicHeaders);
  BOOST_TEST(message.status == 200);
  BOOST_TEST(message.body.find("event: message_stop") != std::string::npos);
  BOOST_TEST(HttpPost(proxy + "/v1/messages", Messages(false), kAnthropicHeaders).status == 200);

  // The vendor's books and the proxy's agree to the token and the nano-dollar.
  const auto stats = Json(HttpGet(vendor.url() + "/control/stats").body);
  const std::string scrape = exporter.Metrics();
  const auto& totals = stats["totals"];
  BOOST_TEST(totals["requests"].GetInt() == 5);
  int64_t input = 0;
  for (const char* model : {"fake-gpt", "fake-claude"}) {
    for (const char* vendor_name : {"fo", "fa"}) {
      input += static_cast<int64_t>(
          ProxySeries(scrape, "llm_tokens_total",
                      {{"vendor", vendor_name}, {"model", model}, {"type", "input"}}));
    }
  }
  auto sum = [&](const std::string& type) {
    return ProxySeries(scrape, "llm_tokens_total",
                       {{"vendor", "fo"}, {"model", "fake-gpt"}, {"type", type}}) +
           ProxySeries(scrape, "llm_tokens_total",
                       {{"vendor", "fa"}, {"model", "fake-claude"}, {"type", type}});
  };
  BOOST_TEST(sum("input") + sum("cached_input") == totals["input_tokens"].GetDouble());
  BOOST_TEST(sum("cached_input") == totals["cached_input_tokens"].GetDouble());
  BOOST_TEST(sum("cached_input") > 0);
  BOOST_TEST(sum("output") == totals["output_tokens"].GetDouble());
  const double cost =
      ProxySeries(scrape, "llm_cost_usd_total", {{"vendor", "fo"}, {"model", "fake-gpt"}}) +
      ProxySeries(scrape, "llm_cost_usd_total", {{"vendor", "fa"}, {"model", "fake-claude"}});
  BOOST_TEST(std::llround(cost * 1e9) == totals["cost_nano_usd"].GetInt64());
  BOOST_TEST(ProxySeries(scrape, "llm_requests_total",
                         {{"vendor", "fo"},
                          {"model", "fake-gpt"},
                          {"code", "200"},
                          {"endpoint", "chat_completions"}}) == 3);
  BOOST_TEST(Series(scrape, "llm_proxy_overhead_seconds_count",
                    {{"vendor", "fa"}, {"endpoint", "messages"}})
                 .value_or(0) == 2);
  BOOST_TEST(ProxySeries(scrape, "llm_time_to_first_token_seconds_count",
                         {{"vendor", "fo"}, {"model", "fake-gpt"}}) == 2);
  BOOST_TEST(Series(scrape, "llm_requests_in_flight", {{"vendor", "fo"}}).value_or(-1) == 0);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_rate_limited_reply_is_relayed_with_its_headers_and_costs_nothing) {
  TempDir dir;
  FakeVendor vendor(dir, {"--fault", "http_429:1"});
  Exporter exporter(dir, ProxyConfig(vendor.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  HttpResult limited = HttpPost(proxy + "/v1/chat/completions", Chat(false, false), kJson);
  BOOST_TEST(limited.status == 429);
  BOOST_TEST(limited.headers["retry-after"] == "7");
  BOOST_TEST(Json(limited.body)["error"].IsObject());
  BOOST_TEST(HttpPost(proxy + "/v1/chat/completions", Chat(false, false), kJson).status == 200);
  const std::string scrape = exporter.Metrics();
  BOOST_TEST(ProxySeries(scrape, "llm_requests_total", {{"vendor", "fo"}, {"code", "429"}}) == 1);
  BOOST_TEST(ProxySeries(scrape, "llm_requests_total", {{"vendor", "fo"}, {"code", "200"}}) == 1);
  BOOST_TEST(ProxySeries(scrape, "llm_usage_missing_total",
                         {{"vendor", "fo"}, {"reason", "not_reported"}}) == 0);
}

BOOST_AUTO_TEST_CASE(a_vendor_reset_mid_stream_reaches_the_client_and_is_booked_as_an_estimate) {
  TempDir dir;
  FakeVendor vendor(
      dir, {"--fault", "reset", "--prices", LLM_EXPORTER_SOURCE_DIR "/pricing/fake_prices.toml"});
  Exporter exporter(dir, ProxyConfig(vendor.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  HttpResult cut = HttpPost(proxy + "/v1/chat/completions", Chat(true, false), kJson);
  BOOST_TEST(!cut.error.empty());  // the client sees a broken reply, as from the vendor
  BOOST_TEST(cut.body.find("pong") != std::string::npos);
  BOOST_TEST(cut.body.find("[DONE]") == std::string::npos);
  const std::string scrape = exporter.Metrics();
  BOOST_TEST(ProxySeries(scrape, "llm_usage_missing_total",
                         {{"vendor", "fo"}, {"reason", "upstream_reset"}}) == 1);
  BOOST_TEST(ProxySeries(scrape, "llm_cost_estimated_usd_total",
                         {{"vendor", "fo"}, {"model", "fake-gpt"}}) > 0);
  BOOST_TEST(ProxySeries(scrape, "llm_cost_usd_total", {{"vendor", "fo"}, {"model", "fake-gpt"}}) ==
             0);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_stalled_stream_is_cut_by_the_idle_timeout) {
  TempDir dir;
  FakeVendor vendor(dir, {"--fault", "stall"});
  Exporter exporter(dir, ProxyConfig(vendor.url(), "idle_timeout = \"400ms\"\n"), kEnv,
                    {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  const auto start = std::chrono::steady_clock::now();
  HttpResult cut = HttpPost(proxy + "/v1/messages", Messages(true), kAnthropicHeaders, 10s);
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(!cut.error.empty());
  BOOST_TEST(cut.body.find("message_start") != std::string::npos);
  BOOST_TEST(took < 5s);
  const std::string scrape = exporter.Metrics();
  BOOST_TEST(ProxySeries(scrape, "llm_usage_missing_total",
                         {{"vendor", "fa"}, {"reason", "timeout"}}) == 1);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(no_first_byte_in_time_is_a_504_in_the_dialect) {
  TempDir dir;
  FakeVendor vendor(dir, {"--fault", "slow_first_byte", "--slow-ms", "5000"});
  Exporter exporter(dir, ProxyConfig(vendor.url(), "first_byte_timeout = \"300ms\"\n"), kEnv,
                    {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  HttpResult anthropic = HttpPost(proxy + "/v1/messages", Messages(false), kAnthropicHeaders);
  BOOST_TEST(anthropic.status == 504);
  BOOST_TEST(std::string(Json(anthropic.body)["error"]["type"].GetString()) == "timeout_error");
  HttpResult openai = HttpPost(proxy + "/v1/chat/completions", Chat(true, false), kJson);
  BOOST_TEST(openai.status == 504);
  BOOST_TEST(std::string(Json(openai.body)["error"]["code"].GetString()) == "upstream_timeout");
  const std::string scrape = exporter.Metrics();
  BOOST_TEST(ProxySeries(scrape, "llm_requests_total", {{"vendor", "fa"}, {"code", "504"}}) == 1);
  BOOST_TEST(ProxySeries(scrape, "llm_usage_missing_total",
                         {{"vendor", "fo"}, {"reason", "timeout"}}) == 1);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(the_vendor_sees_the_request_as_sent_with_only_the_key_swapped) {
  MockUpstream upstream(
      {.head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               "request-id: req_123\r\nanthropic-ratelimit-requests-remaining: 9\r\n"
               "x-should-retry: false\r\nConnection: keep-alive\r\n"
               "Transfer-Encoding: chunked\r\n\r\n",
       .events =
           {R"({"type":"message","content":[],"usage":{"input_tokens":3,"output_tokens":2}})"},
       .hold = false});
  TempDir dir;
  const std::string keys = dir.Write("client_keys", "# name key\nteam-a sk-client-key-abcdef\n");
  Exporter exporter(dir, ProxyConfig(upstream.url(), "", keys), kEnv,
                    {"--proxy.listen-address=127.0.0.1:0", "--log.level=debug"});
  const std::string proxy = ProxyUrl(exporter);
  const std::string body = Messages(false);
  HttpResult result = HttpPost(
      proxy + "/v1/messages?beta=true", body,
      {"Content-Type: application/json", "anthropic-version: 2023-06-01",
       "anthropic-beta: prompt-caching-2024-07-31", "x-custom: kept",
       "Connection: keep-alive, X-Hop", "X-Hop: dropped", "x-api-key: sk-client-key-abcdef"});
  BOOST_TEST(result.status == 200);
  BOOST_TEST(result.headers["request-id"] == "req_123");
  BOOST_TEST(result.headers["anthropic-ratelimit-requests-remaining"] == "9");
  BOOST_TEST(result.headers["x-should-retry"] == "false");
  BOOST_TEST(result.body ==
             R"({"type":"message","content":[],"usage":{"input_tokens":3,"output_tokens":2}})");
  const std::string head = upstream.request_head();
  BOOST_TEST_MESSAGE(head);
  BOOST_TEST(head.starts_with("POST /v1/messages?beta=true HTTP/1.1\r\n"));
  BOOST_TEST(head.find("anthropic-beta: prompt-caching-2024-07-31") != std::string::npos);
  BOOST_TEST(head.find("x-custom: kept") != std::string::npos);
  BOOST_TEST(head.find("anthropic-version: 2023-06-01") != std::string::npos);
  BOOST_TEST(head.find("X-Hop") == std::string::npos);
  BOOST_TEST(head.find("x-api-key: sk-vendor-key-0123456789") != std::string::npos);
  BOOST_TEST(head.find("sk-client-key") == std::string::npos);
  BOOST_TEST(upstream.request_body() == body);

  // A wrong client key never reaches the vendor.
  HttpResult refused = HttpPost(proxy + "/v1/messages", body,
                                {"Content-Type: application/json", "x-api-key: sk-guess"});
  BOOST_TEST(refused.status == 401);
  BOOST_TEST(std::string(Json(refused.body)["error"]["type"].GetString()) ==
             "authentication_error");
  BOOST_TEST(upstream.requests() == 1);

  // Neither key is ever logged or exported; the client's name is.
  BOOST_REQUIRE(WaitForSeries(exporter, "llm_client_cost_usd_total",
                              {{"client", "team-a"}, {"vendor", "fa"}},
                              (3 * 1.00 + 2 * 2.00) / 1e6));
  const std::string scrape = exporter.Metrics();
  const std::string log = exporter.process().Stderr();
  for (const char* secret : {"sk-client-key", "sk-vendor-key", "sk-guess"}) {
    BOOST_TEST(scrape.find(secret) == std::string::npos);
    BOOST_TEST(log.find(secret) == std::string::npos);
  }
  BOOST_TEST(log.find("Proxied request") != std::string::npos);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_reload_reroutes_new_requests_and_a_bad_one_changes_nothing) {
  TempDir dir;
  FakeVendor vendor(dir, {});
  const std::string keys = dir.Write("client_keys", "team-a sk-client-key-abcdef\n");
  const std::string good = ProxyConfig(vendor.url(), "", keys);
  Exporter exporter(dir, good, kEnv,
                    {"--proxy.listen-address=127.0.0.1:0", "--web.enable-lifecycle"});
  const std::string proxy = ProxyUrl(exporter);
  const std::vector<std::string> client = {"Content-Type: application/json",
                                           "anthropic-version: 2023-06-01",
                                           "x-api-key: sk-client-key-abcdef"};
  BOOST_TEST(HttpPost(proxy + "/v1/messages", Messages(false), client).status == 200);

  // A broken client keys file: the reload fails and the proxy keeps its config.
  dir.Write("client_keys", "team-a\n");
  HttpResult refused = HttpPost(exporter.url() + "/-/reload", "");
  BOOST_TEST(refused.status == 500);
  BOOST_TEST(refused.body.find("client_keys:1:") != std::string::npos);
  BOOST_TEST(HttpPost(proxy + "/v1/messages", Messages(false), client).status == 200);

  // A good reload: the Anthropic models' route is gone, so "fake-claude" now
  // falls to the "fake-*" route (vendor fo, no key injected).
  dir.Write("client_keys", "team-b sk-client-key-new\n");
  std::string rerouted = good;
  rerouted.replace(rerouted.find("model = \"fake-claude*\""), 22, "model = \"claude-only*\"");
  dir.Write("llm_exporter.toml", rerouted);
  BOOST_TEST(HttpPost(exporter.url() + "/-/reload", "").status == 200);
  BOOST_TEST(HttpPost(proxy + "/v1/messages", Messages(false), client).status == 200);
  const std::string scrape = exporter.Metrics();
  BOOST_TEST(
      ProxySeries(scrape, "llm_requests_total", {{"vendor", "fa"}, {"endpoint", "messages"}}) == 2);
  BOOST_TEST(
      ProxySeries(scrape, "llm_requests_total", {{"vendor", "fo"}, {"endpoint", "messages"}}) == 1);
  BOOST_TEST(Series(scrape, "llm_client_cost_usd_total", {{"client", "team-a"}}).has_value());
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(responses_streams_and_embeddings_are_metered_from_their_own_usage) {
  MockUpstream responses(
      {.events = {"event: response.created\ndata: "
                  "{\"type\":\"response.created\",\"response\":{\"usage\":null}}\n\n",
                  "event: response.output_text.delta\ndata: "
                  "{\"type\":\"response.output_text.delta\",\"delta\":\"pong\"}\n\n",
                  "event: response.completed\ndata: "
                  "{\"type\":\"response.completed\",\"response\":{\"usage\":"
                  "{\"input_tokens\":30,\"input_tokens_details\":{\"cached_tokens\":20},\"output_"
                  "tokens\":7,"
                  "\"output_tokens_details\":{\"reasoning_tokens\":3}}}}\n\n"},
       .hold = false});
  MockUpstream embeddings(
      {.head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
               "chunked\r\n\r\n",
       .events =
           {R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]}],)",
            R"("model":"fake-gpt","usage":{"prompt_tokens":11,"total_tokens":11}})"},
       .hold = false});
  TempDir dir;
  std::string config = ProxyConfig(responses.url());
  config += "\n[[vendor]]\nname = \"emb\"\napi = \"openai\"\nbase_url = \"" + embeddings.url() +
            "/v1\"\nprice_table = \"fake\"\n";
  config.replace(config.find("  [[proxy.route]]"), 0,
                 "  [[proxy.route]]\n  model = \"embed-*\"\n  vendor = \"emb\"\n\n");
  Exporter exporter(dir, config, kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  HttpResult streamed = HttpPost(proxy + "/v1/responses?x=1",
                                 R"({"model":"fake-gpt","input":"ping","stream":true})", kJson);
  BOOST_TEST(streamed.status == 200);
  BOOST_TEST(streamed.body.find("response.completed") != std::string::npos);
  BOOST_TEST(responses.request_head().starts_with("POST /v1/responses?x=1 HTTP/1.1"));
  HttpResult embedded =
      HttpPost(proxy + "/v1/embeddings", R"({"model":"embed-small","input":"ping"})", kJson);
  BOOST_TEST(embedded.status == 200);
  BOOST_TEST(embeddings.request_head().starts_with("POST /v1/embeddings HTTP/1.1"));
  const std::string scrape = exporter.Metrics();
  auto tokens = [&](const std::string& vendor, const std::string& model, const std::string& type) {
    return ProxySeries(scrape, "llm_tokens_total",
                       {{"vendor", vendor}, {"model", model}, {"type", type}});
  };
  BOOST_TEST(tokens("fo", "fake-gpt", "input") == 10);
  BOOST_TEST(tokens("fo", "fake-gpt", "cached_input") == 20);
  BOOST_TEST(tokens("fo", "fake-gpt", "output") == 7);
  BOOST_TEST(tokens("fo", "fake-gpt", "reasoning") == 3);
  BOOST_TEST(ProxySeries(scrape, "llm_time_to_first_token_seconds_count", {{"vendor", "fo"}}) == 1);
  BOOST_TEST(ProxySeries(scrape, "llm_requests_total",
                         {{"vendor", "fo"}, {"endpoint", "responses"}, {"code", "200"}}) == 1);
  // A model the config does not name is counted as "other" (and priced by its
  // own name: unpriced here).
  BOOST_TEST(tokens("emb", "other", "input") == 11);
  BOOST_TEST(ProxySeries(scrape, "llm_unpriced_requests_total",
                         {{"vendor", "emb"}, {"model", "other"}}) == 1);
  BOOST_TEST(ProxySeries(scrape, "llm_requests_total",
                         {{"vendor", "emb"}, {"endpoint", "embeddings"}}) == 1);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_vendor_named_by_host_name_is_resolved_and_reached) {
  // libcurl's threaded resolver hands the loop a socket of its own and closes
  // it behind its back: a registration kept for it once made the next socket
  // that got its number fail or hang. ("localhost" is no test: libcurl answers
  // it without resolving.) This host's name must resolve to a loopback address.
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* found = nullptr;
  if (getaddrinfo(host, nullptr, &hints, &found) != 0 || found == nullptr) {
    BOOST_TEST_MESSAGE("skipped: this host's name does not resolve");
    return;
  }
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr, ip, sizeof ip);
  freeaddrinfo(found);
  if (!std::string(ip).starts_with("127.")) {
    BOOST_TEST_MESSAGE("skipped: this host's name resolves to " << ip << ", not loopback");
    return;
  }
  TempDir dir;
  FakeVendor vendor(dir, {"--listen", std::string(ip) + ":0"});
  const std::string port = vendor.url().substr(vendor.url().rfind(':'));
  Exporter exporter(
      dir, ProxyConfig("http://" + std::string(host) + port, "first_byte_timeout = \"5s\"\n"), kEnv,
      {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  for (int i = 0; i < 3; ++i) {
    HttpResult result =
        HttpPost(proxy + "/v1/chat/completions", Chat(i % 2 == 1, false), kJson, 10s);
    BOOST_TEST(result.status == 200, result.body);
  }
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_reply_without_a_body_keeps_the_connection_in_step) {
  MockUpstream upstream({.head = "HTTP/1.1 204 No Content\r\nx-request-id: empty\r\n\r\n",
                         .events = {},
                         .hold = false,
                         .chunked = false});
  TempDir dir;
  Exporter exporter(dir, ProxyConfig(upstream.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  // Two requests on one connection: the first reply must end where it ends.
  const std::string request = PostRequest("/v1/chat/completions", Chat(false, false), kJson);
  const int fd = OpenStream(proxy, request, "\r\n\r\n");
  BOOST_REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size()));
  const std::string received = ReadUntil(fd, "HTTP/1.1 204");
  close(fd);
  BOOST_TEST(received.find("HTTP/1.1 204 No Content\r\n") != std::string::npos, received);
  BOOST_TEST(received.find("0\r\n\r\n") == std::string::npos, received);  // no chunk terminator
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(each_vendor_goes_through_the_client_its_url_calls_for) {
  // A plain http:// vendor with no transport setting: the proxy's own HTTP/1.1
  // client. With a proxy variable in the environment, libcurl, which honours
  // it (kThroughLibcurl): so every case of this file tests both clients.
  TempDir dir;
  FakeVendor vendor(dir, {});
  Exporter exporter(dir, ProxyConfig(vendor.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  ProxyUrl(exporter);
  auto fields = FindLog(exporter.process().Stderr(), "Proxy upstream client");
  BOOST_REQUIRE(fields);
  BOOST_TEST((*fields)["client"] == (kThroughLibcurl ? "libcurl" : "http1"));
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_pooled_connection_the_vendor_closed_is_replaced_unseen) {
  // The mock answers one request per connection and closes it, as a gateway
  // whose keep-alive timeout ran out would: the next request finds the
  // connection kept for it dead before a byte of reply, and is sent again on
  // a new one.
  const std::string body =
      R"({"id":"x","object":"chat.completion","model":"fake-gpt","choices":[],)"
      R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";
  MockUpstream upstream({.head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n",
                         .events = {body},
                         .hold = false,
                         .chunked = false});
  TempDir dir;
  Exporter exporter(dir, ProxyConfig(upstream.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  for (int i = 1; i <= 3; ++i) {
    HttpResult result = HttpPost(proxy + "/v1/chat/completions", Chat(false, false), kJson, 10s);
    BOOST_TEST(result.status == 200, result.body);
    BOOST_TEST(result.body == body);
    BOOST_TEST(WaitFor([&] { return upstream.closed_at().has_value(); }, 5s));
  }
  BOOST_TEST(upstream.requests() == 3);
  const std::string scrape = exporter.Metrics();
  BOOST_TEST(ProxySeries(scrape, "llm_requests_total", {{"vendor", "fo"}, {"code", "200"}}) == 3);
  BOOST_TEST(ProxySeries(scrape, "llm_tokens_total",
                         {{"vendor", "fo"}, {"model", "fake-gpt"}, {"type", "output"}}) == 6);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_1xx_reply_is_skipped_and_a_body_may_end_with_its_connection) {
  // "100 Continue" first, then a reply with neither a length nor chunks: its
  // body ends where the vendor closes the connection, and is whole. Its head
  // is longer than the proxy's first read buffer.
  const std::string body =
      R"({"id":"y","object":"chat.completion","model":"fake-gpt","choices":[],)"
      R"("usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}})";
  MockUpstream upstream({.head = "HTTP/1.1 100 Continue\r\n\r\n"
                                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "x-request-id: req-1\r\nx-large: " +
                                 std::string(40'000, 'a') + "\r\nConnection: close\r\n\r\n",
                         .events = {body.substr(0, 20), body.substr(20)},
                         .hold = false,
                         .chunked = false});
  TempDir dir;
  Exporter exporter(dir, ProxyConfig(upstream.url()), kEnv, {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  HttpResult result = HttpPost(proxy + "/v1/chat/completions", Chat(false, false), kJson, 10s);
  BOOST_TEST(result.status == 200, result.body);
  BOOST_TEST(result.body == body);
  BOOST_TEST(result.headers["x-request-id"] == "req-1");
  BOOST_TEST(result.headers["x-large"] == std::string(40'000, 'a'));
  const std::string scrape = exporter.Metrics();
  BOOST_TEST(ProxySeries(scrape, "llm_requests_total", {{"vendor", "fo"}, {"code", "200"}}) == 1);
  BOOST_TEST(ProxySeries(scrape, "llm_tokens_total",
                         {{"vendor", "fo"}, {"model", "fake-gpt"}, {"type", "input"}}) == 4);
  StopCleanly(exporter);
}

BOOST_AUTO_TEST_CASE(a_reply_line_that_never_ends_is_a_broken_reply_not_unbounded_memory) {
  // A chunk-size line whose extension runs past 256 KiB and keeps coming: the
  // proxy's read buffer must not grow with it. The reply is cut and booked
  // as the vendor's reset, long before any timeout. (libcurl skips a chunk
  // extension as it streams, keeping none of it: nothing to bound there.)
  if (kThroughLibcurl) return;
  MockUpstream upstream({.head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n5;ext=",
                         .events = {std::string(600'000, 'a')},
                         .hold = true,
                         .chunked = false});
  TempDir dir;
  Exporter exporter(dir, ProxyConfig(upstream.url(), "idle_timeout = \"60s\"\n"), kEnv,
                    {"--proxy.listen-address=127.0.0.1:0"});
  const std::string proxy = ProxyUrl(exporter);
  const int fd =
      OpenStream(proxy, PostRequest("/v1/chat/completions", Chat(false, false), kJson), "\r\n\r\n");
  BOOST_TEST(WaitForSeries(exporter, "llm_usage_missing_total",
                           {{"source", "proxy"}, {"vendor", "fo"}, {"reason", "upstream_reset"}}, 1,
                           10s));
  close(fd);
  StopCleanly(exporter);
}

}  // namespace
}  // namespace llm_exporter::testing
