// End-to-end tests of the fake_vendor binary: each test spawns it on port 0,
// talks to it over loopback with libcurl and checks the wire formats, faults,
// pacing, control routes, billing endpoints and shutdown.

#define BOOST_TEST_MODULE fake_vendor
#include <curl/curl.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/decimal.h"
#include "pricing/cost.h"
#include "pricing/price_book.h"
#include "tests/fake_vendor/billing_query.h"
#include "tests/fake_vendor/chat_request.h"
#include "tests/fake_vendor/decimal_text.h"
#include "tests/fake_vendor/test_support.h"
#include "tests/fake_vendor/usage_ledger.h"
#include "tests/fake_vendor/vendor_pricer.h"

namespace llm_exporter::fake_vendor::testing {
namespace {

using std::chrono::milliseconds;

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};
BOOST_TEST_GLOBAL_FIXTURE(CurlGlobal);

std::unique_ptr<FakeVendorProcess> StartVendor(const std::vector<std::string>& args = {},
                                               const Environment& env = {}) {
  auto process = FakeVendorProcess::Start(args, env);
  BOOST_REQUIRE_MESSAGE(process, (process ? "" : process.error()));
  return std::move(*process);
}

rapidjson::Document Json(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject(), "not a JSON object: " << text);
  return doc;
}

std::string Str(const rapidjson::Value& value) {
  BOOST_REQUIRE(value.IsString());
  return std::string(value.GetString(), value.GetStringLength());
}

HttpResult Post(const FakeVendorProcess& vendor, std::string_view path, std::string body,
                std::vector<std::string> headers = {}, long timeout_ms = 10'000) {
  headers.push_back("Content-Type: application/json");
  return Perform({"POST", vendor.Url(path), std::move(body), std::move(headers), timeout_ms});
}

HttpResult Get(const FakeVendorProcess& vendor, std::string_view path,
               std::vector<std::string> headers = {}) {
  return Perform({"GET", vendor.Url(path), "", std::move(headers)});
}

std::string OpenAiBody(std::string_view content, int max_tokens = 0, bool stream = false,
                       bool include_usage = false, std::string_view model = "gpt-4o-mini") {
  std::string body = R"({"model":")" + std::string(model) +
                     R"(","messages":[{"role":"user","content":")" + std::string(content) + "\"}]";
  if (max_tokens > 0) body += ",\"max_tokens\":" + std::to_string(max_tokens);
  if (stream) body += ",\"stream\":true";
  if (include_usage) body += R"(,"stream_options":{"include_usage":true})";
  return body + "}";
}

std::string AnthropicBody(std::string_view content, int max_tokens = 16, bool stream = false,
                          std::string_view model = "claude-3-5-haiku-20241022") {
  std::string body = R"({"model":")" + std::string(model) + R"(","max_tokens":)" +
                     std::to_string(max_tokens) + R"(,"messages":[{"role":"user","content":")" +
                     std::string(content) + "\"}]";
  if (stream) body += ",\"stream\":true";
  return body + "}";
}

const std::vector<std::string> kAnthropicHeaders = {"anthropic-version: 2023-06-01"};

// Content tokens of an OpenAI stream, in order.
std::vector<std::string> OpenAiContents(const std::vector<SseEvent>& events) {
  std::vector<std::string> contents;
  for (const auto& event : events) {
    if (event.data == "[DONE]" || event.at_ms < 0) continue;  // the end or an unfinished event
    const auto doc = Json(event.data);
    if (!doc.HasMember("choices") || doc["choices"].Empty()) continue;
    const auto& delta = doc["choices"][0]["delta"];
    if (delta.HasMember("content") && delta["content"].GetStringLength() > 0) {
      contents.push_back(Str(delta["content"]));
    }
  }
  return contents;
}

std::vector<std::string> EventNames(const std::vector<SseEvent>& events) {
  std::vector<std::string> names;
  for (const auto& event : events) names.push_back(event.event);
  return names;
}

int CountEvents(const std::vector<SseEvent>& events, std::string_view name) {
  return static_cast<int>(std::count_if(events.begin(), events.end(),
                                        [&](const SseEvent& e) { return e.event == name; }));
}

bool HasDone(const std::vector<SseEvent>& events) {
  return std::any_of(events.begin(), events.end(),
                     [](const SseEvent& e) { return e.data == "[DONE]"; });
}

rapidjson::Document Stats(const FakeVendorProcess& vendor) {
  const HttpResult result = Get(vendor, "/control/stats");
  BOOST_REQUIRE_EQUAL(result.status, 200);
  return Json(result.body);
}

void SetFault(const FakeVendorProcess& vendor, std::string_view body) {
  const HttpResult result = Post(vendor, "/control/fault", std::string(body));
  BOOST_REQUIRE_MESSAGE(result.status == 200, result.body);
}

// "ping" is 4 bytes: ceil(4 / 4) + 4 * 1 message.
constexpr int64_t kPingInputTokens = 5;

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(openai)

BOOST_AUTO_TEST_CASE(plain_reply) {
  auto vendor = StartVendor();
  const HttpResult result = Post(
      *vendor, "/v1/chat/completions",
      R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"ping"}],"max_tokens":3})");
  BOOST_TEST_REQUIRE(result.code == CURLE_OK, result.error);
  BOOST_TEST(result.status == 200);
  BOOST_TEST(result.headers.at("content-type") == "application/json");
  BOOST_TEST(result.headers.count("x-request-id") == 1u);
  const auto doc = Json(result.body);
  BOOST_TEST(Str(doc["object"]) == "chat.completion");
  BOOST_TEST(Str(doc["model"]) == "gpt-4o-mini");
  BOOST_TEST(Str(doc["choices"][0]["message"]["role"]) == "assistant");
  BOOST_TEST(Str(doc["choices"][0]["message"]["content"]) == "pong pong pong");
  BOOST_TEST(Str(doc["choices"][0]["finish_reason"]) == "length");
  const int64_t input = InputTokensFor(12, 2);
  BOOST_TEST(doc["usage"]["prompt_tokens"].GetInt64() == input);
  BOOST_TEST(doc["usage"]["completion_tokens"].GetInt64() == 3);
  BOOST_TEST(doc["usage"]["total_tokens"].GetInt64() == input + 3);
  BOOST_TEST(doc["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt64() == 0);
}

BOOST_AUTO_TEST_CASE(reply_tokens_cap_and_route_without_v1) {
  auto vendor = StartVendor({"--reply-tokens", "2"});
  const HttpResult result =
      Post(*vendor, "/chat/completions", OpenAiBody("ping", 100, false, false, "any/model"));
  BOOST_TEST_REQUIRE(result.status == 200);
  const auto doc = Json(result.body);
  BOOST_TEST(Str(doc["model"]) == "any/model");
  BOOST_TEST(Str(doc["choices"][0]["message"]["content"]) == "pong pong");
  BOOST_TEST(Str(doc["choices"][0]["finish_reason"]) == "stop");
  BOOST_TEST(doc["usage"]["prompt_tokens"].GetInt64() == kPingInputTokens);
}

BOOST_AUTO_TEST_CASE(cached_prefix_reports_cached_tokens_inside_prompt_tokens) {
  auto vendor = StartVendor();
  const HttpResult result =
      Post(*vendor, "/v1/chat/completions", OpenAiBody("[cached] a longer prompt here", 1));
  const auto doc = Json(result.body);
  const int64_t input = InputTokensFor(29, 1);
  BOOST_TEST(doc["usage"]["prompt_tokens"].GetInt64() == input);
  BOOST_TEST(doc["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt64() == input / 2);
}

BOOST_AUTO_TEST_CASE(stream_without_include_usage) {
  auto vendor = StartVendor();
  const HttpResult result = Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 4, true));
  BOOST_TEST_REQUIRE(result.code == CURLE_OK, result.error);
  BOOST_TEST(result.status == 200);
  BOOST_TEST(result.headers.at("content-type").starts_with("text/event-stream"));
  const auto events = ParseSse(result.pieces);
  BOOST_TEST_REQUIRE(events.size() == 6u);  // role, 4 tokens, [DONE]
  for (const auto& event : events) {
    BOOST_TEST(event.event.empty());
    BOOST_TEST(event.at_ms >= 0);
  }
  const auto role = Json(events[0].data);
  BOOST_TEST(Str(role["object"]) == "chat.completion.chunk");
  BOOST_TEST(Str(role["choices"][0]["delta"]["role"]) == "assistant");
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    BOOST_TEST(!Json(events[i].data).HasMember("usage"));
  }
  const std::vector<std::string> expected = {"pong", " pong", " pong", " pong"};
  BOOST_TEST(OpenAiContents(events) == expected, boost::test_tools::per_element());
  BOOST_TEST(Str(Json(events[4].data)["choices"][0]["finish_reason"]) == "length");
  BOOST_TEST(Json(events[3].data)["choices"][0]["finish_reason"].IsNull());
  BOOST_TEST(events.back().data == "[DONE]");
}

