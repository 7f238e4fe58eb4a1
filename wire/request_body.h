#pragma once

// Reading and adjusting client request bodies for the in-path proxy. The
// proxy routes on the request's model, and for an OpenAI-style stream it may
// ask the vendor for usage the client did not request (then strips the extra
// chunk, see IsUsageOnlyChunk). Functions never throw; a body that is not a
// JSON object gives nullopt/false/an error.

#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace llm_exporter::wire {

struct RequestInfo {
  std::string model;           // raw client string (never a metric label); empty if absent
  bool stream = false;         // "stream": true
  bool include_usage = false;  // "stream_options": {"include_usage": true}
  // The reply's token cap: max_tokens, max_completion_tokens or
  // max_output_tokens (Responses API); 0 when none is given.
  int64_t max_tokens = 0;
};

// One parse for all three facts; nullopt if `body` is not a JSON object.
std::optional<RequestInfo> InspectRequestBody(std::string_view body);

// The "model" string; nullopt if the body is not a JSON object or model is
// not a string.
std::optional<std::string> ModelFromRequestBody(std::string_view body);
bool StreamRequested(std::string_view body);
bool IncludeUsageRequested(std::string_view body);

// `body` with stream_options.include_usage set to true. Only the needed bytes
// are inserted or replaced; the client's other bytes (number spellings,
// whitespace, key order) pass through unchanged, and a body that already asks
// for usage is returned as is. Errors: not a JSON object, stream_options or
// include_usage of an unexpected type (e.g. a string), or duplicated keys.
std::expected<std::string, std::string> AddIncludeUsage(std::string_view body);

}  // namespace llm_exporter::wire
