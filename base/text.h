#pragma once

// ASCII text helpers for protocol tokens (HTTP header names, media types,
// billing codes): case-insensitive equality and lower-casing.

#include <string>
#include <string_view>

namespace llm_exporter::base {

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string AsciiLower(std::string_view text);

// A lower-cased copy of `text`, on the stack when it is as short as header
// names are (no allocation on a request's path).
class AsciiLowered {
 public:
  explicit AsciiLowered(std::string_view text);
  AsciiLowered(const AsciiLowered&) = delete;
  AsciiLowered& operator=(const AsciiLowered&) = delete;
  std::string_view view() const { return view_; }

 private:
  char small_[64];
  std::string large_;
  std::string_view view_;
};

}  // namespace llm_exporter::base