BOOST_AUTO_TEST_CASE(stream_with_include_usage_ends_with_usage_chunk_then_done) {
  auto vendor = StartVendor();
  const HttpResult result =
      Post(*vendor, "/v1/chat/completions", OpenAiBody("[cached] ping", 0, true, true));
  BOOST_TEST_REQUIRE(result.code == CURLE_OK, result.error);
  const auto events = ParseSse(result.pieces);
  BOOST_TEST_REQUIRE(events.size() == 11u);  // role, 8 tokens, usage, [DONE]
  for (size_t i = 0; i < 9; ++i) BOOST_TEST(Json(events[i].data)["usage"].IsNull());
  const auto usage = Json(events[9].data);
  BOOST_TEST(usage["choices"].Empty());
  const int64_t input = InputTokensFor(13, 1);
  BOOST_TEST(usage["usage"]["prompt_tokens"].GetInt64() == input);
  BOOST_TEST(usage["usage"]["completion_tokens"].GetInt64() == 8);
  BOOST_TEST(usage["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt64() == input / 2);
  BOOST_TEST(Str(Json(events[8].data)["choices"][0]["finish_reason"]) == "stop");
  BOOST_TEST(events[10].data == "[DONE]");
}

BOOST_AUTO_TEST_CASE(models_list) {
  auto vendor = StartVendor();
  const HttpResult result = Get(*vendor, "/v1/models");
  BOOST_TEST_REQUIRE(result.status == 200);
  const auto doc = Json(result.body);
  BOOST_TEST(Str(doc["object"]) == "list");
  BOOST_TEST(doc["data"].Size() >= 3u);
  BOOST_TEST(Str(doc["data"][0]["object"]) == "model");
  BOOST_TEST(Str(doc["data"][0]["id"]) == "gpt-4o-mini");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(anthropic)

BOOST_AUTO_TEST_CASE(plain_reply_with_cache_reads_outside_input_tokens) {
  auto vendor = StartVendor();
  const HttpResult result = Post(
      *vendor, "/v1/messages",
      R"({"model":"claude-3-5-haiku-20241022","max_tokens":2,"system":"sys","messages":[{"role":"user","content":"[cached] hello there"}]})",
      kAnthropicHeaders);
  BOOST_TEST_REQUIRE(result.code == CURLE_OK, result.error);
  BOOST_TEST(result.status == 200);
  BOOST_TEST(result.headers.count("request-id") == 1u);
  const auto doc = Json(result.body);
  BOOST_TEST(Str(doc["type"]) == "message");
  BOOST_TEST(Str(doc["role"]) == "assistant");
  BOOST_TEST(Str(doc["model"]) == "claude-3-5-haiku-20241022");
  BOOST_TEST(Str(doc["content"][0]["type"]) == "text");
  BOOST_TEST(Str(doc["content"][0]["text"]) == "pong pong");
  BOOST_TEST(Str(doc["stop_reason"]) == "max_tokens");
  const int64_t input = InputTokensFor(20 + 3, 2);
  BOOST_TEST(doc["usage"]["input_tokens"].GetInt64() == input - input / 2);
  BOOST_TEST(doc["usage"]["cache_read_input_tokens"].GetInt64() == input / 2);
  BOOST_TEST(doc["usage"]["cache_creation_input_tokens"].GetInt64() == 0);
  BOOST_TEST(doc["usage"]["output_tokens"].GetInt64() == 2);
}

BOOST_AUTO_TEST_CASE(stream_event_order) {
  auto vendor = StartVendor({"--reply-tokens", "3"});
  const HttpResult result =
      Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, true), kAnthropicHeaders);
  BOOST_TEST_REQUIRE(result.code == CURLE_OK, result.error);
  BOOST_TEST(result.headers.at("content-type").starts_with("text/event-stream"));
  const auto events = ParseSse(result.pieces);
  const std::vector<std::string> expected = {
      "message_start",       "content_block_start", "ping",
      "content_block_delta", "content_block_delta", "content_block_delta",
      "content_block_stop",  "message_delta",       "message_stop"};
  BOOST_TEST(EventNames(events) == expected, boost::test_tools::per_element());
  std::string text;
  for (const auto& event : events) {
    const auto doc = Json(event.data);
    BOOST_TEST(Str(doc["type"]) == event.event);
    if (event.event == "content_block_delta") text += Str(doc["delta"]["text"]);
  }
  BOOST_TEST(text == "pong pong pong");
  const auto start = Json(events[0].data);
  BOOST_TEST(start["message"]["usage"]["input_tokens"].GetInt64() == kPingInputTokens);
  BOOST_TEST(start["message"]["content"].Empty());
  const auto delta = Json(events[7].data);
  BOOST_TEST(Str(delta["delta"]["stop_reason"]) == "end_turn");
  BOOST_TEST(delta["usage"]["output_tokens"].GetInt64() == 3);
}

BOOST_AUTO_TEST_CASE(missing_max_tokens_is_a_400) {
  auto vendor = StartVendor();
  const HttpResult result = Post(*vendor, "/v1/messages",
                                 R"({"model":"c","messages":[{"role":"user","content":"ping"}]})");
  BOOST_TEST(result.status == 400);
  const auto doc = Json(result.body);
  BOOST_TEST(Str(doc["type"]) == "error");
  BOOST_TEST(Str(doc["error"]["type"]) == "invalid_request_error");
  BOOST_TEST(Str(doc["error"]["message"]) == "max_tokens: Field required");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(openai_routes_need_the_bearer_key) {
  auto vendor = StartVendor({"--api-key", "sk-test-secret"});
  const HttpResult missing = Post(*vendor, "/v1/chat/completions", OpenAiBody("ping"));
  BOOST_TEST(missing.status == 401);
  BOOST_TEST(Str(Json(missing.body)["error"]["code"]) == "invalid_api_key");
  const HttpResult wrong =
      Post(*vendor, "/v1/chat/completions", OpenAiBody("ping"), {"Authorization: Bearer sk-wrong"});
  BOOST_TEST(wrong.status == 401);
  const HttpResult x_api_key =
      Post(*vendor, "/v1/chat/completions", OpenAiBody("ping"), {"x-api-key: sk-test-secret"});
  BOOST_TEST(x_api_key.status == 401);
  const HttpResult right = Post(*vendor, "/v1/chat/completions", OpenAiBody("ping"),
                                {"Authorization: Bearer sk-test-secret"});
  BOOST_TEST(right.status == 200);
  BOOST_TEST(Get(*vendor, "/v1/models").status == 401);
  BOOST_TEST(Get(*vendor, "/v1/models", {"Authorization: Bearer sk-test-secret"}).status == 200);
  BOOST_TEST(vendor->Stderr().find("sk-test-secret") == std::string::npos);
  BOOST_TEST(vendor->Stdout().find("sk-test-secret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(anthropic_takes_x_api_key_or_bearer_from_the_environment) {
  auto vendor = StartVendor({}, {{"FAKE_VENDOR_API_KEY", "sk-ant-env"}});
  const HttpResult missing = Post(*vendor, "/v1/messages", AnthropicBody("ping"));
  BOOST_TEST(missing.status == 401);
  const auto doc = Json(missing.body);
  BOOST_TEST(Str(doc["type"]) == "error");
  BOOST_TEST(Str(doc["error"]["type"]) == "authentication_error");
  BOOST_TEST(Post(*vendor, "/v1/messages", AnthropicBody("ping"), {"x-api-key: nope"}).status ==
             401);
  BOOST_TEST(
      Post(*vendor, "/v1/messages", AnthropicBody("ping"), {"x-api-key: sk-ant-env"}).status ==
      200);
  BOOST_TEST(
      Post(*vendor, "/v1/messages", AnthropicBody("ping"), {"Authorization: Bearer sk-ant-env"})
          .status == 200);
  BOOST_TEST(vendor->Stderr().find("sk-ant-env") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(robustness)

BOOST_AUTO_TEST_CASE(bad_bodies_get_400_in_the_vendor_format) {
  auto vendor = StartVendor();
  const HttpResult openai = Post(*vendor, "/v1/chat/completions", "{not json");
  BOOST_TEST(openai.status == 400);
  BOOST_TEST(Str(Json(openai.body)["error"]["type"]) == "invalid_request_error");
  const HttpResult anthropic = Post(*vendor, "/v1/messages", "[1,2");
  BOOST_TEST(anthropic.status == 400);
  BOOST_TEST(Str(Json(anthropic.body)["error"]["type"]) == "invalid_request_error");
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", std::string(200'000, '[')).status == 400);
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", "").status == 400);
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", R"({"model":"m","messages":"x"})").status ==
             400);
  BOOST_TEST(Get(*vendor, "/control/stats").status == 200);
}

BOOST_AUTO_TEST_CASE(oversized_bodies_get_413) {
  auto vendor = StartVendor();
  const std::string huge = OpenAiBody(std::string(2 << 20, 'a'));
  const HttpResult openai = Post(*vendor, "/v1/chat/completions", huge);
  BOOST_TEST(openai.status == 413);
  const HttpResult anthropic = Post(*vendor, "/v1/messages", huge);
  BOOST_TEST(anthropic.status == 413);
  BOOST_TEST(Str(Json(anthropic.body)["error"]["type"]) == "request_too_large");
  // Just under the limit is fine.
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", OpenAiBody(std::string(1 << 19, 'a'))).status ==
             200);
}

BOOST_AUTO_TEST_CASE(unknown_routes_and_methods) {
  auto vendor = StartVendor();
  const HttpResult missing = Get(*vendor, "/v1/nothing");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(Json(missing.body).HasMember("error"));
  const HttpResult method = Get(*vendor, "/v1/chat/completions");
  BOOST_TEST(method.status == 405);
  BOOST_TEST(method.headers.at("allow") == "POST");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(slow_first_byte_delays_everything) {
  auto vendor = StartVendor({"--fault", "slow_first_byte", "--slow-ms", "300"});
  const HttpResult plain = Post(*vendor, "/v1/chat/completions", OpenAiBody("ping"));
  BOOST_TEST(plain.status == 200);
  BOOST_TEST(plain.elapsed_ms >= 300);
  const HttpResult stream = Post(*vendor, "/v1/messages", AnthropicBody("ping", 4, true));
  BOOST_TEST_REQUIRE(!stream.pieces.empty());
  BOOST_TEST(stream.pieces.front().at_ms >= 300);
  BOOST_TEST(CountEvents(ParseSse(stream.pieces), "message_stop") == 1);
}

BOOST_AUTO_TEST_CASE(stall_sends_some_tokens_then_nothing_until_hang_up) {
  auto vendor = StartVendor({"--fault", "stall"});
  const HttpResult stream =
      Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 0, true, true), {}, 700);
  BOOST_TEST(stream.code == CURLE_OPERATION_TIMEDOUT);
  const auto events = ParseSse(stream.pieces);
  BOOST_TEST(OpenAiContents(events).size() == 4u);
  BOOST_TEST(!HasDone(events));
  // The handler notices the hang-up and finishes (its log line appears).
  BOOST_TEST(PollUntil(
      [&] { return vendor->Stderr().find("fault=stall status=200") != std::string::npos; },
      milliseconds(2000)));

  const HttpResult plain = Post(*vendor, "/v1/messages", AnthropicBody("ping"), {}, 500);
  BOOST_TEST(plain.code == CURLE_OPERATION_TIMEDOUT);
  BOOST_TEST(plain.status == 200);
  BOOST_TEST(!plain.body.empty());
}

BOOST_AUTO_TEST_CASE(reset_breaks_the_transfer) {
  auto vendor = StartVendor({"--fault", "reset"});
  const HttpResult stream = Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 0, true));
  BOOST_TEST(stream.code != CURLE_OK);
  BOOST_TEST(stream.code != CURLE_OPERATION_TIMEDOUT);
  BOOST_TEST(OpenAiContents(ParseSse(stream.pieces)).size() == 4u);
  const HttpResult plain = Post(*vendor, "/v1/messages", AnthropicBody("ping"));
  BOOST_TEST(plain.code != CURLE_OK);
  BOOST_TEST(plain.code != CURLE_OPERATION_TIMEDOUT);
  BOOST_TEST(plain.status == 200);
}

BOOST_AUTO_TEST_CASE(truncated_ends_cleanly_but_incomplete) {
  auto vendor = StartVendor({"--fault", "truncated"});
  const HttpResult openai =
      Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 0, true, true));
  BOOST_TEST(openai.code == CURLE_OK);
  const auto events = ParseSse(openai.pieces);
  BOOST_TEST(OpenAiContents(events).size() == 4u);
  BOOST_TEST(!HasDone(events));
  const HttpResult anthropic = Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, true));
  BOOST_TEST(anthropic.code == CURLE_OK);
  const auto anthropic_events = ParseSse(anthropic.pieces);
  BOOST_TEST(CountEvents(anthropic_events, "message_start") == 1);
  BOOST_TEST(CountEvents(anthropic_events, "message_stop") == 0);
  const HttpResult plain = Post(*vendor, "/v1/chat/completions", OpenAiBody("ping"));
  BOOST_TEST(plain.code == CURLE_OK);
  BOOST_TEST(plain.status == 200);
  rapidjson::Document doc;
  doc.Parse(plain.body.data(), plain.body.size());
  BOOST_TEST(doc.HasParseError());
}

