#include "base/regex.h"

namespace llm_exporter::base {

std::expected<std::regex, std::string> CompilePattern(const std::string& pattern) {
  std::string body = pattern;
  auto flags = std::regex::ECMAScript;
  if (body.starts_with("(?i)")) {
    body = body.substr(4);
    flags |= std::regex::icase;
  }
  try {
    return std::regex(body, flags);
  } catch (const std::regex_error& e) {
    return std::unexpected(std::string(e.what()));
  }
}

}  // namespace llm_exporter::base
