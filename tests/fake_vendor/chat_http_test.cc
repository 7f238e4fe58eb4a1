// The fake vendor over HTTP: chat replies in both formats, keys, bad requests.

#define BOOST_TEST_MODULE fake_vendor
#include "tests/fake_vendor/http_test_support.h"

namespace llm_exporter::fake_vendor::testing {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};
BOOST_TEST_GLOBAL_FIXTURE(CurlGlobal);

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

BOOST_AUTO_TEST_CASE(cache_write_markers_change_nothing) {
  auto vendor = StartVendor();
  const std::string text = "[cached][cache-write][cache-write-1h] a longer prompt";
  const int64_t input = InputTokensFor(static_cast<int64_t>(text.size()), 1);
  const HttpResult plain = Post(*vendor, "/v1/chat/completions", OpenAiBody(text, 1));
  const HttpResult stream = Post(*vendor, "/v1/chat/completions", OpenAiBody(text, 1, true, true));
  const auto events = ParseSse(stream.pieces);
  BOOST_TEST_REQUIRE(events.size() == 4u);  // role, 1 token, usage, [DONE]
  for (const auto& doc : {Json(plain.body), Json(events[2].data)}) {
    BOOST_TEST(doc["usage"]["prompt_tokens"].GetInt64() == input);
    BOOST_TEST(doc["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt64() == input / 2);
    BOOST_TEST(!doc["usage"].HasMember("cache_creation_input_tokens"));
  }
  const auto stats = Stats(*vendor);
  BOOST_TEST(stats["totals"]["input_tokens"].GetInt64() == 2 * input);
  BOOST_TEST(stats["totals"]["cache_write_5m_tokens"].GetInt64() == 0);
  BOOST_TEST(stats["totals"]["cache_write_1h_tokens"].GetInt64() == 0);
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

// Anthropic's mapping: input_tokens leaves out cache reads and writes;
// cache_creation_input_tokens is the total of the 5m / 1h breakdown.
void CheckCacheUsage(const rapidjson::Value& usage, int64_t input, int64_t read, int64_t write_5m,
                     int64_t write_1h) {
  BOOST_TEST(usage["input_tokens"].GetInt64() == input - read - write_5m - write_1h);
  BOOST_TEST(usage["cache_read_input_tokens"].GetInt64() == read);
  BOOST_TEST(usage["cache_creation_input_tokens"].GetInt64() == write_5m + write_1h);
  BOOST_TEST(usage["cache_creation"]["ephemeral_5m_input_tokens"].GetInt64() == write_5m);
  BOOST_TEST(usage["cache_creation"]["ephemeral_1h_input_tokens"].GetInt64() == write_1h);
}

BOOST_AUTO_TEST_CASE(cache_writes_plain_and_streamed_and_counted) {
  auto vendor = StartVendor({"--reply-tokens", "2"});
  const std::string both = "[cached][cache-write] hello there, cache me";
  const int64_t input = InputTokensFor(static_cast<int64_t>(both.size()), 1);
  const HttpResult plain =
      Post(*vendor, "/v1/messages", AnthropicBody(both, 16, false, "fake-claude"));
  BOOST_TEST_REQUIRE(plain.status == 200);
  CheckCacheUsage(Json(plain.body)["usage"], input, input / 2, input / 4, 0);

  const std::string hour = "[cache-write-1h] a system prompt to keep for an hour";
  const int64_t hour_input = InputTokensFor(static_cast<int64_t>(hour.size()), 1);
  const HttpResult stream =
      Post(*vendor, "/v1/messages", AnthropicBody(hour, 16, true, "fake-claude"));
  BOOST_TEST_REQUIRE(stream.status == 200);
  const auto events = ParseSse(stream.pieces);
  BOOST_TEST_REQUIRE(events.size() == 8u);
  BOOST_TEST(events[0].event == "message_start");
  CheckCacheUsage(Json(events[0].data)["message"]["usage"], hour_input, 0, 0, hour_input / 4);
  BOOST_TEST(events[6].event == "message_delta");
  BOOST_TEST(Json(events[6].data)["usage"]["output_tokens"].GetInt64() == 2);

  const auto stats = Stats(*vendor);
  for (const rapidjson::Value* counters : {&stats["totals"], &stats["models"]["fake-claude"]}) {
    BOOST_TEST((*counters)["requests"].GetInt64() == 2);
    BOOST_TEST((*counters)["input_tokens"].GetInt64() == input + hour_input);
    BOOST_TEST((*counters)["cached_input_tokens"].GetInt64() == input / 2);
    BOOST_TEST((*counters)["cache_write_5m_tokens"].GetInt64() == input / 4);
    BOOST_TEST((*counters)["cache_write_1h_tokens"].GetInt64() == hour_input / 4);
    BOOST_TEST((*counters)["output_tokens"].GetInt64() == 4);
  }
  int64_t day_writes_5m = 0;
  int64_t day_writes_1h = 0;
  for (const auto& day : stats["days"].GetObject()) {
    if (!day.value.HasMember("fake-claude")) continue;
    day_writes_5m += day.value["fake-claude"]["cache_write_5m_tokens"].GetInt64();
    day_writes_1h += day.value["fake-claude"]["cache_write_1h_tokens"].GetInt64();
  }
  BOOST_TEST(day_writes_5m == input / 4);
  BOOST_TEST(day_writes_1h == hour_input / 4);
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

}  // namespace
}  // namespace llm_exporter::fake_vendor::testing
