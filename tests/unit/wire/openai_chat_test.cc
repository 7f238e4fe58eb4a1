#include "wire/openai_chat.h"

#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "tests/unit/wire/testdata.h"

namespace llm_exporter::wire {
namespace {

using testing::ParseSseChunked;
using testing::ReadTestdata;
using testing::StreamRun;
using testing::WithLineEndings;

StreamRun RunStream(std::string_view text, size_t chunk_size) {
  return testing::RunStream<OpenAiStreamAccumulator>(text, chunk_size);
}

BOOST_AUTO_TEST_SUITE(openai_chat)

BOOST_AUTO_TEST_CASE(build_non_streaming_request) {
  OpenAiChatRequest request;
  request.model = "gpt-4o-mini";
  request.prompt = "ping";
  const std::string body = BuildOpenAiChatRequest(request);
  BOOST_TEST(
      body ==
      R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"ping"}],"max_tokens":1})");
}

BOOST_AUTO_TEST_CASE(build_streaming_request_with_options) {
  OpenAiChatRequest request;
  request.model = "o4-mini";
  request.prompt = "say \"pong\"\n";
  request.max_tokens = 16;
  request.stream = true;
  request.use_max_completion_tokens = true;
  request.reasoning_effort = "low";
  const std::string body = BuildOpenAiChatRequest(request);
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  BOOST_REQUIRE(!doc.HasParseError());
  BOOST_TEST(doc["messages"][0]["content"].GetString() == std::string("say \"pong\"\n"));
  BOOST_TEST(doc["max_completion_tokens"].GetInt() == 16);
  BOOST_TEST(!doc.HasMember("max_tokens"));
  BOOST_TEST(doc["reasoning_effort"].GetString() == std::string("low"));
  BOOST_TEST(doc["stream"].GetBool());
  BOOST_TEST(doc["stream_options"]["include_usage"].GetBool());
}

