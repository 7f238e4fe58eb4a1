#include "wire/sse_parser.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "tests/unit/wire/testdata.h"

namespace llm_exporter::wire {
namespace {

using testing::ParseSseChunked;
using testing::ReadTestdata;
using testing::WithLineEndings;

constexpr size_t kChunkSizes[] = {0, 1, 2, 3, 7, 64};

SseParser::Options RawOptions() {
  SseParser::Options options;
  options.keep_raw = true;
  return options;
}

SseParser::Options LimitOptions(size_t max_block_bytes) {
  SseParser::Options options;
  options.max_block_bytes = max_block_bytes;
  return options;
}

BOOST_AUTO_TEST_SUITE(sse_parser)

BOOST_AUTO_TEST_CASE(single_event) {
  const auto events = ParseSseChunked("data: hello\n\n", 0);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(events[0].name == "");
  BOOST_TEST(events[0].data == "hello");
  BOOST_TEST(events[0].id == "");
  BOOST_TEST(events[0].has_data);
  BOOST_TEST(events[0].raw == "");
}

BOOST_AUTO_TEST_CASE(multiple_data_lines_are_joined_with_newline) {
  const auto events = ParseSseChunked("data: a\ndata: b\ndata:\ndata: c\n\n", 0);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(events[0].data == "a\nb\n\nc");
}

BOOST_AUTO_TEST_CASE(field_value_spacing) {
  const auto events = ParseSseChunked("data:x\n\ndata:  two\n\ndata\n\n", 0);
  BOOST_REQUIRE_EQUAL(events.size(), 3u);
  BOOST_TEST(events[0].data == "x");
  BOOST_TEST(events[1].data == " two");
  BOOST_TEST(events[2].data == "");
}

BOOST_AUTO_TEST_CASE(event_name_resets_and_id_persists) {
  const auto events =
      ParseSseChunked("event: message_start\nid: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", 0);
  BOOST_REQUIRE_EQUAL(events.size(), 3u);
  BOOST_TEST(events[0].name == "message_start");
  BOOST_TEST(events[0].id == "7");
  BOOST_TEST(events[1].name == "");
  BOOST_TEST(events[1].id == "7");
  BOOST_TEST(events[2].id == "");
}

BOOST_AUTO_TEST_CASE(comments_unknown_fields_and_dataless_blocks_are_not_events) {
  const auto events = ParseSseChunked(
      ": keep-alive\n\n:\n\nretry: 100\nfoo: bar\n\nevent: ping\n\n: c\ndata: x\n\n", 0);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(events[0].data == "x");
  // The name of a dispatched-nothing block must not leak into the next event.
  BOOST_TEST(events[0].name == "");
}

BOOST_AUTO_TEST_CASE(leading_bom_is_ignored) {
  const auto events = ParseSseChunked(
      "\xEF\xBB\xBF"
      "data: a\n\n",
      1);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(events[0].data == "a");
}

BOOST_AUTO_TEST_CASE(unterminated_event_is_not_emitted) {
  bool mid_event = false;
  auto events = ParseSseChunked("data: a\n\ndata: b\n", 0, &mid_event);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(mid_event);

  events = ParseSseChunked("data: a\n\ndata: b", 1, &mid_event);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(mid_event);

  events = ParseSseChunked("data: a\n\n: trailing comment\n", 0, &mid_event);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(!mid_event);

  events = ParseSseChunked("data: a\n\n", 0, &mid_event);
  BOOST_TEST(!mid_event);

  SseParser parser;
  std::vector<SseEvent> out;
  BOOST_REQUIRE(parser.Feed("data: late\n", out).has_value());
  BOOST_TEST(out.empty());
  BOOST_TEST(parser.MidEvent());
  BOOST_REQUIRE(parser.Feed("\n", out).has_value());
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].data == "late");
  BOOST_TEST(!parser.MidEvent());
}

BOOST_AUTO_TEST_CASE(cr_lf_split_across_chunks_is_one_line_ending) {
  SseParser parser;
  std::vector<SseEvent> events;
  BOOST_REQUIRE(parser.Feed("data: a\r", events).has_value());
  BOOST_REQUIRE(parser.Feed("", events).has_value());
  BOOST_REQUIRE(parser.Feed("\ndata: b\r", events).has_value());
  BOOST_REQUIRE(parser.Feed("\n\r", events).has_value());
  BOOST_REQUIRE(parser.Feed("\n", events).has_value());
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(events[0].data == "a\nb");
  BOOST_TEST(!parser.MidEvent());
}

BOOST_AUTO_TEST_CASE(bare_cr_line_endings) {
  const auto events = ParseSseChunked("data: a\rdata: b\r\rdata: c\r\r", 1);
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  BOOST_TEST(events[0].data == "a\nb");
  BOOST_TEST(events[1].data == "c");
}