struct HttpFaultCase {
  const char* fault;
  long status;
  const char* openai_type;
  const char* anthropic_type;
};

BOOST_AUTO_TEST_CASE(http_error_faults_in_each_vendor_format) {
  const HttpFaultCase cases[] = {
      {"http_401", 401, "invalid_request_error", "authentication_error"},
      {"http_429", 429, "requests", "rate_limit_error"},
      {"http_500", 500, "server_error", "api_error"},
      {"http_529", 529, "server_error", "overloaded_error"},
      {"error_200", 200, "upstream_error", "api_error"},
  };
  auto vendor = StartVendor();
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("fault " << c.fault) {
      SetFault(*vendor, std::string(R"({"fault":")") + c.fault + R"(","count":2})");
      const HttpResult openai =
          Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 0, /*stream=*/true));
      BOOST_TEST(openai.status == c.status);
      BOOST_TEST(openai.headers.at("content-type") == "application/json");
      const auto openai_doc = Json(openai.body);
      BOOST_TEST(Str(openai_doc["error"]["type"]) == c.openai_type);
      BOOST_TEST(openai_doc["error"].HasMember("message"));
      const HttpResult anthropic = Post(*vendor, "/v1/messages", AnthropicBody("ping"));
      BOOST_TEST(anthropic.status == c.status);
      const auto anthropic_doc = Json(anthropic.body);
      BOOST_TEST(Str(anthropic_doc["type"]) == "error");
      BOOST_TEST(Str(anthropic_doc["error"]["type"]) == c.anthropic_type);
      if (c.status == 429) {
        BOOST_TEST(openai.headers.at("retry-after") == "7");
        BOOST_TEST(anthropic.headers.at("retry-after") == "7");
        BOOST_TEST(Str(openai_doc["error"]["code"]) == "rate_limit_exceeded");
      }
      if (c.status == 401) BOOST_TEST(Str(openai_doc["error"]["code"]) == "invalid_api_key");
    }
  }
  BOOST_TEST(Post(*vendor, "/v1/messages", AnthropicBody("ping")).status == 200);
}

BOOST_AUTO_TEST_CASE(html_instead_of_json) {
  auto vendor = StartVendor({"--fault", "html"});
  for (const char* path : {"/v1/chat/completions", "/v1/messages"}) {
    const HttpResult result = Post(*vendor, path, AnthropicBody("ping", 4, true));
    BOOST_TEST(result.status == 200);
    BOOST_TEST(result.headers.at("content-type").starts_with("text/html"));
    BOOST_TEST(result.body.starts_with("<!DOCTYPE html>"));
  }
}

BOOST_AUTO_TEST_CASE(midstream_error_after_some_tokens) {
  auto vendor = StartVendor({"--fault", "midstream_error"});
  const HttpResult openai =
      Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 0, true, true));
  BOOST_TEST(openai.code == CURLE_OK);
  BOOST_TEST(openai.status == 200);
  const auto events = ParseSse(openai.pieces);
  BOOST_TEST_REQUIRE(events.size() == 6u);  // role, 4 tokens, error
  BOOST_TEST(OpenAiContents(events).size() == 4u);
  BOOST_TEST(Json(events.back().data).HasMember("error"));
  BOOST_TEST(!HasDone(events));

  const HttpResult anthropic = Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, true));
  const auto anthropic_events = ParseSse(anthropic.pieces);
  BOOST_TEST_REQUIRE(!anthropic_events.empty());
  BOOST_TEST(CountEvents(anthropic_events, "content_block_delta") == 4);
  BOOST_TEST(anthropic_events.back().event == "error");
  BOOST_TEST(Str(Json(anthropic_events.back().data)["error"]["type"]) == "overloaded_error");
  BOOST_TEST(CountEvents(anthropic_events, "message_stop") == 0);

  // Without streaming the error comes as an HTTP 200 error body.
  const HttpResult plain = Post(*vendor, "/v1/chat/completions", OpenAiBody("ping"));
  BOOST_TEST(plain.status == 200);
  BOOST_TEST(Json(plain.body).HasMember("error"));
}

