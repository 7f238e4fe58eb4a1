// The reply tap: what the proxy reads of a reply (usage, first token) and the
// one change it makes (the usage chunk it asked for), on recorded bodies fed
// in every chunk size.
#define BOOST_TEST_MODULE unit_proxy
#include "proxy/reply_tap.h"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "tests/unit/wire/testdata.h"

namespace llm_exporter::proxy {
namespace {

using testing::ReadTestdata;
namespace data = boost::unit_test::data;

struct Relayed {
  std::string bytes;
  int first_token_feeds = 0;
  ReplyTap::Result result;
};

Relayed Relay(Endpoint endpoint_kind, bool strip, long status, std::string_view content_type,
              std::string_view body, size_t chunk) {
  const EndpointInfo* endpoint = nullptr;
  for (std::string_view path : {"/v1/chat/completions", "/v1/completions", "/v1/embeddings",
                                "/v1/responses", "/v1/messages"}) {
    if (FindEndpoint(path)->endpoint == endpoint_kind) endpoint = FindEndpoint(path);
  }
  BOOST_REQUIRE(endpoint != nullptr);
  ReplyTap tap(*endpoint, strip);
  tap.Start(status, content_type);
  Relayed out;
  for (size_t at = 0; at < body.size(); at += chunk) {
    if (tap.Feed(body.substr(at, chunk), out.bytes)) ++out.first_token_feeds;
  }
  tap.End(out.bytes);
  out.result = tap.Finish();
  return out;
}

constexpr size_t kChunkSizes[] = {1, 2, 7, 64, 4096};
constexpr std::string_view kSse = "text/event-stream; charset=utf-8";

BOOST_DATA_TEST_CASE(openai_stream_passes_byte_for_byte_when_the_client_asked_for_usage,
                     data::make(kChunkSizes), chunk) {
  const std::string body = ReadTestdata("openai_stream_full.sse");
  const Relayed r = Relay(Endpoint::kChatCompletions, false, 200, kSse, body, chunk);
  BOOST_TEST(r.bytes == body);
  BOOST_TEST(r.first_token_feeds == 1);
  BOOST_TEST(r.result.stream);
  BOOST_REQUIRE(r.result.usage_present);
  BOOST_TEST(r.result.usage.input == 1200 - 1024);
  BOOST_TEST(r.result.usage.cached_input == 1024);
  BOOST_TEST(r.result.usage.output == 3);
}

BOOST_DATA_TEST_CASE(openai_stream_loses_only_the_usage_chunk_the_proxy_asked_for,
                     data::make(kChunkSizes), chunk) {
  const std::string body = ReadTestdata("openai_stream_full.sse");
  const Relayed r = Relay(Endpoint::kChatCompletions, true, 200, kSse, body, chunk);
  // Everything but that one event (and its blank line), comments included.
  const size_t usage_event = body.find(
      "data: "
      "{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion.chunk\",\"created\":1730419200,"
      "\"model\":\"gpt-4o-mini\",\"choices\":[],");
  BOOST_REQUIRE(usage_event != std::string::npos);
  const size_t usage_end = body.find("\n\n", usage_event) + 2;
  std::string expected = body.substr(0, usage_event) + body.substr(usage_end);
  for (size_t at; (at = expected.find(",\"usage\":null}")) != std::string::npos;) {
    expected.erase(at, std::string_view(",\"usage\":null").size());
  }
  BOOST_TEST(r.bytes == expected);
  BOOST_TEST(r.bytes.find(": keep-alive") != std::string::npos);
  BOOST_TEST(r.bytes.find("[DONE]") != std::string::npos);
  BOOST_REQUIRE(r.result.usage_present);
  BOOST_TEST(r.result.usage.output == 3);
  BOOST_TEST(r.result.deltas == 2);
}

BOOST_AUTO_TEST_CASE(the_null_usage_that_asking_adds_to_every_chunk_is_removed_too) {
  const std::string body =
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"say "
      "\\\"usage\\\":null\"}}],"
      "\"usage\":null}\n\n"
      "data: {\"usage\": null, \"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"}}]}\n\n"
      "data: "
      "{\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n"
      "data: [DONE]\n\n";
  const Relayed stripped = Relay(Endpoint::kChatCompletions, true, 200, kSse, body, 3);
  BOOST_TEST(stripped.bytes ==
             "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"say "
             "\\\"usage\\\":null\"}}]}"
             "\n\n"
             "data: { \"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"}}]}\n\n"
             "data: [DONE]\n\n");
  BOOST_TEST(stripped.result.usage.output == 2);
  // The client asked: nothing changes.
  BOOST_TEST(Relay(Endpoint::kChatCompletions, false, 200, kSse, body, 3).bytes == body);
}

