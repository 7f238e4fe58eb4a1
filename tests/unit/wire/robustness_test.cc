// Randomized robustness: random bytes, truncations and mutations of recorded
// bodies go through every parser. Nothing may crash (the sanitizer build turns
// UB into failures), and whatever is accepted must satisfy the invariants.
// The seed is fixed so a failure reproduces.

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/wire/testdata.h"
#include "wire/anthropic_messages.h"
#include "wire/openai_chat.h"
#include "wire/request_body.h"
#include "wire/sse_parser.h"
#include "wire/wire_error.h"

namespace llm_exporter::wire {
namespace {

using testing::ReadTestdata;

constexpr int kRoundsPerSeed = 400;

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : random_(seed) {}

  size_t Below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(random_);
  }

  char Byte() {
    static constexpr char kInteresting[] = {'\0', '\r', '\n', '{', '}', '[', ']', '"',    '\\',
                                            ':',  ',',  '-',  '0', '9', 'e', ' ', '\xC3', '\xFF'};
    if (Below(2) == 0) return kInteresting[Below(sizeof(kInteresting))];
    return static_cast<char>(Below(256));
  }

  std::string RandomBytes(size_t max_length) {
    std::string out(Below(max_length + 1), '\0');
    for (char& c : out) c = Byte();
    return out;
  }

  std::string Mutate(std::string text) {
    const size_t edits = 1 + Below(4);
    for (size_t i = 0; i < edits; ++i) {
      switch (Below(5)) {
        case 0:
          text.resize(Below(text.size() + 1));
          break;
        case 1:
          if (!text.empty()) text[Below(text.size())] = Byte();
          break;
        case 2:
          text.insert(Below(text.size() + 1), 1, Byte());
          break;
        case 3:
          if (!text.empty()) text.erase(Below(text.size()), 1 + Below(8));
          break;
        default: {
          if (text.empty()) break;
          const size_t from = Below(text.size());
          const std::string piece = text.substr(from, 1 + Below(32));
          text.insert(Below(text.size() + 1), piece);
        }
      }
    }
    return text;
  }

 private:
  std::mt19937 random_;
};

void CheckUsage(const pricing::Usage& usage) {
  BOOST_TEST(usage.input >= 0);
  BOOST_TEST(usage.cached_input >= 0);
  BOOST_TEST(usage.cache_write_5m >= 0);
  BOOST_TEST(usage.cache_write_1h >= 0);
  BOOST_TEST(usage.output >= 0);
  BOOST_TEST(usage.reasoning >= 0);
  BOOST_TEST(usage.reasoning <= usage.output);
}

void CheckLogText(const std::string& text) {
  BOOST_TEST(text.size() <= kMaxErrorMessageBytes + 3);
  const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7F;
  });
  BOOST_TEST(printable);
}

void CheckError(const WireError& error) {
  BOOST_TEST(!FailureReasonName(error.reason).empty());
  CheckLogText(error.message);
}

void FeedBodyParsers(const std::string& body, Mutator& mutator) {
  if (auto reply = ParseOpenAiChatReply(body)) {
    CheckUsage(reply->usage);
  } else {
    CheckError(reply.error());
  }
  if (auto reply = ParseAnthropicReply(body)) {
    CheckUsage(reply->usage);
  } else {
    CheckError(reply.error());
  }
  if (auto usage = ExtractOpenAiUsage(body); usage && *usage) CheckUsage(**usage);
  CheckError(ClassifyHttpReply(static_cast<int>(mutator.Below(700)) - 50, body));
  IsUsageOnlyChunk(body);
  InspectRequestBody(body);
  ModelFromRequestBody(body);
  if (auto edited = AddIncludeUsage(body)) BOOST_TEST(IncludeUsageRequested(*edited));
  CheckLogText(ErrorMessageForLog(body));
  ParseRetryAfterSeconds(body.substr(0, 40), std::chrono::system_clock::time_point{});
}