BOOST_AUTO_TEST_CASE(wrong_content_says_ping) {
  auto vendor = StartVendor({"--fault", "wrong_content"});
  const HttpResult openai = Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 2));
  BOOST_TEST(Str(Json(openai.body)["choices"][0]["message"]["content"]) == "ping ping");
  const HttpResult anthropic = Post(*vendor, "/v1/messages", AnthropicBody("ping", 1));
  BOOST_TEST(Str(Json(anthropic.body)["content"][0]["text"]) == "ping");
}

BOOST_AUTO_TEST_CASE(no_usage_omits_usage_everywhere) {
  auto vendor = StartVendor({"--fault", "no_usage"});
  BOOST_TEST(
      !Json(Post(*vendor, "/v1/chat/completions", OpenAiBody("ping")).body).HasMember("usage"));
  const auto events =
      ParseSse(Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 0, true, true)).pieces);
  BOOST_TEST(events.size() == 10u);  // role, 8 tokens, [DONE]: no usage chunk
  for (const auto& event : events) {
    if (event.data != "[DONE]") BOOST_TEST(!Json(event.data).HasMember("usage"));
  }
  BOOST_TEST(HasDone(events));
  BOOST_TEST(!Json(Post(*vendor, "/v1/messages", AnthropicBody("ping")).body).HasMember("usage"));
  const auto anthropic_events =
      ParseSse(Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, true)).pieces);
  for (const auto& event : anthropic_events) {
    const auto doc = Json(event.data);
    BOOST_TEST(!doc.HasMember("usage"));
    if (doc.HasMember("message")) BOOST_TEST(!doc["message"].HasMember("usage"));
  }
}

BOOST_AUTO_TEST_CASE(fault_count_from_the_command_line) {
  auto vendor = StartVendor({"--fault", "http_500:2"});
  BOOST_TEST(Get(*vendor, "/v1/models").status == 200);  // not a chat route: no fault taken
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", OpenAiBody("ping")).status == 500);
  BOOST_TEST(Post(*vendor, "/v1/messages", AnthropicBody("ping")).status == 500);
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", OpenAiBody("ping")).status == 200);
}

BOOST_AUTO_TEST_CASE(control_fault_and_reset) {
  auto vendor = StartVendor();
  SetFault(*vendor, R"({"fault":"http_429","count":1})");
  BOOST_TEST(Stats(*vendor)["fault"]["remaining"].GetInt() == 1);
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", OpenAiBody("ping")).status == 429);
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", OpenAiBody("ping")).status == 200);
  SetFault(*vendor, R"({"fault":"http_500"})");
  BOOST_TEST(Stats(*vendor)["fault"]["remaining"].IsNull());
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", OpenAiBody("ping")).status == 500);
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", OpenAiBody("ping")).status == 500);
  BOOST_TEST(Post(*vendor, "/control/reset", "").status == 200);
  BOOST_TEST(Post(*vendor, "/v1/chat/completions", OpenAiBody("ping")).status == 200);
  BOOST_TEST(Post(*vendor, "/control/fault", R"({"fault":"bogus"})").status == 400);
  BOOST_TEST(Post(*vendor, "/control/fault", R"({"fault":"stall","count":0})").status == 400);
  BOOST_TEST(Post(*vendor, "/control/fault", "nope").status == 400);
  BOOST_TEST(Str(Stats(*vendor)["fault"]["name"]) == "none");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(stats)

BOOST_AUTO_TEST_CASE(counts_served_tokens_per_day_model_and_route) {
  auto vendor = StartVendor({"--reply-tokens", "4"});
  BOOST_TEST(
      Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 2, false, false, "a")).status ==
      200);
  BOOST_TEST(Post(*vendor, "/chat/completions", OpenAiBody("[cached] ping!!", 0, true, true, "a"))
                 .status == 200);
  BOOST_TEST(Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, false, "b")).status == 200);
  SetFault(*vendor, R"({"fault":"http_500","count":1})");
  BOOST_TEST(Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, false, "b")).status == 500);
  SetFault(*vendor, R"({"fault":"no_usage","count":1})");
  BOOST_TEST(Post(*vendor, "/v1/messages", AnthropicBody("ping", 1, false, "b")).status == 200);
  BOOST_TEST(Post(*vendor, "/v1/messages", "{").status == 400);

  const auto doc = Stats(*vendor);
  const int64_t cached_input = InputTokensFor(15, 1);
  BOOST_TEST(doc["models"]["a"]["requests"].GetInt64() == 2);
  BOOST_TEST(doc["models"]["a"]["input_tokens"].GetInt64() == kPingInputTokens + cached_input);
  BOOST_TEST(doc["models"]["a"]["cached_input_tokens"].GetInt64() == cached_input / 2);
  BOOST_TEST(doc["models"]["a"]["output_tokens"].GetInt64() == 2 + 4);
  BOOST_TEST(doc["models"]["b"]["requests"].GetInt64() == 2);  // served, usage omitted or not
  BOOST_TEST(doc["models"]["b"]["input_tokens"].GetInt64() == 2 * kPingInputTokens);
  BOOST_TEST(doc["models"]["b"]["output_tokens"].GetInt64() == 4 + 1);
  BOOST_TEST(doc["totals"]["requests"].GetInt64() == 4);
  BOOST_TEST(doc["totals"]["output_tokens"].GetInt64() == 11);
  const auto& messages = doc["routes"]["/v1/messages"];
  BOOST_TEST(messages["requests"].GetInt64() == 4);
  BOOST_TEST(messages["served"].GetInt64() == 2);
  BOOST_TEST(messages["failed"].GetInt64() == 2);
  BOOST_TEST(doc["routes"]["/chat/completions"]["served"].GetInt64() == 1);
  const std::string today = UtcDay(std::chrono::system_clock::now());
  BOOST_TEST_REQUIRE(doc["days"].HasMember(today.c_str()));
  BOOST_TEST(doc["days"][today.c_str()]["a"]["output_tokens"].GetInt64() == 6);

  BOOST_TEST(Post(*vendor, "/control/reset", "").status == 200);
  const auto after = Stats(*vendor);
  BOOST_TEST(after["totals"]["requests"].GetInt64() == 0);
  BOOST_TEST(after["days"].ObjectEmpty());
  BOOST_TEST(after["routes"].ObjectEmpty());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(timing)

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

BOOST_AUTO_TEST_CASE(openai_stream_ttft_and_token_pacing) {
  auto vendor = StartVendor({"--ttft-ms", "200", "--token-ms", "50"});
  const HttpResult result =
      Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 5, true, true));
  BOOST_TEST_REQUIRE(result.code == CURLE_OK, result.error);
  const auto events = ParseSse(result.pieces);
  BOOST_TEST_REQUIRE(events.size() == 8u);  // role, 5 tokens, usage, [DONE]
  BOOST_TEST(events[0].at_ms < 100);        // role chunk right away
  std::vector<double> token_times;
  for (size_t i = 1; i <= 5; ++i) token_times.push_back(events[i].at_ms);
  BOOST_TEST(token_times[0] >= 150);
  BOOST_TEST(token_times[0] <= 250);
  BOOST_TEST(token_times.back() - token_times.front() >= 150);
  BOOST_TEST(token_times.back() - token_times.front() <= 300);
  std::vector<double> gaps;
  for (size_t i = 1; i < token_times.size(); ++i)
    gaps.push_back(token_times[i] - token_times[i - 1]);
  BOOST_TEST(Median(gaps) >= 30);
  BOOST_TEST(Median(gaps) <= 70);
}

BOOST_AUTO_TEST_CASE(anthropic_stream_ttft) {
  auto vendor = StartVendor({"--ttft-ms", "200", "--token-ms", "50"});
  const HttpResult result =
      Post(*vendor, "/v1/messages", AnthropicBody("ping", 3, true), kAnthropicHeaders);
  const auto events = ParseSse(result.pieces);
  BOOST_TEST_REQUIRE(events.size() == 9u);
  BOOST_TEST(events[0].event == "message_start");
  BOOST_TEST(events[0].at_ms < 100);
  BOOST_TEST(events[3].event == "content_block_delta");
  BOOST_TEST(events[3].at_ms >= 150);
  BOOST_TEST(events[3].at_ms <= 250);
  BOOST_TEST(events[5].at_ms - events[3].at_ms >= 60);
}

BOOST_AUTO_TEST_CASE(plain_reply_waits_for_all_tokens) {
  auto vendor = StartVendor({"--ttft-ms", "200", "--token-ms", "50"});
  const HttpResult result = Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 5));
  BOOST_TEST(result.status == 200);
  BOOST_TEST(result.elapsed_ms >= 390);  // 200 + 4 * 50
  BOOST_TEST(result.elapsed_ms <= 500);
  BOOST_TEST_REQUIRE(!result.pieces.empty());
  BOOST_TEST(result.pieces.front().at_ms >= 390);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(billing)

