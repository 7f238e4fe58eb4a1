// The exact readers behind every billing poll: decimal money to integers
// (rounding half to even), counts, days and URL pieces.

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <limits>
#include <optional>
#include <ostream>

#include "probes/billing/billing_json.h"
#include "tests/unit/probes/print_optional.h"

namespace llm_exporter::probes::billing::internal {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;

BOOST_AUTO_TEST_SUITE(billing_money)

BOOST_AUTO_TEST_CASE(scales_decimal_text_exactly) {
  BOOST_TEST(ScaleDecimal("0.06", 9) == 60'000'000);
  BOOST_TEST(ScaleDecimal("0.1", 9) == 100'000'000);
  BOOST_TEST(ScaleDecimal("1", 9) == 1'000'000'000);
  BOOST_TEST(ScaleDecimal("25.0", 9) == 25'000'000'000);
  BOOST_TEST(ScaleDecimal("110.00", 9) == 110'000'000'000);
  BOOST_TEST(ScaleDecimal("00012.50", 2) == 1250);
  BOOST_TEST(ScaleDecimal("0", 9) == 0);
  BOOST_TEST(ScaleDecimal("-0", 9) == 0);
  BOOST_TEST(ScaleDecimal("-1.5", 9) == -1'500'000'000);
  // Anthropic cents: "123.78912" cents = $1.2378912.
  BOOST_TEST(ScaleDecimal("123.78912", 7) == 1'237'891'200);
  // Gateway cents: 1234.5678 cents = $12.345678.
  BOOST_TEST(ScaleDecimal("1234.5678", 7) == 12'345'678'000);
}

BOOST_AUTO_TEST_CASE(reads_exponents) {
  BOOST_TEST(ScaleDecimal("1e-3", 9) == 1'000'000);
  BOOST_TEST(ScaleDecimal("2E+2", 0) == 200);
  BOOST_TEST(ScaleDecimal("1.5e1", 0) == 15);
  BOOST_TEST(ScaleDecimal("6e-2", 9) == 60'000'000);
  BOOST_TEST(ScaleDecimal("1e-400", 9) == 0);
}

BOOST_AUTO_TEST_CASE(rounds_half_to_even_below_the_unit) {
  BOOST_TEST(ScaleDecimal("0.0000000015", 9) == 2);
  BOOST_TEST(ScaleDecimal("0.0000000025", 9) == 2);
  BOOST_TEST(ScaleDecimal("0.0000000035", 9) == 4);
  BOOST_TEST(ScaleDecimal("0.00000000250001", 9) == 3);
  BOOST_TEST(ScaleDecimal("0.0000000024999", 9) == 2);
  BOOST_TEST(ScaleDecimal("0.0000000005", 9) == 0);
  BOOST_TEST(ScaleDecimal("0.0000000005000001", 9) == 1);
  BOOST_TEST(ScaleDecimal("0.00000000049", 9) == 0);
  BOOST_TEST(ScaleDecimal("0.00000000001", 9) == 0);
  BOOST_TEST(ScaleDecimal("-0.0000000015", 9) == -2);
  BOOST_TEST(ScaleDecimal("1.23456789012", 9) == 1'234'567'890);
  BOOST_TEST(ScaleDecimal("0.123456789", 7) == 1'234'568);
}

BOOST_AUTO_TEST_CASE(refuses_overflow) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  BOOST_TEST(ScaleDecimal("9223372036.854775807", 9) == kMax);
  BOOST_TEST(ScaleDecimal("-9223372036.854775807", 9) == -kMax);
  BOOST_TEST(!ScaleDecimal("9223372036.854775808", 9).has_value());
  BOOST_TEST(!ScaleDecimal("9223372036.8547758075", 9).has_value());  // rounds up past the max
  BOOST_TEST(!ScaleDecimal("1e30", 9).has_value());
  BOOST_TEST(!ScaleDecimal("99999999999999999999", 0).has_value());
}

BOOST_AUTO_TEST_CASE(refuses_malformed_text) {
  for (const char* text : {"", "-", ".5", "5.", "1.2.3", "0x10", " 1", "1 ", "+1", "1e", "1e+",
                           "NaN", "Infinity", "1,5", "1_000", "--1", "12abc"}) {
    BOOST_TEST_CONTEXT(text) { BOOST_TEST(!ScaleDecimal(text, 9).has_value()); }
  }
  BOOST_TEST(!ScaleDecimal(std::string(65, '1'), 0).has_value());
}

BOOST_AUTO_TEST_CASE(money_and_count_members_read_numbers_and_strings_alike) {
  rapidjson::Document doc;
  BOOST_REQUIRE(ParseJsonKeepingNumbers(
                    R"({"a":5,"b":"7","c":8.0,"d":-1,"e":1.5,"f":null,"g":true,"h":9007199254740993,
                        "m":0.1,"n":"0.2","o":{"x":1}})",
                    doc)
                    .has_value());
  const auto count = [&doc](std::string_view name) {
    auto read = CountMember(doc, name, true);
    return read ? *read : std::optional<int64_t>();
  };
  BOOST_TEST(count("a") == 5);
  BOOST_TEST(count("b") == 7);
  BOOST_TEST(count("c") == 8);
  BOOST_TEST(!CountMember(doc, "d", true).has_value());
  BOOST_TEST(!CountMember(doc, "e", true).has_value());
  BOOST_TEST(!CountMember(doc, "f", true).has_value());
  BOOST_TEST(!CountMember(doc, "f", false)->has_value());
  BOOST_TEST(!CountMember(doc, "absent", false)->has_value());
  BOOST_TEST(CountMember(doc, "absent", true).error() == "field absent is missing");
  BOOST_TEST(!CountMember(doc, "g", true).has_value());
  BOOST_TEST(!CountMember(doc, "h", true).has_value());  // above 2^53
  BOOST_TEST(MoneyMember(doc, "m", 9, true).value_or(std::nullopt) == 100'000'000);
  BOOST_TEST(MoneyMember(doc, "n", 9, true).value_or(std::nullopt) == 200'000'000);
  BOOST_TEST(!MoneyMember(doc, "o", 9, true).has_value());
  BOOST_TEST(!MoneyMember(doc, "g", 9, true).has_value());
  BOOST_TEST(!MoneyMember(doc, "f", 9, false)->has_value());
}

BOOST_AUTO_TEST_CASE(json_keeps_number_text) {
  rapidjson::Document doc;
  BOOST_REQUIRE(ParseJsonKeepingNumbers(R"({"v":0.30000000000000004,"w":1e-7})", doc).has_value());
  BOOST_TEST(std::string(doc["v"].GetString()) == "0.30000000000000004");
  BOOST_TEST(std::string(doc["w"].GetString()) == "1e-7");
  BOOST_TEST(!ParseJsonKeepingNumbers(std::string_view("{\"a\":1}\0", 8), doc).has_value());
  BOOST_TEST(!ParseJsonKeepingNumbers("{\"a\":1} trailing", doc).has_value());
  BOOST_TEST(!ParseJsonKeepingNumbers("{\"a\":NaN}", doc).has_value());
  // Deep nesting is an error value (as for chat replies), not a stack overflow.
  BOOST_TEST(!ParseJsonKeepingNumbers(std::string(100000, '[') + std::string(100000, ']'), doc)
                  .has_value());
}

BOOST_AUTO_TEST_CASE(first_error_picks_the_first_failed_read) {
  const std::expected<int, std::string> good = 1;
  const std::expected<int, std::string> bad1 = std::unexpected("one");
  const std::expected<bool, std::string> bad2 = std::unexpected("two");
  BOOST_TEST(!FirstError(good, good).has_value());
  BOOST_TEST(*FirstError(good, bad1, bad2) == "one");
  BOOST_TEST(*FirstError(bad2, bad1) == "two");
}

BOOST_AUTO_TEST_CASE(checked_sums) {
  int64_t total = std::numeric_limits<int64_t>::max() - 1;
  BOOST_TEST(AddChecked(total, 1));
  BOOST_TEST(!AddChecked(total, 1));
  BOOST_TEST(total == std::numeric_limits<int64_t>::max());
  pricing::Usage usage{.input = 1, .output = std::numeric_limits<int64_t>::max()};
  pricing::Usage more{.input = 1, .output = 1};
  BOOST_TEST(!AddChecked(usage, more));
  BOOST_TEST(usage.input == 1);  // unchanged on overflow
}

BOOST_AUTO_TEST_CASE(days_and_timestamps) {
  BOOST_TEST(FormatDay(sys_days{2025y / 8 / 1}) == "2025-08-01");
  BOOST_TEST(FormatRfc3339(sys_days{2025y / 7 / 31}) == "2025-07-31T00:00:00Z");
  BOOST_TEST(FormatRfc3339(sys_days{2025y / 7 / 31} + 13h + 4min + 5s) == "2025-07-31T13:04:05Z");

  BOOST_TEST((Rfc3339Day("2025-08-01T00:00:00Z") == sys_days{2025y / 8 / 1}));
  BOOST_TEST((Rfc3339Day("2025-08-01T23:59:59.999Z") == sys_days{2025y / 8 / 1}));
  BOOST_TEST((Rfc3339Day("2025-08-01T23:00:00-02:00") == sys_days{2025y / 8 / 2}));
  BOOST_TEST((Rfc3339Day("2025-08-01T01:00:00+02:00") == sys_days{2025y / 7 / 31}));
  BOOST_TEST((Rfc3339Day("2025-08-01t00:00:00z") == sys_days{2025y / 8 / 1}));
  for (const char* bad :
       {"2025-08-01", "2025-02-30T00:00:00Z", "2025-08-01T00:00:00", "2025-08-01T24:00:00Z",
        "2025-08-01T00:00:00Zjunk", "2025-08-01T00:00:00+0200", "2025-08-01T00:00:00.Z", ""}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!Rfc3339Day(bad).has_value()); }
  }

  BOOST_TEST((UnixSecondsDay("1730419200") == sys_days{2024y / 11 / 1}));
  BOOST_TEST((UnixSecondsDay("1736616660") == sys_days{2025y / 1 / 11}));  // unaligned start
  BOOST_TEST(!UnixSecondsDay("-1").has_value());
  BOOST_TEST(!UnixSecondsDay("1.5").has_value());
  BOOST_TEST((UnixSecondsDay("1730419200.00") == sys_days{2024y / 11 / 1}));
  BOOST_TEST((UnixSecondsDay("1.7304192e9") == sys_days{2024y / 11 / 1}));
  BOOST_TEST(!UnixSecondsDay("99999999999999").has_value());
}

BOOST_AUTO_TEST_CASE(url_pieces) {
  BOOST_TEST(PercentEncode("page_AAAAAGdGxdEiJdKOAAAAAGcqsYA=") ==
             "page_AAAAAGdGxdEiJdKOAAAAAGcqsYA%3D");
  BOOST_TEST(PercentEncode("a+b/c d~e.f-g") == "a%2Bb%2Fc%20d~e.f-g");
  BOOST_TEST(ModelFromLineItem("gpt-4o-2024-08-06, input") == "gpt-4o-2024-08-06");
  BOOST_TEST(ModelFromLineItem("gpt-4o-2024-08-06, cached input") == "gpt-4o-2024-08-06");
  BOOST_TEST(ModelFromLineItem("Image models") == "Image models");
  BOOST_TEST(ModelFromLineItem("") == "");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::probes::billing::internal
