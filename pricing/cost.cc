#include "pricing/cost.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace llm_exporter::pricing {
namespace {

using Int128 = __int128;

int64_t NonNegative(int64_t tokens) { return std::max<int64_t>(tokens, 0); }

}  // namespace

int64_t CostNanoUsd(const PriceRow& row, const Usage& usage) {
  const int64_t input = NonNegative(usage.input);
  const int64_t cached = NonNegative(usage.cached_input);
  const int64_t write_5m = NonNegative(usage.cache_write_5m);
  const int64_t write_1h = NonNegative(usage.cache_write_1h);
  const int64_t output = NonNegative(usage.output);
  const int64_t reasoning = std::min(NonNegative(usage.reasoning), output);

  const Prices* prices = &row.prices;
  if (row.long_context) {
    const Int128 context = Int128{input} + cached + write_5m + write_1h;
    if (context > row.long_context->threshold) prices = &row.long_context->prices;
  }
  const Int128 exact =
      Int128{input} * prices->input + Int128{cached} * prices->cached_input +
      Int128{write_5m} * prices->cache_write_5m + Int128{write_1h} * prices->cache_write_1h +
      Int128{output - reasoning} * prices->output + Int128{reasoning} * prices->reasoning;

  constexpr Int128 kPerMillion = 1'000'000;
  Int128 quotient = exact / kPerMillion;
  const Int128 remainder = exact % kPerMillion;
  if (remainder * 2 > kPerMillion || (remainder * 2 == kPerMillion && quotient % 2 == 1)) {
    ++quotient;
  }
  if (quotient > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(quotient);
}

std::chrono::sys_days UtcDay(std::chrono::system_clock::time_point at) {
  return std::chrono::floor<std::chrono::days>(at);
}

std::string FormatDay(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd(day);
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buffer;
}

std::optional<std::chrono::sys_days> ParseDay(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int fields[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lengths[3] = {4, 2, 2};
  for (int f = 0; f < 3; ++f) {
    for (size_t i = starts[f]; i < starts[f] + lengths[f]; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      fields[f] = fields[f] * 10 + (text[i] - '0');
    }
  }
  const std::chrono::year_month_day ymd{std::chrono::year(fields[0]),
                                        std::chrono::month(static_cast<unsigned>(fields[1])),
                                        std::chrono::day(static_cast<unsigned>(fields[2]))};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd);
}

std::string NanoUsdToString(int64_t nano_usd, int min_fraction_digits) {
  const bool negative = nano_usd < 0;
  // Through unsigned so that INT64_MIN has a magnitude.
  const uint64_t magnitude =
      negative ? uint64_t{0} - static_cast<uint64_t>(nano_usd) : static_cast<uint64_t>(nano_usd);
  std::string whole = std::to_string(magnitude / 1'000'000'000);
  std::string fraction = std::to_string(magnitude % 1'000'000'000);
  fraction.insert(0, 9 - fraction.size(), '0');
  const size_t keep = std::max<size_t>(
      static_cast<size_t>(std::clamp(min_fraction_digits, 0, 9)),
      fraction.find_last_not_of('0') == std::string::npos ? 0 : fraction.find_last_not_of('0') + 1);
  fraction.resize(keep);
  std::string text = negative ? "-" + whole : whole;
  if (!fraction.empty()) text += "." + fraction;
  return text;
}

}  // namespace llm_exporter::pricing