BOOST_AUTO_TEST_CASE(spec_reply) {
  const auto reply = ParseOpenAiChatReply(ReadTestdata("openai_reply.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->content == "pong");
  BOOST_TEST(reply->finish_reason == "length");
  BOOST_TEST(reply->model == "gpt-4o-mini-2024-07-18");
  BOOST_TEST(reply->usage_present);
  BOOST_TEST(reply->usage.input == 8);
  BOOST_TEST(reply->usage.cached_input == 0);
  BOOST_TEST(reply->usage.output == 1);
  BOOST_TEST(reply->usage.reasoning == 0);
  BOOST_TEST(reply->usage.cache_write_5m == 0);
  BOOST_TEST(reply->usage.cache_write_1h == 0);
}

BOOST_AUTO_TEST_CASE(cached_and_reasoning_tokens) {
  const auto reply = ParseOpenAiChatReply(ReadTestdata("openai_reply_cached_reasoning.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->usage.input == 2006 - 1920);
  BOOST_TEST(reply->usage.cached_input == 1920);
  BOOST_TEST(reply->usage.output == 300);
  BOOST_TEST(reply->usage.reasoning == 256);
}

BOOST_AUTO_TEST_CASE(gateway_without_details) {
  const auto reply = ParseOpenAiChatReply(ReadTestdata("openai_reply_gateway_no_details.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->usage.input == 12);
  BOOST_TEST(reply->usage.cached_input == 0);
  BOOST_TEST(reply->usage.output == 2);
  BOOST_TEST(reply->usage.reasoning == 0);
}

BOOST_AUTO_TEST_CASE(deepseek_cache_fields) {
  const auto reply = ParseOpenAiChatReply(ReadTestdata("openai_reply_deepseek_cache.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->usage.input == 16);
  BOOST_TEST(reply->usage.cached_input == 48);
  BOOST_TEST(reply->usage.output == 30);
  BOOST_TEST(reply->usage.reasoning == 28);
  BOOST_TEST(reply->reasoning_content == "The user says ping.");
}

BOOST_AUTO_TEST_CASE(prompt_tokens_details_wins_over_deepseek_fields) {
  const auto reply = ParseOpenAiChatReply(
      R"({"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":10,"completion_tokens":1,)"
      R"("prompt_tokens_details":{"cached_tokens":4},"prompt_cache_hit_tokens":6}})");
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->usage.cached_input == 4);
  BOOST_TEST(reply->usage.input == 6);
}

BOOST_AUTO_TEST_CASE(null_details_and_integral_doubles) {
  const auto reply = ParseOpenAiChatReply(
      R"({"choices":[{"message":{"content":null}}],"usage":{"prompt_tokens":8.0,"completion_tokens":1,)"
      R"("prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":null}}})");
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->content == "");
  BOOST_TEST(reply->usage.input == 8);
  BOOST_TEST(reply->usage.reasoning == 0);
}

BOOST_AUTO_TEST_CASE(content_as_parts_array) {
  const auto reply = ParseOpenAiChatReply(
      R"({"choices":[{"message":{"content":[{"type":"text","text":"po"},{"type":"text","text":"ng"}]}}]})");
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->content == "pong");
  BOOST_TEST(!reply->usage_present);
}

BOOST_AUTO_TEST_CASE(missing_usage_is_not_an_error) {
  const auto reply = ParseOpenAiChatReply(ReadTestdata("openai_reply_no_usage.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(!reply->usage_present);
  BOOST_TEST(reply->usage.input == 0);
}

BOOST_AUTO_TEST_CASE(bad_token_counts_are_invalid_response) {
  for (const char* name :
       {"openai_reply_negative_tokens.json", "openai_reply_fractional_tokens.json",
        "openai_reply_string_tokens.json"}) {
    const auto reply = ParseOpenAiChatReply(ReadTestdata(name));
    BOOST_TEST_CONTEXT(name) {
      BOOST_REQUIRE(!reply.has_value());
      BOOST_TEST(reply.error().reason == FailureReason::kInvalidResponse);
      BOOST_TEST(!reply.error().error_in_body);
      BOOST_TEST(reply.error().message.find("prompt_tokens") != std::string::npos);
    }
  }
  for (const char* usage :
       {R"({"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":6}})",
        R"({"completion_tokens":1,"completion_tokens_details":{"reasoning_tokens":2}})",
        R"({"prompt_tokens":18446744073709551615})", R"({"prompt_tokens":1e300})",
        R"({"prompt_tokens":9007199254740993})", R"({"prompt_tokens":true})",
        R"({"prompt_tokens_details":[]})", R"([1,2])", R"("lots")"}) {
    const auto reply = ParseOpenAiChatReply(
        std::string(R"({"choices":[{"message":{"content":"x"}}],"usage":)") + usage + "}");
    BOOST_TEST_CONTEXT(usage) {
      BOOST_REQUIRE(!reply.has_value());
      BOOST_TEST(reply.error().reason == FailureReason::kInvalidResponse);
    }
  }
}

BOOST_AUTO_TEST_CASE(structural_problems_are_invalid_response) {
  for (const std::string& body :
       {ReadTestdata("openai_reply_no_choices.json"), ReadTestdata("html_502.html"),
        std::string(""), std::string("   "), std::string("{"), std::string("[]"),
        std::string("null"), std::string(R"({"choices":[1]})"),
        std::string(R"({"choices":[{"delta":{}}]})"),
        std::string(R"({"choices":[{"message":{"content":5}}]})"),
        std::string(R"({"choices":{"message":{}}})")}) {
    const auto reply = ParseOpenAiChatReply(body);
    BOOST_TEST_CONTEXT(body.substr(0, 40)) {
      BOOST_REQUIRE(!reply.has_value());
      BOOST_TEST(reply.error().reason == FailureReason::kInvalidResponse);
    }
  }
  BOOST_TEST(ParseOpenAiChatReply(ReadTestdata("html_502.html")).error().message ==
             "HTML body: 502 Bad Gateway");
  BOOST_TEST(ParseOpenAiChatReply("").error().message == "empty body");
}

BOOST_AUTO_TEST_CASE(error_objects_in_a_200_reply) {
  auto reply = ParseOpenAiChatReply(ReadTestdata("gateway_200_error.json"));
  BOOST_REQUIRE(!reply.has_value());
  BOOST_TEST(reply.error().reason == FailureReason::kInvalidResponse);
  BOOST_TEST(reply.error().error_in_body);
  BOOST_TEST(reply.error().type == "new_api_error");

  reply = ParseOpenAiChatReply(ReadTestdata("openai_error_invalid_api_key.json"));
  BOOST_REQUIRE(!reply.has_value());
  BOOST_TEST(reply.error().reason == FailureReason::kAuth);
}

BOOST_AUTO_TEST_CASE(extract_usage_from_other_endpoints) {
  auto usage = ExtractOpenAiUsage(
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]}],)"
      R"("model":"text-embedding-3-small","usage":{"prompt_tokens":5,"total_tokens":5}})");
  BOOST_REQUIRE(usage.has_value());
  BOOST_REQUIRE(usage->has_value());
  BOOST_TEST((*usage)->input == 5);
  BOOST_TEST((*usage)->output == 0);

  // Responses API names.
  usage = ExtractOpenAiUsage(
      R"({"object":"response","usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":10},)"
      R"("output_tokens":87,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":123}})");
  BOOST_REQUIRE(usage.has_value() && usage->has_value());
  BOOST_TEST((*usage)->input == 26);
  BOOST_TEST((*usage)->cached_input == 10);
  BOOST_TEST((*usage)->output == 87);
  BOOST_TEST((*usage)->reasoning == 64);

  usage = ExtractOpenAiUsage(R"({"object":"list","data":[]})");
  BOOST_REQUIRE(usage.has_value());
  BOOST_TEST(!usage->has_value());
  BOOST_TEST(!ExtractOpenAiUsage("<html>").has_value());
}

BOOST_AUTO_TEST_CASE(usage_only_chunk_detection) {
  const auto events = ParseSseChunked(ReadTestdata("openai_stream.sse"), 0);
  BOOST_REQUIRE_EQUAL(events.size(), 3u);
  BOOST_TEST(!IsUsageOnlyChunk(events[0].data));
  BOOST_TEST(IsUsageOnlyChunk(events[1].data));
  BOOST_TEST(!IsUsageOnlyChunk(events[2].data));  // [DONE]
  BOOST_TEST(!IsUsageOnlyChunk(R"({"choices":[],"usage":null})"));
  BOOST_TEST(!IsUsageOnlyChunk(R"({"usage":{"prompt_tokens":1}})"));
  BOOST_TEST(!IsUsageOnlyChunk(
      R"({"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":1}})"));
  BOOST_TEST(!IsUsageOnlyChunk(""));
}

BOOST_AUTO_TEST_CASE(spec_stream_every_chunking) {
  const std::string text = ReadTestdata("openai_stream.sse");
  for (const char* ending : {"\n", "\r\n"}) {
    for (const size_t chunk : {size_t{0}, size_t{1}, size_t{13}}) {
      const StreamRun run = RunStream(WithLineEndings(text, ending), chunk);
      BOOST_TEST_CONTEXT("chunk " << chunk) {
        BOOST_TEST(run.first_token_calls == 1);
        BOOST_TEST(run.first_token_event == 0);
        BOOST_TEST(run.summary.content_deltas == 1);
        BOOST_TEST(run.summary.text == "pong");
        BOOST_TEST(run.summary.finish_reason == "length");
        BOOST_TEST(run.summary.usage_seen);
        BOOST_TEST(run.summary.usage_complete);
        BOOST_TEST(run.summary.usage.input == 8);
        BOOST_TEST(run.summary.usage.output == 1);
        BOOST_TEST(run.summary.terminated);
        BOOST_TEST(!run.summary.error.has_value());
        BOOST_TEST(!run.final_error.has_value());
        BOOST_TEST(!run.mid_event);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(stream_with_comments_and_empty_first_delta) {
  const StreamRun run = RunStream(ReadTestdata("openai_stream_full.sse"), 1);
  // The role-only chunk with "" content is not the first token.
  BOOST_TEST(run.first_token_event == 1);
  BOOST_TEST(run.summary.content_deltas == 2);
  BOOST_TEST(run.summary.text == "Hello, world");
  BOOST_TEST(run.summary.finish_reason == "stop");
  BOOST_TEST(run.summary.usage.input == 176);
  BOOST_TEST(run.summary.usage.cached_input == 1024);
  BOOST_TEST(run.summary.usage.output == 3);
  BOOST_TEST(run.summary.terminated);
  BOOST_TEST(!run.final_error.has_value());
  BOOST_TEST(run.summary.model == "gpt-4o-mini");
}

BOOST_AUTO_TEST_CASE(stream_without_usage) {
  const StreamRun run = RunStream(ReadTestdata("openai_stream_no_usage.sse"), 3);
  BOOST_TEST(run.first_token_event == 1);
  BOOST_TEST(run.summary.text == "pong");
  BOOST_TEST(!run.summary.usage_seen);
  BOOST_TEST(!run.summary.usage_complete);
  BOOST_TEST(run.summary.terminated);
  BOOST_TEST(!run.final_error.has_value());
}

BOOST_AUTO_TEST_CASE(truncated_stream) {
  const StreamRun run = RunStream(ReadTestdata("openai_stream_truncated.sse"), 1);
  BOOST_TEST(run.mid_event);
  BOOST_TEST(run.summary.text == "po");
  BOOST_TEST(run.first_token_event == 1);
  BOOST_TEST(!run.summary.terminated);
  BOOST_TEST(!run.summary.usage_seen);
  BOOST_REQUIRE(run.final_error.has_value());
  BOOST_TEST(run.final_error->reason == FailureReason::kInvalidResponse);
  BOOST_TEST(!run.final_error->error_in_body);
}

BOOST_AUTO_TEST_CASE(mid_stream_error_event) {
  const StreamRun run = RunStream(ReadTestdata("openai_stream_error.sse"), 0);
  BOOST_TEST(run.summary.text == "po");
  BOOST_REQUIRE(run.summary.error.has_value());
  BOOST_TEST(run.summary.error->reason == FailureReason::kInvalidResponse);
  BOOST_TEST(run.summary.error->error_in_body);
  BOOST_TEST(run.summary.error->type == "upstream_error");
  BOOST_TEST(run.summary.error->message == "upstream error: do request failed");
  // [DONE] still arrived, but the error decides the outcome.
  BOOST_TEST(run.summary.terminated);
  BOOST_REQUIRE(run.final_error.has_value());
  BOOST_TEST(run.final_error->type == "upstream_error");
}

BOOST_AUTO_TEST_CASE(reasoning_delta_is_the_first_token) {
  const StreamRun run = RunStream(ReadTestdata("openai_stream_reasoning.sse"), 2);
  // Event 0 has only an empty reasoning_content; event 1 starts reasoning.
  BOOST_TEST(run.first_token_event == 1);
  BOOST_TEST(run.first_token_calls == 1);
  BOOST_TEST(run.summary.reasoning_deltas == 2);
  BOOST_TEST(run.summary.content_deltas == 1);
  BOOST_TEST(run.summary.text == "pong");
  BOOST_TEST(run.summary.usage.input == 16);
  BOOST_TEST(run.summary.usage.cached_input == 48);
  BOOST_TEST(run.summary.usage.reasoning == 28);
  BOOST_TEST(run.summary.usage.output == 30);
}

BOOST_AUTO_TEST_CASE(openrouter_reasoning_and_tool_call_deltas) {
  OpenAiStreamAccumulator reasoning;
  BOOST_TEST(
      reasoning.OnEvent(testing::MakeEvent(R"({"choices":[{"delta":{"reasoning":"hm"}}]})")));
  BOOST_TEST(!reasoning.OnEvent(testing::MakeEvent(R"({"choices":[{"delta":{"content":"x"}}]})")));

  OpenAiStreamAccumulator tools;
  BOOST_TEST(tools.OnEvent(testing::MakeEvent(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]})")));
  BOOST_TEST(tools.summary().tool_deltas == 1);

  OpenAiStreamAccumulator legacy;
  BOOST_TEST(legacy.OnEvent(testing::MakeEvent(R"({"choices":[{"text":"po","index":0}]})")));
  BOOST_TEST(legacy.summary().text == "po");
}

BOOST_AUTO_TEST_CASE(invalid_json_event_is_recorded) {
  OpenAiStreamAccumulator accumulator;
  BOOST_TEST(!accumulator.OnEvent(testing::MakeEvent("{not json")));
  BOOST_TEST(accumulator.OnEvent(testing::MakeEvent(R"({"choices":[{"delta":{"content":"x"}}]})")));
  BOOST_TEST(!accumulator.OnEvent(testing::MakeEvent("[DONE]")));
  BOOST_TEST(accumulator.summary().invalid_events == 1);
  BOOST_REQUIRE(accumulator.FinalError().has_value());
  BOOST_TEST(accumulator.FinalError()->reason == FailureReason::kInvalidResponse);
  BOOST_TEST(accumulator.summary().error->message.starts_with("stream event: invalid JSON"));
}

BOOST_AUTO_TEST_CASE(events_after_done_are_ignored_and_text_is_capped) {
  OpenAiStreamAccumulator accumulator(4);
  accumulator.OnEvent(testing::MakeEvent(R"({"choices":[{"delta":{"content":"abc"}}]})"));
  accumulator.OnEvent(testing::MakeEvent(R"({"choices":[{"delta":{"content":"def"}}]})"));
  accumulator.OnEvent(testing::MakeEvent(" [DONE] "));
  accumulator.OnEvent(testing::MakeEvent(R"({"error":{"message":"late"}})"));
  BOOST_TEST(accumulator.summary().text == "abcd");
  BOOST_TEST(accumulator.summary().text_truncated);
  BOOST_TEST(accumulator.summary().content_deltas == 2);
  BOOST_TEST(!accumulator.FinalError().has_value());

  OpenAiStreamAccumulator none(0);
  none.OnEvent(testing::MakeEvent(R"({"choices":[{"delta":{"content":"abc"}}]})"));
  BOOST_TEST(none.summary().text.empty());
  BOOST_TEST(none.summary().first_token_seen);
}

BOOST_AUTO_TEST_CASE(named_error_event_and_bad_usage_in_stream) {
  OpenAiStreamAccumulator named;
  named.OnEvent(testing::MakeEvent(R"({"message":"boom"})", "error"));
  BOOST_REQUIRE(named.summary().error.has_value());
  BOOST_TEST(named.summary().error->error_in_body);

  OpenAiStreamAccumulator bad_usage;
  bad_usage.OnEvent(testing::MakeEvent(R"({"choices":[],"usage":{"prompt_tokens":-1}})"));
  BOOST_TEST(!bad_usage.summary().usage_seen);
  BOOST_REQUIRE(bad_usage.summary().error.has_value());
  BOOST_TEST(bad_usage.summary().error->reason == FailureReason::kInvalidResponse);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::wire
