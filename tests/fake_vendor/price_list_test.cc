// The fake vendor's own price reader (price_list.h) against the exporter's
// (pricing/): two readers of the same price files, written apart, must agree
// on every price, on the defaults of absent ones, and on the cost of any
// request, cache reads and cache writes included.

#include "tests/fake_vendor/price_list.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "pricing/cost.h"
#include "pricing/price_book.h"

namespace llm_exporter::fake_vendor {
namespace {

using std::chrono::sys_days;
using std::chrono::system_clock;

BOOST_AUTO_TEST_SUITE(price_list)

// Both sides' prices of one tier, every kind the fake vendor bills.
void CheckSamePrices(const VendorPrices& own, const pricing::Prices& project) {
  BOOST_TEST(own.input == project.input);
  BOOST_TEST(own.cached_input == project.cached_input);
  BOOST_TEST(own.cache_write_5m == project.cache_write_5m);
  BOOST_TEST(own.cache_write_1h == project.cache_write_1h);
  BOOST_TEST(own.output == project.output);
}

// Random requests, with and without cache reads and writes, around the
// long-context threshold when there is one: priced the same on both sides.
void CheckSameCosts(const PriceEntry& own, const pricing::PriceRow& project, uint64_t seed) {
  uint64_t state = seed;
  auto next = [&](int64_t bound) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(bound));
  };
  const int64_t scale = own.long_context_threshold.value_or(4000) + 1;
  for (int i = 0; i < 200; ++i) {
    const bool cache = i % 4 != 0;
    const RequestTokens t{.input = next(scale / 2 + 1),
                          .cached_input = cache ? next(scale / 4 + 1) : 0,
                          .output = next(3000),
                          .cache_write_5m = cache ? next(scale / 4 + 1) : 0,
                          .cache_write_1h = i % 2 == 1 ? next(scale / 4 + 1) : 0};
    const int64_t cost = RequestCostNanoUsd(PricesFor(own, t), t);
    BOOST_TEST_REQUIRE(cost == pricing::CostNanoUsd(project, {.input = t.input,
                                                              .cached_input = t.cached_input,
                                                              .cache_write_5m = t.cache_write_5m,
                                                              .cache_write_1h = t.cache_write_1h,
                                                              .output = t.output}));
  }
}

// Two readers of the shipped price files, written apart: the fake vendor's
// and the exporter's must agree on every row they both read.
BOOST_AUTO_TEST_CASE(own_price_list_agrees_with_the_exporters_on_the_shipped_files) {
  uint64_t seed = 7;
  for (const char* file : {"/pricing/prices.toml", "/pricing/fake_prices.toml"}) {
    const std::string path = std::string(LLM_EXPORTER_SOURCE_DIR) + file;
    auto own = PriceList::Load(path);
    BOOST_REQUIRE_MESSAGE(own, own.error());
    auto project = pricing::LoadPriceBook({path}, "");
    BOOST_REQUIRE(project);
    BOOST_TEST(own->entries.size() == project->rows().size());
    for (const PriceEntry& e : own->entries) {
      BOOST_TEST_CONTEXT(e.table << "/" << e.model) {
        const auto at = system_clock::time_point(e.effective_from);
        const PriceEntry* found = own->Find(e.table, e.model, e.effective_from);
        BOOST_TEST(found == &e);
        // A dated snapshot of the name finds the same prices on both sides.
        for (const std::string& dated : {e.model + "-2025-04-14", e.model + "-20250929"}) {
          const PriceEntry* own_dated = own->Find(e.table, dated, e.effective_from);
          const pricing::PriceRow* project_dated = project->Find(e.table, dated, at);
          BOOST_TEST((own_dated != nullptr) == (project_dated != nullptr), dated);
          if (own_dated && project_dated) {
            BOOST_TEST(own_dated->prices.input == project_dated->prices.input, dated);
          }
        }
        const pricing::PriceRow* row = project->Find(e.table, e.model, at);
        BOOST_REQUIRE(row != nullptr);
        CheckSamePrices(e.prices, row->prices);
        BOOST_TEST(row->long_context.has_value() == e.long_context_threshold.has_value());
        if (row->long_context && e.long_context_threshold) {
          BOOST_TEST(row->long_context->threshold == *e.long_context_threshold);
          CheckSamePrices(e.long_context, row->long_context->prices);
        }
        CheckSameCosts(e, *row, ++seed);
      }
    }
  }
}

