#pragma once

// Series computed at scrape time from the state of other parts (the probe
// budget, the ledger's health, the prices in effect), and an adapter that
// lets any such function stand in the list of collectables /metrics renders.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <functional>
#include <vector>

#include "config/config.h"
#include "pricing/ledger.h"
#include "pricing/price_book.h"
#include "probes/chat/scheduler.h"

namespace llm_exporter::exporter {

// llm_probe_budget_remaining_usd, llm_probe_on_demand_budget_remaining_usd.
std::vector<prometheus::MetricFamily> BudgetMetrics(const probes::ProbeBudget& budget,
                                                    std::chrono::system_clock::time_point now);
// llm_exporter_ledger_*.
std::vector<prometheus::MetricFamily> LedgerHealthMetrics(const pricing::LedgerHealth& health);
// llm_model_price_usd_per_million_tokens of the models probes and routes use.
std::vector<prometheus::MetricFamily> PriceMetrics(const config::Config& config,
                                                   const pricing::PriceBook& prices,
                                                   std::chrono::system_clock::time_point now);

class CollectableFunction final : public prometheus::Collectable {
 public:
  explicit CollectableFunction(std::function<std::vector<prometheus::MetricFamily>()> collect)
      : collect_(std::move(collect)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<std::vector<prometheus::MetricFamily>()> collect_;
};

}  // namespace llm_exporter::exporter
