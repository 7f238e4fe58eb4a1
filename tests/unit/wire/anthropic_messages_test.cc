#include "wire/anthropic_messages.h"

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
  return testing::RunStream<AnthropicStreamAccumulator>(text, chunk_size);
}

BOOST_AUTO_TEST_SUITE(anthropic_messages)

BOOST_AUTO_TEST_CASE(build_probe_request) {
  AnthropicRequest request;
  request.model = "claude-3-5-haiku-20241022";
  request.prompt = "ping";
  BOOST_TEST(
      BuildAnthropicRequest(request) ==
      R"({"model":"claude-3-5-haiku-20241022","max_tokens":1,"messages":[{"role":"user","content":"ping"}]})");
  request.model = "claude-sonnet-4-20250514";
  request.max_tokens = 2048;
  request.stream = true;
  request.thinking_budget_tokens = 1024;
  const std::string body = BuildAnthropicRequest(request);
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  BOOST_REQUIRE(!doc.HasParseError());
  BOOST_TEST(doc["stream"].GetBool());
  BOOST_TEST(doc["thinking"]["type"].GetString() == std::string("enabled"));
  BOOST_TEST(doc["thinking"]["budget_tokens"].GetInt() == 1024);
  BOOST_TEST(kAnthropicVersion == "2023-06-01");
}