BOOST_AUTO_TEST_CASE(a_usage_chunk_that_also_carries_choices_is_never_dropped) {
  const std::string body =
      "data: "
      "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"usage\":{\"prompt_tokens\":3,"
      "\"completion_tokens\":1}}\n\ndata: [DONE]\n\n";
  const Relayed r = Relay(Endpoint::kChatCompletions, true, 200, kSse, body, 5);
  BOOST_TEST(r.bytes == body);
  BOOST_TEST(r.result.usage_present);
  BOOST_TEST(r.result.usage.input == 3);
}

BOOST_AUTO_TEST_CASE(a_stream_cut_mid_event_relays_what_came_and_has_no_usage) {
  const std::string body = ReadTestdata("openai_stream_full.sse");
  const std::string cut = body.substr(0, body.find("\"choices\":[]") + 5);
  const Relayed r = Relay(Endpoint::kChatCompletions, false, 200, kSse, cut, 9);
  BOOST_TEST(r.bytes == cut);
  // Held back for stripping, the partial event is still passed on at the end.
  const Relayed stripped = Relay(Endpoint::kChatCompletions, true, 200, kSse, cut, 9);
  BOOST_TEST(stripped.bytes.ends_with(cut.substr(cut.rfind("data: "))));
  BOOST_TEST(!r.result.usage_present);
  BOOST_TEST(r.result.deltas == 2);
}

BOOST_DATA_TEST_CASE(anthropic_stream_keeps_the_last_cumulative_usage, data::make(kChunkSizes),
                     chunk) {
  const std::string body = ReadTestdata("anthropic_stream_full.sse");
  const Relayed r = Relay(Endpoint::kMessages, false, 200, kSse, body, chunk);
  BOOST_TEST(r.bytes == body);
  BOOST_REQUIRE(r.result.usage_present);
  BOOST_TEST(r.result.usage.input == 25);
  BOOST_TEST(r.result.usage.cached_input == 1800);
  BOOST_TEST(r.result.usage.cache_write_5m == 1000);
  BOOST_TEST(r.result.usage.cache_write_1h == 2000);
  BOOST_TEST(r.first_token_feeds == 1);
}

BOOST_AUTO_TEST_CASE(anthropic_stream_without_its_final_delta_has_no_usage) {
  const std::string body = ReadTestdata("anthropic_stream_full.sse");
  const std::string cut = body.substr(0, body.find("event: message_delta"));
  const Relayed r = Relay(Endpoint::kMessages, false, 200, kSse, cut, 64);
  BOOST_TEST(!r.result.usage_present);  // message_start's figures are not the bill
}

BOOST_AUTO_TEST_CASE(responses_stream_usage_comes_from_response_completed) {
  const std::string body =
      "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\","
      "\"usage\":null}}\n\n"
      "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
      "\"delta\":\"po\"}\n\n"
      "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
      "\"delta\":\"ng\"}\n\n"
      "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":"
      "\"r1\",\"usage\":{\"input_tokens\":40,\"input_tokens_details\":{\"cached_tokens\":32},"
      "\"output_tokens\":9,\"output_tokens_details\":{\"reasoning_tokens\":5},"
      "\"total_tokens\":49}}}\n\n";
  const Relayed r = Relay(Endpoint::kResponses, false, 200, "text/event-stream", body, 3);
  BOOST_TEST(r.bytes == body);
  BOOST_TEST(r.first_token_feeds == 1);
  BOOST_TEST(r.result.deltas == 2);
  BOOST_REQUIRE(r.result.usage_present);
  BOOST_TEST(r.result.usage.input == 8);
  BOOST_TEST(r.result.usage.cached_input == 32);
  BOOST_TEST(r.result.usage.output == 9);
  BOOST_TEST(r.result.usage.reasoning == 5);
}

