#include "reconcile/verdict.h"

#include <boost/test/unit_test.hpp>

#include "pricing/cost.h"

using namespace llm_exporter::pricing;
using namespace llm_exporter::reconcile;

namespace {

PriceRow Row(int64_t input_per_m_usd, int64_t output_per_m_usd) {
  PriceRow row;
  row.table = "t";
  row.model = "m";
  row.prices.input = row.prices.cached_input = input_per_m_usd * 1'000'000'000;
  row.prices.output = row.prices.reasoning = output_per_m_usd * 1'000'000'000;
  return row;
}

Usage Tokens(int64_t input, int64_t output) {
  Usage u;
  u.input = input;
  u.output = output;
  return u;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reconcile)

BOOST_AUTO_TEST_CASE(all_seen_and_same_prices_is_an_exact_match) {
  PriceRow row = Row(1, 2);
  ReconcileInput in;
  in.local_tokens = Tokens(1000, 500);
  in.local_cost_nano_usd = CostNanoUsd(row, in.local_tokens);
  in.local_requests = 10;
  in.vendor_tokens = in.local_tokens;
  in.vendor_cost_nano_usd = in.local_cost_nano_usd;
  in.price = &row;
  ReconcileResult r = Reconcile(in);
  BOOST_TEST(*r.cost_drift_ratio == 0.0);
  BOOST_TEST((r.verdict == Verdict::kMatch));
  for (const auto& t : r.token_drift) BOOST_TEST(*t.ratio == 0.0);
}

BOOST_AUTO_TEST_CASE(bypassing_traffic_is_coverage_not_price) {
  PriceRow row = Row(1, 2);
  ReconcileInput in;
  in.local_tokens = Tokens(1000, 500);
  in.local_cost_nano_usd = CostNanoUsd(row, in.local_tokens);  // 2000 nano
  in.vendor_tokens = Tokens(2000, 1000);
  in.vendor_cost_nano_usd = CostNanoUsd(row, *in.vendor_tokens);  // 4000 nano
  in.price = &row;
  ReconcileResult r = Reconcile(in);
  BOOST_TEST(*r.cost_drift_ratio == 0.5);
  BOOST_TEST(r.coverage_gap);
  BOOST_TEST(!r.price_gap);
  BOOST_TEST(*r.price_drift_ratio == 0.0);
  BOOST_TEST((r.verdict == Verdict::kCoverage));
  BOOST_TEST(*r.token_drift[0].ratio == 0.5);
}

BOOST_AUTO_TEST_CASE(vendor_charging_more_is_price_with_sign_and_size) {
  PriceRow ours = Row(1, 2);
  PriceRow theirs = Row(2, 4);  // twice our price
  ReconcileInput in;
  in.local_tokens = Tokens(1000, 500);
  in.local_cost_nano_usd = CostNanoUsd(ours, in.local_tokens);
  in.vendor_tokens = in.local_tokens;
  in.vendor_cost_nano_usd = CostNanoUsd(theirs, in.local_tokens);
  in.price = &ours;
  ReconcileResult r = Reconcile(in);
  BOOST_TEST(*r.cost_drift_ratio == 0.5);
  BOOST_TEST(*r.price_drift_ratio == 0.5);
  BOOST_TEST(!r.coverage_gap);
  BOOST_TEST((r.verdict == Verdict::kPrice));
  // Cheaper vendor: negative drift.
  in.vendor_cost_nano_usd = in.local_cost_nano_usd / 2;
  r = Reconcile(in);
  BOOST_TEST(*r.cost_drift_ratio == -1.0);
  BOOST_TEST((r.verdict == Verdict::kPrice));
}

BOOST_AUTO_TEST_CASE(rounding_per_request_is_not_a_price_story) {
  PriceRow row;
  row.prices.input = 1'500'000;  // $0.0015 per million: 0.0015 nano per token
  row.prices.output = 1'500'000;
  ReconcileInput in;
  // Three requests of one token: each costs 1.5 nano, rounded to 2; the
  // three tokens repriced at once cost 4.5, rounded to 4.
  in.local_requests = 3;
  in.local_tokens = Tokens(3, 0);
  in.local_cost_nano_usd = 6;
  in.vendor_tokens = in.local_tokens;
  in.vendor_cost_nano_usd = 6;
  in.price = &row;
  ReconcileResult r = Reconcile(in);
  BOOST_TEST(*r.vendor_tokens_at_our_prices_nano_usd == 4);
  BOOST_TEST(!r.price_gap);
  BOOST_TEST(*r.cost_drift_ratio == 0.0);
}

BOOST_AUTO_TEST_CASE(no_vendor_data_and_local_only) {
  ReconcileInput in;
  in.local_tokens = Tokens(10, 10);
  in.local_requests = 1;
  in.local_cost_nano_usd = 30;
  BOOST_TEST((Reconcile(in).verdict == Verdict::kNoVendorData));
  in.vendor_cost_nano_usd = 0;
  in.vendor_tokens = Usage{};
  ReconcileResult r = Reconcile(in);
  BOOST_TEST((r.verdict == Verdict::kLocalOnly));
  BOOST_TEST(!r.cost_drift_ratio.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reconcile_behind)

BOOST_AUTO_TEST_CASE(vendor_reporting_less_is_never_a_match) {
  PriceRow row = Row(1, 2);
  ReconcileInput in;
  in.local_tokens = Tokens(2000, 1000);
  in.local_cost_nano_usd = CostNanoUsd(row, in.local_tokens);
  in.local_requests = 20;
  in.vendor_tokens = Tokens(1000, 500);  // half reported so far
  in.vendor_cost_nano_usd = CostNanoUsd(row, *in.vendor_tokens);
  in.price = &row;
  ReconcileResult r = Reconcile(in);
  BOOST_TEST(*r.cost_drift_ratio == -1.0);
  BOOST_TEST((r.verdict == Verdict::kVendorBehind));
  BOOST_TEST(VerdictName(r.verdict) == "vendor_behind");
}

BOOST_AUTO_TEST_SUITE_END()
