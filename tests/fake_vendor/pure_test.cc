// Unit tests of the fake vendor's pure parts: request parsing and the token rule,
// reply rendering, fault specs, the usage ledger (tokens, cost, reporting delay)
// and the command line. The billing parts are in billing_pure_test.cc.

#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "tests/fake_vendor/chat_request.h"
#include "tests/fake_vendor/faults.h"
#include "tests/fake_vendor/log.h"
#include "tests/fake_vendor/options.h"
#include "tests/fake_vendor/test_support.h"
#include "tests/fake_vendor/usage_ledger.h"
#include "tests/fake_vendor/vendor_pricer.h"
#include "tests/fake_vendor/wire_replies.h"

namespace llm_exporter::fake_vendor {
namespace {

using testing::Tokens;

rapidjson::Document Parse(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError(), "not JSON: " << json);
  return doc;
}

std::string Data(const std::string& sse) {
  BOOST_REQUIRE(sse.ends_with("\n\n"));
  const size_t data = sse.find("data: ");
  BOOST_REQUIRE(data != std::string::npos);
  return sse.substr(data + 6, sse.size() - data - 8);
}

Reply SampleReply(Dialect dialect) {
  Reply reply;
  reply.dialect = dialect;
  reply.id = "id1";
  reply.model = "model \"x\"";
  reply.created_unix_seconds = 1730419200;
  reply.tokens = ReplyTokens("pong", 3);
  reply.stopped_by_max_tokens = true;
  reply.usage = ReplyUsage{10, 4, 3};
  return reply;
}

BOOST_AUTO_TEST_SUITE(token_rule)

BOOST_AUTO_TEST_CASE(input_tokens_round_bytes_up_and_add_four_per_message) {
  BOOST_TEST(InputTokensFor(0, 1) == 4);
  BOOST_TEST(InputTokensFor(1, 1) == 5);
  BOOST_TEST(InputTokensFor(4, 1) == 5);
  BOOST_TEST(InputTokensFor(5, 2) == 10);
}

BOOST_AUTO_TEST_CASE(openai_request_counts_strings_and_text_parts) {
  auto request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"system","content":"abcd"},
          {"role":"user","content":[{"type":"text","text":"efg"},{"type":"image_url","image_url":{"url":"x"}}]},
          {"role":"assistant","content":null}],"max_tokens":2,"stream":true,
          "stream_options":{"include_usage":true}})",
      Dialect::kOpenAi);
  BOOST_REQUIRE_MESSAGE(request, request.error());
  BOOST_TEST(request->model == "m");
  BOOST_TEST(request->input_tokens == InputTokensFor(7, 3));
  BOOST_TEST(request->cached_input_tokens == 0);
  BOOST_TEST(request->stream);
  BOOST_TEST(request->include_usage);
  BOOST_TEST(*request->max_tokens == 2);
  BOOST_TEST(OutputTokensFor(*request, 8) == 2);
}

BOOST_AUTO_TEST_CASE(max_completion_tokens_wins_and_absence_means_reply_tokens) {
  auto both = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":9,"max_completion_tokens":3})",
      Dialect::kOpenAi);
  BOOST_REQUIRE(both);
  BOOST_TEST(*both->max_tokens == 3);
  auto none = ParseChatRequest(R"({"model":"m","messages":[{"role":"user","content":"x"}]})",
                               Dialect::kOpenAi);
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->max_tokens);
  BOOST_TEST(OutputTokensFor(*none, 8) == 8);
}

BOOST_AUTO_TEST_CASE(cached_marker_reports_half_the_input) {
  auto request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"[cached] some long prompt"}]})",
      Dialect::kOpenAi);
  BOOST_REQUIRE(request);
  BOOST_TEST(request->input_tokens == InputTokensFor(25, 1));
  BOOST_TEST(request->cached_input_tokens == request->input_tokens / 2);
  auto second = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"x"},{"role":"user","content":"[cached]"}]})",
      Dialect::kOpenAi);
  BOOST_REQUIRE(second);
  BOOST_TEST(second->cached_input_tokens == 0);
  auto parts = ParseChatRequest(
      R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"[cac"},{"type":"text","text":"hed]x"}]}]})",
      Dialect::kAnthropic);
  BOOST_REQUIRE(parts);
  BOOST_TEST(parts->cached_input_tokens == parts->input_tokens / 2);
}

