#pragma once

// Reply bodies and SSE events in the wire formats of docs/vendor-apis.md section 7:
// OpenAI-compatible chat completions (plain, and SSE `data:` chunks ending with
// `data: [DONE]`) and Anthropic messages (plain, and `event:`/`data:` SSE events
// message_start ... message_stop), plus each vendor's error bodies.
//
// A Reply is what the fake decided to answer; RenderBody and RenderStream turn it
// into bytes. Stream pieces come back already SSE-framed, split into the parts the
// server paces differently: the preamble (sent with the headers), one event per
// content token (sent after TTFT, then one per token interval) and the epilogue.
// Pure functions: the server owns timing and faults.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fake_vendor/chat_request.h"

namespace llm_exporter::fake_vendor {

// OpenAI replies report input (prompt_tokens) and cached reads only; Anthropic
// replies also report cache writes, and leave cache reads and writes out of
// input_tokens (message_start and the plain body carry the same input and cache
// fields; message_delta repeats only output_tokens).
struct ReplyUsage {
  int64_t input_tokens = 0;  // all prompt tokens, cached reads and cache writes included
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_write_5m_tokens = 0;  // Anthropic only
  int64_t cache_write_1h_tokens = 0;  // Anthropic only
};

struct Reply {
  Dialect dialect = Dialect::kOpenAi;
  std::string id;
  std::string model;
  int64_t created_unix_seconds = 0;
  std::vector<std::string> tokens;  // "pong", " pong", ...
  bool stopped_by_max_tokens = false;
  std::optional<ReplyUsage> usage;   // nullopt: the no_usage fault
  bool include_usage_chunk = false;  // OpenAI streaming: stream_options.include_usage
};

// tokens[0] = word, later tokens = " " + word.
std::vector<std::string> ReplyTokens(std::string_view word, int64_t count);

std::string RenderBody(const Reply& reply);

struct StreamScript {
  std::vector<std::string> preamble;
  std::vector<std::string> tokens;
  std::vector<std::string> epilogue;
};
StreamScript RenderStream(const Reply& reply);

std::string SseData(std::string_view json);
std::string SseEvent(std::string_view name, std::string_view json);

// The error cases the fake produces; each maps to an HTTP status and a
// vendor-specific error type.
enum class ErrorCase {
  kBadRequest,
  kUnauthorized,
  kNotFound,
  kMethodNotAllowed,
  kPayloadTooLarge,
  kRateLimited,
  kServerError,
  kOverloaded,
  kUpstreamError,  // the error_200 fault: an error object served with HTTP 200
};

int ErrorStatus(ErrorCase error_case);
// An empty message selects the case's default message. An empty request_id is
// omitted (Anthropic bodies carry one after HTTP errors, not inside streams).
std::string RenderErrorBody(Dialect dialect, ErrorCase error_case, std::string_view message = {},
                            std::string_view request_id = {});
// The error event sent after some tokens by the midstream_error fault.
std::string RenderMidstreamError(Dialect dialect);

std::string RenderModelsList(std::span<const std::string_view> model_ids, int64_t created);

std::string RenderHtmlPage();

}  // namespace llm_exporter::fake_vendor
