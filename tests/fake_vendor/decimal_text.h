#pragma once

// Exact decimal text of scaled integers, for money in JSON: value / 10^scale
// written digit by digit (never through a double), trailing zeros trimmed down
// to `min_fraction_digits`. DecimalText(123, 9, 0) = "0.000000123",
// DecimalText(25'000'000'000, 9, 2) = "25.00", DecimalText(-5, 1, 0) = "-0.5".
// The fake vendor writes nano-USD as dollars (scale 9) and as cents (scale 7).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llm_exporter::fake_vendor {

std::string DecimalText(int64_t value, int scale, int min_fraction_digits = 0);

// The other way: decimal text ("1.5", "-0.25", "12") times 10^scale, exactly;
// nullopt for anything else (exponents, more than `scale` fraction digits,
// values beyond about 9.2e18).
std::optional<int64_t> ParseDecimalText(std::string_view text, int scale);

inline std::string DollarsText(int64_t nano_usd, int min_fraction_digits = 0) {
  return DecimalText(nano_usd, 9, min_fraction_digits);
}
inline std::string CentsText(int64_t nano_usd, int min_fraction_digits = 0) {
  return DecimalText(nano_usd, 7, min_fraction_digits);
}

}  // namespace llm_exporter::fake_vendor
