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
// same in both dialects).
//
// Prompt markers: the first message's text may start with markers, read one
// after another from its first byte, each at most once and in any order, until
// the first text that is not a marker not seen yet (so "[cached][cache-write] hi"
// has both, "hi [cached]" none, and in "[cached][cached]" the second is text):
//
//   [cached]          floor(input_tokens / 2) tokens are cache reads
//   [cache-write]     floor(input_tokens / 4) tokens are written to the
//                     5-minute cache (Anthropic only, see below)
//   [cache-write-1h]  floor(input_tokens / 4) tokens are written to the
//                     1-hour cache (Anthropic only)
//
// Even all three together leave uncached tokens >= 0. Cached reads and cache
// writes stay part of input_tokens here (each dialect's reply decides how to
// present them). OpenAI reports no cache writes, so on the OpenAI dialect the
// cache-write markers change nothing: they are plain prompt text, and the
// write counts stay 0 (never reported or billed).
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
  int64_t input_tokens = 0;  // all prompt tokens, cached reads and cache writes included
  int64_t cached_input_tokens = 0;
  int64_t cache_write_5m_tokens = 0;  // always 0 for Dialect::kOpenAi
  int64_t cache_write_1h_tokens = 0;  // always 0 for Dialect::kOpenAi
};

inline constexpr std::string_view kCachedMarker = "[cached]";
inline constexpr std::string_view kCacheWriteMarker = "[cache-write]";
inline constexpr std::string_view kCacheWrite1hMarker = "[cache-write-1h]";

struct PromptMarkers {
  bool cached = false;
  bool cache_write_5m = false;
  bool cache_write_1h = false;
};

// The markers at the start of `text` (the rule above).
PromptMarkers ReadPromptMarkers(std::string_view text);

int64_t InputTokensFor(int64_t content_bytes, int64_t messages);

// Returns a human-readable message (used as the 400 error's message) on failure.
std::expected<ChatRequest, std::string> ParseChatRequest(std::string_view body, Dialect dialect);

// Output tokens the fake replies with: min(max_tokens, reply_tokens).
int64_t OutputTokensFor(const ChatRequest& request, int64_t reply_tokens);

}  // namespace llm_exporter::fake_vendor
