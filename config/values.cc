#include "config/values.h"

#include <array>
#include <charconv>
#include <limits>

#include "base/decimal.h"

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
  auto nano = base::ScaleSignedDecimal(text, 9, base::Rounding::kExact);
  if (!nano) return std::nullopt;
  return *nano;
}

}  // namespace llm_exporter::config
