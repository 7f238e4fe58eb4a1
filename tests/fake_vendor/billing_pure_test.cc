// Unit tests of the fake vendor's billing parts: money text, the pricer and its
// skew arithmetic, query strings and times, report validation and rendering,
// and the balance bodies.

#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "base/decimal.h"
#include "pricing/cost.h"
#include "pricing/price_book.h"
#include "tests/fake_vendor/billing_query.h"
#include "tests/fake_vendor/billing_reports.h"
#include "tests/fake_vendor/decimal_text.h"
#include "tests/fake_vendor/test_support.h"
#include "tests/fake_vendor/vendor_pricer.h"

namespace llm_exporter::fake_vendor {
namespace {

using testing::Tokens;

using namespace std::chrono_literals;
using std::chrono::sys_days;
using std::chrono::system_clock;

// Numbers stay text so that money is compared exactly.
rapidjson::Document ParseExact(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(json.data(), json.size());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject(), "not a JSON object: " << json);
  return doc;
}

std::string Text(const rapidjson::Value& value) {
  BOOST_REQUIRE(value.IsString());
  return std::string(value.GetString(), value.GetStringLength());
}

int64_t Integer(const rapidjson::Value& value) { return std::stoll(Text(value)); }

// Exact nano-units of decimal text scaled by 10^scale (9: dollars, 7: cents).
int64_t Nano(const rapidjson::Value& value, int scale) {
  const auto parsed = base::ScaleDecimal(Text(value), scale, base::Rounding::kExact,
                                         std::numeric_limits<int64_t>::max());
  BOOST_REQUIRE_MESSAGE(parsed, "not exact decimal money: " << Text(value));
  return *parsed;
}

int64_t Unix(system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

const sys_days kToday = sys_days(std::chrono::year(2025) / 6 / 10);
const system_clock::time_point kNow = kToday + 12h;

QueryParams Query(std::string_view text) {
  auto params = ParseQueryString(text);
  BOOST_REQUIRE_MESSAGE(params, params.error());
  return *params;
}

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(decimal_text)

BOOST_AUTO_TEST_CASE(exact_text_of_scaled_integers) {
  BOOST_TEST(DecimalText(0, 9) == "0");
  BOOST_TEST(DecimalText(0, 9, 1) == "0.0");
  BOOST_TEST(DollarsText(123) == "0.000000123");
  BOOST_TEST(DollarsText(25'000'000'000, 2) == "25.00");
  BOOST_TEST(DollarsText(1'500'000'000) == "1.5");
  BOOST_TEST(DollarsText(21'000, 1) == "0.000021");
  BOOST_TEST(DecimalText(-5, 1) == "-0.5");
  BOOST_TEST(DecimalText(7, 0, 2) == "7");
  BOOST_TEST(CentsText(123) == "0.0000123");
  BOOST_TEST(CentsText(12'345'678'900) == "1234.56789");
  BOOST_TEST(DollarsText(std::numeric_limits<int64_t>::min()) == "-9223372036.854775808");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(vendor_pricer)

BOOST_AUTO_TEST_CASE(skew_factors_are_exact_decimals) {
  BOOST_TEST(ParseSkewFactor("1.5").value() == 1'500'000'000);
  BOOST_TEST(ParseSkewFactor("0").value() == 0);
  BOOST_TEST(ParseSkewFactor("1000").value() == kMaxSkew);
  BOOST_TEST(ParseSkewFactor("0.2").value() == 200'000'000);
  BOOST_TEST(ParseSkewFactor("0.000000001").value() == 1);
  for (std::string_view bad : {"-1", "1000.000000001", "1.0000000001", "abc", "", "2e-1"}) {
    BOOST_TEST(!ParseSkewFactor(bad).has_value(), bad);
  }
  const auto assignment = ParseSkewAssignment("fake-gpt=1.5");
  BOOST_REQUIRE(assignment);
  BOOST_TEST(assignment->first == "fake-gpt");
  BOOST_TEST(assignment->second == 1'500'000'000);
  BOOST_TEST(ParseSkewAssignment("a=b=2").value().first == "a=b");
  for (std::string_view bad : {"=2", "gpt", "gpt=", "gpt=x"}) {
    BOOST_TEST(!ParseSkewAssignment(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(skew_rounds_half_to_even_on_integer_nano_usd) {
  BOOST_TEST(ApplySkew(21'000, 1'500'000'000) == 31'500);
  BOOST_TEST(ApplySkew(3, 500'000'000) == 2);  // 1.5
  BOOST_TEST(ApplySkew(5, 500'000'000) == 2);  // 2.5
  BOOST_TEST(ApplySkew(7, 500'000'000) == 4);  // 3.5
  BOOST_TEST(ApplySkew(1, 1) == 0);
  BOOST_TEST(ApplySkew(100, kUnitSkew) == 100);
  BOOST_TEST(ApplySkew(10, 0) == 0);
  BOOST_TEST(ApplySkew(1'000'000'007, 333'333'333) == 333'333'335);  // 333333335.33
}

BOOST_AUTO_TEST_CASE(split_parts_add_up_to_the_total) {
  const VendorPrices fake{
      .input = 1'000'000'000, .cached_input = 250'000'000, .output = 2'000'000'000};
  const RequestTokens usage{.input = 5, .cached_input = 5, .output = 8};
  BOOST_TEST((SplitCost(fake, usage, kUnitSkew, 22'250) == CostSplit{5'000, 1'250, 16'000}));
  BOOST_TEST((SplitCost(fake, usage, 1'500'000'000, ApplySkew(22'250, 1'500'000'000)) ==
              CostSplit{7'500, 1'875, 24'000}));

  // Half a nano-USD each: the one nano-USD of the total goes to output (ties).
  const VendorPrices half{.input = 500'000, .output = 500'000};
  BOOST_TEST((SplitCost(half, {.input = 1, .output = 1}, kUnitSkew, 1) == CostSplit{0, 0, 1}));
  // Largest remainder wins: 0.3 input, 0.7 output.
  const VendorPrices uneven{.input = 300'000, .output = 700'000};
  BOOST_TEST((SplitCost(uneven, {.input = 1, .output = 1}, kUnitSkew, 1) == CostSplit{0, 0, 1}));
  BOOST_TEST((SplitCost(uneven, {.input = 2, .output = 1}, kUnitSkew, 1) == CostSplit{0, 0, 1}));
  BOOST_TEST((SplitCost(uneven, {.input = 3, .output = 1}, kUnitSkew, 2) == CostSplit{1, 0, 1}));

  // A big skew of a rounded total: the parts still add up and stay >= 0.
  const VendorPrices tiny{.input = 40'000, .output = 40'000};  // 0.04 nano-USD per token
  const int64_t ten = 10 * kUnitSkew;
  BOOST_TEST((SplitCost(tiny, {.input = 10, .output = 10}, ten, 10) == CostSplit{4, 0, 6}));
  const VendorPrices tinier{.input = 20'000, .output = 20'000};
  BOOST_TEST((SplitCost(tinier, {.input = 10, .output = 10}, ten, 0) == CostSplit{0, 0, 0}));

  // Cache writes are parts of their own.
  const VendorPrices claude{.input = 1'000'000'000,
                            .cached_input = 100'000'000,
                            .output = 2'000'000'000,
                            .cache_write_5m = 1'250'000'000,
                            .cache_write_1h = 2'000'000'000};
  const RequestTokens writes{
      .input = 18, .cached_input = 10, .output = 5, .cache_write_5m = 8, .cache_write_1h = 4};
  BOOST_TEST(RequestCostNanoUsd(claude, writes) == 47'000);
  BOOST_TEST((SplitCost(claude, writes, kUnitSkew, 47'000) ==
              CostSplit{18'000, 1'000, 10'000, 10'000, 8'000}));
  // Ties go to the later kind in a reply's order: the 1h write before the 5m one.
  const VendorPrices half_writes{.cache_write_5m = 500'000, .cache_write_1h = 500'000};
  BOOST_TEST((SplitCost(half_writes, {.cache_write_5m = 1, .cache_write_1h = 1}, kUnitSkew, 1) ==
              CostSplit{0, 0, 0, 0, 1}));

  // The property, over many requests: split exactly, and priced as the
  // exporter prices them (its CostNanoUsd, a different implementation).
  const VendorPrices prices{.input = 1'234'567,
                            .cached_input = 123'457,
                            .output = 9'876'543,
                            .cache_write_5m = 1'543'209,
                            .cache_write_1h = 2'469'135};
  pricing::PriceRow row;
  row.prices = {.input = prices.input,
                .cached_input = prices.cached_input,
                .cache_write_5m = prices.cache_write_5m,
                .cache_write_1h = prices.cache_write_1h,
                .output = prices.output,
                .reasoning = prices.output};
  uint64_t state = 42;
  auto next = [&](uint64_t bound) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return static_cast<int64_t>((state >> 33) % bound);
  };
  for (int i = 0; i < 2000; ++i) {
    // Every other request writes to the caches.
    const bool write = i % 2 == 1;
    const RequestTokens random{.input = next(5000),
                               .cached_input = next(3000),
                               .output = next(2000),
                               .cache_write_5m = write ? next(4000) : 0,
                               .cache_write_1h = write ? next(4000) : 0};
    const int64_t cost = RequestCostNanoUsd(prices, random);
    BOOST_TEST_REQUIRE(cost == pricing::CostNanoUsd(row, {.input = random.input,
                                                          .cached_input = random.cached_input,
                                                          .cache_write_5m = random.cache_write_5m,
                                                          .cache_write_1h = random.cache_write_1h,
                                                          .output = random.output}));
    const int64_t factor = next(3 * kUnitSkew);
    const int64_t total = ApplySkew(cost, factor);
    const CostSplit split = SplitCost(prices, random, factor, total);
    BOOST_TEST_REQUIRE(split.Total() == total);
    BOOST_TEST_REQUIRE((split.input >= 0 && split.cached_input >= 0 && split.output >= 0 &&
                        split.cache_write_5m >= 0 && split.cache_write_1h >= 0));
    if (!write) BOOST_TEST_REQUIRE(split.cache_write_5m + split.cache_write_1h == 0);
  }
}

BOOST_AUTO_TEST_CASE(long_context_tier_applies_to_the_split_too) {
  PriceEntry entry;
  entry.prices = {.input = 1'000'000'000, .output = 2'000'000'000};
  entry.long_context_threshold = 10;
  entry.long_context = {.input = 3'000'000'000, .output = 4'000'000'000};
  BOOST_TEST(PricesFor(entry, {.input = 10}).input == 1'000'000'000);
  BOOST_TEST(PricesFor(entry, {.input = 6, .cached_input = 5}).input == 3'000'000'000);
  // Cache writes are context too, as for the exporter.
  BOOST_TEST(PricesFor(entry, {.input = 6, .cache_write_5m = 5}).input == 3'000'000'000);
  BOOST_TEST(PricesFor(entry, {.input = 6, .cache_write_1h = 5}).input == 3'000'000'000);
  BOOST_TEST(PricesFor(entry, {.input = 5, .cache_write_5m = 3, .cache_write_1h = 2}).input ==
             1'000'000'000);
  const RequestTokens usage{.input = 11, .output = 1};
  const int64_t total = RequestCostNanoUsd(PricesFor(entry, usage), usage);
  BOOST_TEST(total == 37'000);
  BOOST_TEST(
      (SplitCost(PricesFor(entry, usage), usage, kUnitSkew, total) == CostSplit{33'000, 0, 4'000}));
}

BOOST_AUTO_TEST_CASE(prices_served_replies_from_the_fake_table) {
  auto book = PriceList::Load(LLM_EXPORTER_SOURCE_DIR "/pricing/fake_prices.toml");
  BOOST_REQUIRE(book);
  auto shared = std::make_shared<const PriceList>(std::move(*book));
  auto project = pricing::LoadPriceBook({LLM_EXPORTER_SOURCE_DIR "/pricing/fake_prices.toml"}, "");
  BOOST_REQUIRE(project);
  VendorPricer pricer(shared, "fake", {{"fake-claude", 1'500'000'000}});
  const auto at = system_clock::time_point(sys_days(std::chrono::year(2026) / 1 / 1));

  const TokenCounters gpt = Tokens(1, 10, 5, 8);
  const auto gpt_cost = pricer.Price("fake-gpt", gpt, at);
  BOOST_REQUIRE(gpt_cost);
  BOOST_TEST((*gpt_cost == CostSplit{5'000, 1'250, 16'000}));
  // The exporter's own code prices it the same.
  const pricing::PriceRow* row = project->Find("fake", "fake-gpt", at);
  BOOST_REQUIRE(row);
  BOOST_TEST(gpt_cost->Total() ==
             pricing::CostNanoUsd(*row, {.input = 5, .cached_input = 5, .output = 8}));

  const auto claude_cost = pricer.Price("fake-claude", Tokens(1, 5, 0, 5), at);
  BOOST_REQUIRE(claude_cost);
  BOOST_TEST(claude_cost->Total() == 22'500);  // (5 * 1000 + 5 * 2000) * 1.5

  // Cache writes at their own prices: 18 uncached, 10 read, 8 + 4 written.
  TokenCounters writes = Tokens(1, 40, 10, 5);
  writes.cache_write_5m_tokens = 8;
  writes.cache_write_1h_tokens = 4;
  const auto write_cost = pricer.Price("fake-claude", writes, at);
  BOOST_REQUIRE(write_cost);
  // (18 * 1000 + 10 * 100 + 8 * 1250 + 4 * 2000 + 5 * 2000) * 1.5
  BOOST_TEST((*write_cost == CostSplit{27'000, 1'500, 15'000, 15'000, 12'000}));
  const pricing::PriceRow* claude_row = project->Find("fake", "fake-claude", at);
  BOOST_REQUIRE(claude_row);
  BOOST_TEST(write_cost->Total() ==
             ApplySkew(pricing::CostNanoUsd(*claude_row, {.input = 18,
                                                          .cached_input = 10,
                                                          .cache_write_5m = 8,
                                                          .cache_write_1h = 4,
                                                          .output = 5}),
                       1'500'000'000));

  BOOST_TEST(!pricer.Price("gpt-4o-mini", gpt, at).has_value());
  BOOST_TEST(!pricer.Price("fake-gpt", gpt, sys_days(std::chrono::year(2024) / 1 / 1)));
  BOOST_TEST(!VendorPricer(nullptr, "fake", {}).Price("fake-gpt", gpt, at).has_value());
  BOOST_TEST(!VendorPricer(shared, "other", {}).Price("fake-gpt", gpt, at).has_value());

  pricer.SetSkew("fake-gpt", 2 * kUnitSkew);
  BOOST_TEST(pricer.Price("fake-gpt", gpt, at)->Total() == 44'500);
  BOOST_TEST(pricer.Skews().size() == 2u);
  pricer.SetSkew("fake-claude", kUnitSkew);  // factor 1 removes the skew
  BOOST_TEST(pricer.Price("fake-claude", Tokens(1, 5, 0, 5), at)->Total() == 15'000);
  BOOST_TEST((pricer.Skews() == SkewMap{{"fake-gpt", 2 * kUnitSkew}}));
  pricer.ResetSkews();
  BOOST_TEST((pricer.Skews() == SkewMap{{"fake-claude", 1'500'000'000}}));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(billing_query)

BOOST_AUTO_TEST_CASE(query_strings_are_percent_decoded) {
  const QueryParams params = Query("a=1&group_by%5B%5D=model&group_by=x&b=hello+world&c=%41&&d");
  const QueryParams expected = {{"a", "1"},        {"group_by[]", "model"},
                                {"group_by", "x"}, {"b", "hello world"},
                                {"c", "A"},        {"d", ""}};
  BOOST_TEST((params == expected));
  BOOST_TEST((ParamValues(params, "group_by") == std::vector<std::string>{"model", "x"}));
  BOOST_TEST(ParamValue(params, "a").value() == "1");
  BOOST_TEST(!ParamValue(params, "zzz").has_value());
  BOOST_TEST(ParamValues(params, "group").empty());
  BOOST_TEST(!ParseQueryString("a=%4").has_value());
  BOOST_TEST(!ParseQueryString("a=%zz").has_value());
  BOOST_TEST(ParseQueryString("").value().empty());
}

BOOST_AUTO_TEST_CASE(rfc3339_times) {
  using std::chrono::sys_seconds;
  const sys_days august = sys_days(std::chrono::year(2025) / 8 / 1);
  BOOST_TEST((ParseRfc3339("2025-08-01T00:00:00Z").value() == august));
  BOOST_TEST((ParseRfc3339("2025-08-01T02:30:00+02:00").value() == august + 30min));
  BOOST_TEST((ParseRfc3339("2025-07-31T23:00:00-01:00").value() == august));
  BOOST_TEST((ParseRfc3339("2025-08-01t00:00:00.5z").value() == august + 500ms));
  BOOST_TEST((ParseRfc3339("2025-08-01T00:00:00.123456789Z").value() ==
              august + std::chrono::microseconds(123'456)));
  BOOST_TEST((ParseRfc3339("9999-12-31T23:59:59Z").value() ==
              sys_days(std::chrono::year(10000) / 1 / 1) - 1s));
  for (std::string_view bad :
       {"2025-08-01", "2025-02-30T00:00:00Z", "2025-08-01T24:00:00Z", "2025-08-01T00:00:00",
        "2025-08-01T00:00:00.Z", "2025-08-01T00:00:00.1234567891Z", "2025-08-01 00:00:00Z",
        "1754006400", "2025-08-01T00:00:00+0200"}) {
    BOOST_TEST(!ParseRfc3339(bad).has_value(), bad);
  }
  BOOST_TEST(FormatRfc3339(sys_seconds(1730419200s)) == "2024-11-01T00:00:00Z");
  BOOST_TEST(FormatRfc3339(sys_seconds(1730419200s + 3661s)) == "2024-11-01T01:01:01Z");
}

BOOST_AUTO_TEST_CASE(page_tokens_look_like_anthropics_and_round_trip) {
  const sys_days day = sys_days(std::chrono::year(2025) / 5 / 14);
  BOOST_TEST(EncodePageToken(day) == "page_MjAyNS0wNS0xNFQwMDowMDowMFo=");
  BOOST_TEST((DecodePageToken(EncodePageToken(day)).value() == day));
  BOOST_TEST(!DecodePageToken("nope").has_value());
  BOOST_TEST(!DecodePageToken("page_!!!!").has_value());
  BOOST_TEST(!DecodePageToken("page_" + Base64Encode("2025-05-14T01:00:00Z")).has_value());

  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    BOOST_TEST(Base64Encode(plain) == encoded);
    BOOST_TEST(Base64Decode(encoded).value() == plain);
  }
  for (std::string_view bad : {"Zg=", "Z===", "Zg==Zg==", "Zm9v!A=="}) {
    BOOST_TEST(!Base64Decode(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(report_queries)

const sys_days kJune6 = sys_days(std::chrono::year(2025) / 6 / 6);

std::expected<ReportQuery, std::string> OpenAi(BillingReport report, const std::string& query) {
  return ParseReportQuery(report, Query(query), kNow);
}

BOOST_AUTO_TEST_CASE(openai_range_and_defaults) {
  const int64_t unaligned = Unix(kJune6 + 6h);
  auto query = OpenAi(BillingReport::kOpenAiUsage, "start_time=" + std::to_string(unaligned));
  BOOST_REQUIRE_MESSAGE(query, query.error());
  BOOST_TEST((query->first_day == kJune6));
  BOOST_TEST(query->first_bucket_start.value() == unaligned);
  BOOST_TEST((query->last_day == kToday));
  BOOST_TEST((query->page_day == kJune6));
  BOOST_TEST(query->limit == 7);
  BOOST_TEST(query->group_by.empty());

  auto aligned = OpenAi(BillingReport::kOpenAiUsage,
                        "start_time=" + std::to_string(Unix(kJune6)) +
                            "&end_time=" + std::to_string(Unix(kJune6 + std::chrono::days(2))) +
                            "&bucket_width=1d&limit=31&group_by[]=model&models=a&models[]=b");
  BOOST_REQUIRE_MESSAGE(aligned, aligned.error());
  BOOST_TEST(!aligned->first_bucket_start.has_value());
  BOOST_TEST((aligned->last_day == kJune6 + std::chrono::days(1)));  // end_time is exclusive
  BOOST_TEST(aligned->limit == 31);
  BOOST_TEST(aligned->group_by.contains("model"));
  BOOST_TEST(aligned->models.size() == 2u);

  auto one_second_more = OpenAi(BillingReport::kOpenAiCosts,
                                "start_time=" + std::to_string(Unix(kJune6)) +
                                    "&end_time=" + std::to_string(Unix(kJune6 + 48h + 1s)) +
                                    "&limit=180&group_by=line_item");
  BOOST_REQUIRE_MESSAGE(one_second_more, one_second_more.error());
  BOOST_TEST((one_second_more->last_day == kJune6 + std::chrono::days(2)));

  auto future = OpenAi(BillingReport::kOpenAiCosts,
                       "start_time=" + std::to_string(Unix(kJune6)) + "&end_time=9999999999");
  BOOST_REQUIRE(future);
  BOOST_TEST((future->last_day == kToday));  // never past today
}

BOOST_AUTO_TEST_CASE(openai_bad_queries_say_why) {
  const std::string start = "start_time=" + std::to_string(Unix(kJune6));
  const std::vector<std::tuple<BillingReport, std::string, std::string>> cases = {
      {BillingReport::kOpenAiUsage, "", "Missing required parameter: 'start_time'"},
      {BillingReport::kOpenAiUsage, "start_time=abc", "start_time must be unix seconds"},
      {BillingReport::kOpenAiUsage, start + "&end_time=" + std::to_string(Unix(kJune6)),
       "end_time must be after start_time"},
      {BillingReport::kOpenAiUsage, start + "&bucket_width=1h", "only bucket_width=1d"},
      {BillingReport::kOpenAiCosts, start + "&bucket_width=1h", "Invalid bucket_width"},
      {BillingReport::kOpenAiUsage, start + "&bucket_width=1w", "Invalid bucket_width"},
      {BillingReport::kOpenAiUsage, start + "&limit=0", "limit must be an integer in 1..31"},
      {BillingReport::kOpenAiUsage, start + "&limit=32", "limit must be an integer in 1..31"},
      {BillingReport::kOpenAiCosts, start + "&limit=181", "limit must be an integer in 1..180"},
      {BillingReport::kOpenAiUsage, start + "&group_by[]=line_item", "Invalid group_by"},
      {BillingReport::kOpenAiCosts, start + "&group_by[]=model", "Invalid group_by"},
      {BillingReport::kOpenAiUsage, start + "&page=garbage", "Invalid page cursor"},
      {BillingReport::kOpenAiUsage,
       start + "&page=" + EncodePageToken(kJune6 - std::chrono::days(1)), "Invalid page cursor"},
      {BillingReport::kOpenAiUsage,
       start + "&page=" + EncodePageToken(kToday + std::chrono::days(1)), "Invalid page cursor"},
  };
  for (const auto& [report, text, message] : cases) {
    BOOST_TEST_CONTEXT("query: " << text) {
      const auto query = OpenAi(report, text);
      BOOST_REQUIRE(!query);
      BOOST_TEST(query.error().find(message) != std::string::npos, query.error());
    }
  }
}

BOOST_AUTO_TEST_CASE(anthropic_snaps_starting_at_to_the_day) {
  auto query =
      ParseReportQuery(BillingReport::kAnthropicUsage,
                       Query("starting_at=2025-06-06T06:00:00Z&ending_at=2025-06-08T00:00:00Z"
                             "&group_by[]=model&group_by[]=service_tier&models[]=a"),
                       kNow);
  BOOST_REQUIRE_MESSAGE(query, query.error());
  BOOST_TEST((query->first_day == kJune6));
  BOOST_TEST(!query->first_bucket_start.has_value());
  BOOST_TEST((query->last_day == kJune6 + std::chrono::days(1)));
  BOOST_TEST(query->group_by.size() == 2u);
  BOOST_TEST(query->models.contains("a"));

  auto costs =
      ParseReportQuery(BillingReport::kAnthropicCosts,
                       Query("starting_at=2025-06-06T00:00:00Z&group_by[]=description"), kNow);
  BOOST_REQUIRE_MESSAGE(costs, costs.error());
  BOOST_TEST((costs->last_day == kToday));
  BOOST_TEST(costs->models.empty());

  const std::vector<std::tuple<BillingReport, std::string, std::string>> bad = {
      {BillingReport::kAnthropicUsage, "start_time=1749168000", "'starting_at'"},
      {BillingReport::kAnthropicUsage, "starting_at=1749168000", "must be an RFC 3339"},
      {BillingReport::kAnthropicCosts, "starting_at=2025-06-06T00:00:00Z&group_by[]=model",
       "Invalid group_by"},
      {BillingReport::kAnthropicCosts, "starting_at=2025-06-06T00:00:00Z&limit=32", "1..31"},
      {BillingReport::kAnthropicUsage,
       "starting_at=2025-06-06T00:00:00Z&ending_at=2025-06-05T00:00:00Z",
       "ending_at must be after"},
  };
  for (const auto& [report, text, message] : bad) {
    BOOST_TEST_CONTEXT("query: " << text) {
      const auto parsed = ParseReportQuery(report, Query(text), kNow);
      BOOST_REQUIRE(!parsed);
      BOOST_TEST(parsed.error().find(message) != std::string::npos, parsed.error());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(report_rendering)

const sys_days kJune6 = sys_days(std::chrono::year(2025) / 6 / 6);

// June 6: a (cached input) and b; June 8: a; June 20 is after "today".
DayCounters SampleDays() {
  DayCounters days;
  days["2025-06-06"]["a"] = Tokens(2, 100, 40, 20, {60'000, 10'000, 40'000});
  days["2025-06-06"]["b"] = Tokens(1, 10, 0, 5, {10'000, 0, 10'000});
  days["2025-06-08"]["a"] = Tokens(1, 7, 0, 3, {7'000, 0, 6'000});
  days["2025-06-20"]["a"] = Tokens(1, 1, 0, 1, {1'000, 0, 2'000});
  return days;
}

// Follows next_page like a client; returns every page.
std::vector<rapidjson::Document> AllPages(BillingReport report, const std::string& query,
                                          int64_t page_size) {
  std::vector<rapidjson::Document> pages;
  std::string page;
  for (int guard = 0; guard < 50; ++guard) {
    const auto parsed =
        ParseReportQuery(report, Query(query + (page.empty() ? "" : "&page=" + page)), kNow);
    BOOST_REQUIRE_MESSAGE(parsed, parsed.error());
    pages.push_back(ParseExact(RenderReport(*parsed, SampleDays(), page_size)));
    const auto& doc = pages.back();
    BOOST_REQUIRE(doc["has_more"].IsBool());
    if (!doc["has_more"].GetBool()) {
      BOOST_TEST(doc["next_page"].IsNull());
      return pages;
    }
    page = Text(doc["next_page"]);
  }
  BOOST_FAIL("pagination did not end");
  return pages;
}

BOOST_AUTO_TEST_CASE(openai_usage_pages_through_every_day) {
  const int64_t unaligned = Unix(kJune6 + 6h);
  const auto pages = AllPages(BillingReport::kOpenAiUsage,
                              "start_time=" + std::to_string(unaligned) + "&group_by[]=model", 2);
  BOOST_TEST_REQUIRE(pages.size() == 3u);  // June 6..10: 2 + 2 + 1 buckets
  std::vector<int64_t> starts;
  int64_t input = 0;
  int64_t cached = 0;
  int64_t requests = 0;
  for (const auto& page : pages) {
    BOOST_TEST(Text(page["object"]) == "page");
    for (const auto& bucket : page["data"].GetArray()) {
      BOOST_TEST(Text(bucket["object"]) == "bucket");
      starts.push_back(Integer(bucket["start_time"]));
      BOOST_TEST(Integer(bucket["end_time"]) % 86400 == 0);
      for (const auto& result : bucket["results"].GetArray()) {
        BOOST_TEST(Text(result["object"]) == "organization.usage.completions.result");
        BOOST_TEST(result["model"].IsString());
        BOOST_TEST(result["project_id"].IsNull());
        BOOST_TEST(Integer(result["input_audio_tokens"]) == 0);
        input += Integer(result["input_tokens"]);
        cached += Integer(result["input_cached_tokens"]);
        requests += Integer(result["num_model_requests"]);
      }
    }
  }
  const std::vector<int64_t> expected_starts = {
      unaligned, Unix(kJune6 + std::chrono::days(1)), Unix(kJune6 + std::chrono::days(2)),
      Unix(kJune6 + std::chrono::days(3)), Unix(kJune6 + std::chrono::days(4))};
  BOOST_TEST(starts == expected_starts, boost::test_tools::per_element());
  BOOST_TEST(input == 117);
  BOOST_TEST(cached == 40);
  BOOST_TEST(requests == 4);
  BOOST_TEST(pages[0]["data"][1]["results"].Empty());  // June 7: no usage

  // limit caps the page too; the page size caps a large limit.
  BOOST_TEST(AllPages(BillingReport::kOpenAiUsage,
                      "start_time=" + std::to_string(unaligned) + "&limit=1", 2)
                 .size() == 5u);
  BOOST_TEST(AllPages(BillingReport::kOpenAiUsage, "start_time=" + std::to_string(unaligned), 100)
                 .size() == 1u);
}

BOOST_AUTO_TEST_CASE(openai_usage_ungrouped_and_filtered) {
  const std::string start = "start_time=" + std::to_string(Unix(kJune6));
  auto query = ParseReportQuery(BillingReport::kOpenAiUsage, Query(start), kNow);
  BOOST_REQUIRE(query);
  const auto doc = ParseExact(RenderReport(*query, SampleDays(), 1));
  const auto& results = doc["data"][0]["results"];
  BOOST_TEST_REQUIRE(results.Size() == 1u);
  BOOST_TEST(results[0]["model"].IsNull());
  BOOST_TEST(Integer(results[0]["input_tokens"]) == 110);
  BOOST_TEST(Integer(results[0]["num_model_requests"]) == 3);
  BOOST_TEST(Text(doc["next_page"]) == EncodePageToken(kJune6 + std::chrono::days(1)));

  auto only_b = ParseReportQuery(BillingReport::kOpenAiUsage,
                                 Query(start + "&models=b&group_by=model"), kNow);
  BOOST_REQUIRE(only_b);
  const auto b = ParseExact(RenderReport(*only_b, SampleDays(), 7));
  BOOST_TEST_REQUIRE(b["data"][0]["results"].Size() == 1u);
  BOOST_TEST(Text(b["data"][0]["results"][0]["model"]) == "b");
  BOOST_TEST(b["data"][2]["results"].Empty());  // June 8 had only a
}

BOOST_AUTO_TEST_CASE(openai_costs_by_line_item_in_dollars) {
  const std::string start = "start_time=" + std::to_string(Unix(kJune6));
  auto query =
      ParseReportQuery(BillingReport::kOpenAiCosts, Query(start + "&group_by[]=line_item"), kNow);
  BOOST_REQUIRE(query);
  const std::string body = RenderReport(*query, SampleDays(), 7);
  BOOST_TEST(body.find(R"("amount":{"value":0.00006,"currency":"usd"})") != std::string::npos);
  const auto doc = ParseExact(body);
  BOOST_TEST(doc["data"].Size() == 5u);
  const auto& results = doc["data"][0]["results"];
  BOOST_TEST_REQUIRE(results.Size() == 5u);
  const std::vector<std::string> items = {"a, input", "a, cached input", "a, output", "b, input",
                                          "b, output"};
  const std::vector<int64_t> nanos = {60'000, 10'000, 40'000, 10'000, 10'000};
  for (size_t i = 0; i < items.size(); ++i) {
    BOOST_TEST(Text(results[i]["object"]) == "organization.costs.result");
    BOOST_TEST(Text(results[i]["line_item"]) == items[i]);
    BOOST_TEST(Nano(results[i]["amount"]["value"], 9) == nanos[i]);
    BOOST_TEST(Text(results[i]["amount"]["currency"]) == "usd");
    BOOST_TEST(results[i]["project_id"].IsNull());
  }

  auto total = ParseReportQuery(BillingReport::kOpenAiCosts, Query(start), kNow);
  BOOST_REQUIRE(total);
  const auto ungrouped = ParseExact(RenderReport(*total, SampleDays(), 7));
  BOOST_TEST_REQUIRE(ungrouped["data"][0]["results"].Size() == 1u);
  BOOST_TEST(Nano(ungrouped["data"][0]["results"][0]["amount"]["value"], 9) == 130'000);
  BOOST_TEST(ungrouped["data"][0]["results"][0]["line_item"].IsNull());
  BOOST_TEST(Nano(ungrouped["data"][2]["results"][0]["amount"]["value"], 9) == 13'000);
}

BOOST_AUTO_TEST_CASE(anthropic_usage_report_fields) {
  const auto pages = AllPages(BillingReport::kAnthropicUsage,
                              "starting_at=2025-06-06T06:00:00Z&group_by[]=model", 2);
  BOOST_TEST_REQUIRE(pages.size() == 3u);
  BOOST_TEST(!pages[0].HasMember("object"));
  const auto& bucket = pages[0]["data"][0];
  BOOST_TEST(Text(bucket["starting_at"]) == "2025-06-06T00:00:00Z");
  BOOST_TEST(Text(bucket["ending_at"]) == "2025-06-07T00:00:00Z");
  const auto& a = bucket["results"][0];
  BOOST_TEST(Text(a["model"]) == "a");
  BOOST_TEST(Integer(a["uncached_input_tokens"]) == 60);
  BOOST_TEST(Integer(a["cache_read_input_tokens"]) == 40);
  BOOST_TEST(Integer(a["cache_creation"]["ephemeral_5m_input_tokens"]) == 0);
  BOOST_TEST(Integer(a["cache_creation"]["ephemeral_1h_input_tokens"]) == 0);
  BOOST_TEST(Integer(a["output_tokens"]) == 20);
  BOOST_TEST(a["workspace_id"].IsNull());
  BOOST_TEST(a["api_key_id"].IsNull());
  BOOST_TEST(Text(pages[0]["next_page"]) == EncodePageToken(kJune6 + std::chrono::days(2)));
  BOOST_TEST(Text(pages[2]["data"][0]["starting_at"]) == "2025-06-10T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(anthropic_cost_report_in_cent_strings) {
  auto query =
      ParseReportQuery(BillingReport::kAnthropicCosts,
                       Query("starting_at=2025-06-06T00:00:00Z&group_by[]=description"), kNow);
  BOOST_REQUIRE(query);
  const auto doc = ParseExact(RenderReport(*query, SampleDays(), 7));
  const auto& results = doc["data"][0]["results"];
  BOOST_TEST_REQUIRE(results.Size() == 5u);
  BOOST_TEST(Text(results[0]["amount"]) == "0.006");  // 60000 nano-USD = 0.006 cents
  BOOST_TEST(Text(results[0]["currency"]) == "USD");
  BOOST_TEST(Text(results[0]["description"]) == "a Usage - Input Tokens");
  BOOST_TEST(Text(results[0]["cost_type"]) == "tokens");
  BOOST_TEST(Text(results[0]["model"]) == "a");
  BOOST_TEST(Text(results[0]["token_type"]) == "uncached_input_tokens");
  BOOST_TEST(Text(results[0]["service_tier"]) == "standard");
  BOOST_TEST(Text(results[1]["token_type"]) == "cache_read_input_tokens");
  BOOST_TEST(Text(results[1]["amount"]) == "0.001");
  BOOST_TEST(Text(results[2]["token_type"]) == "output_tokens");
  BOOST_TEST(Text(results[4]["description"]) == "b Usage - Output Tokens");
  int64_t sum = 0;
  for (const auto& result : results.GetArray()) sum += Nano(result["amount"], 7);
  BOOST_TEST(sum == 130'000);

  auto total = ParseReportQuery(BillingReport::kAnthropicCosts,
                                Query("starting_at=2025-06-06T00:00:00Z"), kNow);
  BOOST_REQUIRE(total);
  const auto ungrouped = ParseExact(RenderReport(*total, SampleDays(), 7));
  const auto& only = ungrouped["data"][0]["results"];
  BOOST_TEST_REQUIRE(only.Size() == 1u);
  BOOST_TEST(Text(only[0]["amount"]) == "0.013");
  BOOST_TEST(only[0]["description"].IsNull());
  BOOST_TEST(only[0]["token_type"].IsNull());
  BOOST_TEST(only[0]["model"].IsNull());
}

// June 6: c wrote to both caches (and read one), h only to the 1-hour cache.
DayCounters CacheWriteDays() {
  DayCounters days;
  TokenCounters c = Tokens(2, 80, 20, 10, {36'000, 2'000, 20'000, 20'000, 16'000});
  c.cache_write_5m_tokens = 16;
  c.cache_write_1h_tokens = 8;
  TokenCounters h = Tokens(1, 12, 0, 1, {10'000, 0, 2'000, 0, 4'000});
  h.cache_write_1h_tokens = 2;
  days["2025-06-06"]["c"] = c;
  days["2025-06-06"]["h"] = h;
  return days;
}

rapidjson::Document OneDayReport(BillingReport report, const std::string& query) {
  auto parsed = ParseReportQuery(report, Query(query), kNow);
  BOOST_REQUIRE_MESSAGE(parsed, parsed.error());
  return ParseExact(RenderReport(*parsed, CacheWriteDays(), 7));
}

BOOST_AUTO_TEST_CASE(cache_writes_in_usage_reports) {
  const auto anthropic = OneDayReport(
      BillingReport::kAnthropicUsage,
      "starting_at=2025-06-06T00:00:00Z&ending_at=2025-06-07T00:00:00Z&group_by[]=model");
  const auto& results = anthropic["data"][0]["results"];
  BOOST_TEST_REQUIRE(results.Size() == 2u);
  BOOST_TEST(Integer(results[0]["uncached_input_tokens"]) == 36);  // 80 - 20 - 16 - 8
  BOOST_TEST(Integer(results[0]["cache_read_input_tokens"]) == 20);
  BOOST_TEST(Integer(results[0]["cache_creation"]["ephemeral_5m_input_tokens"]) == 16);
  BOOST_TEST(Integer(results[0]["cache_creation"]["ephemeral_1h_input_tokens"]) == 8);
  BOOST_TEST(Integer(results[1]["uncached_input_tokens"]) == 10);
  BOOST_TEST(Integer(results[1]["cache_creation"]["ephemeral_5m_input_tokens"]) == 0);
  BOOST_TEST(Integer(results[1]["cache_creation"]["ephemeral_1h_input_tokens"]) == 2);
  const auto ungrouped =
      OneDayReport(BillingReport::kAnthropicUsage,
                   "starting_at=2025-06-06T00:00:00Z&ending_at=2025-06-07T00:00:00Z");
  const auto& sum = ungrouped["data"][0]["results"][0];
  BOOST_TEST(Integer(sum["uncached_input_tokens"]) == 46);
  BOOST_TEST(Integer(sum["cache_creation"]["ephemeral_1h_input_tokens"]) == 10);

  // OpenAI's usage has no cache writes: they are in input_tokens.
  const auto openai = OneDayReport(BillingReport::kOpenAiUsage,
                                   "start_time=" + std::to_string(Unix(kJune6)) +
                                       "&end_time=" + std::to_string(Unix(kJune6 + 24h)));
  BOOST_TEST(Integer(openai["data"][0]["results"][0]["input_tokens"]) == 92);
  BOOST_TEST(Integer(openai["data"][0]["results"][0]["input_cached_tokens"]) == 20);
}

BOOST_AUTO_TEST_CASE(cache_writes_in_cost_reports) {
  const auto anthropic = OneDayReport(
      BillingReport::kAnthropicCosts,
      "starting_at=2025-06-06T00:00:00Z&ending_at=2025-06-07T00:00:00Z&group_by[]=description");
  const auto& results = anthropic["data"][0]["results"];
  const std::vector<std::tuple<std::string, std::string, std::string>> expected = {
      {"c Usage - Input Tokens", "uncached_input_tokens", "0.0036"},
      {"c Usage - Input Tokens, Cache Read", "cache_read_input_tokens", "0.0002"},
      {"c Usage - Input Tokens, Cache Write 5m", "cache_creation.ephemeral_5m_input_tokens",
       "0.002"},
      {"c Usage - Input Tokens, Cache Write 1h", "cache_creation.ephemeral_1h_input_tokens",
       "0.0016"},
      {"c Usage - Output Tokens", "output_tokens", "0.002"},
      {"h Usage - Input Tokens", "uncached_input_tokens", "0.001"},
      {"h Usage - Input Tokens, Cache Write 1h", "cache_creation.ephemeral_1h_input_tokens",
       "0.0004"},
      {"h Usage - Output Tokens", "output_tokens", "0.0002"}};
  BOOST_TEST_REQUIRE(results.Size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& [description, token_type, cents] = expected[i];
    BOOST_TEST(Text(results[i]["description"]) == description);
    BOOST_TEST(Text(results[i]["token_type"]) == token_type);
    BOOST_TEST(Text(results[i]["amount"]) == cents);
    BOOST_TEST(Text(results[i]["cost_type"]) == "tokens");
  }
  const auto total =
      OneDayReport(BillingReport::kAnthropicCosts,
                   "starting_at=2025-06-06T00:00:00Z&ending_at=2025-06-07T00:00:00Z");
  BOOST_TEST(Text(total["data"][0]["results"][0]["amount"]) == "0.011");

  const auto openai =
      OneDayReport(BillingReport::kOpenAiCosts,
                   "start_time=" + std::to_string(Unix(kJune6)) +
                       "&end_time=" + std::to_string(Unix(kJune6 + 24h)) + "&group_by[]=line_item");
  const std::vector<std::pair<std::string, int64_t>> items = {
      {"c, input", 36'000},          {"c, cached input", 2'000}, {"c, cache write 5m", 20'000},
      {"c, cache write 1h", 16'000}, {"c, output", 20'000},      {"h, input", 10'000},
      {"h, cache write 1h", 4'000},  {"h, output", 2'000}};
  const auto& lines = openai["data"][0]["results"];
  BOOST_TEST_REQUIRE(lines.Size() == items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    BOOST_TEST(Text(lines[i]["line_item"]) == items[i].first);
    BOOST_TEST(Nano(lines[i]["amount"]["value"], 9) == items[i].second);
  }
}

BOOST_AUTO_TEST_CASE(a_range_in_the_future_has_no_buckets) {
  auto query = ParseReportQuery(BillingReport::kOpenAiUsage,
                                Query("start_time=" + std::to_string(Unix(kNow + 48h))), kNow);
  BOOST_REQUIRE(query);
  BOOST_TEST(RenderReport(*query, SampleDays(), 2) ==
             R"({"object":"page","data":[],"has_more":false,"next_page":null})");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(balances)

BOOST_AUTO_TEST_CASE(gateway_dashboard_bodies) {
  BOOST_TEST(RenderDashboardSubscription(25'000'000'000) ==
             R"({"object":"billing_subscription","has_payment_method":true,"soft_limit_usd":25.0,)"
             R"("hard_limit_usd":25.0,"system_hard_limit_usd":25.0,"access_until":0})");
  BOOST_TEST(RenderDashboardUsage(123'456'789) == R"({"object":"list","total_usage":12.3456789})");
  BOOST_TEST(RenderDashboardUsage(0) == R"({"object":"list","total_usage":0.0})");
}

BOOST_AUTO_TEST_CASE(deepseek_balance_strings) {
  const auto low = ParseExact(RenderDeepSeekBalance(25'000'000'000, 26'000'000'000, std::nullopt));
  BOOST_TEST(!low["is_available"].GetBool());
  BOOST_TEST_REQUIRE(low["balance_infos"].Size() == 1u);
  BOOST_TEST(Text(low["balance_infos"][0]["currency"]) == "USD");
  BOOST_TEST(Text(low["balance_infos"][0]["total_balance"]) == "-1.00");

  const auto both = ParseExact(RenderDeepSeekBalance(25'000'000'000, 123, 110'000'000'000));
  BOOST_TEST(both["is_available"].GetBool());
  BOOST_TEST_REQUIRE(both["balance_infos"].Size() == 2u);
  BOOST_TEST(Text(both["balance_infos"][0]["total_balance"]) == "24.999999877");
  BOOST_TEST(Text(both["balance_infos"][0]["granted_balance"]) == "0.00");
  BOOST_TEST(Text(both["balance_infos"][0]["topped_up_balance"]) == "24.999999877");
  BOOST_TEST(Text(both["balance_infos"][1]["currency"]) == "CNY");
  BOOST_TEST(Text(both["balance_infos"][1]["total_balance"]) == "110.00");
}

BOOST_AUTO_TEST_CASE(openrouter_credits_and_key) {
  BOOST_TEST(RenderOpenRouterCredits(25'000'000'000, 1'500'000'000) ==
             R"({"data":{"total_credits":25.0,"total_usage":1.5}})");

  // 2025-06-11 is a Wednesday; its week starts on Monday 2025-06-09.
  DayCounters days;
  auto cost = [](int64_t nano) { return Tokens(1, 0, 0, 0, {0, 0, nano}); };
  days["2025-05-31"]["m"] = cost(10'000);
  days["2025-06-01"]["m"] = cost(1'000);
  days["2025-06-08"]["m"] = cost(1);
  days["2025-06-09"]["m"] = cost(10);
  days["2025-06-11"]["m"] = cost(100);
  days["2025-06-11"]["n"] = cost(100'000);
  const KeySpend spend = SpendWindows(days, sys_days(std::chrono::year(2025) / 6 / 11));
  BOOST_TEST(spend.total == 111'111);
  BOOST_TEST(spend.daily == 100'100);
  BOOST_TEST(spend.weekly == 100'110);
  BOOST_TEST(spend.monthly == 101'111);

  const auto key = ParseExact(RenderOpenRouterKey("sk-or-v1-ab...890", 25'000'000'000, spend));
  const auto& data = key["data"];
  BOOST_TEST(Text(data["label"]) == "sk-or-v1-ab...890");
  BOOST_TEST(Nano(data["limit"], 9) == 25'000'000'000);
  BOOST_TEST(Nano(data["limit_remaining"], 9) == 25'000'000'000 - 111'111);
  BOOST_TEST(Nano(data["usage"], 9) == 111'111);
  BOOST_TEST(Nano(data["usage_daily"], 9) == 100'100);
  BOOST_TEST(Nano(data["usage_weekly"], 9) == 100'110);
  BOOST_TEST(Nano(data["usage_monthly"], 9) == 101'111);
  BOOST_TEST(data["limit_reset"].IsNull());
  BOOST_TEST(!data["is_free_tier"].GetBool());
  BOOST_TEST(data["rate_limit"].IsObject());

  BOOST_TEST(MaskKey("sk-or-v1-abcdef1234567890") == "sk-or-v1-ab...890");
  BOOST_TEST(MaskKey("short") == "fake_vendor key");
  BOOST_TEST(RenderOpenRouterError(401, "No auth credentials found") ==
             R"({"error":{"code":401,"message":"No auth credentials found"}})");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::fake_vendor
