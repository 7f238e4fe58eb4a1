#pragma once

// Internal to wire/: reading vendor error objects out of parsed JSON,
// shared by the status classifier, the reply parsers and the stream
// accumulators so all of them classify the same way.

#include <rapidjson/document.h>

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "wire/wire_error.h"

namespace llm_exporter::wire::internal {

// The vendor error in `root`, if any: {"error":{type,code,message}} (OpenAI,
// Anthropic, gateways), {"error":"text"}, or {"type":"error"}. The result has
// error_in_body set and reason kNone; the caller picks the reason.
std::optional<WireError> ErrorFromJson(const rapidjson::Value& root);

// True for error types/codes that mean the key was refused.
bool IsAuthError(const WireError& error);

// An error object found in a successful (2xx) reply or in a stream.
WireError InBodyFailure(WireError error);

WireError InvalidResponse(std::string_view message);

// kInvalidResponse for a body that failed to parse as JSON: describes HTML or
// empty bodies, else gives the parser's error.
WireError UnparsableBody(std::string_view body, std::string_view parse_error);

// Parses a 2xx reply body that must be a JSON object: an unparsable body, an
// error object in it, or another JSON value is the error it gives.
std::expected<rapidjson::Document, WireError> ParseReplyObject(std::string_view body);

// Log text for a body that is not the JSON we expected (HTML title, or a
// prefix of the body).
std::string DescribeNonJsonBody(std::string_view body);

}  // namespace llm_exporter::wire::internal
