#pragma once

// The configured `expect` patterns: ECMAScript regular expressions, with one
// inline flag, a leading "(?i)" for case-insensitive matching (std::regex has
// no inline flags of its own).

#include <expected>
#include <regex>
#include <string>

namespace llm_exporter::base {

// The compiled pattern, or std::regex's message for an invalid one.
std::expected<std::regex, std::string> CompilePattern(const std::string& pattern);

}  // namespace llm_exporter::base
