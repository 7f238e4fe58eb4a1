#pragma once

// The HTML status page at / and the text form of a probe's configuration for
// /probe?debug=true. Both show where keys come from, never a key.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/billing_store.h"
#include "exporter/probe_store.h"
#include "pricing/ledger.h"
#include "pricing/price_book.h"

namespace llm_exporter::exporter {

struct StatusPageData {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const pricing::PriceBook> prices;
  std::string reload_error;
  std::string telemetry_path;
  std::string config_file;
  std::vector<ProbeStore::TargetView> targets;
  std::chrono::system_clock::time_point now;
  int64_t budget_limit_nano_usd = 0;
  int64_t budget_remaining_nano_usd = 0;
  int64_t on_demand_remaining_nano_usd = 0;
  std::optional<pricing::LedgerHealth> ledger;
  std::map<std::string, VendorBilling> billing;
  std::string reconciliation_html;
};

std::string RenderStatusPage(const StatusPageData& data);
std::string ProbeConfigText(const config::Config& config, const config::ProbeConfig& probe);

}  // namespace llm_exporter::exporter