BOOST_AUTO_TEST_CASE(whole_replies_of_every_endpoint) {
  const std::string chat = ReadTestdata("openai_reply.json");
  Relayed r = Relay(Endpoint::kChatCompletions, false, 200, "application/json", chat, 10);
  BOOST_TEST(r.bytes == chat);
  BOOST_REQUIRE(r.result.usage_present);
  BOOST_TEST(r.result.usage.input == 8);
  BOOST_TEST(r.result.usage.output == 1);

  const std::string embeddings =
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],)"
      R"("model":"text-embedding-3-small","usage":{"prompt_tokens":7,"total_tokens":7}})";
  r = Relay(Endpoint::kEmbeddings, false, 200, "application/json", embeddings, 4096);
  BOOST_REQUIRE(r.result.usage_present);
  BOOST_TEST(r.result.usage.input == 7);
  BOOST_TEST(r.result.usage.output == 0);

  const std::string responses =
      R"({"id":"resp_1","object":"response","output":[],"usage":{"input_tokens":12,)"
      R"("input_tokens_details":{"cached_tokens":2},"output_tokens":4,)"
      R"("output_tokens_details":{"reasoning_tokens":1},"total_tokens":16}})";
  r = Relay(Endpoint::kResponses, false, 200, "application/json", responses, 4096);
  BOOST_REQUIRE(r.result.usage_present);
  BOOST_TEST(r.result.usage.input == 10);
  BOOST_TEST(r.result.usage.cached_input == 2);
  BOOST_TEST(r.result.usage.reasoning == 1);

  const std::string message = ReadTestdata("anthropic_reply_cache_breakdown.json");
  r = Relay(Endpoint::kMessages, false, 200, "application/json", message, 4096);
  BOOST_TEST(r.result.usage_present);
}

BOOST_AUTO_TEST_CASE(a_reply_too_long_to_keep_is_read_from_its_tail) {
  // An embeddings reply of ~3 MB: usage sits after the vectors.
  std::string body = R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[)";
  while (body.size() < 3 * ReplyTap::kWholeBodyBytes) body += "0.0123456789,";
  body += R"(0.5]}],"model":"m","usage":{"prompt_tokens":4096,"total_tokens":4096}})";
  const Relayed r = Relay(Endpoint::kEmbeddings, false, 200, "application/json", body, 65536);
  BOOST_TEST(r.bytes.size() == body.size());
  BOOST_REQUIRE(r.result.usage_present);
  BOOST_TEST(r.result.usage.input == 4096);
}

BOOST_AUTO_TEST_CASE(errors_and_unreadable_replies_carry_no_usage) {
  const std::string error = ReadTestdata("openai_error_rate_limit.json");
  Relayed r = Relay(Endpoint::kChatCompletions, false, 429, "application/json", error, 7);
  BOOST_TEST(r.bytes == error);
  BOOST_TEST(!r.result.usage_present);
  // An error status with an event stream type is relayed, not parsed.
  r = Relay(Endpoint::kChatCompletions, true, 500, kSse, "data: {\"usage\":{}}\n\n", 3);
  BOOST_TEST(r.bytes == "data: {\"usage\":{}}\n\n");
  r = Relay(Endpoint::kChatCompletions, false, 200, "text/html", "<html>oops</html>", 3);
  BOOST_TEST(r.bytes == "<html>oops</html>");
  BOOST_TEST(!r.result.usage_present);
}

BOOST_AUTO_TEST_CASE(a_hostile_usage_object_is_no_usage_and_no_crash) {
  // Nested a million deep (the stack would not survive a recursive parse or
  // its tree), cut short, or not numbers: read as no usage at all.
  const std::string deep =
      R"({"usage":{"prompt_tokens":)" + std::string(1'000'000, '[') + "1" + "}}";
  std::string nul = R"({"usage":{"prompt_tokens":1)";
  nul += '\0';
  nul += R"(,"completion_tokens":1}})";
  for (const std::string& body :
       {deep, std::string(R"({"usage":{"prompt_tokens":3,)"),
        std::string(R"({"usage":{"prompt_tokens":"three","completion_tokens":1}})"), nul}) {
    Relayed r = Relay(Endpoint::kChatCompletions, false, 200, "application/json", body, 4096);
    BOOST_TEST(!r.result.usage_present);
  }
  // The usage object alone is read: what follows it does not matter.
  Relayed r = Relay(Endpoint::kMessages, false, 200, "application/json",
                    R"({"usage":{"input_tokens":5,"output_tokens":2}, trailing garbage)", 4096);
  BOOST_TEST(r.result.usage_present);
  BOOST_TEST(r.result.usage.input == 5);
  BOOST_TEST(r.result.usage.output == 2);
}

}  // namespace
}  // namespace llm_exporter::proxy