BOOST_AUTO_TEST_CASE(markers_combine_in_any_order_each_once) {
  const auto read = [](std::string_view text) {
    const PromptMarkers m = ReadPromptMarkers(text);
    return std::string(m.cached ? "c" : "") + (m.cache_write_5m ? "5" : "") +
           (m.cache_write_1h ? "1" : "");
  };
  BOOST_TEST(read("[cached] x") == "c");
  BOOST_TEST(read("[cache-write] x") == "5");
  BOOST_TEST(read("[cache-write-1h]") == "1");
  BOOST_TEST(read("[cached][cache-write] x") == "c5");
  BOOST_TEST(read("[cache-write-1h][cached]x") == "c1");
  BOOST_TEST(read("[cache-write][cache-write-1h][cached]") == "c51");
  BOOST_TEST(read("[cached][cached][cache-write]") == "c");  // a repeat is text: reading stops
  BOOST_TEST(read(" [cache-write]") == "");
  BOOST_TEST(read("x[cached]") == "");
  BOOST_TEST(read("[cache-write-2h]") == "");
}

BOOST_AUTO_TEST_CASE(cache_write_markers_write_a_quarter_of_the_input_on_anthropic_only) {
  const std::string text = "[cached][cache-write] a prompt that is long enough";
  const std::string anthropic_body = R"({"model":"c","max_tokens":1,"messages":[{"role":"user",)"
                                     R"("content":")" +
                                     text + R"("}]})";
  auto anthropic = ParseChatRequest(anthropic_body, Dialect::kAnthropic);
  BOOST_REQUIRE_MESSAGE(anthropic, anthropic.error());
  const int64_t input = InputTokensFor(static_cast<int64_t>(text.size()), 1);
  BOOST_TEST(anthropic->input_tokens == input);  // writes stay part of the prompt tokens
  BOOST_TEST(anthropic->cached_input_tokens == input / 2);
  BOOST_TEST(anthropic->cache_write_5m_tokens == input / 4);
  BOOST_TEST(anthropic->cache_write_1h_tokens == 0);

  auto hour = ParseChatRequest(
      R"({"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"[cache-wr"},)"
      R"({"type":"text","text":"ite-1h][cache-write]x"}]}]})",
      Dialect::kAnthropic);
  BOOST_REQUIRE(hour);
  BOOST_TEST(hour->cached_input_tokens == 0);
  BOOST_TEST(hour->cache_write_5m_tokens == hour->input_tokens / 4);
  BOOST_TEST(hour->cache_write_1h_tokens == hour->input_tokens / 4);
  // All three together never take more than the prompt.
  auto all = ParseChatRequest(
      R"({"model":"c","max_tokens":1,"messages":[{"role":"user","content":"[cache-write-1h][cache-write][cached]"}]})",
      Dialect::kAnthropic);
  BOOST_REQUIRE(all);
  BOOST_TEST(all->input_tokens == InputTokensFor(37, 1));
  BOOST_TEST(all->cached_input_tokens + all->cache_write_5m_tokens + all->cache_write_1h_tokens <=
             all->input_tokens);

  // OpenAI reports no cache writes: the markers change nothing there.
  auto openai =
      ParseChatRequest(R"({"model":"m","messages":[{"role":"user","content":")" + text + R"("}]})",
                       Dialect::kOpenAi);
  BOOST_REQUIRE(openai);
  BOOST_TEST(openai->input_tokens == input);
  BOOST_TEST(openai->cached_input_tokens == input / 2);
  BOOST_TEST(openai->cache_write_5m_tokens == 0);
  BOOST_TEST(openai->cache_write_1h_tokens == 0);
}

BOOST_AUTO_TEST_CASE(anthropic_system_counts_as_a_message_and_max_tokens_is_required) {
  auto request = ParseChatRequest(
      R"({"model":"c","max_tokens":5,"system":"be nice","messages":[{"role":"user","content":"hi"}]})",
      Dialect::kAnthropic);
  BOOST_REQUIRE(request);
  BOOST_TEST(request->input_tokens == InputTokensFor(9, 2));
  auto missing = ParseChatRequest(R"({"model":"c","messages":[{"role":"user","content":"hi"}]})",
                                  Dialect::kAnthropic);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error() == "max_tokens: Field required");
}

