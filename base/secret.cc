#include "base/secret.h"

#include <algorithm>
#include <string_view>

namespace llm_exporter::base {

std::ostream& operator<<(std::ostream& out, const Secret&) { return out << "<secret>"; }

std::string Secret::Redact(std::string text) const {
  if (value_.empty()) return text;
  for (size_t at = text.find(value_); at != std::string::npos; at = text.find(value_, at)) {
    text.replace(at, value_.size(), "<secret>");
    at += 8;
  }
  // Text cut short for a log line may end inside the key: a tail (before a
  // "..." marking the cut) that is the start of the key is a key too.
  constexpr std::string_view kEllipsis = "...";
  size_t end = text.size();
  if (std::string_view(text).ends_with(kEllipsis)) end -= kEllipsis.size();
  constexpr size_t kMinTail = 4;
  for (size_t length = std::min(end, value_.size() - 1); length >= kMinTail; --length) {
    if (std::string_view(text).substr(end - length, length) ==
        std::string_view(value_).substr(0, length)) {
      text.replace(end - length, length, "<secret>");
      break;
    }
  }
  return text;
}

}  // namespace llm_exporter::base
