#include "tests/fake_vendor/decimal_text.h"

#include <algorithm>
#include <limits>

namespace llm_exporter::fake_vendor {

std::string DecimalText(int64_t value, int scale, int min_fraction_digits) {
  scale = std::clamp(scale, 0, 18);
  const bool negative = value < 0;
  // Through unsigned so that INT64_MIN has a magnitude.
  const uint64_t magnitude =
      negative ? uint64_t{0} - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  uint64_t unit = 1;
  for (int i = 0; i < scale; ++i) unit *= 10;
  std::string fraction = std::to_string(magnitude % unit);
  fraction.insert(0, static_cast<size_t>(scale) - std::min(fraction.size(), size_t(scale)), '0');
  if (scale == 0) fraction.clear();
  const size_t last = fraction.find_last_not_of('0');
  const size_t significant = last == std::string::npos ? 0 : last + 1;
  fraction.resize(
      std::max(significant, static_cast<size_t>(std::clamp(min_fraction_digits, 0, scale))));
  std::string text = negative ? "-" : "";
  text += std::to_string(magnitude / unit);
  if (!fraction.empty()) text += "." + fraction;
  return text;
}

std::optional<int64_t> ParseDecimalText(std::string_view text, int scale) {
  const bool negative = text.starts_with('-');
  if (negative) text.remove_prefix(1);
  __int128 value = 0;
  int fraction = -1;
  bool any_digit = false;
  for (char c : text) {
    if (c == '.' && fraction < 0) {
      fraction = 0;
      continue;
    }
    if (c < '0' || c > '9' || fraction >= scale) return std::nullopt;
    value = value * 10 + (c - '0');
    any_digit = true;
    if (fraction >= 0) ++fraction;
    if (value > (__int128{1} << 100)) return std::nullopt;
  }
  if (!any_digit || fraction == 0) return std::nullopt;
  for (int i = std::max(fraction, 0); i < scale; ++i) value *= 10;
  if (value > std::numeric_limits<int64_t>::max()) return std::nullopt;
  return static_cast<int64_t>(negative ? -value : value);
}

}  // namespace llm_exporter::fake_vendor