void FeedStreamParsers(const std::string& stream, Mutator& mutator) {
  SseParser::Options options;
  options.max_block_bytes = 4096;
  options.keep_raw = true;
  SseParser parser(options);
  OpenAiStreamAccumulator openai(16);
  AnthropicStreamAccumulator anthropic(16);
  std::vector<SseEvent> events;
  std::string consumed;
  size_t pos = 0;
  bool ok = true;
  while (pos < stream.size() && ok) {
    const size_t chunk = 1 + mutator.Below(24);
    const std::string_view piece = std::string_view(stream).substr(pos, chunk);
    ok = parser.Feed(piece, events).has_value();
    consumed.append(piece);
    pos += chunk;
  }
  int first_tokens_openai = 0;
  int first_tokens_anthropic = 0;
  std::string joined;
  for (const SseEvent& event : events) {
    joined += event.raw;
    first_tokens_openai += openai.OnEvent(event) ? 1 : 0;
    first_tokens_anthropic += anthropic.OnEvent(event) ? 1 : 0;
  }
  BOOST_TEST(first_tokens_openai <= 1);
  BOOST_TEST(first_tokens_anthropic <= 1);
  if (ok) BOOST_TEST(joined + std::string(parser.pending_raw()) == consumed);
  CheckUsage(openai.summary().usage);
  CheckUsage(anthropic.summary().usage);
  BOOST_TEST(openai.summary().text.size() <= 16u);
  if (auto error = openai.FinalError()) CheckError(*error);
  if (auto error = anthropic.FinalError()) CheckError(*error);
}

BOOST_AUTO_TEST_SUITE(robustness)

BOOST_AUTO_TEST_CASE(random_bytes_and_mutated_bodies) {
  const std::vector<std::string> corpus = {
      ReadTestdata("openai_reply.json"),
      ReadTestdata("openai_reply_deepseek_cache.json"),
      ReadTestdata("openai_reply_cached_reasoning.json"),
      ReadTestdata("anthropic_reply.json"),
      ReadTestdata("anthropic_reply_cache_breakdown.json"),
      ReadTestdata("anthropic_reply_thinking.json"),
      ReadTestdata("gateway_200_error.json"),
      ReadTestdata("anthropic_error_spend_limit.json"),
      ReadTestdata("html_502.html"),
      R"({"model":"m","stream":true,"stream_options":{"include_usage":false}})",
      "Wed, 21 Oct 2015 07:28:00 GMT",
  };
  Mutator mutator(20241101);
  for (int round = 0; round < kRoundsPerSeed; ++round) {
    FeedBodyParsers(mutator.RandomBytes(300), mutator);
    for (const std::string& body : corpus) {
      FeedBodyParsers(body.substr(0, mutator.Below(body.size() + 1)), mutator);
      FeedBodyParsers(mutator.Mutate(body), mutator);
    }
  }
}

BOOST_AUTO_TEST_CASE(random_bytes_and_mutated_streams) {
  std::vector<std::string> corpus;
  for (const char* name :
       {"openai_stream.sse", "openai_stream_full.sse", "openai_stream_reasoning.sse",
        "openai_stream_error.sse", "anthropic_stream.sse", "anthropic_stream_full.sse",
        "anthropic_stream_overloaded.sse"}) {
    const std::string text = ReadTestdata(name);
    corpus.push_back(text);
    corpus.push_back(testing::WithLineEndings(text, "\r\n"));
  }
  Mutator mutator(7);
  for (int round = 0; round < kRoundsPerSeed; ++round) {
    FeedStreamParsers(mutator.RandomBytes(600), mutator);
    for (const std::string& stream : corpus) {
      FeedStreamParsers(stream.substr(0, mutator.Below(stream.size() + 1)), mutator);
      FeedStreamParsers(mutator.Mutate(stream), mutator);
    }
  }
  // A stream that is one enormous line overflows cleanly.
  FeedStreamParsers("data: " + std::string(10000, 'x'), mutator);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::wire
