// One dialect per API: the paths, headers, request bodies, reply parsing and
// stream accumulation that the probes (and the proxy) take from it.

#include "wire/dialect.h"

#include <boost/test/unit_test.hpp>

#include "tests/unit/wire/testdata.h"

namespace llm_exporter::wire {
namespace {

BOOST_AUTO_TEST_SUITE(dialect)

BOOST_AUTO_TEST_CASE(openai_chat_completions) {
  const Dialect& d = DialectFor(config::WireApi::kOpenAi);
  BOOST_TEST(d.chat_path == "/chat/completions");
  BOOST_TEST(d.endpoint == "chat_completions");
  BOOST_TEST(d.Headers("sk-1") == std::vector<std::string>{"Authorization: Bearer sk-1"});
  BOOST_TEST(d.Headers("").empty());
  ChatRequest request{"gpt-x", "ping", 5, true, "low"};
  std::string body = d.BuildChatRequest(request);
  BOOST_TEST(body.find("\"max_completion_tokens\":5") != std::string::npos);
  BOOST_TEST(body.find("\"include_usage\":true") != std::string::npos);
  request.reasoning_effort.clear();
  BOOST_TEST(d.BuildChatRequest(request).find("\"max_tokens\":5") != std::string::npos);
  auto reply = d.ParseReply(testing::ReadTestdata("openai_reply.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->usage_present);
}

BOOST_AUTO_TEST_CASE(anthropic_messages) {
  const Dialect& d = DialectFor(config::WireApi::kAnthropic);
  BOOST_TEST(d.chat_path == "/v1/messages");
  BOOST_TEST(d.endpoint == "messages");
  auto headers = d.Headers("sk-ant-1");
  BOOST_TEST(headers.size() == 2u);
  BOOST_TEST(headers[0] == "anthropic-version: " + std::string(kAnthropicVersion));
  BOOST_TEST(headers[1] == "x-api-key: sk-ant-1");
  BOOST_TEST(d.Headers("").size() == 1u);  // the version, always
  std::string body = d.BuildChatRequest({"claude-x", "ping", 7, false, ""});
  BOOST_TEST(body.find("\"max_tokens\":7") != std::string::npos);
  auto reply = d.ParseReply(testing::ReadTestdata("anthropic_reply.json"));
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->usage_present);
}

BOOST_AUTO_TEST_CASE(stream_accumulator_follows_the_api) {
  for (auto [api, file] : {std::pair{config::WireApi::kOpenAi, "openai_stream.sse"},
                           {config::WireApi::kAnthropic, "anthropic_stream.sse"}}) {
    StreamAccumulator stream(api);
    int first_tokens = 0;
    for (const auto& event : testing::ParseSseChunked(testing::ReadTestdata(file), 7, nullptr)) {
      first_tokens += stream.OnEvent(event);
    }
    BOOST_TEST(first_tokens == 1);
    BOOST_TEST(!stream.FinalError().has_value());
    BOOST_TEST(stream.summary().usage_complete);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::wire