const std::string kPricesFile = LLM_EXPORTER_SOURCE_DIR "/pricing/fake_prices.toml";
const std::string kApiKey = "sk-test-fake-0123456789";
const std::string kAdminKey = "sk-admin-fake-9876543210";
const std::vector<std::string> kApiAuth = {"Authorization: Bearer " + kApiKey};
const std::vector<std::string> kOpenAiAdmin = {"Authorization: Bearer " + kAdminKey};
const std::vector<std::string> kAnthropicAdmin = {"x-api-key: " + kAdminKey,
                                                  "anthropic-version: 2023-06-01"};

std::vector<std::string> BillingArgs(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--prices", kPricesFile,   "--api-key",
                                   kApiKey,    "--admin-key", kAdminKey};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Numbers stay text, so money is compared exactly.
rapidjson::Document JsonExact(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(text.data(), text.size());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject(), "not a JSON object: " << text);
  return doc;
}

int64_t IntOf(const rapidjson::Value& value) { return std::stoll(Str(value)); }

// Exact nano-units of decimal money text; scale 9 for dollars, 7 for cents.
int64_t NanoOf(const rapidjson::Value& value, int scale) {
  const std::string text = Str(value);
  BOOST_TEST(text.find_first_of("eE") == std::string::npos, "not plain decimal: " << text);
  const auto nano = base::ScaleDecimal(text, scale, base::Rounding::kExact, int64_t{1} << 62);
  BOOST_REQUIRE_MESSAGE(nano, "not exact decimal money: " << text);
  return *nano;
}

// What the exporter computes for one reply: CostNanoUsd on the fake table.
int64_t ExpectedCost(std::string_view model, int64_t input, int64_t cached, int64_t output,
                     int64_t skew = kUnitSkew) {
  static const pricing::PriceBook book = [] {
    auto loaded = pricing::LoadPriceBook({kPricesFile}, "");
    BOOST_REQUIRE(loaded);
    return std::move(*loaded);
  }();
  const pricing::PriceRow* row = book.Find("fake", model, std::chrono::system_clock::now());
  BOOST_REQUIRE(row != nullptr);
  return ApplySkew(pricing::CostNanoUsd(
                       *row, {.input = input - cached, .cached_input = cached, .output = output}),
                   skew);
}

struct Served {
  int64_t requests = 0;
  int64_t input = 0;
  int64_t cached = 0;
  int64_t output = 0;
  int64_t cost = 0;
};

// Sample traffic over both chat dialects; returns what a vendor must bill per model.
std::map<std::string, Served> ServeSampleTraffic(const FakeVendorProcess& vendor) {
  std::map<std::string, Served> served;
  auto add = [&](const std::string& model, int64_t input, int64_t cached, int64_t output,
                 bool priced = true) {
    Served& s = served[model];
    ++s.requests;
    s.input += input;
    s.cached += cached;
    s.output += output;
    if (priced) s.cost += ExpectedCost(model, input, cached, output);
  };
  BOOST_REQUIRE(Post(vendor, "/v1/chat/completions",
                     OpenAiBody("ping", 3, false, false, "fake-gpt"), kApiAuth)
                    .status == 200);
  add("fake-gpt", kPingInputTokens, 0, 3);
  const HttpResult stream =
      Post(vendor, "/v1/chat/completions", OpenAiBody("[cached] ping!!", 0, true, true, "fake-gpt"),
           kApiAuth);
  BOOST_REQUIRE(stream.status == 200);
  add("fake-gpt", InputTokensFor(15, 1), InputTokensFor(15, 1) / 2, 8);
  BOOST_REQUIRE(
      Post(vendor, "/v1/messages", AnthropicBody("ping", 16, false, "fake-claude"), kApiAuth)
          .status == 200);
  add("fake-claude", kPingInputTokens, 0, 8);
  BOOST_REQUIRE(Post(vendor, "/v1/messages",
                     AnthropicBody("[cached] hello there", 2, true, "fake-claude"), kApiAuth)
                    .status == 200);
  add("fake-claude", InputTokensFor(20, 1), InputTokensFor(20, 1) / 2, 2);
  BOOST_REQUIRE(Post(vendor, "/v1/chat/completions", OpenAiBody("ping"), kApiAuth).status == 200);
  add("gpt-4o-mini", kPingInputTokens, 0, 8, /*priced=*/false);
  // Failed replies are not billed.
  SetFault(vendor, R"({"fault":"http_500","count":1})");
  BOOST_REQUIRE(Post(vendor, "/v1/chat/completions",
                     OpenAiBody("ping", 3, false, false, "fake-gpt"), kApiAuth)
                    .status == 500);
  return served;
}

int64_t TotalCost(const std::map<std::string, Served>& served) {
  int64_t total = 0;
  for (const auto& [model, s] : served) total += s.cost;
  return total;
}

