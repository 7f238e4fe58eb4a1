#pragma once

// Exact decimal arithmetic on the text of a number, so prices never pass
// through binary floating point: "0.000002" USD per token becomes exactly
// 2,000,000,000 nano-USD per million tokens. Doubles that arrive without their
// source text are first turned into the shortest decimal text that reads back
// as the same double (2e-06 -> "2e-06"), which is the text their author wrote
// whenever that text had at most 15 significant digits.

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace llm_exporter::base {

enum class Rounding {
  kExact,     // digits below the scale must be zero, else kTooPrecise
  kHalfEven,  // round once, half to even
};

enum class DecimalError { kSyntax, kNegative, kTooPrecise, kTooLarge };

// Reads decimal text (optional sign, digits with TOML-style underscores,
// optional fraction, optional exponent: "2.00", "1_000.5", "2e-06", "+3") and
// returns value * 10^scale as an integer in [0, max].
std::expected<int64_t, DecimalError> ScaleDecimal(std::string_view text, int scale,
                                                  Rounding rounding, int64_t max);

// The same for a number that may be negative (JSON money, config figures):
// the magnitude is scaled and rounded (half to even), then negated; at most
// int64's range either way.
std::expected<int64_t, DecimalError> ScaleSignedDecimal(std::string_view text, int scale,
                                                        Rounding rounding);

// The shortest text that reads back as `value` (std::to_chars round trip).
std::string ShortestDecimal(double value);

}  // namespace llm_exporter::base
