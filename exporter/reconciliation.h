#pragma once

// Reconciliation per vendor, model and UTC day (today, yesterday): the ledger
// (all sources) against the vendor's last billing snapshot, through the pure
// maths of pricing/reconcile.h. Built from memory at scrape time.

#include <prometheus/metric_family.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/billing_store.h"
#include "pricing/checkpoints.h"
#include "pricing/ledger.h"
#include "pricing/price_book.h"
#include "pricing/reconcile.h"

namespace llm_exporter::exporter {

struct ReconciliationRow {
  std::string vendor;
  std::string model;
  std::string window;  // "today" | "yesterday"
  std::chrono::sys_days day;
  pricing::LedgerTotals local;
  VendorDay vendor_day;
  pricing::ReconcileResult result;
  // Totals-only vendors (model "all"): the checkpoints compared and the
  // tolerance used; local and vendor_day then hold the span's increases.
  std::optional<pricing::SpanReconciliation> span;
  int64_t tolerance_nano_usd = 0;
};

// Per model for the kinds that report per model; with `checkpoints`, one row
// (model "all") per window for the totals-only kinds.
std::vector<ReconciliationRow> BuildReconciliation(
    const config::Config& config, const pricing::PriceBook& prices, const pricing::Ledger& ledger,
    const std::map<std::string, VendorBilling>& billing, std::chrono::system_clock::time_point now,
    const pricing::CheckpointStore* checkpoints = nullptr);

// Whether a billing kind reports only totals (reconciled between checkpoints).
bool IsTotalsOnly(config::BillingKind kind);
// The vendor's lifetime spend as a checkpoint reads it from a snapshot
// (usage; minus a USD balance); nullopt when the snapshot has no such figure.
std::optional<int64_t> VendorSpent(config::BillingKind kind,
                                   const probes::billing::BillingSnapshot& snapshot);

std::vector<prometheus::MetricFamily> ReconciliationMetrics(
    const std::vector<ReconciliationRow>& rows);
std::string ReconciliationJson(const std::vector<ReconciliationRow>& rows);
// An HTML table (no page frame), for /reconcile and the status page.
std::string ReconciliationTable(const std::vector<ReconciliationRow>& rows);
// What a verdict means, for people.
std::string_view VerdictExplanation(pricing::Verdict verdict);

}  // namespace llm_exporter::exporter
