#pragma once

// The HTML status page at / (one line per probe target with its 24 h uptime
// bar and sparklines, spend per vendor, the probe budget), the details page at
// /details (the last runs of each target, failures with their logs, the
// configuration, billing polls, reconciliation), and the text form of a
// probe's configuration for /probe?debug=true. They show where keys come
// from, never a key.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/probe_store.h"
#include "pricing/ledger.h"
#include "pricing/price_book.h"
#include "reconcile/billing_store.h"
#include "reconcile/reconciliation.h"

namespace llm_exporter::exporter {

struct StatusPageData {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const pricing::PriceBook> prices;
  std::string reload_error;
  std::string telemetry_path;
  std::string config_file;
  std::vector<ProbeStore::TargetView> targets;       // /details
  std::vector<ProbeStore::TargetOverview> overview;  // /
  std::optional<std::string> only_target;            // /details?target=
  int refresh_seconds = 0;                           // /?refresh=
  std::chrono::system_clock::time_point now;
  int64_t budget_limit_nano_usd = 0;
  int64_t probe_spent_today_nano_usd = 0;  // booked, worst cases included
  int64_t budget_remaining_nano_usd = 0;
  int64_t on_demand_remaining_nano_usd = 0;
  std::optional<pricing::LedgerHealth> ledger;
  std::map<std::string, reconcile::VendorBilling> billing;
  std::vector<reconcile::ReconciliationRow> reconciliation;
  // The ledger's spend (all sources) per vendor: today and this month (UTC).
  std::map<std::string, pricing::LedgerTotals> ledger_today;
  std::map<std::string, pricing::LedgerTotals> ledger_month;
};

// The uptime bar's cells: 15 minutes each (96 or 97 for a day); the
// sparklines join them in pairs.
inline constexpr std::chrono::minutes kStatusSlice{15};

std::string RenderStatusPage(const StatusPageData& data);
std::string RenderDetailsPage(const StatusPageData& data);
std::string ProbeConfigText(const config::Config& config, const config::ProbeConfig& probe);

}  // namespace llm_exporter::exporter
