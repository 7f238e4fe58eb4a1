// End-to-end tests of the fake_vendor binary: each test spawns it on port 0,
// talks to it over loopback with libcurl and checks the wire formats, faults,
// pacing, control routes and shutdown.

#define BOOST_TEST_MODULE fake_vendor
#include <curl/curl.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/fake_vendor/chat_request.h"
#include "tests/fake_vendor/test_support.h"
#include "tests/fake_vendor/usage_ledger.h"

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
