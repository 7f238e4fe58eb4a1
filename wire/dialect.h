#pragma once

// A vendor's wire format as one value: where a chat request goes, how it is
// authenticated, how it is built, how its reply and its stream are read, and
// the `endpoint` label of its traffic. The probes use it, the proxy next; no
// caller asks "OpenAI or Anthropic?" again.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"
#include "wire/anthropic_messages.h"
#include "wire/chat_reply.h"
#include "wire/openai_chat.h"
#include "wire/sse_parser.h"
#include "wire/wire_error.h"

namespace llm_exporter::wire {

// A one-message chat request, as a probe sends it.
struct ChatRequest {
  std::string model;
  std::string prompt;
  int64_t max_tokens = 1;
  bool stream = false;
  std::string reasoning_effort;  // OpenAI-style only; empty omits it
};

// What a stream's events look like.
enum class StreamKind {
  kOpenAiChat,       // chat.completion.chunk (and the legacy completions stream)
  kOpenAiResponses,  // the Responses API's typed events
  kAnthropic,        // Messages API events
};

// Any stream accumulator behind one interface.
class StreamAccumulator {
 public:
  explicit StreamAccumulator(config::WireApi api);
  // `max_text_bytes` caps the text kept (0 keeps none, as the proxy wants).
  StreamAccumulator(StreamKind kind, size_t max_text_bytes);
  // True exactly once: for the event carrying the first token.
  bool OnEvent(const SseEvent& event);
  const StreamSummary& summary() const;
  std::optional<WireError> FinalError() const;

 private:
  std::variant<OpenAiStreamAccumulator, AnthropicStreamAccumulator, OpenAiResponsesAccumulator>
      impl_;
};

struct Dialect {
  config::WireApi api;
  std::string_view chat_path;  // appended to the vendor's base_url
  std::string_view endpoint;   // the `endpoint` label of its chat traffic

  // The request headers that authenticate with `key` and name the version.
  std::vector<std::string> Headers(std::string_view key) const;
  std::string BuildChatRequest(const ChatRequest& request) const;
  std::expected<ChatReply, WireError> ParseReply(std::string_view body) const;
};

const Dialect& DialectFor(config::WireApi api);

}  // namespace llm_exporter::wire
