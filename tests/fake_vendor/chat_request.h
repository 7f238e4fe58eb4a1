#pragma once

// Parsing of chat requests in the two dialects the fake vendor speaks, and the
// deterministic token rule every test can recompute:
//
//   input_tokens = ceil(content_bytes / 4) + 4 * messages
//
// where content_bytes is the byte count of every message's text (string content,
// or the `text` of its text parts/blocks; other part types count 0 bytes) and
// messages is the number of entries in `messages`. For Anthropic a top-level
// `system` prompt counts like one more message (so the same conversation costs the
// same in both dialects). If the first message's text starts with "[cached]",
// floor(input_tokens / 2) of them are reported as cached; they stay part of
// input_tokens here (each dialect's reply decides how to present them).
//
// Pure functions: no I/O, no globals.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace llm_exporter::fake_vendor {

enum class Dialect { kOpenAi, kAnthropic };

struct ChatRequest {
  std::string model;
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  std::optional<int64_t> max_tokens;
  int64_t input_tokens = 0;  // all prompt tokens, cached ones included
  int64_t cached_input_tokens = 0;
};

inline constexpr std::string_view kCachedMarker = "[cached]";

int64_t InputTokensFor(int64_t content_bytes, int64_t messages);

// Returns a human-readable message (used as the 400 error's message) on failure.
std::expected<ChatRequest, std::string> ParseChatRequest(std::string_view body, Dialect dialect);

// Output tokens the fake replies with: min(max_tokens, reply_tokens).
int64_t OutputTokensFor(const ChatRequest& request, int64_t reply_tokens);

}  // namespace llm_exporter::fake_vendor
