#pragma once

// Pieces of the billing endpoints' requests: query strings, the two vendors'
// time formats (unix seconds for OpenAI, RFC 3339 for Anthropic) and opaque
// page cursors. Pure functions.

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llm_exporter::fake_vendor {

// Name/value pairs in order, percent-decoded ('+' is a space). Names keep any
// "[]" suffix: Values() looks both spellings up.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Fails on a malformed percent escape.
std::expected<QueryParams, std::string> ParseQueryString(std::string_view query);

// Every value of `name` and of `name[]`, in order (group_by[]=a&group_by=b).
std::vector<std::string> ParamValues(const QueryParams& params, std::string_view name);
// The first value of `name` (or `name[]`).
std::optional<std::string> ParamValue(const QueryParams& params, std::string_view name);

// A base-10 integer, nothing else.
std::optional<int64_t> ParseInteger(std::string_view text);

// "2025-08-01T00:00:00Z", "2025-08-01T02:00:00.5+02:00", ... (RFC 3339 date-time;
// 't'/'z' in either case, a fraction of up to 9 digits kept to the microsecond,
// which spans years 0000-9999).
std::optional<std::chrono::sys_time<std::chrono::microseconds>> ParseRfc3339(std::string_view text);
// "2025-08-01T00:00:00Z".
std::string FormatRfc3339(std::chrono::sys_seconds time);

// "page_" + base64 of the RFC 3339 start of the page's first day, like the
// cursors Anthropic sends; clients must treat it as opaque.
std::string EncodePageToken(std::chrono::sys_days first_day);
std::optional<std::chrono::sys_days> DecodePageToken(std::string_view token);

std::string Base64Encode(std::string_view data);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace llm_exporter::fake_vendor
