#include "exporter/derived_metrics.h"

#include <set>

#include "exporter/exposition.h"
#include "pricing/cost.h"

namespace llm_exporter::exporter {

std::vector<prometheus::MetricFamily> BudgetMetrics(const probes::ProbeBudget& budget,
                                                    std::chrono::system_clock::time_point now) {
  std::vector<prometheus::MetricFamily> out;
  prometheus::MetricFamily scheduled = NewFamily(
      "llm_probe_budget_remaining_usd",
      "What synthetic probes may still spend today (UTC), in USD.", prometheus::MetricType::Gauge);
  scheduled.metric.push_back(
      Sample(pricing::NanoToUsd(budget.RemainingNanoUsd(pricing::UtcDay(now)))));
  out.push_back(scheduled);
  prometheus::MetricFamily on_demand = NewFamily(
      "llm_probe_on_demand_budget_remaining_usd",
      "What /probe runs may still spend today (UTC), in USD: their own part of the probe budget.",
      prometheus::MetricType::Gauge);
  on_demand.metric.push_back(
      Sample(pricing::NanoToUsd(budget.OnDemandRemainingNanoUsd(pricing::UtcDay(now)))));
  out.push_back(on_demand);

  return out;
}

std::vector<prometheus::MetricFamily> LedgerHealthMetrics(const pricing::LedgerHealth& health) {
  std::vector<prometheus::MetricFamily> out;
  prometheus::MetricFamily failed =
      NewFamily("llm_exporter_ledger_commit_failures_total",
                "Ledger commits that failed (their entries stay in memory and are retried).",
                prometheus::MetricType::Counter);
  prometheus::ClientMetric failed_sample;
  failed_sample.counter.value = static_cast<double>(health.failed_commits);
  failed.metric.push_back(failed_sample);
  out.push_back(failed);
  prometheus::MetricFamily last =
      NewFamily("llm_exporter_ledger_last_commit_success_timestamp_seconds",
                "When the ledger last committed successfully (or was opened).",
                prometheus::MetricType::Gauge);
  last.metric.push_back(
      Sample(health.last_commit
                 ? std::chrono::duration<double>(health.last_commit->time_since_epoch()).count()
                 : 0));
  out.push_back(last);
  prometheus::MetricFamily pending = NewFamily(
      "llm_exporter_ledger_pending_entries", "Entries recorded but not yet durable in the ledger.",
      prometheus::MetricType::Gauge);
  pending.metric.push_back(Sample(static_cast<double>(health.pending_entries)));
  out.push_back(pending);
  return out;
}

std::vector<prometheus::MetricFamily> PriceMetrics(const config::Config& config,
                                                   const pricing::PriceBook& prices,
                                                   std::chrono::system_clock::time_point now) {
  std::vector<prometheus::MetricFamily> out;
  // Prices of the models that probes and routes use, next to their spend.
  prometheus::MetricFamily price = NewFamily(
      "llm_model_price_usd_per_million_tokens",
      "Price in effect now, USD per million tokens, by token type.", prometheus::MetricType::Gauge);
  std::set<std::pair<std::string, std::string>> seen;
  auto add = [&](const pricing::PriceRow& row, const std::string& model) {
    if (!seen.insert({row.table, model}).second) return;
    const pricing::Prices& p = row.prices;
    for (auto [type, value] : {std::pair{"input", p.input},
                               {"cached_input", p.cached_input},
                               {"cache_write", p.cache_write_5m},
                               {"cache_write_1h", p.cache_write_1h},
                               {"output", p.output},
                               {"reasoning", p.reasoning}}) {
      price.metric.push_back(Sample(pricing::NanoToUsd(value),
                                    {{"model", model}, {"table", row.table}, {"type", type}}));
    }
  };
  for (const auto& probe : config.probes) {
    const config::VendorConfig* vendor = config.FindVendor(probe.vendor);
    if (vendor == nullptr) continue;
    if (const pricing::PriceRow* row = prices.Find(vendor->price_table, probe.model, now)) {
      add(*row, probe.model);
    }
  }
  for (const auto& route : config.proxy.routes) {
    const config::VendorConfig* vendor = config.FindVendor(route.vendor);
    if (vendor == nullptr) continue;
    for (const pricing::PriceRow* row : prices.InEffect(now)) {
      if (row->table == vendor->price_table && !pricing::IsGlob(row->model) &&
          pricing::GlobMatch(route.model, row->model)) {
        add(*row, row->model);
      }
    }
  }
  if (!price.metric.empty()) out.push_back(price);
  return out;
}

std::vector<prometheus::MetricFamily> CollectableFunction::Collect() const { return collect_(); }

}  // namespace llm_exporter::exporter
