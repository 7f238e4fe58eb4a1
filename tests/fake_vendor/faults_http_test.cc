// The fake vendor over HTTP: injected faults, served-traffic stats, timing.

#include "tests/fake_vendor/http_test_support.h"

namespace llm_exporter::fake_vendor::testing {
namespace {

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

}  // namespace
}  // namespace llm_exporter::fake_vendor::testing
