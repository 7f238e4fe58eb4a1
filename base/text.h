#pragma once

// ASCII text helpers for protocol tokens (HTTP header names, media types,
// billing codes): case-insensitive equality and lower-casing.

#include <string>
#include <string_view>

namespace llm_exporter::base {

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string AsciiLower(std::string_view text);

}  // namespace llm_exporter::base
