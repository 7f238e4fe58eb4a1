#pragma once

// Reconciliation maths: what this exporter saw (the ledger) against what the
// vendor reports, for one vendor, model and UTC day. Pure: no I/O, no clocks.
//
// Two stories are told apart:
//   coverage - the vendor counted tokens we never saw (traffic that bypassed
//              the proxy, another client on the same key): vendor tokens exceed
//              ours by more than the tolerance;
//   price    - the vendor's cost for the tokens IT counted differs from what
//              our price table says those tokens cost: a wrong or stale price.
// Both can hold at once. Drift ratios are (vendor - local) / vendor: positive
// when the vendor reports more than we saw.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pricing/price_row.h"
#include "pricing/usage.h"

namespace llm_exporter::reconcile {

using pricing::PriceRow;
using pricing::Usage;

struct ReconcileInput {
  Usage local_tokens;
  int64_t local_cost_nano_usd = 0;
  int64_t local_requests = 0;
  int64_t vendor_requests = 0;  // 0 when the vendor does not say
  std::optional<int64_t> vendor_cost_nano_usd;
  std::optional<Usage> vendor_tokens;
  const PriceRow* price = nullptr;  // our price for the model on that day, if any
};

enum class Verdict {
  kMatch,     // within tolerance
  kCoverage,  // the vendor saw traffic we did not
  kPrice,     // the vendor charges other prices than ours
  kCoverageAndPrice,
  kLocalOnly,     // we saw traffic the vendor does not (yet) report
  kVendorBehind,  // the vendor reports less than we saw (reporting delay, or unbilled)
  kNoVendorData,
  kToppedUp,  // totals-only vendors: a top-up or reset in the window, too little after it
};
std::string_view VerdictName(Verdict verdict);

struct TokenDrift {
  std::string type;  // input, cached_input, cache_write, output
  int64_t local = 0;
  int64_t vendor = 0;
  std::optional<double> ratio;  // nullopt when the vendor reports 0
};

struct ReconcileResult {
  std::optional<double> cost_drift_ratio;  // nullopt when the vendor reports no cost
  std::vector<TokenDrift> token_drift;     // empty without vendor tokens
  std::optional<int64_t> vendor_tokens_at_our_prices_nano_usd;
  std::optional<double> price_drift_ratio;  // vendor cost vs its tokens at our prices
  bool coverage_gap = false;
  bool price_gap = false;
  Verdict verdict = Verdict::kNoVendorData;
};

// `tolerance` is the relative difference still called a match (0.005 = 0.5 %).
ReconcileResult Reconcile(const ReconcileInput& input, double tolerance = 0.005);

}  // namespace llm_exporter::reconcile