BOOST_AUTO_TEST_CASE(invalid_requests_are_errors_not_crashes) {
  const char* bodies[] = {
      "",
      "not json",
      "[]",
      R"({"messages":[{"role":"user","content":"x"}]})",
      R"({"model":5,"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m"})",
      R"({"model":"m","messages":[]})",
      R"({"model":"m","messages":[1]})",
      R"({"model":"m","messages":[{"content":"x"}]})",
      R"({"model":"m","messages":[{"role":"user","content":5}]})",
      R"({"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]})",
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":1}]}]})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":"2"})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":[]})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}})",
  };
  for (const char* body : bodies) {
    BOOST_TEST_CONTEXT("body: " << body) { BOOST_TEST(!ParseChatRequest(body, Dialect::kOpenAi)); }
  }
  const std::string deep(100000, '[');
  BOOST_TEST(!ParseChatRequest(deep, Dialect::kOpenAi));
  BOOST_TEST(!ParseChatRequest(R"({"model":"c","max_tokens":1,"messages":[{"role":"user"}]})",
                               Dialect::kAnthropic));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(wire_replies)

BOOST_AUTO_TEST_CASE(reply_tokens_are_pong_then_space_pong) {
  const auto tokens = ReplyTokens("pong", 3);
  BOOST_TEST(tokens.size() == 3u);
  BOOST_TEST(tokens[0] == "pong");
  BOOST_TEST(tokens[2] == " pong");
  BOOST_TEST(ReplyTokens("pong", 0).empty());
}

