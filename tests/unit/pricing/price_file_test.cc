#include "pricing/price_file.h"

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "pricing/price_book.h"
#include "test_support.h"

namespace llm_exporter::pricing {
namespace {

using testing::PricingDir;
using testing::ReadText;
using testing::TestDataDir;

constexpr int64_t kNano = 1'000'000'000;

// The "# expect: ..." lines of a test file, in order.
std::vector<std::string> ExpectedErrors(const std::string& text) {
  constexpr std::string_view kMarker = "# expect: ";
  std::vector<std::string> expected;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    if (line.starts_with(kMarker)) expected.emplace_back(line.substr(kMarker.size()));
    start = end + 1;
  }
  return expected;
}

BOOST_AUTO_TEST_SUITE(price_file)

// One testdata/invalid-*.toml per rule, each with its exact messages.
BOOST_AUTO_TEST_CASE(invalid_files_report_every_error_exactly) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TestDataDir())) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("invalid-") || !name.ends_with(".toml")) continue;
    ++files;
    BOOST_TEST_CONTEXT(name) {
      const std::string text = ReadText(entry.path().string());
      const std::vector<std::string> want = ExpectedErrors(text);
      BOOST_REQUIRE(!want.empty());
      const auto rows = ParsePriceFiles({PriceFileText{name, text}});
      BOOST_REQUIRE(!rows.has_value());
      BOOST_TEST(rows.error() == want, boost::test_tools::per_element());
    }
  }
  BOOST_TEST(files >= 10);
}

BOOST_AUTO_TEST_CASE(duplicates_across_files_name_the_first_file) {
  const std::string row =
      "[[price]]\ntable = \"t\"\nmodel = \"m\"\neffective_from = 2025-01-01\ninput = 1\n"
      "output = 1\n";
  const auto rows =
      ParsePriceFiles({PriceFileText{"a.toml", row}, PriceFileText{"b.toml", "\n" + row}});
  BOOST_REQUIRE(!rows.has_value());
  const std::vector<std::string> want = {
      "b.toml:5:18: price[0].effective_from: same table, model and effective_from as price[0] "
      "(a.toml:1)"};
  BOOST_TEST(rows.error() == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(prices_come_from_their_decimal_text) {
  const auto rows = ParsePriceFiles(
      {PriceFileText{"good-float-text.toml", ReadText(TestDataDir() + "/good-float-text.toml")}});
  BOOST_REQUIRE_MESSAGE(rows.has_value(), (rows ? "" : rows.error().front()));
  BOOST_REQUIRE(rows->size() == 2u);
  const PriceRow& explicit_row = (*rows)[0];
  BOOST_TEST(explicit_row.prices.input == 1'000'000'001'000);  // 1000.000001
  BOOST_TEST(explicit_row.prices.output == 2'500'000'000);
  BOOST_TEST(explicit_row.prices.cached_input == 300'000'000);
  BOOST_TEST(explicit_row.prices.cache_write_5m == 7 * kNano);
  BOOST_TEST(explicit_row.prices.cache_write_1h == 7 * kNano);  // defaults to cache_write
  BOOST_TEST(explicit_row.prices.reasoning == 1);
  BOOST_TEST(!explicit_row.long_context.has_value());
  BOOST_TEST(explicit_row.origin == "good-float-text.toml:2");
  BOOST_TEST(
      (explicit_row.effective_from == std::chrono::sys_days(std::chrono::year(2025) / 1 / 1)));

  // Defaults: cached_input and cache writes take input, reasoning takes output,
  // and the same within the long-context tier.
  const PriceRow& defaults = (*rows)[1];
  BOOST_TEST((defaults.prices == Prices{.input = 100'000'000,
                                        .cached_input = 100'000'000,
                                        .cache_write_5m = 100'000'000,
                                        .cache_write_1h = 100'000'000,
                                        .output = 200'000'000,
                                        .reasoning = 200'000'000}));
  BOOST_REQUIRE(defaults.long_context.has_value());
  BOOST_TEST(defaults.long_context->threshold == 100);
  BOOST_TEST((defaults.long_context->prices == Prices{.input = 300'000'000,
                                                      .cached_input = 300'000'000,
                                                      .cache_write_5m = 300'000'000,
                                                      .cache_write_1h = 300'000'000,
                                                      .output = 400'000'000,
                                                      .reasoning = 400'000'000}));
}

BOOST_AUTO_TEST_CASE(an_empty_file_has_no_rows) {
  const auto rows = ParsePriceFiles({PriceFileText{"empty.toml", "# nothing\n"}});
  BOOST_REQUIRE(rows.has_value());
  BOOST_TEST(rows->empty());
}

BOOST_AUTO_TEST_CASE(load_reports_unreadable_files_with_the_others) {
  const std::string missing = TestDataDir() + "/does-not-exist.toml";
  const std::string invalid = TestDataDir() + "/invalid-not-an-array.toml";
  const auto book = LoadPriceBook({missing, invalid}, "");
  BOOST_REQUIRE(!book.has_value());
  const std::vector<std::string> want = {
      missing + ": cannot read: No such file or directory",
      invalid + ":2:9: price: expected an array of tables ([[price]]), got an integer"};
  BOOST_TEST(book.error() == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(shipped_price_files_load_cleanly) {
  const auto book =
      LoadPriceBook({PricingDir() + "/prices.toml", PricingDir() + "/fake_prices.toml"}, "");
  BOOST_REQUIRE_MESSAGE(book.has_value(), (book ? "" : book.error().front()));
  const auto now = std::chrono::system_clock::now();
  for (const auto& [table, model] : std::vector<std::pair<std::string, std::string>>{
           {"openai", "gpt-4.1"},
           {"openai", "gpt-4.1-2025-04-14"},
           {"openai", "o3"},
           {"anthropic", "claude-sonnet-4-5"},
           {"anthropic", "claude-sonnet-4-5-20250929"},
           {"anthropic", "claude-3-5-haiku-20241022"},
           {"google", "gemini-2.5-flash"},
           {"google", "gemini-2.5-pro"},
           {"deepseek", "deepseek-chat"},
           {"deepseek", "deepseek-reasoner"},
           {"holysheep", "gpt-4.1"},
           {"holysheep", "deepseek-chat"},
           {"fake", "fake-gpt"},
           {"fake", "fake-claude"},
       }) {
    BOOST_TEST_CONTEXT(table << "/" << model) {
      const PriceRow* row = book->Find(table, model, now);
      BOOST_REQUIRE(row != nullptr);
      BOOST_TEST(!row->source.empty());
    }
  }
  // o3's price cut on 2025-06-10.
  const auto cut = std::chrono::sys_days(std::chrono::year(2025) / 6 / 10);
  BOOST_TEST(book->Find("openai", "o3", cut - std::chrono::seconds(1))->prices.input == 10 * kNano);
  BOOST_TEST(book->Find("openai", "o3", cut)->prices.input == 2 * kNano);
  // The first gpt-4o snapshot keeps its own price.
  BOOST_TEST(book->Find("openai", "gpt-4o-2024-05-13", now)->prices.input == 5 * kNano);
  // The fake vendor's round figures.
  const PriceRow* fake_gpt = book->Find("fake", "fake-gpt", now);
  BOOST_TEST((fake_gpt->prices == Prices{.input = kNano,
                                         .cached_input = 250'000'000,
                                         .cache_write_5m = 0,
                                         .cache_write_1h = 0,
                                         .output = 2 * kNano,
                                         .reasoning = 2 * kNano}));
  BOOST_TEST(book->Find("fake", "fake-claude", now)->prices.cache_write_5m == 1'250'000'000);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::pricing
