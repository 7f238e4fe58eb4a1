#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace llm_exporter::exporter {

// Escapes text for HTML element content and attribute values.
std::string HtmlEscape(std::string_view text);
// A UTC time as "2025-06-01 12:00:00Z".
std::string TimeText(std::chrono::system_clock::time_point t);

}  // namespace llm_exporter::exporter
