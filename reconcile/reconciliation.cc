#include "reconcile/reconciliation.h"

#include <set>

#include "pricing/cost.h"

namespace llm_exporter::reconcile {

// checkpoint_reconciliation.cc
std::vector<ReconciliationRow> CheckpointRows(const config::Config& config,
                                              const pricing::PriceBook& prices,
                                              const CheckpointStore& checkpoints,
                                              std::chrono::system_clock::time_point now);

std::string_view VerdictExplanation(Verdict verdict) {
  switch (verdict) {
    case Verdict::kMatch:
      return "the vendor's figures agree with what this exporter saw";
    case Verdict::kCoverage:
      return "coverage: the vendor counted tokens this exporter never saw (traffic that bypassed "
             "the proxy, or another client using the key)";
    case Verdict::kPrice:
      return "price: the vendor charges a different price for the tokens it counted than our "
             "price table says (a wrong or stale price)";
    case Verdict::kCoverageAndPrice:
      return "both a coverage gap and a price difference";
    case Verdict::kLocalOnly:
      return "the vendor reports nothing yet for traffic this exporter saw (reporting delay?)";
    case Verdict::kVendorBehind:
      return "the vendor reports less than this exporter saw (reporting delay, or traffic the "
             "vendor did not bill)";
    case Verdict::kNoVendorData:
      return "no vendor figures";
    case Verdict::kToppedUp:
      return "a top-up (or a reset of the vendor's figures) in this window: inconclusive until "
             "two checkpoints follow it";
  }
  return "";
}

std::vector<ReconciliationRow> BuildReconciliation(
    const config::Config& config, const pricing::PriceBook& prices, const pricing::Ledger& ledger,
    const std::map<std::string, VendorBilling>& billing, std::chrono::system_clock::time_point now,
    const CheckpointStore* checkpoints) {
  std::vector<ReconciliationRow> rows;
  auto today = pricing::UtcDay(now);
  for (const auto& vendor : config.vendors) {
    // Every vendor's local side is exported, so that a fleet's recording
    // rules can sum it whichever instance polls billing; vendor figures come
    // from the kinds that report per model.
    auto b = billing.find(vendor.name);
    const VendorBilling* vendor_billing =
        b != billing.end() && b->second.snapshot && !IsTotalsOnly(b->second.billing_kind)
            ? &b->second
            : nullptr;
    std::set<std::string> known = meter::KnownModels(config, vendor, prices);
    for (auto [window, day] :
         {std::pair{"today", today}, {"yesterday", today - std::chrono::days(1)}}) {
      std::map<std::string, ReconciliationRow> by_model;
      // With a report, the ledger as it stood when the report was fetched.
      const std::vector<pricing::LedgerRow>* at_poll = nullptr;
      if (vendor_billing != nullptr) {
        auto it = vendor_billing->local_at_poll.find(day);
        if (it != vendor_billing->local_at_poll.end()) at_poll = &it->second;
      }
      for (const auto& row : at_poll != nullptr ? *at_poll : ledger.Day(day)) {
        if (row.vendor != vendor.name) continue;
        auto& r = by_model[meter::ModelLabel(known, row.model)];
        r.local.requests = pricing::SatAdd(r.local.requests, row.totals.requests);
        r.local.unpriced_requests =
            pricing::SatAdd(r.local.unpriced_requests, row.totals.unpriced_requests);
        r.local.tokens += row.totals.tokens;
        r.local.cost_nano_usd = pricing::SatAdd(r.local.cost_nano_usd, row.totals.cost_nano_usd);
      }
      if (vendor_billing != nullptr) {
        for (const auto& [key, vendor_day] : vendor_billing->days) {
          if (key.second == day) by_model[key.first].vendor_day = vendor_day;
        }
      }
      for (auto& [model, r] : by_model) {
        r.vendor = vendor.name;
        r.model = model;
        r.window = window;
        r.day = day;
        ReconcileInput in;
        in.local_tokens = r.local.tokens;
        in.local_cost_nano_usd = r.local.cost_nano_usd;
        in.local_requests = r.local.requests;
        in.vendor_requests = r.vendor_day.requests;
        in.vendor_cost_nano_usd = r.vendor_day.cost_nano_usd;
        in.vendor_tokens = r.vendor_day.tokens;
        in.price = model == "other"
                       ? nullptr
                       : prices.Find(vendor.price_table, model, std::chrono::sys_seconds(day));
        // With a report, a model the vendor does not list for the day is zero.
        if (vendor_billing != nullptr && !in.vendor_cost_nano_usd && !in.vendor_tokens) {
          in.vendor_cost_nano_usd = 0;
          in.vendor_tokens = pricing::Usage{};
        }
        r.result = Reconcile(in);
        rows.push_back(std::move(r));
      }
    }
  }
  if (checkpoints != nullptr) {
    for (auto& row : CheckpointRows(config, prices, *checkpoints, now))
      rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace llm_exporter::reconcile