// Absent cache write prices default the same way on both sides: cache_write to
// the tier's input, cache_write_1h to the tier's (resolved) cache_write.
BOOST_AUTO_TEST_CASE(own_price_list_defaults_cache_writes_like_the_exporter) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("fake_vendor_prices_" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(path);
    out << R"(
[[price]]
table = "t"
model = "no-writes"
effective_from = 2025-01-01
input = 3.00
output = 15.00

[[price]]
table = "t"
model = "only-5m"
effective_from = 2025-01-01
input = 3.00
cached_input = 0.30
cache_write = 3.75
output = 15.00

[[price]]
table = "t"
model = "only-1h"
effective_from = 2025-01-01
input = 3.00
cache_write_1h = 6.00
output = 15.00
long_context_threshold = 1000
long_context_input = 6.00
long_context_output = 22.50
long_context_cache_write = 7.50

[[price]]
table = "t"
model = "tier-1h-only"
effective_from = 2025-01-01
input = 1.00
cache_write = 1.25
cache_write_1h = 2.00
output = 2.00
long_context_threshold = 1000
long_context_input = 2.00
long_context_output = 4.00
long_context_cache_write_1h = 4.00
)";
  }
  auto own = PriceList::Load(path.string());
  auto project = pricing::LoadPriceBook({path.string()}, "");
  std::filesystem::remove(path);
  BOOST_REQUIRE_MESSAGE(own, own.error());
  BOOST_REQUIRE(project);
  const sys_days day = sys_days(std::chrono::year(2025) / 6 / 1);
  struct Expected {
    const char* model;
    VendorPrices base, tier;
  };
  const Expected expected[] = {
      {"no-writes",
       {.input = 3'000'000'000,
        .cached_input = 3'000'000'000,
        .output = 15'000'000'000,
        .cache_write_5m = 3'000'000'000,
        .cache_write_1h = 3'000'000'000},
       {}},
      {"only-5m",
       {.input = 3'000'000'000,
        .cached_input = 300'000'000,
        .output = 15'000'000'000,
        .cache_write_5m = 3'750'000'000,
        .cache_write_1h = 3'750'000'000},
       {}},
      {"only-1h",
       {.input = 3'000'000'000,
        .cached_input = 3'000'000'000,
        .output = 15'000'000'000,
        .cache_write_5m = 3'000'000'000,
        .cache_write_1h = 6'000'000'000},
       {.input = 6'000'000'000,
        .cached_input = 6'000'000'000,
        .output = 22'500'000'000,
        .cache_write_5m = 7'500'000'000,
        .cache_write_1h = 7'500'000'000}},
      {"tier-1h-only",
       {.input = 1'000'000'000,
        .cached_input = 1'000'000'000,
        .output = 2'000'000'000,
        .cache_write_5m = 1'250'000'000,
        .cache_write_1h = 2'000'000'000},
       {.input = 2'000'000'000,
        .cached_input = 2'000'000'000,
        .output = 4'000'000'000,
        .cache_write_5m = 2'000'000'000,
        .cache_write_1h = 4'000'000'000}},
  };
  for (const Expected& want : expected) {
    BOOST_TEST_CONTEXT(want.model) {
      const PriceEntry* e = own->Find("t", want.model, day);
      const pricing::PriceRow* row = project->Find("t", want.model, system_clock::time_point(day));
      BOOST_REQUIRE(e != nullptr);
      BOOST_REQUIRE(row != nullptr);
      CheckSamePrices(want.base, row->prices);  // the expectation is the exporter's rule
      CheckSamePrices(e->prices, row->prices);
      if (row->long_context) {
        CheckSamePrices(want.tier, row->long_context->prices);
        CheckSamePrices(e->long_context, row->long_context->prices);
      }
      CheckSameCosts(*e, *row, 99);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::fake_vendor
