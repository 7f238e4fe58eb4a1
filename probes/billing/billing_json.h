#pragma once

// Internal to probes/billing: reading vendor billing JSON exactly. Documents
// are parsed with numbers kept as their text (kParseNumbersAsStringsFlag), so
// a JSON number and a JSON string look alike here and money is converted from
// decimal text to integers without ever passing through a double. Readers
// return an error message naming the field; callers turn it into
// invalid_response.

#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/utc_day.h"
#include "pricing/usage.h"

namespace llm_exporter::probes::billing::internal {

// Money in vendors' JSON is decimal text of dollars or of cents: scaled by
// 10^9 or 10^7 to nano-USD.
inline constexpr int kDollarsToNano = 9;
inline constexpr int kCentsToNano = 7;

// Parses `text` keeping numbers as text. The error names the RapidJSON error
// and offset, never echoes the body.
std::expected<void, std::string> ParseJsonKeepingNumbers(std::string_view text,
                                                         rapidjson::Document& doc);

using base::IsNullOrAbsent;
using base::Member;

// A decimal number ("-12.5", "0.000001", "1e-3") times 10^shift, rounded
// half to even to an integer: shift 9 turns dollars into nano-dollars, shift 7
// cents into nano-dollars. nullopt for malformed text or int64 overflow.
std::optional<int64_t> ScaleDecimal(std::string_view text, int shift);

// Money member (number or numeric string) scaled by 10^shift. Absent or null:
// nullopt if !required, else an error.
std::expected<std::optional<int64_t>, std::string> MoneyMember(const rapidjson::Value& object,
                                                               std::string_view name, int shift,
                                                               bool required);

// Larger counts are nonsense; refusing them keeps sums far from overflow.
inline constexpr int64_t kMaxCount = int64_t{1} << 53;

// A count member: a non-negative integer up to kMaxCount ("8.0" accepted).
// Absent or null: nullopt if !required, else an error.
std::expected<std::optional<int64_t>, std::string> CountMember(const rapidjson::Value& object,
                                                               std::string_view name,
                                                               bool required);

// String member: absent or null gives nullopt; a non-string is an error.
std::expected<std::optional<std::string_view>, std::string> StringMember(
    const rapidjson::Value& object, std::string_view name);

// Bool member: absent or null gives nullopt; a non-bool is an error.
std::expected<std::optional<bool>, std::string> BoolMember(const rapidjson::Value& object,
                                                           std::string_view name);

// The first error among several reads (std::expected<T, std::string>).
template <typename... Reads>
std::optional<std::string> FirstError(const Reads&... reads) {
  std::optional<std::string> error;
  ((error || reads.has_value() || (error = reads.error(), true)), ...);
  return error;
}

// Sums that refuse to overflow (hostile bodies).
bool AddChecked(int64_t& total, int64_t value);
bool AddChecked(pricing::Usage& total, const pricing::Usage& value);

// Days and times on the wire.
using base::FormatDay;                                                   // "2025-08-01"
std::string FormatRfc3339(std::chrono::sys_seconds time);                // "2025-08-01T00:00:00Z"
std::optional<std::chrono::sys_days> Rfc3339Day(std::string_view text);  // UTC day of a timestamp
// Unix seconds (0 .. year 9999) as a UTC day.
std::optional<std::chrono::sys_days> UnixSecondsDay(std::string_view text);

// Percent-encodes everything but RFC 3986 unreserved characters (page cursors
// are base64 and may hold '=', '+', '/').
std::string PercentEncode(std::string_view text);

// "gpt-4o-2024-08-06, input" -> "gpt-4o-2024-08-06": the text before the last
// ", "; a label without one is its own model ("Image models").
std::string ModelFromLineItem(std::string_view line_item);

}  // namespace llm_exporter::probes::billing::internal
