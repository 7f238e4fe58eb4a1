#pragma once

// Results shared by the OpenAI-compatible and Anthropic chat wire formats:
// ChatReply for a whole (non-streaming) reply, StreamSummary for what a stream
// accumulator has seen so far.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pricing/usage.h"
#include "wire/wire_error.h"

namespace llm_exporter::wire {

struct ChatReply {
  std::string content;            // text of the first choice / all text blocks
  std::string reasoning_content;  // reasoning text (OpenAI reasoning_content/reasoning, thinking)
  std::string finish_reason;      // finish_reason / stop_reason; empty if absent
  std::string model;              // model the vendor says answered; for logs
  pricing::Usage usage;
  bool usage_present = false;  // false: the reply carried no usage object
};

struct StreamSummary {
  bool first_token_seen = false;
  // Non-empty deltas by kind. The first token is the first non-empty delta of
  // any kind: text, reasoning (thinking) or tool-call arguments.
  int64_t content_deltas = 0;
  int64_t reasoning_deltas = 0;
  int64_t tool_deltas = 0;
  std::string text;  // accumulated content text, up to the accumulator's cap
  bool text_truncated = false;
  std::string finish_reason;
  std::string model;
  pricing::Usage usage;
  // Some usage figure arrived (Anthropic: message_start already has input).
  bool usage_seen = false;
  // The vendor's final usage arrived (OpenAI: the usage chunk; Anthropic: a
  // message_delta with output_tokens). Without it the figures may be partial.
  bool usage_complete = false;
  bool terminated = false;  // OpenAI "data: [DONE]", Anthropic message_stop
  // The first problem seen: an error event (error_in_body), or an event whose
  // data is not the expected JSON. Later events are still processed.
  std::optional<WireError> error;
  int64_t invalid_events = 0;  // events whose data could not be understood
};

// What both dialects' stream accumulators share: the summary, the first
// error, and the cap on accumulated text.
class StreamAccumulatorBase {
 public:
  static constexpr size_t kDefaultMaxTextBytes = 64 * 1024;
  const StreamSummary& summary() const { return summary_; }

 protected:
  explicit StreamAccumulatorBase(size_t max_text_bytes) : max_text_bytes_(max_text_bytes) {}
  void Fail(WireError error) {
    if (!summary_.error) summary_.error = std::move(error);
  }
  // True exactly once: for the first event that carried a token.
  bool MarkFirstToken(bool token) {
    if (!token || summary_.first_token_seen) return false;
    summary_.first_token_seen = true;
    return true;
  }
  // Appends content text up to the cap (noting a cut).
  void AppendText(std::string_view text);
  // summary().error, else an invalid_response saying `unterminated` when the
  // stream has not ended properly, else nullopt.
  std::optional<WireError> FinalErrorOr(std::string_view unterminated) const;

  size_t max_text_bytes_;
  StreamSummary summary_;
};

}  // namespace llm_exporter::wire
