#include "reconcile/verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "base/enum_names.h"
#include "pricing/cost.h"

namespace llm_exporter::reconcile {
namespace {

std::optional<double> Ratio(int64_t vendor, int64_t local) {
  if (vendor == 0) {
    if (local == 0) return 0.0;
    return std::nullopt;
  }
  return static_cast<double>(vendor - local) / static_cast<double>(vendor);
}

int64_t InputSide(const Usage& u) {
  return pricing::SatAdd(pricing::SatAdd(u.input, u.cached_input),
                         pricing::SatAdd(u.cache_write_5m, u.cache_write_1h));
}

}  // namespace

std::string_view VerdictName(Verdict verdict) {
  static constexpr std::array<std::string_view, 8> kNames = {
      "match",      "coverage",      "price",          "coverage+price",
      "local_only", "vendor_behind", "no_vendor_data", "topped_up"};
  return base::EnumName(verdict, kNames, "no_vendor_data");
}

ReconcileResult Reconcile(const ReconcileInput& in, double tolerance) {
  ReconcileResult out;
  if (in.vendor_cost_nano_usd) {
    out.cost_drift_ratio = Ratio(*in.vendor_cost_nano_usd, in.local_cost_nano_usd);
  }
  if (in.vendor_tokens) {
    const Usage& v = *in.vendor_tokens;
    const Usage& l = in.local_tokens;
    const auto local = pricing::CountsByType(l);
    const auto vendor = pricing::CountsByType(v);
    for (size_t i = 0; i < pricing::kBilledTypes; ++i) {
      out.token_drift.push_back(
          {local[i].type, local[i].count, vendor[i].count, Ratio(vendor[i].count, local[i].count)});
    }
    // Coverage: the vendor counted more tokens than we saw.
    int64_t vendor_total = pricing::SatAdd(InputSide(v), v.output);
    int64_t local_total = pricing::SatAdd(InputSide(l), l.output);
    if (vendor_total > local_total && static_cast<double>(vendor_total - local_total) >
                                          tolerance * static_cast<double>(vendor_total)) {
      out.coverage_gap = true;
    }
    if (in.price != nullptr && in.vendor_cost_nano_usd) {
      int64_t expected = CostNanoUsd(*in.price, v);
      out.vendor_tokens_at_our_prices_nano_usd = expected;
      out.price_drift_ratio = Ratio(*in.vendor_cost_nano_usd, expected);
      // A sub-nano rounding difference per request is not a price story.
      int64_t difference = std::llabs(*in.vendor_cost_nano_usd - expected);
      if (difference > std::max(in.local_requests, in.vendor_requests) + 1 &&
          static_cast<double>(difference) >
              tolerance * static_cast<double>(std::max<int64_t>(*in.vendor_cost_nano_usd, 1))) {
        out.price_gap = true;
      }
    }
  } else if (in.vendor_cost_nano_usd && in.price != nullptr) {
    // Cost without tokens: any excess is unexplained; call it coverage.
    if (out.cost_drift_ratio && *out.cost_drift_ratio > tolerance) out.coverage_gap = true;
  }
  bool vendor_data = in.vendor_cost_nano_usd || in.vendor_tokens;
  bool vendor_empty = (!in.vendor_cost_nano_usd || *in.vendor_cost_nano_usd == 0) &&
                      (!in.vendor_tokens || pricing::SatAdd(InputSide(*in.vendor_tokens),
                                                            in.vendor_tokens->output) == 0);
  if (!vendor_data) {
    out.verdict = Verdict::kNoVendorData;
  } else if (vendor_empty && (in.local_requests > 0 || in.local_cost_nano_usd > 0)) {
    out.verdict = Verdict::kLocalOnly;
  } else if (!out.coverage_gap && !out.price_gap && out.cost_drift_ratio &&
             *out.cost_drift_ratio < -tolerance) {
    // Less on the bill than we saw: never a "match".
    out.verdict = Verdict::kVendorBehind;
  } else if (out.coverage_gap && out.price_gap) {
    out.verdict = Verdict::kCoverageAndPrice;
  } else if (out.coverage_gap) {
    out.verdict = Verdict::kCoverage;
  } else if (out.price_gap) {
    out.verdict = Verdict::kPrice;
  } else {
    out.verdict = Verdict::kMatch;
  }
  return out;
}

}  // namespace llm_exporter::reconcile
