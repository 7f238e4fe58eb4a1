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