BOOST_AUTO_TEST_CASE(recorded_streams_parse_identically_for_all_chunkings_and_line_endings) {
  for (const char* name : {"openai_stream.sse", "openai_stream_full.sse",
                           "anthropic_stream_full.sse", "anthropic_stream.sse"}) {
    const std::string lf = ReadTestdata(name);
    const auto reference = ParseSseChunked(lf, 0);
    BOOST_TEST_REQUIRE(reference.size() >= 3u);
    for (const char* ending : {"\n", "\r\n", "\r"}) {
      const std::string text = WithLineEndings(lf, ending);
      for (const size_t chunk : kChunkSizes) {
        bool mid_event = true;
        const auto events = ParseSseChunked(text, chunk, &mid_event);
        const char* ending_name = ending[0] == '\n' ? "LF" : (ending[1] == '\n' ? "CRLF" : "CR");
        BOOST_TEST_CONTEXT(name << " " << ending_name << " chunk " << chunk) {
          BOOST_REQUIRE_EQUAL(events.size(), reference.size());
          for (size_t i = 0; i < events.size(); ++i) {
            BOOST_TEST(events[i].name == reference[i].name);
            BOOST_TEST(events[i].data == reference[i].data);
          }
          BOOST_TEST(!mid_event);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(anthropic_event_names) {
  const auto events = ParseSseChunked(ReadTestdata("anthropic_stream.sse"), 0);
  BOOST_REQUIRE_EQUAL(events.size(), 4u);
  BOOST_TEST(events[0].name == "message_start");
  BOOST_TEST(events[1].name == "content_block_delta");
  BOOST_TEST(events[2].name == "message_delta");
  BOOST_TEST(events[3].name == "message_stop");
  BOOST_TEST(events[3].data == R"({"type":"message_stop"})");
}

BOOST_AUTO_TEST_CASE(keep_raw_reproduces_input_exactly) {
  for (const char* name : {"openai_stream_full.sse", "anthropic_stream_truncated.sse"}) {
    for (const char* ending : {"\n", "\r\n", "\r"}) {
      const std::string text = WithLineEndings(ReadTestdata(name), ending);
      for (const size_t chunk : {size_t{1}, size_t{5}, text.size()}) {
        SseParser parser(RawOptions());
        std::vector<SseEvent> events;
        for (size_t pos = 0; pos < text.size(); pos += chunk) {
          BOOST_REQUIRE(parser.Feed(std::string_view(text).substr(pos, chunk), events));
        }
        std::string joined;
        size_t with_data = 0;
        for (const SseEvent& event : events) {
          joined += event.raw;
          with_data += event.has_data ? 1 : 0;
        }
        joined += parser.pending_raw();
        BOOST_TEST(joined == text);
        BOOST_TEST(with_data == ParseSseChunked(text, 0).size());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(keep_raw_reports_keepalive_comments_as_dataless_blocks) {
  SseParser parser(RawOptions());
  std::vector<SseEvent> events;
  BOOST_REQUIRE(parser.Feed(": keep-alive\n\ndata: x\n\n", events));
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  BOOST_TEST(!events[0].has_data);
  BOOST_TEST(events[0].raw == ": keep-alive\n\n");
  BOOST_TEST(events[1].has_data);
  BOOST_TEST(events[1].raw == "data: x\n\n");
}

BOOST_AUTO_TEST_CASE(unterminated_huge_line_is_an_error_not_growth) {
  SseParser parser;
  std::vector<SseEvent> events;
  const std::string chunk(64 * 1024, 'a');
  BOOST_REQUIRE(parser.Feed("data: ok\n\ndata: ", events));
  bool failed = false;
  for (int i = 0; i < 40 && !failed; ++i) failed = !parser.Feed(chunk, events).has_value();
  BOOST_TEST(failed);
  BOOST_TEST(parser.failed());
  BOOST_TEST(parser.MidEvent());
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  // The error is sticky: even a clean event afterwards is refused.
  const auto again = parser.Feed("\n\ndata: x\n\n", events);
  BOOST_REQUIRE(!again.has_value());
  BOOST_TEST((again.error() == SseError::kBlockTooLarge));
  BOOST_TEST(events.size() == 1u);
}

BOOST_AUTO_TEST_CASE(many_data_lines_without_blank_line_hit_the_limit) {
  SseParser parser(LimitOptions(1000));
  std::vector<SseEvent> events;
  bool failed = false;
  for (int i = 0; i < 200 && !failed; ++i) failed = !parser.Feed("data: 0123456789\n", events);
  BOOST_TEST(failed);
  BOOST_TEST(events.empty());
}

BOOST_AUTO_TEST_CASE(events_before_the_overflow_in_the_same_chunk_are_kept) {
  SseParser parser(LimitOptions(100));
  std::vector<SseEvent> events;
  const std::string input = "data: a\n\ndata: b\n\ndata: " + std::string(200, 'x');
  BOOST_TEST(!parser.Feed(input, events).has_value());
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  BOOST_TEST(events[1].data == "b");
}

BOOST_AUTO_TEST_CASE(large_event_below_the_limit_is_fine) {
  const std::string payload(512 * 1024, 'z');
  const auto events = ParseSseChunked("data: " + payload + "\n\n", 4096);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST(events[0].data.size() == payload.size());
}

BOOST_AUTO_TEST_CASE(convenience_feed_returns_events) {
  SseParser parser;
  auto events = parser.Feed("data: 1\n\ndata: 2\n\n");
  BOOST_REQUIRE(events.has_value());
  BOOST_TEST(events->size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::wire
