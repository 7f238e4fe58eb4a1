#pragma once

// OpenAI-compatible chat completions (docs/vendor-apis.md section 7a): the probe
// request body, the reply parser, and a streaming accumulator. Pure functions
// on bodies and SSE events; no I/O.
//
// Usage mapping: prompt_tokens includes cached reads, so input = prompt_tokens
// - cached, cached_input = prompt_tokens_details.cached_tokens (DeepSeek's
// prompt_cache_hit_tokens when that is absent), output = completion_tokens,
// reasoning = completion_tokens_details.reasoning_tokens. Missing or null
// fields count 0. The Responses API names (input_tokens, output_tokens and
// their *_details) are accepted when prompt_tokens/completion_tokens are
// absent. Negative, fractional or non-numeric counts, cached > prompt and
// reasoning > completion are kInvalidResponse.

#include <rapidjson/fwd.h>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "pricing/usage.h"
#include "wire/chat_reply.h"
#include "wire/sse_parser.h"
#include "wire/wire_error.h"

namespace llm_exporter::wire {

struct OpenAiChatRequest {
  std::string model;
  std::string prompt;  // sent as one user message
  int64_t max_tokens = 1;
  bool stream = false;  // also asks for stream_options.include_usage
  // Newer OpenAI models reject max_tokens; most gateways accept only it.
  bool use_max_completion_tokens = false;
  std::string reasoning_effort;  // e.g. "minimal", "low"; empty omits the field
};

std::string BuildOpenAiChatRequest(const OpenAiChatRequest& request);

// A 2xx chat.completion body (choices[0] is read). An error object, HTML,
// invalid JSON or a missing choices[0].message is an error value; a missing
// usage object is not (usage_present = false).
std::expected<ChatReply, WireError> ParseOpenAiChatReply(std::string_view body);

// The top-level usage of any OpenAI-style JSON reply (chat, completions,
// embeddings, responses); nullopt if the body has no usage object.
std::expected<std::optional<pricing::Usage>, WireError> ExtractOpenAiUsage(std::string_view body);
// One OpenAI-style usage object, already parsed (the mapping above).
std::expected<pricing::Usage, std::string> OpenAiUsageFromJson(const rapidjson::Value& usage);

// True if `data` (one SSE event's data) is the extra chunk that
// stream_options.include_usage adds: "choices" an empty array and "usage" an
// object. A gateway that puts usage on a chunk with choices is not matched, so
// stripping never drops content.
bool IsUsageOnlyChunk(std::string_view data);

// `event` (one SSE block, as sent) without the top-level `"usage":null`
// member that OpenAI adds to every chunk once include_usage is asked for;
// nullopt when it has none. Only that member's bytes go: the rest of the
// block is unchanged. Strings are skipped, so text that mentions usage is
// never touched.
std::optional<std::string> WithoutNullUsage(std::string_view event);

// Feeds on the SSE events of a chat.completion.chunk stream (also accepts the
// legacy completions stream's choices[].text). Events after [DONE] are
// ignored.
// Both OpenAI stream accumulators: a usage object, once one arrives, is the
// reply's usage (an invalid one is the stream's error).
class OpenAiUsageTaker : public StreamAccumulatorBase {
 protected:
  using StreamAccumulatorBase::StreamAccumulatorBase;
  void TakeUsage(const rapidjson::Value* usage);  // null or JSON null: nothing
};

class OpenAiStreamAccumulator : public OpenAiUsageTaker {
 public:
  // `max_text_bytes` caps the accumulated text (0 keeps none, for the proxy).
  explicit OpenAiStreamAccumulator(size_t max_text_bytes = kDefaultMaxTextBytes);

  // Returns true exactly once: for the event carrying the first token, so the
  // caller can timestamp time-to-first-token on it.
  bool OnEvent(const SseEvent& event);

  // summary().error, else kInvalidResponse if the stream has not terminated
  // (call when input has ended), else nullopt.
  std::optional<WireError> FinalError() const;

 private:
};

// Feeds on the SSE events of a Responses API stream (POST /v1/responses with
// "stream": true): the first token is the first non-empty *.delta event of
// output text, reasoning or function-call arguments; usage comes from the
// response object of response.completed (also response.incomplete and
// response.failed, which end the stream too). An "error" event is the
// stream's error. Events after the end are ignored.
class OpenAiResponsesAccumulator : public OpenAiUsageTaker {
 public:
  OpenAiResponsesAccumulator() : OpenAiUsageTaker(0) {}
  bool OnEvent(const SseEvent& event);
  std::optional<WireError> FinalError() const;
};

}  // namespace llm_exporter::wire
