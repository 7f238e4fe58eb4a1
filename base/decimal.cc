#include "base/decimal.h"

#include <charconv>
#include <cstddef>
#include <limits>

namespace llm_exporter::base {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Appends the digits of text[pos..] while they are digits or underscores.
size_t ReadDigits(std::string_view text, size_t pos, std::string& digits) {
  while (pos < text.size() && (IsDigit(text[pos]) || text[pos] == '_')) {
    if (text[pos] != '_') digits.push_back(text[pos]);
    ++pos;
  }
  return pos;
}

}  // namespace

std::expected<int64_t, DecimalError> ScaleDecimal(std::string_view text, int scale,
                                                  Rounding rounding, int64_t max) {
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    negative = text[pos] == '-';
    ++pos;
  }
  std::string digits;
  const size_t int_start = pos;
  pos = ReadDigits(text, pos, digits);
  const bool has_int = pos > int_start;
  int64_t exponent = 0;
  bool has_fraction = false;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t before = digits.size();
    pos = ReadDigits(text, pos, digits);
    has_fraction = digits.size() > before;
    exponent -= static_cast<int64_t>(digits.size() - before);
  }
  if (!has_int && !has_fraction) return std::unexpected(DecimalError::kSyntax);
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    bool exp_negative = false;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      exp_negative = text[pos] == '-';
      ++pos;
    }
    std::string exp_digits;
    pos = ReadDigits(text, pos, exp_digits);
    if (exp_digits.empty() || exp_digits.size() > 6) return std::unexpected(DecimalError::kSyntax);
    int64_t value = 0;
    for (char c : exp_digits) value = value * 10 + (c - '0');
    exponent += exp_negative ? -value : value;
  }
  if (pos != text.size()) return std::unexpected(DecimalError::kSyntax);

  const size_t first_nonzero = digits.find_first_not_of('0');
  if (first_nonzero == std::string::npos) return 0;  // also "-0"
  if (negative) return std::unexpected(DecimalError::kNegative);
  digits.erase(0, first_nonzero);
  while (digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  exponent += scale;

  // Now value * 10^scale == digits * 10^exponent, digits without leading or
  // trailing zeros.
  const int64_t length = static_cast<int64_t>(digits.size());
  if (length + exponent > 19) return std::unexpected(DecimalError::kTooLarge);
  unsigned __int128 kept = 0;
  bool round_up = false;
  if (exponent >= 0) {
    for (char c : digits) kept = kept * 10 + static_cast<unsigned>(c - '0');
    for (int64_t i = 0; i < exponent; ++i) kept *= 10;
  } else {
    if (rounding == Rounding::kExact) return std::unexpected(DecimalError::kTooPrecise);
    const int64_t keep = length + exponent;  // digits left of the cut; may be <= 0
    for (int64_t i = 0; i < keep; ++i) kept = kept * 10 + static_cast<unsigned>(digits[i] - '0');
    // The dropped part is non-zero (no trailing zeros), so compare it to one half.
    if (keep < 0) {
      round_up = false;  // below 0.1 of the unit: less than half
    } else {
      const char first_dropped = digits[keep];
      const bool rest_nonzero = keep + 1 < length;
      if (first_dropped > '5' || (first_dropped == '5' && rest_nonzero)) {
        round_up = true;
      } else if (first_dropped == '5') {
        round_up = (kept % 2) == 1;
      }
    }
  }
  if (round_up) ++kept;
  if (kept > static_cast<unsigned __int128>(max)) return std::unexpected(DecimalError::kTooLarge);
  return static_cast<int64_t>(kept);
}

std::expected<int64_t, DecimalError> ScaleSignedDecimal(std::string_view text, int scale,
                                                        Rounding rounding) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (!text.empty() && (text.front() == '-' || text.front() == '+') && negative) {
    return std::unexpected(DecimalError::kSyntax);
  }
  auto magnitude = ScaleDecimal(text, scale, rounding, std::numeric_limits<int64_t>::max());
  if (!magnitude) return magnitude;
  return negative ? -*magnitude : *magnitude;
}

std::string ShortestDecimal(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

}  // namespace llm_exporter::base