BOOST_AUTO_TEST_CASE(spec_reply) {
  const auto reply = ParseAnthropicReply(ReadTestdata("anthropic_reply.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->content == "p");
  BOOST_TEST(reply->finish_reason == "max_tokens");
  BOOST_TEST(reply->model == "claude-3-5-haiku-20241022");
  BOOST_TEST(reply->usage_present);
  BOOST_TEST(reply->usage.input == 8);
  BOOST_TEST(reply->usage.output == 1);
  BOOST_TEST(reply->usage.cached_input == 0);
  BOOST_TEST(reply->usage.cache_write_5m == 0);
  BOOST_TEST(reply->usage.cache_write_1h == 0);
  BOOST_TEST(reply->usage.reasoning == 0);
}

BOOST_AUTO_TEST_CASE(null_cache_fields_are_zero) {
  const auto reply = ParseAnthropicReply(ReadTestdata("anthropic_reply_null_cache.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->content == "pong");
  BOOST_TEST(reply->usage.input == 9);
  BOOST_TEST(reply->usage.output == 4);
  BOOST_TEST(reply->usage.cached_input == 0);
  BOOST_TEST(reply->usage.cache_write_5m == 0);
  BOOST_TEST(reply->usage.cache_write_1h == 0);
}

BOOST_AUTO_TEST_CASE(cache_write_breakdown) {
  const auto reply = ParseAnthropicReply(ReadTestdata("anthropic_reply_cache_breakdown.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->usage.input == 21);
  BOOST_TEST(reply->usage.cached_input == 1800);
  BOOST_TEST(reply->usage.cache_write_5m == 1000);
  BOOST_TEST(reply->usage.cache_write_1h == 2000);
}

BOOST_AUTO_TEST_CASE(cache_write_total_without_breakdown_is_5m) {
  const auto reply = ParseAnthropicReply(ReadTestdata("anthropic_reply_cache_total_only.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->usage.cached_input == 200);
  BOOST_TEST(reply->usage.cache_write_5m == 1500);
  BOOST_TEST(reply->usage.cache_write_1h == 0);

  // A breakdown object whose fields are all null counts as missing.
  const auto nulls = ParseAnthropicReply(
      R"({"content":[],"usage":{"input_tokens":1,"output_tokens":1,"cache_creation_input_tokens":7,)"
      R"("cache_creation":{"ephemeral_5m_input_tokens":null}}})");
  BOOST_REQUIRE(nulls.has_value());
  BOOST_TEST(nulls->usage.cache_write_5m == 7);
}

BOOST_AUTO_TEST_CASE(thinking_blocks) {
  const auto reply = ParseAnthropicReply(ReadTestdata("anthropic_reply_thinking.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->content == "pong");
  BOOST_TEST(reply->reasoning_content == "The user wrote ping; answer pong.");
  BOOST_TEST(reply->usage.output == 60);
  BOOST_TEST(reply->usage.reasoning == 0);
}

BOOST_AUTO_TEST_CASE(error_bodies_and_bad_replies) {
  auto reply = ParseAnthropicReply(ReadTestdata("anthropic_error_overloaded.json"));
  BOOST_REQUIRE(!reply.has_value());
  BOOST_TEST(reply.error().reason == FailureReason::kInvalidResponse);
  BOOST_TEST(reply.error().error_in_body);
  BOOST_TEST(reply.error().type == "overloaded_error");

  reply = ParseAnthropicReply(ReadTestdata("anthropic_error_auth.json"));
  BOOST_REQUIRE(!reply.has_value());
  BOOST_TEST(reply.error().reason == FailureReason::kAuth);

  for (const std::string& body :
       {ReadTestdata("html_502.html"), std::string(""), std::string("{}"),
        std::string(R"({"content":"pong"})"), std::string(R"({"type":"error"})"),
        std::string(R"({"content":[],"usage":{"input_tokens":-1}})"),
        std::string(R"({"content":[],"usage":{"input_tokens":1.5}})"),
        std::string(R"({"content":[],"usage":{"output_tokens":"1"}})"),
        std::string(R"({"content":[],"usage":{"cache_creation":5}})"),
        std::string(
            R"({"content":[],"usage":{"cache_creation":{"ephemeral_1h_input_tokens":-2}}})"),
        std::string(R"({"content":[],"usage":[]})")}) {
    reply = ParseAnthropicReply(body);
    BOOST_TEST_CONTEXT(body.substr(0, 60)) {
      BOOST_REQUIRE(!reply.has_value());
      BOOST_TEST(reply.error().reason == FailureReason::kInvalidResponse);
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_usage_is_not_an_error) {
  const auto reply = ParseAnthropicReply(R"({"content":[{"type":"text","text":"x"}]})");
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(!reply->usage_present);
}

BOOST_AUTO_TEST_CASE(spec_stream_every_chunking) {
  const std::string text = ReadTestdata("anthropic_stream.sse");
  for (const char* ending : {"\n", "\r\n", "\r"}) {
    for (const size_t chunk : {size_t{0}, size_t{1}, size_t{11}}) {
      const StreamRun run = RunStream(WithLineEndings(text, ending), chunk);
      BOOST_TEST_CONTEXT("chunk " << chunk) {
        BOOST_TEST(run.first_token_calls == 1);
        BOOST_TEST(run.first_token_event == 1);
        BOOST_TEST(run.summary.text == "p");
        BOOST_TEST(run.summary.content_deltas == 1);
        BOOST_TEST(run.summary.finish_reason == "max_tokens");
        BOOST_TEST(run.summary.usage.input == 8);
        BOOST_TEST(run.summary.usage.output == 1);
        BOOST_TEST(run.summary.usage_seen);
        BOOST_TEST(run.summary.usage_complete);
        BOOST_TEST(run.summary.terminated);
        BOOST_TEST(!run.final_error.has_value());
        BOOST_TEST(run.summary.model == "claude-3-5-haiku-20241022");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(full_stream_with_thinking_ping_and_repeated_usage) {
  const StreamRun run = RunStream(ReadTestdata("anthropic_stream_full.sse"), 1);
  // message_start, content_block_start (empty thinking), ping, then the first
  // thinking_delta at index 3.
  BOOST_TEST(run.first_token_event == 3);
  BOOST_TEST(run.first_token_calls == 1);
  BOOST_TEST(run.summary.reasoning_deltas == 1);
  BOOST_TEST(run.summary.content_deltas == 2);
  BOOST_TEST(run.summary.text == "Hello, world");
  BOOST_TEST(run.summary.finish_reason == "end_turn");
  BOOST_TEST(run.summary.usage.input == 25);
  BOOST_TEST(run.summary.usage.cached_input == 1800);
  // The last message_delta repeats only the cache total, which agrees with the
  // breakdown from message_start, so the breakdown is kept.
  BOOST_TEST(run.summary.usage.cache_write_5m == 1000);
  BOOST_TEST(run.summary.usage.cache_write_1h == 2000);
  BOOST_TEST(run.summary.usage.output == 42);
  BOOST_TEST(run.summary.usage.reasoning == 0);
  BOOST_TEST(run.summary.terminated);
  BOOST_TEST(!run.final_error.has_value());
}

BOOST_AUTO_TEST_CASE(truncated_stream_keeps_partial_usage) {
  const StreamRun run = RunStream(ReadTestdata("anthropic_stream_truncated.sse"), 1);
  BOOST_TEST(run.mid_event);
  BOOST_TEST(run.summary.text == "po");
  BOOST_TEST(run.summary.usage_seen);
  BOOST_TEST(!run.summary.usage_complete);
  BOOST_TEST(run.summary.usage.input == 8);
  BOOST_TEST(run.summary.usage.cached_input == 0);
  BOOST_TEST(!run.summary.terminated);
  BOOST_REQUIRE(run.final_error.has_value());
  BOOST_TEST(run.final_error->reason == FailureReason::kInvalidResponse);
  BOOST_TEST(run.final_error->message == "stream ended without message_stop");
}

BOOST_AUTO_TEST_CASE(error_event_after_200) {
  const StreamRun run = RunStream(ReadTestdata("anthropic_stream_overloaded.sse"), 5);
  BOOST_TEST(run.summary.text == "p");
  BOOST_TEST(!run.summary.terminated);
  BOOST_REQUIRE(run.summary.error.has_value());
  BOOST_TEST(run.summary.error->reason == FailureReason::kInvalidResponse);
  BOOST_TEST(run.summary.error->error_in_body);
  BOOST_TEST(run.summary.error->type == "overloaded_error");
  BOOST_TEST(run.summary.error->message == "Overloaded");
  BOOST_REQUIRE(run.final_error.has_value());
  BOOST_TEST(run.final_error->type == "overloaded_error");
}

BOOST_AUTO_TEST_CASE(tool_input_delta_counts_as_first_token) {
  AnthropicStreamAccumulator accumulator;
  BOOST_TEST(!accumulator.OnEvent(testing::MakeEvent(
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}})",
      "content_block_start")));
  BOOST_TEST(!accumulator.OnEvent(testing::MakeEvent(
      R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}})",
      "content_block_delta")));
  BOOST_TEST(accumulator.OnEvent(testing::MakeEvent(
      R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}})",
      "content_block_delta")));
  BOOST_TEST(accumulator.summary().tool_deltas == 1);
}

BOOST_AUTO_TEST_CASE(message_delta_with_new_cache_fields_overrides) {
  AnthropicStreamAccumulator accumulator;
  accumulator.OnEvent(testing::MakeEvent(
      R"({"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}})"));
  accumulator.OnEvent(testing::MakeEvent(
      R"({"type":"message_delta","delta":{},"usage":{"output_tokens":9,"cache_read_input_tokens":4,"cache_creation_input_tokens":6,"input_tokens":null}})"));
  const pricing::Usage& usage = accumulator.summary().usage;
  BOOST_TEST(usage.input == 5);
  BOOST_TEST(usage.output == 9);
  BOOST_TEST(usage.cached_input == 4);
  BOOST_TEST(usage.cache_write_5m == 6);
  BOOST_TEST(accumulator.summary().usage_complete);
}

BOOST_AUTO_TEST_CASE(invalid_events) {
  AnthropicStreamAccumulator accumulator;
  accumulator.OnEvent(testing::MakeEvent("{trunc", "message_start"));
  accumulator.OnEvent(testing::MakeEvent(R"({"type":"message_start"})", "message_start"));
  accumulator.OnEvent(
      testing::MakeEvent(R"({"type":"message_delta","usage":{"output_tokens":-4}})"));
  BOOST_TEST(accumulator.summary().invalid_events == 3);
  BOOST_TEST(accumulator.summary().usage.output == 0);
  BOOST_REQUIRE(accumulator.summary().error.has_value());
  BOOST_TEST(accumulator.summary().error->message.starts_with("stream event: invalid JSON"));

  AnthropicStreamAccumulator bare_error;
  bare_error.OnEvent(testing::MakeEvent("{}", "error"));
  BOOST_REQUIRE(bare_error.summary().error.has_value());
  BOOST_TEST(bare_error.summary().error->error_in_body);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::wire
