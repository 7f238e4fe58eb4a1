#pragma once

// Checked access to JSON from vendors: parsing that never echoes the body and
// bounds nesting, and member lookups that return null instead of asserting
// (RapidJSON's operator[] asserts on a missing member).

#include <rapidjson/document.h>

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace llm_exporter::base {

// Vendor bodies nest about six levels deep; deeper input is refused.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` into `doc`, numbers kept as their text when `numbers_as_text`
// (money). The error names the RapidJSON error and offset, never the body.
std::expected<void, std::string> ParseJson(std::string_view text, rapidjson::Document& doc,
                                           bool numbers_as_text = false);

// True if no array/object in `text` nests deeper than `max_depth`. Strings
// are skipped, so brackets inside them do not count.
bool WithinNestingDepth(std::string_view text, int max_depth);

// The JSON object at the start of `text`, built into `out` without RapidJSON's
// reader, when it keeps to the subset a vendor's usage object is written in:
// objects nested at most kSimpleObjectDepth deep, keys and strings of
// printable ASCII without escapes, integers of at most 18 digits without
// fraction or exponent, true, false and null. Strings point into `text`,
// which must outlive `out`. Returns the offset just past the object, or
// nullopt for anything else (arrays, escapes, fractions, bad JSON): the caller
// then parses with RapidJSON, whose result equals this one on the subset
// (same members in the same order, same number types).
inline constexpr int kSimpleObjectDepth = 8;
std::optional<size_t> ParseSimpleObject(std::string_view text, rapidjson::Value& out,
                                        rapidjson::MemoryPoolAllocator<>& allocator);

// `object[name]` if `object` is an object that has the member, else nullptr.
const rapidjson::Value* Member(const rapidjson::Value& object, std::string_view name);
// Like Member but only returns objects.
const rapidjson::Value* ObjectMember(const rapidjson::Value& object, std::string_view name);
bool IsNullOrAbsent(const rapidjson::Value& object, std::string_view name);

}  // namespace llm_exporter::base
