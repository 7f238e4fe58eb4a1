#pragma once

// Reconciliation per vendor, model and UTC day (today, yesterday): the ledger
// (all sources) against the vendor's last billing snapshot, through the pure
// maths of reconcile/verdict.h; the exporter renders the rows
// (exporter/reconcile_views.h).

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "pricing/ledger.h"
#include "pricing/price_book.h"
#include "reconcile/billing_store.h"
#include "reconcile/checkpoints.h"
#include "reconcile/verdict.h"

namespace llm_exporter::reconcile {

struct ReconciliationRow {
  std::string vendor;
  std::string model;
  std::string window;  // "today" | "yesterday"
  std::chrono::sys_days day;
  pricing::LedgerTotals local;
  VendorDay vendor_day;
  ReconcileResult result;
  // Totals-only vendors (model "all"): the checkpoints compared and the
  // tolerance used; local and vendor_day then hold the span's increases.
  std::optional<SpanReconciliation> span;
  int64_t tolerance_nano_usd = 0;
};

// Per model for the kinds that report per model; with `checkpoints`, one row
// (model "all") per window for the totals-only kinds.
std::vector<ReconciliationRow> BuildReconciliation(
    const config::Config& config, const pricing::PriceBook& prices, const pricing::Ledger& ledger,
    const std::map<std::string, VendorBilling>& billing, std::chrono::system_clock::time_point now,
    const CheckpointStore* checkpoints = nullptr);

// Whether a billing kind reports only totals (reconciled between checkpoints).
bool IsTotalsOnly(config::BillingKind kind);
// The vendor's lifetime spend as a checkpoint reads it from a snapshot
// (usage; minus a USD balance); nullopt when the snapshot has no such figure.
std::optional<int64_t> VendorSpent(config::BillingKind kind,
                                   const probes::billing::BillingSnapshot& snapshot);

// What a verdict means, for people.
std::string_view VerdictExplanation(Verdict verdict);

}  // namespace llm_exporter::reconcile
