#include "pricing/cost.h"

#include <boost/test/unit_test.hpp>
#include <limits>

namespace llm_exporter::pricing {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::sys_days;

constexpr int64_t kNanoPerUsd = 1'000'000'000;

// USD per million tokens to nano-USD per million tokens, for readable tables.
constexpr int64_t Usd(double whole, int64_t nano_fraction = 0) {
  return static_cast<int64_t>(whole) * kNanoPerUsd + nano_fraction;
}

PriceRow SonnetLike() {
  PriceRow row;
  row.table = "anthropic";
  row.model = "claude-sonnet-4-5";
  row.prices = Prices{.input = Usd(3),
                      .cached_input = 300'000'000,
                      .cache_write_5m = 3'750'000'000,
                      .cache_write_1h = Usd(6),
                      .output = Usd(15),
                      .reasoning = Usd(15)};
  row.long_context = LongContextTier{200'000, Prices{.input = Usd(6),
                                                     .cached_input = 600'000'000,
                                                     .cache_write_5m = 7'500'000'000,
                                                     .cache_write_1h = Usd(12),
                                                     .output = 22'500'000'000,
                                                     .reasoning = 22'500'000'000}};
  return row;
}

// A vendor that prices reasoning output apart from visible output.
PriceRow ReasoningPriced() {
  PriceRow row;
  row.prices = Prices{.input = Usd(1),
                      .cached_input = Usd(1),
                      .cache_write_5m = Usd(1),
                      .cache_write_1h = Usd(1),
                      .output = Usd(2),
                      .reasoning = Usd(5)};
  return row;
}

struct CostCase {
  std::string_view name;
  PriceRow row;
  Usage usage;
  int64_t want_nano;
};

BOOST_AUTO_TEST_SUITE(cost)

BOOST_AUTO_TEST_CASE(prices_each_token_type) {
  const CostCase cases[] = {
      {"input and output", SonnetLike(), {.input = 1000, .output = 500}, 10'500'000},
      {"cached input", SonnetLike(), {.input = 100, .cached_input = 900}, 300'000 + 270'000},
      {"5-minute cache write", SonnetLike(), {.cache_write_5m = 1000}, 3'750'000},
      {"1-hour cache write", SonnetLike(), {.cache_write_1h = 1000}, 6'000'000},
      {"all types",
       SonnetLike(),
       {.input = 10, .cached_input = 20, .cache_write_5m = 30, .cache_write_1h = 40, .output = 50},
       30'000 + 6'000 + 112'500 + 240'000 + 750'000},
      {"reasoning at the output price by default",
       SonnetLike(),
       {.output = 100, .reasoning = 60},
       1'500'000},
      {"reasoning at its own price", ReasoningPriced(), {.output = 100, .reasoning = 60}, 380'000},
      {"reasoning capped at output", ReasoningPriced(), {.output = 10, .reasoning = 60}, 50'000},
      {"negative counts are zero", SonnetLike(), {.input = -5, .output = 1}, 15'000},
      {"long context: exactly the threshold is not above",
       SonnetLike(),
       {.input = 150'000, .cached_input = 50'000, .output = 1000},
       450'000'000 + 15'000'000 + 15'000'000},
      {"long context: one token above prices the whole request at the tier",
       SonnetLike(),
       {.input = 150'001, .cached_input = 50'000, .output = 1000},
       900'006'000 + 30'000'000 + 22'500'000},
      {"long context counts cache writes",
       SonnetLike(),
       {.input = 1, .cache_write_5m = 100'000, .cache_write_1h = 100'000},
       6'000 + 750'000'000 + 1'200'000'000},
      {"zero usage", SonnetLike(), {}, 0},
  };
  for (const CostCase& c : cases) {
    BOOST_TEST_CONTEXT(c.name) { BOOST_TEST(CostNanoUsd(c.row, c.usage) == c.want_nano); }
  }
}

// One rule: the request's whole exact cost is rounded half to even, once.
BOOST_AUTO_TEST_CASE(rounds_half_to_even_once_per_request) {
  struct RoundingCase {
    int64_t input_price_nano;  // per million tokens
    Usage usage;
    int64_t want_nano;
  };
  const RoundingCase cases[] = {
      {500'000, {.input = 1}, 0},               // 0.5 -> 0
      {1'500'000, {.input = 1}, 2},             // 1.5 -> 2
      {2'500'000, {.input = 1}, 2},             // 2.5 -> 2
      {3'500'000, {.input = 1}, 4},             // 3.5 -> 4
      {500'001, {.input = 1}, 1},               // 0.500001 -> 1
      {499'999, {.input = 1}, 0},               // 0.499999 -> 0
      {1'499'999, {.input = 1}, 1},             // 1.499999 -> 1
      {500'000, {.input = 1, .output = 1}, 1},  // 0.5 + 0.5 = 1: never rounded per type
      {500'000, {.input = 3}, 2},               // 1.5 -> 2
  };
  for (const RoundingCase& c : cases) {
    PriceRow row;
    row.prices = Prices{.input = c.input_price_nano,
                        .cached_input = c.input_price_nano,
                        .cache_write_5m = c.input_price_nano,
                        .cache_write_1h = c.input_price_nano,
                        .output = c.input_price_nano,
                        .reasoning = c.input_price_nano};
    BOOST_TEST_CONTEXT("price " << c.input_price_nano << " input " << c.usage.input << " output "
                                << c.usage.output) {
      BOOST_TEST(CostNanoUsd(row, c.usage) == c.want_nano);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_million_one_token_requests_sum_to_a_cent) {
  PriceRow row;
  row.prices.input = 10'000'000;  // USD 0.01 per million tokens
  int64_t total = 0;
  for (int i = 0; i < 1'000'000; ++i) total += CostNanoUsd(row, Usage{.input = 1});
  BOOST_TEST(total == 10'000'000);  // USD 0.01
  BOOST_TEST(NanoUsdToString(total) == "0.01");
}

BOOST_AUTO_TEST_CASE(saturates_instead_of_overflowing) {
  PriceRow row;
  row.prices.input = 1'000'000'000'000'000;  // the largest accepted price
  const int64_t max = std::numeric_limits<int64_t>::max();
  BOOST_TEST(CostNanoUsd(row, Usage{.input = max}) == max);
}

BOOST_AUTO_TEST_CASE(utc_day_of_a_time_point) {
  const sys_days day = sys_days(std::chrono::year(2025) / 3 / 1);
  BOOST_TEST((UtcDay(day) == day));
  BOOST_TEST((UtcDay(day - seconds(1)) == day - days(1)));
  BOOST_TEST((UtcDay(day + hours(23) + std::chrono::minutes(59) + seconds(59)) == day));
  BOOST_TEST((UtcDay(sys_days{} - seconds(1)) == sys_days{} - days(1)));
  BOOST_TEST(FormatDay(day) == "2025-03-01");
  BOOST_TEST((ParseDay("2025-03-01") == std::optional<sys_days>(day)));
  BOOST_TEST(!ParseDay("2025-02-30").has_value());
  BOOST_TEST(!ParseDay("2025-3-01").has_value());
  BOOST_TEST(!ParseDay("20250301").has_value());
}

BOOST_AUTO_TEST_CASE(formats_nano_usd_exactly) {
  BOOST_TEST(NanoUsdToString(0) == "0");
  BOOST_TEST(NanoUsdToString(0, 2) == "0.00");
  BOOST_TEST(NanoUsdToString(10'000'000) == "0.01");
  BOOST_TEST(NanoUsdToString(1'500'000'000) == "1.5");
  BOOST_TEST(NanoUsdToString(1'500'000'000, 2) == "1.50");
  BOOST_TEST(NanoUsdToString(3'000'000'000) == "3");
  BOOST_TEST(NanoUsdToString(1) == "0.000000001");
  BOOST_TEST(NanoUsdToString(-1) == "-0.000000001");
  BOOST_TEST(NanoUsdToString(std::numeric_limits<int64_t>::max()) == "9223372036.854775807");
  BOOST_TEST(NanoUsdToString(std::numeric_limits<int64_t>::min()) == "-9223372036.854775808");
  BOOST_TEST(NanoToUsd(2'500'000'000) == 2.5);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::pricing