BOOST_AUTO_TEST_CASE(openai_body_has_usage_with_cached_inside_prompt_tokens) {
  const auto doc = Parse(RenderBody(SampleReply(Dialect::kOpenAi)));
  BOOST_TEST(doc["object"].GetString() == std::string("chat.completion"));
  BOOST_TEST(doc["model"].GetString() == std::string("model \"x\""));
  BOOST_TEST(doc["choices"][0]["message"]["content"].GetString() == std::string("pong pong pong"));
  BOOST_TEST(doc["choices"][0]["finish_reason"].GetString() == std::string("length"));
  BOOST_TEST(doc["usage"]["prompt_tokens"].GetInt() == 10);
  BOOST_TEST(doc["usage"]["completion_tokens"].GetInt() == 3);
  BOOST_TEST(doc["usage"]["total_tokens"].GetInt() == 13);
  BOOST_TEST(doc["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt() == 4);
}

BOOST_AUTO_TEST_CASE(anthropic_body_excludes_cache_reads_from_input_tokens) {
  const auto doc = Parse(RenderBody(SampleReply(Dialect::kAnthropic)));
  BOOST_TEST(doc["type"].GetString() == std::string("message"));
  BOOST_TEST(doc["content"][0]["text"].GetString() == std::string("pong pong pong"));
  BOOST_TEST(doc["stop_reason"].GetString() == std::string("max_tokens"));
  BOOST_TEST(doc["usage"]["input_tokens"].GetInt() == 6);
  BOOST_TEST(doc["usage"]["cache_read_input_tokens"].GetInt() == 4);
  BOOST_TEST(doc["usage"]["output_tokens"].GetInt() == 3);
}

// 40 prompt tokens: 10 read, 8 written for 5 minutes, 4 for an hour, 18 uncached.
Reply ReplyWithCacheWrites(Dialect dialect) {
  Reply reply = SampleReply(dialect);
  reply.usage = ReplyUsage{.input_tokens = 40,
                           .cached_input_tokens = 10,
                           .output_tokens = 3,
                           .cache_write_5m_tokens = 8,
                           .cache_write_1h_tokens = 4};
  return reply;
}

void CheckAnthropicCacheUsage(const rapidjson::Value& usage, int64_t output_tokens) {
  BOOST_TEST(usage["input_tokens"].GetInt() == 18);  // no cache reads, no cache writes
  BOOST_TEST(usage["cache_read_input_tokens"].GetInt() == 10);
  BOOST_TEST(usage["cache_creation_input_tokens"].GetInt() == 12);
  BOOST_TEST(usage["cache_creation"]["ephemeral_5m_input_tokens"].GetInt() == 8);
  BOOST_TEST(usage["cache_creation"]["ephemeral_1h_input_tokens"].GetInt() == 4);
  BOOST_TEST(usage["output_tokens"].GetInt() == output_tokens);
}

BOOST_AUTO_TEST_CASE(anthropic_reports_cache_writes_in_body_and_message_start) {
  const Reply reply = ReplyWithCacheWrites(Dialect::kAnthropic);
  CheckAnthropicCacheUsage(Parse(RenderBody(reply))["usage"], 3);
  const StreamScript script = RenderStream(reply);
  const auto start = Parse(Data(script.preamble[0]));
  BOOST_TEST(start["type"].GetString() == std::string("message_start"));
  CheckAnthropicCacheUsage(start["message"]["usage"], 1);
  // message_delta repeats only the cumulative output count.
  const auto delta = Parse(Data(script.epilogue[1]));
  BOOST_TEST(delta["usage"].MemberCount() == 1u);
  BOOST_TEST(delta["usage"]["output_tokens"].GetInt() == 3);

  // Without writes the breakdown is there too, all zero.
  const auto plain = Parse(Data(RenderStream(SampleReply(Dialect::kAnthropic)).preamble[0]));
  const auto& usage = plain["message"]["usage"];
  BOOST_TEST(usage["cache_creation_input_tokens"].GetInt() == 0);
  BOOST_TEST(usage["cache_creation"]["ephemeral_5m_input_tokens"].GetInt() == 0);
  BOOST_TEST(usage["cache_creation"]["ephemeral_1h_input_tokens"].GetInt() == 0);
}

BOOST_AUTO_TEST_CASE(openai_replies_never_show_cache_writes) {
  Reply reply = ReplyWithCacheWrites(Dialect::kOpenAi);
  reply.include_usage_chunk = true;
  const auto body = Parse(RenderBody(reply));
  const auto chunk = Parse(Data(RenderStream(reply).epilogue[0]));
  for (const rapidjson::Value* reported : {&body["usage"], &chunk["usage"]}) {
    const rapidjson::Value& usage = *reported;
    BOOST_TEST(usage["prompt_tokens"].GetInt() == 40);  // writes are plain prompt tokens
    BOOST_TEST(usage["prompt_tokens_details"]["cached_tokens"].GetInt() == 10);
    BOOST_TEST(!usage.HasMember("cache_creation_input_tokens"));
    BOOST_TEST(!usage.HasMember("cache_creation"));
  }
}

BOOST_AUTO_TEST_CASE(no_usage_omits_the_usage_objects) {
  Reply reply = SampleReply(Dialect::kOpenAi);
  reply.usage.reset();
  reply.include_usage_chunk = true;
  BOOST_TEST(!Parse(RenderBody(reply)).HasMember("usage"));
  const StreamScript script = RenderStream(reply);
  BOOST_TEST(script.epilogue.size() == 1u);  // only [DONE]
  for (const auto& chunk : script.tokens) BOOST_TEST(!Parse(Data(chunk)).HasMember("usage"));
  reply.dialect = Dialect::kAnthropic;
  BOOST_TEST(!Parse(RenderBody(reply)).HasMember("usage"));
}

BOOST_AUTO_TEST_CASE(openai_stream_script) {
  Reply reply = SampleReply(Dialect::kOpenAi);
  reply.include_usage_chunk = true;
  const StreamScript script = RenderStream(reply);
  BOOST_TEST_REQUIRE(script.preamble.size() == 1u);
  const auto role = Parse(Data(script.preamble[0]));
  BOOST_TEST(role["choices"][0]["delta"]["role"].GetString() == std::string("assistant"));
  BOOST_TEST(role["usage"].IsNull());
  BOOST_TEST_REQUIRE(script.tokens.size() == 3u);
  BOOST_TEST(Parse(Data(script.tokens[0]))["choices"][0]["finish_reason"].IsNull());
  BOOST_TEST(Parse(Data(script.tokens[2]))["choices"][0]["finish_reason"].GetString() ==
             std::string("length"));
  BOOST_TEST_REQUIRE(script.epilogue.size() == 2u);
  const auto usage = Parse(Data(script.epilogue[0]));
  BOOST_TEST(usage["choices"].Empty());
  BOOST_TEST(usage["usage"]["total_tokens"].GetInt() == 13);
  BOOST_TEST(script.epilogue[1] == "data: [DONE]\n\n");
}

BOOST_AUTO_TEST_CASE(anthropic_stream_script_names_each_event_like_its_type) {
  const StreamScript script = RenderStream(SampleReply(Dialect::kAnthropic));
  std::vector<std::string> all = script.preamble;
  all.insert(all.end(), script.tokens.begin(), script.tokens.end());
  all.insert(all.end(), script.epilogue.begin(), script.epilogue.end());
  std::vector<std::string> names;
  for (const auto& event : all) {
    BOOST_REQUIRE(event.starts_with("event: "));
    const std::string name = event.substr(7, event.find('\n') - 7);
    BOOST_TEST(Parse(Data(event))["type"].GetString() == name);
    names.push_back(name);
  }
  const std::vector<std::string> expected = {
      "message_start",       "content_block_start", "ping",
      "content_block_delta", "content_block_delta", "content_block_delta",
      "content_block_stop",  "message_delta",       "message_stop"};
  BOOST_TEST(names == expected, boost::test_tools::per_element());
  BOOST_TEST(Parse(Data(script.epilogue[1]))["usage"]["output_tokens"].GetInt() == 3);
}

BOOST_AUTO_TEST_CASE(error_bodies_follow_each_vendor) {
  const auto openai = Parse(RenderErrorBody(Dialect::kOpenAi, ErrorCase::kUnauthorized));
  BOOST_TEST(openai["error"]["code"].GetString() == std::string("invalid_api_key"));
  BOOST_TEST(openai["error"]["param"].IsNull());
  const auto anthropic =
      Parse(RenderErrorBody(Dialect::kAnthropic, ErrorCase::kOverloaded, {}, "req_1"));
  BOOST_TEST(anthropic["type"].GetString() == std::string("error"));
  BOOST_TEST(anthropic["error"]["type"].GetString() == std::string("overloaded_error"));
  BOOST_TEST(anthropic["request_id"].GetString() == std::string("req_1"));
  BOOST_TEST(ErrorStatus(ErrorCase::kOverloaded) == 529);
  BOOST_TEST(ErrorStatus(ErrorCase::kUpstreamError) == 200);
  BOOST_TEST(RenderMidstreamError(Dialect::kAnthropic).starts_with("event: error\ndata: "));
  BOOST_TEST(RenderMidstreamError(Dialect::kOpenAi).starts_with("data: {\"error\":"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(every_fault_name_round_trips) {
  for (Fault fault : AllFaults()) BOOST_TEST((ParseFaultName(FaultName(fault)) == fault));
  BOOST_TEST(AllFaults().size() == 16u);
  BOOST_TEST(!ParseFaultName("nope"));
}

BOOST_AUTO_TEST_CASE(fault_specs) {
  auto unlimited = ParseFaultSpec("stall");
  BOOST_REQUIRE(unlimited);
  BOOST_TEST((unlimited->fault == Fault::kStall));
  BOOST_TEST(!unlimited->count);
  auto counted = ParseFaultSpec("http_429:3");
  BOOST_REQUIRE(counted);
  BOOST_TEST(*counted->count == 3);
  BOOST_TEST(!ParseFaultSpec("http_429:0"));
  BOOST_TEST(!ParseFaultSpec("http_429:x"));
  BOOST_TEST(!ParseFaultSpec("bogus:1"));
}

BOOST_AUTO_TEST_CASE(schedule_counts_down_to_none) {
  FaultSchedule schedule;
  BOOST_TEST((schedule.Take() == Fault::kNone));
  schedule.Set({Fault::kHttp500, 2});
  BOOST_TEST((schedule.Take() == Fault::kHttp500));
  BOOST_TEST(*schedule.Current().count == 1);
  BOOST_TEST((schedule.Take() == Fault::kHttp500));
  BOOST_TEST((schedule.Take() == Fault::kNone));
  schedule.Set({Fault::kHtml, std::nullopt});
  for (int i = 0; i < 5; ++i) BOOST_TEST((schedule.Take() == Fault::kHtml));
  schedule.Reset();
  BOOST_TEST((schedule.Take() == Fault::kNone));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(usage_ledger)

BOOST_AUTO_TEST_CASE(keeps_days_models_and_routes) {
  UsageLedger ledger;
  ledger.CountRequest("/v1/messages");
  ledger.RecordServed("2025-01-01", "a", "/v1/messages", Tokens(0, 10, 0, 2));
  ledger.CountRequest("/v1/messages");
  ledger.RecordServed("2025-01-02", "a", "/v1/messages", Tokens(0, 6, 3, 1));
  ledger.CountRequest("/v1/chat/completions");
  ledger.RecordFailed("/v1/chat/completions");
  const LedgerSnapshot snapshot = ledger.Snapshot();
  BOOST_TEST(snapshot.days.size() == 2u);
  BOOST_TEST((snapshot.Totals() == Tokens(2, 16, 3, 3)));
  BOOST_TEST((snapshot.PerModel().at("a") == Tokens(2, 16, 3, 3)));
  BOOST_TEST((snapshot.routes.at("/v1/messages") == RouteCounters{2, 2, 0}));
  BOOST_TEST((snapshot.routes.at("/v1/chat/completions") == RouteCounters{1, 0, 1}));

  const auto doc = Parse(RenderStatsJson(snapshot, {Fault::kStall, 2}));
  BOOST_TEST(doc["totals"]["input_tokens"].GetInt() == 16);
  BOOST_TEST(doc["models"]["a"]["requests"].GetInt() == 2);
  BOOST_TEST(doc["days"]["2025-01-02"]["a"]["cached_input_tokens"].GetInt() == 3);
  BOOST_TEST(doc["routes"]["/v1/chat/completions"]["failed"].GetInt() == 1);
  BOOST_TEST(doc["fault"]["name"].GetString() == std::string("stall"));
  BOOST_TEST(doc["fault"]["remaining"].GetInt() == 2);

  ledger.Reset();
  BOOST_TEST(ledger.Snapshot().days.empty());
  BOOST_TEST(ledger.Snapshot().routes.empty());
}

BOOST_AUTO_TEST_CASE(keeps_cost_and_reports_it_after_the_delay) {
  using std::chrono::milliseconds;
  UsageLedger ledger(milliseconds(1000));
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
  ledger.RecordServed("2025-01-01", "a", "/r", Tokens(0, 10, 0, 2, {100, 0, 200}), t0);
  ledger.RecordServed("2025-01-01", "a", "/r", Tokens(0, 10, 4, 2, {60, 10, 200}),
                      t0 + milliseconds(500));
  ledger.RecordServed("2025-01-01", "x", "/r", Tokens(0, 1, 0, 1, {}, 1), t0 + milliseconds(500));

  // Stats see everything at once; billing only what is old enough.
  BOOST_TEST(ledger.Snapshot().Totals().cost.Total() == 570);
  BOOST_TEST(ledger.Snapshot().Totals().unpriced_requests == 1);
  BOOST_TEST(ledger.Reported(t0 + milliseconds(999)).empty());
  const DayCounters first = ledger.Reported(t0 + milliseconds(1000));
  BOOST_TEST((first.at("2025-01-01").at("a") == Tokens(1, 10, 0, 2, {100, 0, 200})));
  BOOST_TEST(first.at("2025-01-01").size() == 1u);
  const DayCounters all = ledger.Reported(t0 + milliseconds(1500));
  BOOST_TEST((all.at("2025-01-01").at("a") == Tokens(2, 20, 4, 4, {160, 10, 400})));
  BOOST_TEST((Sum(all) == ledger.Snapshot().Totals()));

  ledger.Reset();
  BOOST_TEST(ledger.Reported(t0 + std::chrono::seconds(10)).empty());

  UsageLedger immediate;
  immediate.RecordServed("2025-01-01", "a", "/r", Tokens(0, 1, 0, 1, {1, 0, 2}));
  BOOST_TEST(immediate.Reported().at("2025-01-01").at("a").cost.Total() == 3);
}

BOOST_AUTO_TEST_CASE(stats_count_cache_writes_by_lifetime) {
  UsageLedger ledger;
  TokenCounters writes = Tokens(0, 40, 10, 3, {18, 1, 6, 10, 8});
  writes.cache_write_5m_tokens = 8;
  writes.cache_write_1h_tokens = 4;
  ledger.RecordServed("2025-01-01", "a", "/v1/messages", writes);
  ledger.RecordServed("2025-01-02", "a", "/v1/messages", writes);
  ledger.RecordServed("2025-01-02", "b", "/v1/chat/completions", Tokens(0, 5, 0, 1));
  const LedgerSnapshot snapshot = ledger.Snapshot();
  BOOST_TEST(snapshot.Totals().cache_write_5m_tokens == 16);
  BOOST_TEST(snapshot.Totals().cache_write_1h_tokens == 8);
  BOOST_TEST((snapshot.Totals().cost == CostSplit{36, 2, 12, 20, 16}));
  BOOST_TEST(snapshot.Totals().cost.Total() == 86);

  const auto doc = Parse(RenderStatsJson(snapshot, {}));
  BOOST_TEST(doc["totals"]["input_tokens"].GetInt() == 85);  // writes included
  BOOST_TEST(doc["totals"]["cache_write_5m_tokens"].GetInt() == 16);
  BOOST_TEST(doc["totals"]["cache_write_1h_tokens"].GetInt() == 8);
  BOOST_TEST(doc["totals"]["cost_nano_usd"].GetInt() == 86);
  BOOST_TEST(doc["models"]["a"]["cache_write_5m_tokens"].GetInt() == 16);
  BOOST_TEST(doc["models"]["b"]["cache_write_1h_tokens"].GetInt() == 0);
  BOOST_TEST(doc["days"]["2025-01-02"]["a"]["cache_write_1h_tokens"].GetInt() == 4);
  BOOST_TEST(doc["days"]["2025-01-02"]["b"]["cache_write_5m_tokens"].GetInt() == 0);
  // The other fields keep their names and meaning.
  BOOST_TEST(doc["totals"].MemberCount() == 9u);
  BOOST_TEST(doc["totals"]["cached_input_tokens"].GetInt() == 20);
  BOOST_TEST(doc["totals"]["requests"].GetInt() == 3);
}

BOOST_AUTO_TEST_CASE(stats_show_cost_and_skews_exactly) {
  UsageLedger ledger;
  ledger.RecordServed("2025-01-01", "a", "/r", Tokens(0, 10, 0, 2, {100, 0, 200}));
  ledger.RecordServed("2025-01-01", "b", "/r", Tokens(0, 1, 0, 1, {}, 1));
  const std::string json =
      RenderStatsJson(ledger.Snapshot(), {}, {{"a", 1'500'000'000}, {"b", 250'000'000}});
  BOOST_TEST(json.find(R"("cost_usd":0.0000003,)") != std::string::npos, json);
  BOOST_TEST(json.find(R"("price_skews":{"a":1.5,"b":0.25})") != std::string::npos, json);
  const auto doc = Parse(json);
  BOOST_TEST(doc["totals"]["cost_nano_usd"].GetInt64() == 300);
  BOOST_TEST(doc["totals"]["unpriced_requests"].GetInt64() == 1);
  BOOST_TEST(doc["models"]["a"]["cost_nano_usd"].GetInt64() == 300);
  BOOST_TEST(doc["days"]["2025-01-01"]["b"]["cost_nano_usd"].GetInt64() == 0);
  BOOST_TEST(doc["days"]["2025-01-01"]["b"]["unpriced_requests"].GetInt64() == 1);
}

BOOST_AUTO_TEST_CASE(utc_day_of_a_time_point) {
  using namespace std::chrono;
  BOOST_TEST(UtcDay(system_clock::time_point(seconds(1730419200))) == "2024-11-01");
  BOOST_TEST(UtcDay(system_clock::time_point(seconds(1730419199))) == "2024-10-31");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(command_line)

std::expected<CommandLine, std::string> ParseArgs(std::vector<std::string_view> args,
                                                  const char* env_key = nullptr) {
  return ParseCommandLine(args, env_key);
}

BOOST_AUTO_TEST_CASE(parses_every_flag) {
  auto parsed = ParseArgs({"--listen", "127.0.0.1:0", "--port-file=/tmp/p", "--api-key", "k",
                           "--ttft-ms", "200", "--token-ms=50", "--slow-ms", "10", "--reply-tokens",
                           "3", "--fault", "http_429:2"});
  BOOST_REQUIRE_MESSAGE(parsed, parsed.error());
  BOOST_TEST(parsed->server.listen == "127.0.0.1:0");
  BOOST_TEST(parsed->port_file == "/tmp/p");
  BOOST_TEST(parsed->server.api_key == "k");
  BOOST_TEST(parsed->server.ttft.count() == 200);
  BOOST_TEST(parsed->server.token_interval.count() == 50);
  BOOST_TEST(parsed->server.slow_first_byte.count() == 10);
  BOOST_TEST(parsed->server.reply_tokens == 3);
  BOOST_TEST((parsed->server.fault.fault == Fault::kHttp429));
  BOOST_TEST(ListenHost(parsed->server.listen) == "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(parses_the_billing_flags) {
  auto parsed = ParseArgs({"--admin-key", "adm", "--prices", "p.toml", "--price-table=t",
                           "--price-skew", "fake-gpt=1.5", "--price-skew", "m=2",
                           "--price-skew=fake-gpt=0.5", "--quota-usd", "12.34", "--cny-balance",
                           "100", "--billing-page-size", "3", "--report-delay-ms", "250"});
  BOOST_REQUIRE_MESSAGE(parsed, parsed.error());
  BOOST_TEST(parsed->server.admin_key == "adm");
  BOOST_TEST(parsed->prices_file == "p.toml");
  BOOST_TEST(parsed->server.price_table == "t");
  BOOST_TEST(
      (parsed->server.price_skews == SkewMap{{"fake-gpt", 500'000'000}, {"m", 2'000'000'000}}));
  BOOST_TEST(parsed->server.quota_nano_usd == 12'340'000'000);
  BOOST_TEST(parsed->server.cny_balance_nano.value() == 100'000'000'000);
  BOOST_TEST(parsed->server.billing_page_size == 3);
  BOOST_TEST(parsed->server.report_delay.count() == 250);

  auto defaults = ParseArgs({});
  BOOST_REQUIRE(defaults);
  BOOST_TEST(defaults->server.admin_key.empty());
  BOOST_TEST(defaults->prices_file.empty());
  BOOST_TEST(defaults->server.price_table == "fake");
  BOOST_TEST(defaults->server.quota_nano_usd == 25'000'000'000);
  BOOST_TEST(!defaults->server.cny_balance_nano.has_value());
  BOOST_TEST(defaults->server.billing_page_size == 2);
  BOOST_TEST(defaults->server.report_delay.count() == 0);

  auto from_env = ParseCommandLine(std::vector<std::string_view>{}, nullptr, "env-admin");
  BOOST_REQUIRE(from_env);
  BOOST_TEST(from_env->server.admin_key == "env-admin");
  auto flag_wins =
      ParseCommandLine(std::vector<std::string_view>{"--admin-key", "flag"}, nullptr, "env");
  BOOST_REQUIRE(flag_wins);
  BOOST_TEST(flag_wins->server.admin_key == "flag");
}

BOOST_AUTO_TEST_CASE(environment_key_is_overridden_by_the_flag) {
  auto from_env = ParseArgs({}, "env-key");
  BOOST_REQUIRE(from_env);
  BOOST_TEST(from_env->server.api_key == "env-key");
  auto from_flag = ParseArgs({"--api-key", "flag-key"}, "env-key");
  BOOST_REQUIRE(from_flag);
  BOOST_TEST(from_flag->server.api_key == "flag-key");
}

BOOST_AUTO_TEST_CASE(rejects_bad_values_naming_the_flag) {
  const std::vector<std::vector<std::string_view>> cases = {
      {"--listen", "localhost:0"},
      {"--listen", "127.0.0.1"},
      {"--listen", "127.0.0.1:70000"},
      {"--ttft-ms", "-1"},
      {"--token-ms", "x"},
      {"--reply-tokens", "0"},
      {"--fault", "nope"},
      {"--port-file"},
      {"--bogus"},
      {"--admin-key", ""},
      {"--prices", ""},
      {"--price-skew", "x"},
      {"--price-skew", "m=-1"},
      {"--quota-usd", "-1"},
      {"--quota-usd", "abc"},
      {"--cny-balance", "1.0000000001"},
      {"--billing-page-size", "0"},
      {"--report-delay-ms", "-1"},
      {"--price-table", "t"},
  };
  for (const auto& args : cases) {
    auto parsed = ParseArgs(args);
    BOOST_TEST_CONTEXT("args: " << args[0]) {
      BOOST_REQUIRE(!parsed);
      BOOST_TEST(parsed.error().find(std::string(args[0])) != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::fake_vendor
