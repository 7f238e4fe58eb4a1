#include "pricing/price_book.h"

#include <boost/test/unit_test.hpp>

#include "pricing/price_file.h"

namespace llm_exporter::pricing {
namespace {

using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::system_clock;

system_clock::time_point At(int year, unsigned month, unsigned day, int64_t second_of_day = 0) {
  return sys_days(std::chrono::year(year) / month / day) + seconds(second_of_day);
}

std::vector<PriceRow> Rows(const std::string& toml) {
  auto rows = ParsePriceFiles({PriceFileText{"book.toml", toml}});
  BOOST_REQUIRE_MESSAGE(rows.has_value(), (rows ? "" : rows.error().front()));
  return *rows;
}

// A small book: input price identifies which row was found.
const char* kBook = R"(
[[price]]
table = "t"
model = "m"
effective_from = 2025-01-01
input = 1
output = 1

[[price]]
table = "t"
model = "m"
effective_from = 2025-03-01
input = 2
output = 1

[[price]]
table = "t"
model = "gpt-4.1"
effective_from = 2025-01-01
input = 10
output = 1

[[price]]
table = "t"
model = "gpt-4.1*"
effective_from = 2025-01-01
input = 11
output = 1

[[price]]
table = "t"
model = "gpt-4.1-mini*"
effective_from = 2025-01-01
input = 12
output = 1

[[price]]
table = "t"
model = "gpt-*"
effective_from = 2025-01-01
input = 13
output = 1

[[price]]
table = "t"
model = "claude-sonnet-4-5"
effective_from = 2025-01-01
input = 20
output = 1

[[price]]
table = "t"
model = "claude-sonnet-4-5-20250929"
effective_from = 2025-06-01
input = 21
output = 1

[[price]]
table = "t"
model = "late"
effective_from = 2025-06-01
input = 30
output = 1

[[price]]
table = "t"
model = "lat?"
effective_from = 2025-01-01
input = 31
output = 1

[[price]]
table = "other"
model = "m"
effective_from = 2025-01-01
input = 40
output = 1
)";

struct FindCase {
  std::string_view table;
  std::string_view model;
  system_clock::time_point at;
  int64_t want_input_usd;  // 0: not found
};

BOOST_AUTO_TEST_SUITE(price_book)

BOOST_AUTO_TEST_CASE(finds_the_row_in_effect) {
  const PriceBook book(Rows(kBook), {});
  const FindCase cases[] = {
      // Price change at UTC midnight.
      {"t", "m", At(2025, 2, 28, 86'399), 1},
      {"t", "m", At(2025, 3, 1, 0), 2},
      {"t", "m", At(2030, 1, 1), 2},
      {"t", "m", At(2024, 12, 31, 86'399), 0},  // before the first row
      // Exact beats any glob; the longest glob wins.
      {"t", "gpt-4.1", At(2025, 6, 1), 10},
      {"t", "gpt-4.1-turbo", At(2025, 6, 1), 11},
      {"t", "gpt-4.1-mini", At(2025, 6, 1), 12},
      {"t", "gpt-4.1-mini-2025-04-14", At(2025, 6, 1), 12},
      {"t", "gpt-5", At(2025, 6, 1), 13},
      // A glob beats the snapshot fallback (gpt-4.1* matches the dated name).
      {"t", "gpt-4.1-2025-04-14", At(2025, 6, 1), 11},
      // Snapshot fallback: -YYYYMMDD and -YYYY-MM-DD to the base name.
      {"t", "claude-sonnet-4-5-20251231", At(2025, 6, 1), 20},
      {"t", "m-2025-04-14", At(2025, 6, 1), 2},
      {"t", "m-20250414", At(2025, 6, 1), 2},
      // An exact snapshot row wins over its base once in effect, not before.
      {"t", "claude-sonnet-4-5-20250929", At(2025, 6, 1), 21},
      {"t", "claude-sonnet-4-5-20250929", At(2025, 5, 31, 86'399), 20},
      // An exact name with no row in effect yet gives way to a glob.
      {"t", "late", At(2025, 5, 1), 31},
      {"t", "late", At(2025, 6, 1), 30},
      // Unknown model or table: not found, never guessed.
      {"t", "unknown-model", At(2025, 6, 1), 0},
      {"t", "m-2025-04", At(2025, 6, 1), 0},
      {"t", "m-202504141", At(2025, 6, 1), 0},
      {"nope", "m", At(2025, 6, 1), 0},
      {"other", "m", At(2025, 6, 1), 40},
      {"other", "gpt-4.1", At(2025, 6, 1), 0},
  };
  for (const FindCase& c : cases) {
    BOOST_TEST_CONTEXT(c.table << "/" << c.model) {
      const PriceRow* row = book.Find(c.table, c.model, c.at);
      if (c.want_input_usd == 0) {
        BOOST_TEST(row == nullptr);
      } else {
        BOOST_REQUIRE(row != nullptr);
        BOOST_TEST(row->prices.input == c.want_input_usd * 1'000'000'000);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(lists_rows_in_effect_for_display) {
  const PriceBook book(Rows(kBook), {});
  const auto rows = book.InEffect(At(2025, 5, 1));
  std::vector<std::string> names;
  for (const PriceRow* row : rows) names.push_back(row->table + "/" + row->model);
  const std::vector<std::string> want = {
      "other/m",    "t/claude-sonnet-4-5", "t/gpt-*", "t/gpt-4.1",
      "t/gpt-4.1*", "t/gpt-4.1-mini*",     "t/lat?",  "t/m"};
  BOOST_TEST(names == want, boost::test_tools::per_element());
  BOOST_TEST(book.HasTable("t"));
  BOOST_TEST(!book.HasTable("nope"));
}

BOOST_AUTO_TEST_CASE(equally_long_globs_first_defined_wins) {
  const PriceBook book(Rows(R"(
[[price]]
table = "t"
model = "a*c"
effective_from = 2025-01-01
input = 1
output = 1

[[price]]
table = "t"
model = "*bc"
effective_from = 2025-01-01
input = 2
output = 1
)"),
                       {});
  const PriceRow* row = book.Find("t", "abc", At(2025, 2, 1));
  BOOST_REQUIRE(row != nullptr);
  BOOST_TEST(row->model == "a*c");
}

BOOST_AUTO_TEST_CASE(toml_rows_replace_litellm_rows_of_the_same_model) {
  std::vector<PriceRow> litellm(2);
  litellm[0].table = "t";
  litellm[0].model = "m";
  litellm[0].prices.input = 99;
  litellm[0].origin = "litellm:m";
  litellm[1].table = "t";
  litellm[1].model = "only-litellm";
  litellm[1].prices.input = 98;
  litellm[1].origin = "litellm:only-litellm";
  const PriceBook book(Rows(kBook), litellm);
  // Before the TOML rows start the LiteLLM row is gone too: TOML owns the name.
  BOOST_TEST(book.Find("t", "m", At(2020, 1, 1)) == nullptr);
  BOOST_TEST(book.Find("t", "m", At(2025, 6, 1))->origin == "book.toml:9");
  BOOST_TEST(book.Find("t", "only-litellm", At(2025, 6, 1))->prices.input == 98);
}

BOOST_AUTO_TEST_CASE(glob_matching) {
  BOOST_TEST(GlobMatch("gpt-4.1-2025-*", "gpt-4.1-2025-04-14"));
  BOOST_TEST(!GlobMatch("gpt-4.1-2025-*", "gpt-4.1"));
  BOOST_TEST(GlobMatch("*", ""));
  BOOST_TEST(GlobMatch("a*b*c", "aXbYbZc"));
  BOOST_TEST(!GlobMatch("a*b*c", "aXbYbZ"));
  BOOST_TEST(GlobMatch("o?-mini", "o4-mini"));
  BOOST_TEST(!GlobMatch("o?-mini", "o-mini"));
  BOOST_TEST(GlobMatch("exact", "exact"));
  BOOST_TEST(!GlobMatch("exact", "exactly"));
  BOOST_TEST(IsGlob("a*"));
  BOOST_TEST(!IsGlob("a.b"));
}

BOOST_AUTO_TEST_CASE(snapshot_base_names) {
  BOOST_TEST(SnapshotBase("gpt-4.1-2025-04-14").value() == "gpt-4.1");
  BOOST_TEST(SnapshotBase("claude-sonnet-4-5-20250929").value() == "claude-sonnet-4-5");
  BOOST_TEST(!SnapshotBase("gpt-4.1").has_value());
  BOOST_TEST(!SnapshotBase("-20250929").has_value());
  BOOST_TEST(!SnapshotBase("gpt-4-0613").has_value());
  BOOST_TEST(!SnapshotBase("gpt-4.1-2025-0414").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::pricing
