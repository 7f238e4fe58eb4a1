#include "base/text.h"

namespace llm_exporter::base {

namespace {
// ASCII only, whatever the locale (header names, protocol words).
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = Lower(c);
  return out;
}

AsciiLowered::AsciiLowered(std::string_view text) {
  if (text.size() > sizeof small_) {
    large_ = AsciiLower(text);
    view_ = large_;
    return;
  }
  for (size_t i = 0; i < text.size(); ++i) small_[i] = Lower(text[i]);
  view_ = std::string_view(small_, text.size());
}

}  // namespace llm_exporter::base
