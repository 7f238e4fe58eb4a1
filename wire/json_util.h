#pragma once

// Internal to wire/: defensive RapidJSON access. Every reader checks the
// JSON type before touching a value, so hostile or truncated vendor bodies can
// only produce an error value, never an assertion or undefined behaviour.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "base/json.h"

namespace llm_exporter::wire::internal {

using base::IsNullOrAbsent;
using base::kMaxJsonDepth;
using base::Member;
using base::ObjectMember;
using base::ParseJson;
using base::WithinNestingDepth;

// The member as a string if it is one.
std::optional<std::string_view> StringMember(const rapidjson::Value& object, std::string_view name);

// One reply's token count above this is nonsense (context windows hold a few
// million tokens): such a reply is invalid, and its run is booked at its worst
// case instead. It keeps every sum made downstream far from int64 overflow.
inline constexpr int64_t kMaxTokenCount = 100'000'000;

// A token count: absent or null gives nullopt; an integer in [0, 1e8] (an
// integral double such as 8.0 is accepted) gives its value; anything else is
// an error naming the field.
std::expected<std::optional<int64_t>, std::string> CountMember(const rapidjson::Value& object,
                                                               std::string_view name);

// Makes vendor text safe for a log line: control characters become spaces,
// invalid UTF-8 becomes '?', API-key-looking words become <secret>, and the
// result is cut at a code point boundary to at most `max_bytes` plus "...".
std::string ForLog(std::string_view text, size_t max_bytes);

std::string_view TrimWhitespace(std::string_view text);

// The longest short field (finish reason, stop reason) kept for logs.
inline constexpr size_t kMaxFieldBytes = 64;

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
void WriteString(JsonWriter& writer, std::string_view text);
// Opens a request object with its "model".
void StartRequest(JsonWriter& writer, std::string_view model);
// Closes the request object and returns its text.
std::string EndRequest(JsonWriter& writer, const rapidjson::StringBuffer& buffer);
// The member's string, or "" when it is absent or not a string.
std::string_view StringOrEmpty(const rapidjson::Value& object, std::string_view name);
// "messages":[{"role":"user","content":PROMPT}], into an open object.
void WriteUserMessage(JsonWriter& writer, std::string_view prompt);

}  // namespace llm_exporter::wire::internal
