#include "tests/unit/wire/testdata.h"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

namespace llm_exporter::wire {

std::ostream& operator<<(std::ostream& out, FailureReason reason) {
  return out << FailureReasonName(reason);
}

}  // namespace llm_exporter::wire

namespace llm_exporter::testing {

wire::SseEvent MakeEvent(std::string_view data, std::string_view name) {
  wire::SseEvent event;
  event.name = name;
  event.data = data;
  return event;
}

std::string ReadTestdata(std::string_view name) {
  const std::string path =
      std::string(LLM_EXPORTER_SOURCE_DIR) + "/tests/unit/wire/testdata/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::vector<wire::SseEvent> ParseSseChunked(std::string_view text, size_t chunk_size,
                                            bool* mid_event) {
  wire::SseParser parser;
  std::vector<wire::SseEvent> events;
  const size_t step = chunk_size == 0 ? std::max<size_t>(text.size(), 1) : chunk_size;
  for (size_t pos = 0; pos < text.size(); pos += step) {
    BOOST_REQUIRE(parser.Feed(text.substr(pos, step), events).has_value());
  }
  if (mid_event != nullptr) *mid_event = parser.MidEvent();
  return events;
}

std::string WithLineEndings(std::string_view text, std::string_view line_ending) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') {
      out.append(line_ending);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace llm_exporter::testing
