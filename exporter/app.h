#pragma once

// The daemon: owns the current config, the metrics registry and the HTTP
// listener, and wires the endpoints (docs/configuration.md) to them. Config is shared as an
// immutable snapshot; Reload() builds a new one aside and swaps it in only when
// it is valid.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <expected>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "config/config.h"
#include "exporter/derived_metrics.h"
#include "exporter/flags.h"
#include "exporter/http_server.h"
#include "exporter/probe_store.h"
#include "exporter/process_collector.h"
#include "meter/meter.h"
#include "meter/traffic_metrics.h"
#include "pricing/ledger.h"
#include "pricing/price_book.h"
#include "probes/billing/billing_poller.h"
#include "probes/chat/scheduler.h"
#include "proxy/proxy.h"
#include "proxy/proxy_metrics.h"
#include "reconcile/billing_store.h"
#include "reconcile/checkpoints.h"
#include "reconcile/reconciliation.h"

namespace llm_exporter::exporter {

// A config together with the price tables it names: what a start or a reload
// must load completely before anything changes.
struct Loaded {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const pricing::PriceBook> prices;
};
// Every problem of the config file and of its price tables, one line each.
std::expected<Loaded, std::vector<std::string>> LoadConfigAndPrices(const std::string& path);
std::vector<probes::ProbeSpec> ProbeSpecs(const config::Config& config);

class App {
 public:
  explicit App(Flags flags);
  ~App();

  // Loads the config and starts the listeners; an error is for the log and exit 1.
  std::expected<void, std::string> Start();
  // Reloads the config file; on failure the old config keeps running.
  std::expected<void, std::string> Reload();
  void Stop();

  std::shared_ptr<const config::Config> CurrentConfig() const;
  std::string RenderMetrics() const;

 private:
  std::map<std::string, Handler> Routes();
  HttpResponse HandleStatus(const HttpRequest& request) const;
  HttpResponse HandleDetails(const HttpRequest& request) const;
  struct StatusPageData StatusData() const;
  HttpResponse HandleMetrics(const HttpRequest& request) const;
  HttpResponse HandleReload(const HttpRequest& request);
  HttpResponse HandleProbe(const HttpRequest& request);
  HttpResponse HandleReconcile(const HttpRequest& request) const;
  // The reconciliation rows, rebuilt only when an input changed (a poll, a
  // ledger entry, the config, the UTC day), not on every request.
  std::shared_ptr<const std::vector<reconcile::ReconciliationRow>> Reconciliation() const;
  void SetReloadResult(bool ok);
  void Apply(const Loaded& loaded);
  std::vector<prometheus::MetricFamily> DerivedMetrics() const;

  Flags flags_;
  std::shared_ptr<prometheus::Registry> registry_;
  ProcessCollector process_collector_;
  CollectableFunction derived_{[this] { return DerivedMetrics(); }};
  prometheus::Gauge* reload_success_ = nullptr;
  prometheus::Gauge* reload_timestamp_ = nullptr;

  base::SystemClock clock_;
  meter::TrafficMetrics traffic_;
  std::unique_ptr<meter::Meter> meter_;
  std::unique_ptr<ProbeStore> store_;
  std::unique_ptr<pricing::Ledger> ledger_;
  std::unique_ptr<reconcile::CheckpointStore> checkpoints_;
  std::unique_ptr<probes::ProbeScheduler> scheduler_;
  reconcile::BillingStore billing_store_;
  std::unique_ptr<probes::billing::BillingPoller> billing_poller_;
  proxy::ProxyMetrics proxy_metrics_;
  std::unique_ptr<proxy::Proxy> proxy_;

  mutable std::mutex config_mutex_;
  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<const pricing::PriceBook> prices_;
  std::mutex reload_mutex_;
  std::string last_reload_error_;  // guarded by config_mutex_

  struct ReconciliationCache {
    uint64_t billing_version = 0;
    int64_t ledger_entries = -1;
    std::shared_ptr<const config::Config> config;  // held: a new one never reuses its address
    std::chrono::sys_days day{};
    std::shared_ptr<const std::vector<reconcile::ReconciliationRow>> rows;
  };
  mutable std::mutex reconciliation_mutex_;
  mutable ReconciliationCache reconciliation_;

  // What /metrics renders, in order (the registry's series first).
  std::vector<const prometheus::Collectable*> collectables_;

  std::unique_ptr<HttpServer> server_;
  std::atomic<bool> ready_{false};
};

}  // namespace llm_exporter::exporter
