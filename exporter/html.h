#pragma once

#include <string>
#include <string_view>

namespace llm_exporter::exporter {

// Escapes text for HTML element content and attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace llm_exporter::exporter
