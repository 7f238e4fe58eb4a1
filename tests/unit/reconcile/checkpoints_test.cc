#include "reconcile/checkpoints.h"

#include <boost/test/unit_test.hpp>

#include "pricing/cost.h"
#include "pricing/ledger.h"
#include "tests/unit/pricing/test_support.h"

namespace llm_exporter::reconcile {
using namespace pricing;
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using Time = std::chrono::system_clock::time_point;

const Time kNoon = std::chrono::sys_days(std::chrono::year(2025) / 6 / 1) + hours(12);

Checkpoint At(minutes after, int64_t vendor, int64_t local) {
  return {kNoon + after, vendor, local};
}

BOOST_AUTO_TEST_SUITE(checkpoints)

BOOST_AUTO_TEST_CASE(equal_increases_match_with_zero_drift) {
  std::vector<Checkpoint> window = {At(minutes(0), 1000, 50), At(minutes(15), 1700, 750),
                                    At(minutes(30), 2500, 1550)};
  auto span = ReconcileSpan(window, 10);
  BOOST_TEST((span.verdict == Verdict::kMatch));
  BOOST_TEST(span.vendor_delta_nano_usd == 1500);
  BOOST_TEST(span.local_delta_nano_usd == 1500);
  BOOST_TEST(*span.drift_ratio == 0.0);
  BOOST_TEST((span.start->at == kNoon));
  BOOST_TEST((span.end->at == kNoon + minutes(30)));
}

BOOST_AUTO_TEST_CASE(the_tolerance_absorbs_a_request_in_flight_and_no_more) {
  std::vector<Checkpoint> window = {At(minutes(0), 0, 0), At(minutes(15), 1010, 1000)};
  BOOST_TEST((ReconcileSpan(window, 10).verdict == Verdict::kMatch));
  BOOST_TEST((ReconcileSpan(window, 9).verdict == Verdict::kCoverage));
  std::vector<Checkpoint> behind = {At(minutes(0), 0, 0), At(minutes(15), 500, 1000)};
  BOOST_TEST((ReconcileSpan(behind, 10).verdict == Verdict::kVendorBehind));
  std::vector<Checkpoint> local_only = {At(minutes(0), 0, 0), At(minutes(15), 0, 1000)};
  BOOST_TEST((ReconcileSpan(local_only, 10).verdict == Verdict::kLocalOnly));
  BOOST_TEST(!ReconcileSpan(local_only, 10).drift_ratio.has_value());
}

// A balance going up (spent going down) is a top-up, never negative spend: the
// span starts again after it, and is inconclusive until two checkpoints follow.
BOOST_AUTO_TEST_CASE(a_top_up_restarts_the_span) {
  std::vector<Checkpoint> window = {At(minutes(0), -5000, 0), At(minutes(15), -4000, 1000),
                                    At(minutes(30), -9000, 1000)};
  auto span = ReconcileSpan(window, 10);
  BOOST_TEST((span.verdict == Verdict::kToppedUp));
  BOOST_TEST((*span.reset_at == kNoon + minutes(30)));
  BOOST_TEST(span.vendor_delta_nano_usd == 0);
  window.push_back(At(minutes(45), -8500, 1500));
  span = ReconcileSpan(window, 10);
  BOOST_TEST((span.verdict == Verdict::kMatch));
  BOOST_TEST(span.vendor_delta_nano_usd == 500);
  BOOST_TEST((span.start->at == kNoon + minutes(30)));
  // The local side going backwards (a new ledger) is a reset too.
  std::vector<Checkpoint> reset = {At(minutes(0), 0, 900), At(minutes(15), 100, 0)};
  BOOST_TEST((ReconcileSpan(reset, 10).verdict == Verdict::kToppedUp));
}

BOOST_AUTO_TEST_CASE(one_checkpoint_or_none_is_no_data) {
  BOOST_TEST((ReconcileSpan({}, 10).verdict == Verdict::kNoVendorData));
  std::vector<Checkpoint> one = {At(minutes(0), 5, 5)};
  BOOST_TEST((ReconcileSpan(one, 10).verdict == Verdict::kNoVendorData));
}

// Checkpoints live in the ledger's file and survive a restart; the lifetime
// total they read is never pruned.
BOOST_AUTO_TEST_CASE(checkpoints_and_lifetime_survive_a_restart) {
  testing::TempDir dir;
  LedgerOptions options;
  options.state_dir = dir.Sub("state");
  options.retention_days = 1;
  options.now = [] { return kNoon; };
  const auto today = UtcDay(kNoon);
  {
    auto ledger = Ledger::Open(options);
    BOOST_REQUIRE(ledger.has_value());
    auto entry = [](std::chrono::sys_days day, std::string vendor, std::string source,
                    int64_t cost) {
      LedgerEntry e;
      e.day = day;
      e.vendor = std::move(vendor);
      e.model = "m";
      e.source = std::move(source);
      e.usage.output = 1;
      e.cost_nano_usd = cost;
      return e;
    };
    (*ledger)->Record(entry(today - std::chrono::days(1), "gw", "probe", 300));
    (*ledger)->Record(entry(today, "gw", "proxy", 200));
    (*ledger)->Record(entry(today, "other", "probe", 7));
    BOOST_TEST((*ledger)->LifetimeNanoUsd("gw") == 500);
    BOOST_REQUIRE((*ledger)->Flush());
    auto store = CheckpointStore::Open((*ledger)->path(), kNoon, 30);
    BOOST_REQUIRE(store.has_value());
    BOOST_REQUIRE((*store)->Add("gw", At(minutes(0), 10, 500)).has_value());
    BOOST_REQUIRE((*store)->Add("gw", At(minutes(15), 20, 510)).has_value());
  }
  // A day later: yesterday's rows are pruned (retention 1 day), the lifetime
  // total and the checkpoints are not.
  options.now = [] { return kNoon + hours(24); };
  auto ledger = Ledger::Open(options);
  BOOST_REQUIRE(ledger.has_value());
  BOOST_TEST((*ledger)->Day(today - std::chrono::days(1)).empty());
  BOOST_TEST((*ledger)->LifetimeNanoUsd("gw") == 500);
  auto store = CheckpointStore::Open((*ledger)->path(), kNoon + hours(24), 30);
  BOOST_REQUIRE(store.has_value());
  auto list = (*store)->Since("gw", kNoon - hours(1));
  BOOST_REQUIRE(list.size() == 2u);
  BOOST_TEST((list[1] == At(minutes(15), 20, 510)));
  BOOST_TEST((*store)->Since("other", kNoon).empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::reconcile
