#pragma once

// Helpers for unit_wire and unit_probes: recorded bodies from testdata/ and feeding SSE text
// through the parser in chunks of a chosen size.

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "wire/chat_reply.h"
#include "wire/sse_parser.h"
#include "wire/wire_error.h"

namespace llm_exporter::wire {
// Lets BOOST_TEST print reasons (found by ADL).
std::ostream& operator<<(std::ostream& out, FailureReason reason);
}  // namespace llm_exporter::wire

namespace llm_exporter::testing {

// An SSE event as the parser would produce it.
wire::SseEvent MakeEvent(std::string_view data, std::string_view name = "");

// The file's bytes; fails the test if it cannot be read.
std::string ReadTestdata(std::string_view name);

// Every complete event of `text`, fed `chunk_size` bytes at a time (0: all at
// once). `mid_event` receives the parser's MidEvent() at the end.
std::vector<wire::SseEvent> ParseSseChunked(std::string_view text, size_t chunk_size,
                                            bool* mid_event = nullptr);

// Rewrites every "\n" as `line_ending`.
std::string WithLineEndings(std::string_view text, std::string_view line_ending);

// What an accumulator made of a whole recorded stream.
struct StreamRun {
  wire::StreamSummary summary;
  std::optional<wire::WireError> final_error;
  int first_token_event = -1;  // index of the event that returned true
  int first_token_calls = 0;
  bool mid_event = false;
};

// Feeds `text`, `chunk_size` bytes at a time, through a fresh Accumulator.
template <typename Accumulator>
StreamRun RunStream(std::string_view text, size_t chunk_size) {
  StreamRun run;
  const std::vector<wire::SseEvent> events = ParseSseChunked(text, chunk_size, &run.mid_event);
  Accumulator accumulator;
  for (size_t i = 0; i < events.size(); ++i) {
    if (accumulator.OnEvent(events[i])) {
      ++run.first_token_calls;
      run.first_token_event = static_cast<int>(i);
    }
  }
  run.summary = accumulator.summary();
  run.final_error = accumulator.FinalError();
  return run;
}

}  // namespace llm_exporter::testing
