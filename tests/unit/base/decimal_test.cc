#include "base/decimal.h"

#include <boost/test/unit_test.hpp>
#include <limits>

namespace llm_exporter::base {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct ScaleCase {
  std::string_view text;
  int scale;
  Rounding rounding;
  std::expected<int64_t, DecimalError> want;
};

BOOST_AUTO_TEST_SUITE(decimal)

BOOST_AUTO_TEST_CASE(scales_decimal_text_exactly) {
  const ScaleCase cases[] = {
      {"2.00", 9, Rounding::kExact, 2'000'000'000},
      {"0.025", 9, Rounding::kExact, 25'000'000},
      {"1_000.000_001", 9, Rounding::kExact, 1'000'000'001'000},
      {"+3", 9, Rounding::kExact, 3'000'000'000},
      {"25e-1", 9, Rounding::kExact, 2'500'000'000},
      {"0.5E+1", 0, Rounding::kExact, 5},
      {".5", 1, Rounding::kExact, 5},
      {"0", 9, Rounding::kExact, 0},
      {"-0.0", 9, Rounding::kExact, 0},
      // LiteLLM per-token prices to nano-USD per million tokens.
      {"2e-06", 15, Rounding::kExact, 2'000'000'000},
      {"0.000002", 15, Rounding::kExact, 2'000'000'000},
      {"1.25e-07", 15, Rounding::kExact, 125'000'000},
      {"2.8e-08", 15, Rounding::kExact, 28'000'000},
      // Finer than the unit: exact refuses, half-even rounds once.
      {"0.0000000001", 9, Rounding::kExact, std::unexpected(DecimalError::kTooPrecise)},
      {"0.0000000001", 9, Rounding::kHalfEven, 0},
      {"0.5", 0, Rounding::kHalfEven, 0},
      {"1.5", 0, Rounding::kHalfEven, 2},
      {"2.5", 0, Rounding::kHalfEven, 2},
      {"2.5000001", 0, Rounding::kHalfEven, 3},
      {"2.4999999", 0, Rounding::kHalfEven, 2},
      {"0.05", 0, Rounding::kHalfEven, 0},
      {"1.4999999999999999e-07", 15, Rounding::kHalfEven, 150'000'000},
      // Errors.
      {"-1", 9, Rounding::kExact, std::unexpected(DecimalError::kNegative)},
      {"-0.000001", 9, Rounding::kExact, std::unexpected(DecimalError::kNegative)},
      {"", 9, Rounding::kExact, std::unexpected(DecimalError::kSyntax)},
      {".", 9, Rounding::kExact, std::unexpected(DecimalError::kSyntax)},
      {"1.2.3", 9, Rounding::kExact, std::unexpected(DecimalError::kSyntax)},
      {"abc", 9, Rounding::kExact, std::unexpected(DecimalError::kSyntax)},
      {"1e", 9, Rounding::kExact, std::unexpected(DecimalError::kSyntax)},
      {"inf", 9, Rounding::kExact, std::unexpected(DecimalError::kSyntax)},
      {"1e400", 0, Rounding::kExact, std::unexpected(DecimalError::kTooLarge)},
      {"9223372036854775807", 0, Rounding::kExact, kMax},
      {"9223372036854775808", 0, Rounding::kExact, std::unexpected(DecimalError::kTooLarge)},
      {"99999999999999999999", 0, Rounding::kExact, std::unexpected(DecimalError::kTooLarge)},
  };
  for (const ScaleCase& c : cases) {
    BOOST_TEST_CONTEXT("text \"" << c.text << "\" scale " << c.scale) {
      const auto got = ScaleDecimal(c.text, c.scale, c.rounding, kMax);
      BOOST_TEST(got.has_value() == c.want.has_value());
      if (got && c.want) BOOST_TEST(*got == *c.want);
      if (!got && !c.want)
        BOOST_TEST(static_cast<int>(got.error()) == static_cast<int>(c.want.error()));
    }
  }
}

BOOST_AUTO_TEST_CASE(respects_the_maximum) {
  BOOST_TEST(ScaleDecimal("1000000", 9, Rounding::kExact, 1'000'000'000'000'000).value() ==
             1'000'000'000'000'000);
  BOOST_TEST(
      (ScaleDecimal("1000000.000000001", 9, Rounding::kExact, 1'000'000'000'000'000).error() ==
       DecimalError::kTooLarge));
}

BOOST_AUTO_TEST_CASE(shortest_decimal_round_trips) {
  BOOST_TEST(ShortestDecimal(2e-06) == "2e-06");
  BOOST_TEST(ShortestDecimal(0.1) == "0.1");
  BOOST_TEST(ShortestDecimal(1.25e-07) == "1.25e-07");
  BOOST_TEST(ShortestDecimal(0.000168) == "0.000168");
  BOOST_TEST(ShortestDecimal(3.0) == "3");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::base
