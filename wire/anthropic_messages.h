#pragma once

// Anthropic Messages API (docs/vendor-apis.md section 7b): the probe request body,
// the reply parser, and a streaming accumulator. Pure functions on bodies and
// SSE events; no I/O.
//
// Usage mapping: input = input_tokens (already excludes cache), cached_input =
// cache_read_input_tokens, cache_write_5m/1h = cache_creation.ephemeral_5m/1h
// _input_tokens, or cache_creation_input_tokens as 5m when that breakdown is
// absent; output = output_tokens. Null or missing fields count 0. Anthropic
// reports no separate reasoning count, so reasoning is always 0 (thinking
// tokens are billed inside output_tokens). Negative, fractional or non-numeric
// counts are kInvalidResponse.

#include <rapidjson/fwd.h>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "wire/chat_reply.h"
#include "wire/sse_parser.h"
#include "wire/wire_error.h"

namespace llm_exporter::wire {

// The anthropic-version header value these formats follow.
inline constexpr std::string_view kAnthropicVersion = "2023-06-01";

struct AnthropicRequest {
  std::string model;
  std::string prompt;  // sent as one user message
  int64_t max_tokens = 1;
  bool stream = false;
  // > 0 enables extended thinking with this budget (the API wants it >= 1024
  // and below max_tokens; validating that is the config's job).
  int64_t thinking_budget_tokens = 0;
};

std::string BuildAnthropicRequest(const AnthropicRequest& request);

// A 2xx message body. Text blocks are concatenated into content and thinking
// blocks into reasoning_content. An error object, HTML, invalid JSON or a
// missing content array is an error value; a missing usage object is not.
std::expected<ChatReply, WireError> ParseAnthropicReply(std::string_view body);
// One Anthropic usage object, already parsed (the reply's or a stream's last
// message_delta's): input, cache reads, cache writes split 5 m / 1 h, output.
std::expected<pricing::Usage, std::string> AnthropicUsageFromJson(const rapidjson::Value& usage);

// Feeds on the SSE events of a Messages stream: usage from message_start,
// then each message_delta overrides the fields it carries (output_tokens is
// cumulative; newer versions repeat input and cache fields). Events after
// message_stop are ignored.
class AnthropicStreamAccumulator : public StreamAccumulatorBase {
 public:
  // `max_text_bytes` caps the accumulated text (0 keeps none, for the proxy).
  explicit AnthropicStreamAccumulator(size_t max_text_bytes = kDefaultMaxTextBytes);

  // Returns true exactly once: for the event carrying the first token (text,
  // thinking or tool input delta).
  bool OnEvent(const SseEvent& event);

  // summary().error, else kInvalidResponse if message_stop has not arrived
  // (call when input has ended), else nullopt.
  std::optional<WireError> FinalError() const;

 private:
  bool OnDelta(std::string_view delta_type, std::string_view text);
};

}  // namespace llm_exporter::wire
