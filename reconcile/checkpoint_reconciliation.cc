// Reconciliation of the vendors that report only totals (one-api/new-api
// dashboards such as HolySheep's, OpenRouter credits, DeepSeek balances):
// between checkpoints, the vendor's increase in spend against the ledger's.

#include <algorithm>
#include <limits>

#include "pricing/cost.h"
#include "probes/chat/chat_probe.h"
#include "reconcile/reconciliation.h"

namespace llm_exporter::reconcile {
namespace {

// The smallest step in which the vendor reports the figure a checkpoint reads:
// DeepSeek balances have two decimals of a dollar, one-api/new-api dashboards
// report cents with two decimals; OpenRouter reports dollars as floats.
int64_t ReportingStep(config::BillingKind kind) {
  switch (kind) {
    case config::BillingKind::kDeepSeekBalance:
      return 10'000'000;  // $0.01
    case config::BillingKind::kOpenAiDashboard:
      return 100'000;  // $0.0001
    default:
      return 1'000;
  }
}

// Requests in flight at a checkpoint may be counted by one side and not yet by
// the other: at each end of the span, every probe of the vendor plus as many
// on-demand runs as may run at once, each at its worst case; and each reading
// may be off by half the vendor's reporting step.
int64_t Tolerance(const config::Config& config, const config::VendorConfig& vendor,
                  const pricing::PriceBook& prices, std::chrono::system_clock::time_point now) {
  int64_t all = 0, largest = 0;
  for (const auto& probe : config.probes) {
    if (probe.vendor != vendor.name) continue;
    const pricing::PriceRow* row = prices.Find(vendor.price_table, probe.model, now);
    if (row == nullptr) continue;
    pricing::Usage usage;
    usage.input =
        probes::EstimateInputTokens(probes::PromptWithNonce(probe.prompt, std::string(16, '0')));
    usage.output = probe.max_tokens;
    const int64_t worst = pricing::CostNanoUsd(*row, usage);
    all = pricing::SatAdd(all, worst);
    largest = std::max(largest, worst);
  }
  const int64_t in_flight =
      pricing::SatAdd(all, largest * config.exporter.max_concurrent_on_demand_probes);
  return pricing::SatAdd(2 * in_flight, ReportingStep(vendor.billing->kind));
}

ReconciliationRow Row(const config::VendorConfig& vendor, const char* window,
                      std::chrono::sys_days day, const std::vector<Checkpoint>& list,
                      int64_t tolerance) {
  ReconciliationRow r;
  r.vendor = vendor.name;
  r.model = "all";
  r.window = window;
  r.day = day;
  r.tolerance_nano_usd = tolerance;
  SpanReconciliation span = ReconcileSpan(list, tolerance);
  r.local.cost_nano_usd = span.local_delta_nano_usd;
  if (span.verdict != Verdict::kNoVendorData) {
    r.vendor_day.cost_nano_usd = span.vendor_delta_nano_usd;
  }
  r.result.verdict = span.verdict;
  r.result.cost_drift_ratio = span.drift_ratio;
  r.span = std::move(span);
  return r;
}

}  // namespace

bool IsTotalsOnly(config::BillingKind kind) {
  return kind == config::BillingKind::kOpenAiDashboard ||
         kind == config::BillingKind::kOpenRouter || kind == config::BillingKind::kDeepSeekBalance;
}

std::optional<int64_t> VendorSpent(config::BillingKind kind,
                                   const probes::billing::BillingSnapshot& snapshot) {
  if (kind == config::BillingKind::kDeepSeekBalance) {
    for (const auto& balance : snapshot.balances) {
      if (balance.currency != "USD") continue;
      if (balance.total_nano == std::numeric_limits<int64_t>::min()) return std::nullopt;
      return -balance.total_nano;
    }
    return std::nullopt;  // no USD balance: nothing to compare with USD prices
  }
  if (IsTotalsOnly(kind)) return snapshot.used_nano_usd;
  return std::nullopt;
}

std::vector<ReconciliationRow> CheckpointRows(const config::Config& config,
                                              const pricing::PriceBook& prices,
                                              const CheckpointStore& checkpoints,
                                              std::chrono::system_clock::time_point now) {
  std::vector<ReconciliationRow> rows;
  const auto today = pricing::UtcDay(now);
  const auto yesterday = today - std::chrono::days(1);
  for (const auto& vendor : config.vendors) {
    // Only the instance that polls has checkpoints (a fleet's other instances
    // do not export these rows).
    if (!vendor.billing || !vendor.billing->enabled || !IsTotalsOnly(vendor.billing->kind)) {
      continue;
    }
    const int64_t tolerance = Tolerance(config, vendor, prices, now);
    std::vector<Checkpoint> since = checkpoints.Since(vendor.name, yesterday);
    // today: from the first checkpoint of the UTC day to the latest.
    std::vector<Checkpoint> today_list, yesterday_list;
    for (const auto& c : since)
      (pricing::UtcDay(c.at) == today ? today_list : yesterday_list).push_back(c);
    // yesterday: from its first checkpoint to the first of today.
    if (!yesterday_list.empty() && !today_list.empty())
      yesterday_list.push_back(today_list.front());
    rows.push_back(Row(vendor, "today", today, today_list, tolerance));
    if (!yesterday_list.empty()) {
      rows.push_back(Row(vendor, "yesterday", yesterday, yesterday_list, tolerance));
    }
  }
  return rows;
}

}  // namespace llm_exporter::reconcile