// GETs a report and follows next_page until has_more is false.
std::vector<rapidjson::Document> FetchAllPages(const FakeVendorProcess& vendor,
                                               const std::string& path_and_query,
                                               const std::vector<std::string>& headers) {
  std::vector<rapidjson::Document> pages;
  std::string page;
  for (int guard = 0; guard < 100; ++guard) {
    const HttpResult result =
        Get(vendor, path_and_query + (page.empty() ? "" : "&page=" + page), headers);
    BOOST_REQUIRE_MESSAGE(result.status == 200, result.body);
    BOOST_TEST(result.headers.at("content-type") == "application/json");
    pages.push_back(JsonExact(result.body));
    const auto& doc = pages.back();
    BOOST_REQUIRE(doc["has_more"].IsBool());
    if (!doc["has_more"].GetBool()) {
      BOOST_TEST(doc["next_page"].IsNull());
      return pages;
    }
    page = Str(doc["next_page"]);
    BOOST_TEST(page.starts_with("page_"));
  }
  BOOST_FAIL("pagination did not end");
  return pages;
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Day buckets from the UTC day of `start` through today.
int64_t DaysThroughToday(int64_t start) { return UnixNow() / 86400 - start / 86400 + 1; }

BOOST_AUTO_TEST_CASE(openai_org_usage_and_costs_sum_to_what_was_served) {
  auto vendor = StartVendor(BillingArgs());
  const auto served = ServeSampleTraffic(*vendor);
  const int64_t start = UnixNow() - 4 * 86400 - 1234;  // unaligned
  const int64_t buckets = DaysThroughToday(start);

  for (const std::string group_by :
       {"group_by[]=model", "group_by=model", "group_by%5B%5D=model"}) {
    BOOST_TEST_CONTEXT(group_by) {
      const auto pages = FetchAllPages(
          *vendor,
          "/v1/organization/usage/completions?bucket_width=1d&start_time=" + std::to_string(start) +
              "&" + group_by,
          kOpenAiAdmin);
      BOOST_TEST(static_cast<int64_t>(pages.size()) == (buckets + 1) / 2);  // 2 buckets a page
      std::map<std::string, Served> reported;
      int64_t bucket_count = 0;
      for (const auto& page : pages) {
        BOOST_TEST(Str(page["object"]) == "page");
        for (const auto& bucket : page["data"].GetArray()) {
          BOOST_TEST(Str(bucket["object"]) == "bucket");
          BOOST_TEST(IntOf(bucket["start_time"]) ==
                     (bucket_count == 0 ? start : (start / 86400 + bucket_count) * 86400));
          BOOST_TEST(IntOf(bucket["end_time"]) == (start / 86400 + bucket_count + 1) * 86400);
          ++bucket_count;
          for (const auto& result : bucket["results"].GetArray()) {
            BOOST_TEST(Str(result["object"]) == "organization.usage.completions.result");
            BOOST_TEST(IntOf(result["input_audio_tokens"]) == 0);
            BOOST_TEST(IntOf(result["output_audio_tokens"]) == 0);
            BOOST_TEST(result["project_id"].IsNull());
            BOOST_TEST(result["api_key_id"].IsNull());
            Served& r = reported[Str(result["model"])];
            r.requests += IntOf(result["num_model_requests"]);
            r.input += IntOf(result["input_tokens"]);
            r.cached += IntOf(result["input_cached_tokens"]);
            r.output += IntOf(result["output_tokens"]);
          }
        }
      }
      BOOST_TEST(bucket_count == buckets);
      BOOST_TEST_REQUIRE(reported.size() == served.size());
      for (const auto& [model, s] : served) {
        BOOST_TEST_CONTEXT(model) {
          BOOST_TEST(reported[model].requests == s.requests);
          BOOST_TEST(reported[model].input == s.input);  // cached included
          BOOST_TEST(reported[model].cached == s.cached);
          BOOST_TEST(reported[model].output == s.output);
        }
      }
    }
  }

  const auto pages = FetchAllPages(*vendor,
                                   "/v1/organization/costs?bucket_width=1d&limit=180&start_time=" +
                                       std::to_string(start) + "&group_by[]=line_item",
                                   kOpenAiAdmin);
  BOOST_TEST(static_cast<int64_t>(pages.size()) == (buckets + 1) / 2);
  std::map<std::string, int64_t> cost;
  std::set<std::string> line_items;
  for (const auto& page : pages) {
    for (const auto& bucket : page["data"].GetArray()) {
      for (const auto& result : bucket["results"].GetArray()) {
        BOOST_TEST(Str(result["object"]) == "organization.costs.result");
        BOOST_TEST(Str(result["amount"]["currency"]) == "usd");
        const std::string item = Str(result["line_item"]);
        line_items.insert(item);
        cost[item.substr(0, item.find(','))] += NanoOf(result["amount"]["value"], 9);
      }
    }
  }
  const std::set<std::string> expected_items = {
      "fake-claude, input", "fake-claude, cached input", "fake-claude, output",
      "fake-gpt, input",    "fake-gpt, cached input",    "fake-gpt, output",
      "gpt-4o-mini, input", "gpt-4o-mini, output"};
  BOOST_TEST(line_items == expected_items, boost::test_tools::per_element());
  for (const auto& [model, s] : served) BOOST_TEST(cost[model] == s.cost, model);

  // Ungrouped: one result per day holding the day's total.
  int64_t total = 0;
  for (const auto& page : FetchAllPages(
           *vendor, "/v1/organization/costs?start_time=" + std::to_string(start), kOpenAiAdmin)) {
    for (const auto& bucket : page["data"].GetArray()) {
      BOOST_TEST(bucket["results"].Size() <= 1u);
      for (const auto& result : bucket["results"].GetArray()) {
        BOOST_TEST(result["line_item"].IsNull());
        total += NanoOf(result["amount"]["value"], 9);
      }
    }
  }
  BOOST_TEST(total == TotalCost(served));
  BOOST_TEST(total > 0);

  // The stats agree.
  const auto stats = Stats(*vendor);
  BOOST_TEST(stats["totals"]["cost_nano_usd"].GetInt64() == TotalCost(served));
  BOOST_TEST(stats["models"]["fake-gpt"]["cost_nano_usd"].GetInt64() == served.at("fake-gpt").cost);
  BOOST_TEST(stats["models"]["gpt-4o-mini"]["unpriced_requests"].GetInt64() == 1);
  BOOST_TEST(stats["routes"]["/v1/organization/costs"]["served"].GetInt64() >= 2);
}

BOOST_AUTO_TEST_CASE(anthropic_usage_and_cost_reports_sum_to_what_was_served) {
  auto vendor = StartVendor(BillingArgs({"--billing-page-size", "1"}));
  const auto served = ServeSampleTraffic(*vendor);
  const int64_t start = UnixNow() - 2 * 86400;
  const std::string starting_at =
      FormatRfc3339(std::chrono::sys_seconds(std::chrono::seconds(start)));
  const int64_t buckets = DaysThroughToday(start);

  const auto usage =
      FetchAllPages(*vendor,
                    "/v1/organizations/usage_report/messages?starting_at=" + starting_at +
                        "&bucket_width=1d&group_by[]=model&limit=31",
                    kAnthropicAdmin);
  BOOST_TEST(static_cast<int64_t>(usage.size()) == buckets);  // one bucket a page
  std::map<std::string, Served> reported;
  for (const auto& page : usage) {
    BOOST_TEST(!page.HasMember("object"));
    BOOST_TEST_REQUIRE(page["data"].Size() == 1u);
    const auto& bucket = page["data"][0];
    BOOST_TEST(Str(bucket["starting_at"]).ends_with("T00:00:00Z"));
    BOOST_TEST(Str(bucket["ending_at"]).ends_with("T00:00:00Z"));
    for (const auto& result : bucket["results"].GetArray()) {
      Served& r = reported[Str(result["model"])];
      r.input += IntOf(result["uncached_input_tokens"]) + IntOf(result["cache_read_input_tokens"]) +
                 IntOf(result["cache_creation"]["ephemeral_5m_input_tokens"]) +
                 IntOf(result["cache_creation"]["ephemeral_1h_input_tokens"]);
      r.cached += IntOf(result["cache_read_input_tokens"]);
      r.output += IntOf(result["output_tokens"]);
      BOOST_TEST(result["workspace_id"].IsNull());
    }
  }
  BOOST_TEST(Str(usage.front()["data"][0]["starting_at"]) ==
             FormatRfc3339(std::chrono::sys_seconds(std::chrono::seconds(start / 86400 * 86400))));
  for (const auto& [model, s] : served) {
    BOOST_TEST(reported[model].input == s.input, model);
    BOOST_TEST(reported[model].cached == s.cached, model);
    BOOST_TEST(reported[model].output == s.output, model);
  }

  const auto costs = FetchAllPages(
      *vendor,
      "/v1/organizations/cost_report?starting_at=" + starting_at + "&group_by[]=description",
      kAnthropicAdmin);
  std::map<std::string, int64_t> cost;
  std::set<std::string> token_types;
  for (const auto& page : costs) {
    for (const auto& result : page["data"][0]["results"].GetArray()) {
      BOOST_TEST(Str(result["currency"]) == "USD");
      BOOST_TEST(Str(result["cost_type"]) == "tokens");
      BOOST_TEST(Str(result["description"]).find(" Usage - ") != std::string::npos);
      token_types.insert(Str(result["token_type"]));
      cost[Str(result["model"])] += NanoOf(result["amount"], 7);  // cents
    }
  }
  const std::set<std::string> expected_types = {"uncached_input_tokens", "cache_read_input_tokens",
                                                "output_tokens"};
  BOOST_TEST(token_types == expected_types, boost::test_tools::per_element());
  for (const auto& [model, s] : served) BOOST_TEST(cost[model] == s.cost, model);

  int64_t total = 0;
  for (const auto& page : FetchAllPages(
           *vendor, "/v1/organizations/cost_report?starting_at=" + starting_at, kAnthropicAdmin)) {
    for (const auto& result : page["data"][0]["results"].GetArray()) {
      BOOST_TEST(result["description"].IsNull());
      total += NanoOf(result["amount"], 7);
    }
  }
  BOOST_TEST(total == TotalCost(served));
}

BOOST_AUTO_TEST_CASE(balances_and_gateway_dashboard) {
  auto vendor = StartVendor(BillingArgs({"--quota-usd", "10", "--cny-balance", "7.5"}));
  const int64_t total = TotalCost(ServeSampleTraffic(*vendor));
  const int64_t quota = 10'000'000'000;

  for (const char* path :
       {"/v1/dashboard/billing/subscription", "/dashboard/billing/subscription"}) {
    const HttpResult result = Get(*vendor, path, kApiAuth);
    BOOST_TEST_REQUIRE(result.status == 200);
    BOOST_TEST(result.body ==
               R"({"object":"billing_subscription","has_payment_method":true,)"
               R"("soft_limit_usd":10.0,"hard_limit_usd":10.0,"system_hard_limit_usd":10.0,)"
               R"("access_until":0})");
  }
  const HttpResult usage = Get(*vendor, "/v1/dashboard/billing/usage", kApiAuth);
  BOOST_TEST_REQUIRE(usage.status == 200);
  const auto usage_doc = JsonExact(usage.body);
  BOOST_TEST(Str(usage_doc["object"]) == "list");
  BOOST_TEST(NanoOf(usage_doc["total_usage"], 7) == total);  // cents
  // start_date/end_date are ignored, as by one-api and new-api.
  BOOST_TEST(
      Get(*vendor, "/dashboard/billing/usage?start_date=2000-01-01&end_date=2000-01-02", kApiAuth)
          .body == usage.body);

  const HttpResult balance = Get(*vendor, "/user/balance", kApiAuth);
  BOOST_TEST_REQUIRE(balance.status == 200);
  const auto balance_doc = JsonExact(balance.body);
  BOOST_TEST(balance_doc["is_available"].GetBool());
  const auto& infos = balance_doc["balance_infos"];
  BOOST_TEST_REQUIRE(infos.Size() == 2u);
  BOOST_TEST(Str(infos[0]["currency"]) == "USD");
  BOOST_TEST(Str(infos[0]["total_balance"]) == DollarsText(quota - total, 2));
  BOOST_TEST(NanoOf(infos[0]["total_balance"], 9) == quota - total);
  BOOST_TEST(Str(infos[0]["granted_balance"]) == "0.00");
  BOOST_TEST(Str(infos[0]["topped_up_balance"]) == Str(infos[0]["total_balance"]));
  BOOST_TEST(Str(infos[1]["currency"]) == "CNY");
  BOOST_TEST(Str(infos[1]["total_balance"]) == "7.50");

  const auto credits = JsonExact(Get(*vendor, "/api/v1/credits", kApiAuth).body);
  BOOST_TEST(NanoOf(credits["data"]["total_credits"], 9) == quota);
  BOOST_TEST(NanoOf(credits["data"]["total_usage"], 9) == total);

  for (const char* path : {"/api/v1/key", "/api/v1/auth/key"}) {
    const HttpResult key = Get(*vendor, path, kApiAuth);
    BOOST_TEST_REQUIRE(key.status == 200);
    BOOST_TEST(key.body.find(kApiKey) == std::string::npos);
    const auto doc = JsonExact(key.body);
    const auto& data = doc["data"];
    BOOST_TEST(Str(data["label"]) == "sk-test-fak...789");
    BOOST_TEST(NanoOf(data["limit"], 9) == quota);
    BOOST_TEST(NanoOf(data["limit_remaining"], 9) == quota - total);
    BOOST_TEST(NanoOf(data["usage"], 9) == total);
    BOOST_TEST(NanoOf(data["usage_daily"], 9) <= total);
    BOOST_TEST(NanoOf(data["usage_monthly"], 9) >= NanoOf(data["usage_daily"], 9));
    BOOST_TEST(data["limit_reset"].IsNull());
    BOOST_TEST(!data["is_free_tier"].GetBool());
  }
}

BOOST_AUTO_TEST_CASE(admin_routes_want_the_admin_key_others_the_api_key) {
  auto vendor = StartVendor(BillingArgs());
  const std::string openai_usage =
      "/v1/organization/usage/completions?start_time=" + std::to_string(UnixNow() - 86400);
  const std::string openai_costs =
      "/v1/organization/costs?start_time=" + std::to_string(UnixNow() - 86400);
  for (const std::string& path : {openai_usage, openai_costs}) {
    BOOST_TEST_CONTEXT(path) {
      const HttpResult none = Get(*vendor, path);
      BOOST_TEST(none.status == 401);
      BOOST_TEST(Str(Json(none.body)["error"]["code"]) == "invalid_api_key");
      BOOST_TEST(Get(*vendor, path, kApiAuth).status == 401);  // a normal key is refused
      BOOST_TEST(Get(*vendor, path, {"x-api-key: " + kAdminKey}).status == 401);
      BOOST_TEST(Get(*vendor, path, kOpenAiAdmin).status == 200);
    }
  }

  const std::string today =
      FormatRfc3339(std::chrono::sys_seconds(std::chrono::seconds(UnixNow())));
  for (const std::string path : {"/v1/organizations/usage_report/messages?starting_at=",
                                 "/v1/organizations/cost_report?starting_at="}) {
    BOOST_TEST_CONTEXT(path) {
      const HttpResult normal =
          Get(*vendor, path + today, {"x-api-key: " + kApiKey, "anthropic-version: 2023-06-01"});
      BOOST_TEST(normal.status == 401);
      const auto doc = Json(normal.body);
      BOOST_TEST(Str(doc["type"]) == "error");
      BOOST_TEST(Str(doc["error"]["type"]) == "authentication_error");
      BOOST_TEST(normal.headers.count("request-id") == 1u);
      BOOST_TEST(Get(*vendor, path + today,
                     {"Authorization: Bearer " + kAdminKey, "anthropic-version: 2023-06-01"})
                     .status == 401);
      const HttpResult no_version = Get(*vendor, path + today, {"x-api-key: " + kAdminKey});
      BOOST_TEST(no_version.status == 400);
      BOOST_TEST(Str(Json(no_version.body)["error"]["type"]) == "invalid_request_error");
      BOOST_TEST(Get(*vendor, path + today, kAnthropicAdmin).status == 200);
    }
  }

  for (const char* path : {"/v1/dashboard/billing/subscription", "/dashboard/billing/usage",
                           "/user/balance", "/api/v1/credits", "/api/v1/key"}) {
    BOOST_TEST_CONTEXT(path) {
      BOOST_TEST(Get(*vendor, path).status == 401);
      BOOST_TEST(Get(*vendor, path, kOpenAiAdmin).status == 401);
      BOOST_TEST(Get(*vendor, path, kApiAuth).status == 200);
    }
  }
  const HttpResult openrouter = Get(*vendor, "/api/v1/credits");
  BOOST_TEST(Json(openrouter.body)["error"]["code"].GetInt() == 401);

  const HttpResult post = Post(*vendor, "/v1/organization/costs", "{}", kOpenAiAdmin);
  BOOST_TEST(post.status == 405);
  BOOST_TEST(post.headers.at("allow") == "GET");
  const auto stats = Stats(*vendor);
  const auto& routes = stats["routes"];
  BOOST_TEST(routes["/v1/organization/costs"]["requests"].GetInt64() == 4);
  BOOST_TEST(routes["/v1/organization/costs"]["served"].GetInt64() == 1);
  BOOST_TEST(routes["/v1/organization/costs"]["failed"].GetInt64() == 3);
  BOOST_TEST(vendor->Stderr().find(kAdminKey) == std::string::npos);
  BOOST_TEST(vendor->Stderr().find(kApiKey) == std::string::npos);
  BOOST_TEST(vendor->Stdout().find(kAdminKey) == std::string::npos);

  // Without an admin key the admin routes take the API key; the key may come
  // from the environment.
  auto api_only = StartVendor({"--api-key", kApiKey});
  BOOST_TEST(Get(*api_only, openai_costs, kApiAuth).status == 200);
  BOOST_TEST(Get(*api_only, openai_costs, kOpenAiAdmin).status == 401);
  auto from_env = StartVendor({"--api-key", kApiKey}, {{"FAKE_VENDOR_ADMIN_KEY", kAdminKey}});
  BOOST_TEST(Get(*from_env, openai_costs, kOpenAiAdmin).status == 200);
  BOOST_TEST(Get(*from_env, openai_costs, kApiAuth).status == 401);
  BOOST_TEST(from_env->Stderr().find(kAdminKey) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_report_queries_get_400_in_the_vendor_format) {
  auto vendor = StartVendor(BillingArgs());
  const std::string start = "start_time=" + std::to_string(UnixNow() - 86400);
  const std::vector<std::pair<std::string, std::string>> openai = {
      {"/v1/organization/usage/completions", "Missing required parameter: 'start_time'."},
      {"/v1/organization/usage/completions?" + start + "&bucket_width=1h", "bucket_width=1d"},
      {"/v1/organization/costs?" + start + "&limit=0", "limit"},
      {"/v1/organization/costs?" + start + "&group_by[]=model", "group_by"},
      {"/v1/organization/costs?" + start + "&page=page_bogus", "page"},
  };
  for (const auto& [path, message] : openai) {
    BOOST_TEST_CONTEXT(path) {
      const HttpResult result = Get(*vendor, path, kOpenAiAdmin);
      BOOST_TEST(result.status == 400);
      const auto doc = Json(result.body);
      BOOST_TEST(Str(doc["error"]["type"]) == "invalid_request_error");
      BOOST_TEST(Str(doc["error"]["message"]).find(message) != std::string::npos);
    }
  }
  const HttpResult anthropic =
      Get(*vendor, "/v1/organizations/cost_report?starting_at=yesterday", kAnthropicAdmin);
  BOOST_TEST(anthropic.status == 400);
  const auto doc = Json(anthropic.body);
  BOOST_TEST(Str(doc["type"]) == "error");
  BOOST_TEST(Str(doc["error"]["message"]).find("RFC 3339") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(price_skew_from_the_command_line_and_at_run_time) {
  auto vendor = StartVendor(BillingArgs({"--price-skew", "fake-gpt=1.5"}));
  const int64_t plain = ExpectedCost("fake-gpt", kPingInputTokens, 0, 3);
  const std::string ping = OpenAiBody("ping", 3, false, false, "fake-gpt");
  BOOST_REQUIRE(Post(*vendor, "/v1/chat/completions", ping, kApiAuth).status == 200);

  const HttpResult set =
      Post(*vendor, "/control/price_skew", R"({"model":"fake-gpt","factor":0.333333333})");
  BOOST_TEST_REQUIRE(set.status == 200, set.body);
  BOOST_TEST(set.body == R"({"model":"fake-gpt","factor":0.333333333})");
  BOOST_TEST(
      Post(*vendor, "/control/price_skew", R"({"model":"fake-claude","factor":"2"})").status ==
      200);
  BOOST_REQUIRE(Post(*vendor, "/v1/chat/completions", ping, kApiAuth).status == 200);
  BOOST_REQUIRE(
      Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, false, "fake-claude"), kApiAuth)
          .status == 200);

  const int64_t gpt = ApplySkew(plain, 1'500'000'000) + ApplySkew(plain, 333'333'333);
  const int64_t claude = ExpectedCost("fake-claude", kPingInputTokens, 0, 8, 2 * kUnitSkew);
  BOOST_TEST(gpt == ExpectedCost("fake-gpt", kPingInputTokens, 0, 3, 1'500'000'000) +
                        ExpectedCost("fake-gpt", kPingInputTokens, 0, 3, 333'333'333));
  const auto stats = Stats(*vendor);
  BOOST_TEST(stats["models"]["fake-gpt"]["cost_nano_usd"].GetInt64() == gpt);
  BOOST_TEST(stats["models"]["fake-claude"]["cost_nano_usd"].GetInt64() == claude);
  BOOST_TEST(Get(*vendor, "/control/stats")
                 .body.find(R"("price_skews":{"fake-claude":2.0,"fake-gpt":0.333333333})") !=
             std::string::npos);

  int64_t reported = 0;
  for (const auto& page : FetchAllPages(*vendor,
                                        "/v1/organization/costs?group_by[]=line_item&start_time=" +
                                            std::to_string(UnixNow() - 86400),
                                        kOpenAiAdmin)) {
    for (const auto& bucket : page["data"].GetArray()) {
      for (const auto& result : bucket["results"].GetArray()) {
        if (Str(result["line_item"]).starts_with("fake-gpt,")) {
          reported += NanoOf(result["amount"]["value"], 9);
        }
      }
    }
  }
  BOOST_TEST(reported == gpt);

  for (const char* bad : {R"({"model":"fake-gpt","factor":-1})", R"({"model":"fake-gpt"})",
                          R"({"factor":2})", R"({"model":"fake-gpt","factor":"x"})", "nope"}) {
    BOOST_TEST(Post(*vendor, "/control/price_skew", bad).status == 400, bad);
  }
  // Reset clears counters and run-time skews; the command line's stay.
  BOOST_TEST(Post(*vendor, "/control/reset", "").status == 200);
  BOOST_TEST(Get(*vendor, "/control/stats").body.find(R"("price_skews":{"fake-gpt":1.5})") !=
             std::string::npos);
  BOOST_TEST(Stats(*vendor)["totals"]["cost_nano_usd"].GetInt64() == 0);
  BOOST_TEST(
      NanoOf(JsonExact(Get(*vendor, "/v1/dashboard/billing/usage", kApiAuth).body)["total_usage"],
             7) == 0);
}

BOOST_AUTO_TEST_CASE(reports_lag_by_the_report_delay) {
  auto vendor = StartVendor(BillingArgs({"--report-delay-ms", "1500"}));
  const std::string costs =
      "/v1/organization/costs?start_time=" + std::to_string(UnixNow() - 86400) + "&limit=2";
  const auto started = std::chrono::steady_clock::now();
  BOOST_REQUIRE(Post(*vendor, "/v1/chat/completions",
                     OpenAiBody("ping", 3, false, false, "fake-gpt"), kApiAuth)
                    .status == 200);
  const int64_t expected = ExpectedCost("fake-gpt", kPingInputTokens, 0, 3);

  auto reported_cost = [&] {
    int64_t total = 0;
    const auto doc = JsonExact(Get(*vendor, costs, kOpenAiAdmin).body);
    for (const auto& bucket : doc["data"].GetArray()) {
      for (const auto& result : bucket["results"].GetArray()) {
        total += NanoOf(result["amount"]["value"], 9);
      }
    }
    return total;
  };
  // Served and counted at once, reported later.
  BOOST_TEST(Stats(*vendor)["totals"]["cost_nano_usd"].GetInt64() == expected);
  BOOST_TEST(reported_cost() == 0);
  BOOST_TEST(
      NanoOf(JsonExact(Get(*vendor, "/dashboard/billing/usage", kApiAuth).body)["total_usage"],
             7) == 0);
  BOOST_TEST(PollUntil([&] { return reported_cost() == expected; }, milliseconds(5000)));
  const auto waited =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
  BOOST_TEST(waited.count() >= 1500);
  BOOST_TEST(
      NanoOf(JsonExact(Get(*vendor, "/dashboard/billing/usage", kApiAuth).body)["total_usage"],
             7) == expected);
}

BOOST_AUTO_TEST_CASE(without_prices_replies_are_unpriced_but_tokens_reported) {
  auto vendor = StartVendor();
  BOOST_REQUIRE(
      Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 3, false, false, "fake-gpt"))
          .status == 200);
  const auto stats = Stats(*vendor);
  BOOST_TEST(stats["totals"]["unpriced_requests"].GetInt64() == 1);
  BOOST_TEST(stats["totals"]["cost_nano_usd"].GetInt64() == 0);
  const auto doc = JsonExact(Get(*vendor, "/v1/organization/usage/completions?limit=1&start_time=" +
                                              std::to_string(UnixNow()))
                                 .body);
  BOOST_TEST_REQUIRE(doc["data"][0]["results"].Size() == 1u);
  BOOST_TEST(IntOf(doc["data"][0]["results"][0]["output_tokens"]) == 3);
}

BOOST_AUTO_TEST_CASE(bad_price_files_exit_two) {
  auto missing = FakeVendorProcess::Spawn({"--prices", "/nonexistent/prices.toml"});
  BOOST_REQUIRE(missing);
  BOOST_TEST((*missing)->WaitExit(milliseconds(5000)).value_or(-1) == 2);
  auto no_table = FakeVendorProcess::Spawn({"--prices", kPricesFile, "--price-table", "nope"});
  BOOST_REQUIRE(no_table);
  BOOST_TEST((*no_table)->WaitExit(milliseconds(5000)).value_or(-1) == 2);
  BOOST_TEST((*no_table)->Stderr().find("--price-table") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(process)

BOOST_AUTO_TEST_CASE(prints_one_listening_line_matching_the_port_file) {
  auto vendor = StartVendor();
  BOOST_TEST(PollUntil([&] { return !vendor->Stdout().empty(); }, milliseconds(2000)));
  BOOST_TEST(vendor->Stdout() ==
             "fake_vendor listening on 127.0.0.1:" + std::to_string(vendor->port()) + "\n");
  BOOST_TEST(vendor->StopWith(SIGTERM, milliseconds(1000)).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_while_streaming_exits_zero_within_a_second) {
  auto vendor = StartVendor({"--fault", "stall", "--token-ms", "10"});
  HttpResult stalled;
  std::thread client([&] {
    stalled = Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, true), {}, 10'000);
  });
  const bool streaming =
      PollUntil([&] { return vendor->Stderr().find("Stalling reply") != std::string::npos; },
                milliseconds(5000));
  const auto started = std::chrono::steady_clock::now();
  const auto exit_code = vendor->StopWith(SIGTERM, milliseconds(1000));
  const double stop_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  client.join();
  BOOST_TEST(streaming);
  BOOST_TEST(exit_code.value_or(-1) == 0);
  BOOST_TEST(stop_ms < 1000);
  BOOST_TEST(stalled.code != CURLE_OPERATION_TIMEDOUT);
  BOOST_TEST(CountEvents(ParseSse(stalled.pieces), "content_block_delta") == 4);
}

BOOST_AUTO_TEST_CASE(sigint_exits_zero) {
  auto vendor = StartVendor({"--slow-ms", "60000", "--fault", "slow_first_byte"});
  std::thread client([&] { Post(*vendor, "/v1/chat/completions", OpenAiBody("ping"), {}, 5000); });
  BOOST_TEST(PollUntil(
      [&] {
        const auto stats = Get(*vendor, "/control/stats");
        return stats.body.find(R"("/v1/chat/completions":{"requests":1)") != std::string::npos;
      },
      milliseconds(5000)));
  BOOST_TEST(vendor->StopWith(SIGINT, milliseconds(1000)).value_or(-1) == 0);
  client.join();
}

BOOST_AUTO_TEST_CASE(bad_arguments_exit_two) {
  auto process = FakeVendorProcess::Spawn({"--reply-tokens", "0"});
  BOOST_REQUIRE(process);
  BOOST_TEST((*process)->WaitExit(milliseconds(5000)).value_or(-1) == 2);
  BOOST_TEST((*process)->Stderr().find("--reply-tokens") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(busy_port_exits_one) {
  auto vendor = StartVendor();
  auto second =
      FakeVendorProcess::Spawn({"--listen", "127.0.0.1:" + std::to_string(vendor->port())});
  BOOST_REQUIRE(second);
  BOOST_TEST((*second)->WaitExit(milliseconds(5000)).value_or(-1) == 1);
  BOOST_TEST((*second)->Stdout().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::fake_vendor::testing
