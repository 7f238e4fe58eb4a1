#include "config/values.h"

#include <array>
#include <charconv>
#include <limits>

namespace llm_exporter::config {

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t number = 0;
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    auto [ptr, ec] = std::from_chars(text.data() + i, text.data() + text.size(), number);
    if (ec != std::errc() || ptr == text.data() + i) return std::nullopt;
    i = static_cast<size_t>(ptr - text.data());
    size_t unit_start = i;
    while (i < text.size() && text[i] >= 'a' && text[i] <= 'z') ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    int64_t factor = 0;
    if (unit == "ms")
      factor = 1;
    else if (unit == "s")
      factor = 1000;
    else if (unit == "m")
      factor = 60'000;
    else if (unit == "h")
      factor = 3'600'000;
    else if (unit == "d")
      factor = 86'400'000;
    else if (unit == "w")
      factor = 7 * 86'400'000LL;
    else
      return std::nullopt;
    if (number > std::numeric_limits<int64_t>::max() / factor - total_ms) return std::nullopt;
    total_ms += number * factor;
  }
  return Duration(total_ms);
}

std::string FormatDuration(Duration duration) {
  int64_t ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  struct Unit {
    int64_t size;
    const char* name;
  };
  constexpr std::array<Unit, 5> kUnits{
      {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}}};
  for (const Unit& unit : kUnits) {
    if (ms >= unit.size) {
      out += std::to_string(ms / unit.size) + unit.name;
      ms %= unit.size;
    }
  }
  return out;
}

std::optional<int64_t> ParseDecimalNanoUsd(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  if (text.front() == '-' || text.front() == '+') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  // Scientific notation from a shortest-round-trip double ("2e-06").
  int exponent = 0;
  if (auto e = text.find_first_of("eE"); e != std::string_view::npos) {
    auto [ptr, ec] = std::from_chars(text.data() + e + 1 + (text[e + 1] == '+' ? 1 : 0),
                                     text.data() + text.size(), exponent);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    text = text.substr(0, e);
  }
  std::string digits;
  int decimals = 0;
  bool seen_point = false;
  for (char c : text) {
    if (c == '.' && !seen_point) {
      seen_point = true;
    } else if (c >= '0' && c <= '9') {
      digits += c;
      if (seen_point) ++decimals;
    } else if (c != '_') {
      return std::nullopt;
    }
  }
  if (digits.empty()) return std::nullopt;
  int scale = 9 - decimals + exponent;  // value = digits * 10^(scale) nano
  __int128 value = 0;
  for (char c : digits) {
    value = value * 10 + (c - '0');
    if (value > (static_cast<__int128>(1) << 100)) return std::nullopt;
  }
  for (; scale > 0; --scale) value *= 10;
  for (; scale < 0; ++scale) {
    if (value % 10 != 0) return std::nullopt;  // finer than a nano-dollar
    value /= 10;
  }
  if (value > std::numeric_limits<int64_t>::max()) return std::nullopt;
  return negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
}

std::string ShortestDecimal(double value) {
  std::array<char, 64> buffer{};
  auto [ptr, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (ec != std::errc()) return "nan";
  return std::string(buffer.data(), ptr);
}

}  // namespace llm_exporter::config
