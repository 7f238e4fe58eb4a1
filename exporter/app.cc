#include "exporter/app.h"

#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "base/log.h"
#include "config/values.h"
#include "config/web_config.h"
#include "exporter/derived_metrics.h"
#include "exporter/exposition.h"
#include "exporter/reconcile_views.h"
#include "exporter/status_page.h"
#include "exporter/version.h"
#include "pricing/cost.h"

namespace llm_exporter::exporter {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A browser marks a request that another site's page makes (a form POST, a
// fetch): such a request must not reload the exporter.
bool IsCrossSite(const HttpRequest& request) {
  std::string site = request.Header("sec-fetch-site");
  if (!site.empty() && site != "same-origin" && site != "none") return true;
  std::string origin = request.Header("origin");
  if (origin.empty()) return false;
  std::string_view host = origin;
  if (auto scheme = host.find("://"); scheme != std::string_view::npos)
    host.remove_prefix(scheme + 3);
  return host != request.Header("host");
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

}  // namespace

std::expected<Loaded, std::vector<std::string>> LoadConfigAndPricesOrThrow(const std::string& path);

std::expected<Loaded, std::vector<std::string>> LoadConfigAndPrices(const std::string& path) {
  // No exception may escape a start, a reload or --config.check: whatever
  // the loaders did not turn into a diagnostic becomes one here.
  try {
    return LoadConfigAndPricesOrThrow(path);
  } catch (const std::exception& e) {
    return std::unexpected(std::vector<std::string>{path + ": " + e.what()});
  }
}

std::expected<Loaded, std::vector<std::string>> LoadConfigAndPricesOrThrow(
    const std::string& path) {
  auto config = config::LoadConfigFile(path);
  if (!config) {
    std::vector<std::string> errors;
    for (const auto& d : config.error()) errors.push_back(d.ToString());
    return std::unexpected(errors);
  }
  auto prices = pricing::LoadPriceBook(config->pricing.files, config->pricing.litellm_json);
  if (!prices) return std::unexpected(prices.error());
  Loaded loaded;
  loaded.config = std::make_shared<const config::Config>(std::move(*config));
  loaded.prices = std::make_shared<const pricing::PriceBook>(std::move(*prices));
  return loaded;
}

std::vector<probes::ProbeSpec> ProbeSpecs(const config::Config& config) {
  std::vector<probes::ProbeSpec> specs;
  for (const auto& probe : config.probes) {
    const config::VendorConfig* vendor = config.FindVendor(probe.vendor);
    if (vendor == nullptr) continue;  // the loader rejects this
    specs.push_back({probe, *vendor});
  }
  return specs;
}

App::App(Flags flags)
    : flags_(std::move(flags)), registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name("llm_exporter_build_info")
      .Help("A metric with a constant '1' value labeled by version and revision of llm_exporter.")
      .Register(*registry_)
      .Add({{"version", kVersion}, {"revision", kRevision}})
      .Set(1);
  reload_success_ = &prometheus::BuildGauge()
                         .Name("llm_exporter_config_last_reload_successful")
                         .Help("Whether the last configuration reload attempt was successful.")
                         .Register(*registry_)
                         .Add({});
  reload_timestamp_ = &prometheus::BuildGauge()
                           .Name("llm_exporter_config_last_reload_success_timestamp_seconds")
                           .Help("Timestamp of the last successful configuration reload.")
                           .Register(*registry_)
                           .Add({});
  store_ = std::make_unique<ProbeStore>();
  collectables_ = {registry_.get(), store_.get(), &traffic_,
                   &proxy_metrics_, &derived_,    &process_collector_};
}

App::~App() { Stop(); }

std::shared_ptr<const config::Config> App::CurrentConfig() const {
  std::lock_guard lock(config_mutex_);
  return config_;
}

void App::SetReloadResult(bool ok) {
  reload_success_->Set(ok ? 1 : 0);
  if (ok) reload_timestamp_->Set(NowSeconds());
}

void App::Apply(const Loaded& loaded) {
  {
    std::lock_guard lock(config_mutex_);
    config_ = loaded.config;
    prices_ = loaded.prices;
    last_reload_error_.clear();
  }
  auto specs = ProbeSpecs(*loaded.config);
  store_->SetTargets(specs);
  std::vector<std::string> vendors;
  for (const auto& v : loaded.config->vendors) {
    vendors.push_back(v.name);
    if (v.transport.insecure_skip_verify) {
      LOG_WARN(
          "TLS certificate verification is off for this vendor (insecure_skip_verify): "
          "anyone on the path can read its key and replies",
          {"vendor", v.name});
    }
  }
  traffic_.RetainVendors(vendors);
  for (const auto& spec : specs) {
    traffic_.Touch(spec.vendor.name, spec.probe.model, "probe");
    if (loaded.prices->Find(spec.vendor.price_table, spec.probe.model, clock_.Wall()) == nullptr) {
      LOG_WARN("No price for a probe target; its runs are unpriced and not held to the budget",
               {"target", spec.probe.name}, {"table", spec.vendor.price_table},
               {"model", spec.probe.model});
    }
  }
  if (scheduler_) {
    const config::ExporterConfig& exporter = loaded.config->exporter;
    scheduler_->Update(
        specs, loaded.prices, exporter.probe_budget_nano_usd,
        exporter.on_demand_budget_nano_usd.value_or(exporter.probe_budget_nano_usd / 10));
    scheduler_->SetMaxConcurrentRunNow(exporter.max_concurrent_on_demand_probes);
  }
  billing_store_.SetVendors(*loaded.config, *loaded.prices);
  if (proxy_) proxy_->Apply(std::make_shared<const proxy::Routing>(loaded.config, loaded.prices));
  if (billing_poller_) {
    std::vector<probes::billing::BillingTarget> targets;
    for (const auto& vendor : loaded.config->vendors) {
      if (vendor.billing && vendor.billing->enabled)
        targets.push_back({vendor.name, *vendor.billing});
    }
    billing_poller_->Update(std::move(targets));
  }
}

std::expected<void, std::string> App::Start() {
  auto loaded = LoadConfigAndPrices(flags_.config_file);
  if (!loaded) {
    for (const auto& e : loaded.error()) LOG_ERROR("Invalid configuration", {"err", e});
    return std::unexpected("invalid configuration file " + flags_.config_file);
  }
  LOG_INFO("Loaded configuration", {"file", flags_.config_file},
           {"vendors", static_cast<int64_t>(loaded->config->vendors.size())},
           {"probes", static_cast<int64_t>(loaded->config->probes.size())},
           {"price_rows", static_cast<int64_t>(loaded->prices->rows().size())});

  std::error_code ec;
  std::filesystem::create_directories(flags_.state_dir, ec);
  if (ec || access(flags_.state_dir.c_str(), W_OK) != 0) {
    return std::unexpected("state directory \"" + flags_.state_dir + "\" is not writable" +
                           (ec ? ": " + ec.message() : ""));
  }
  pricing::LedgerOptions ledger_options;
  ledger_options.state_dir = flags_.state_dir;
  ledger_options.retention_days = static_cast<int>(loaded->config->exporter.ledger_retention_days);
  ledger_options.on_corrupt = [](const std::string& moved_to, const std::string& error) {
    LOG_ERROR(
        "The ledger file is not a readable database; it was moved aside and a fresh ledger "
        "started (the figures it held are not counted)",
        {"moved_to", moved_to}, {"err", error});
  };
  ledger_options.on_commit_error = [](const std::string& error, int64_t failed_commits) {
    // Retried while it fails: log the first failure and then at most one a minute.
    static std::chrono::steady_clock::time_point last_logged;
    const auto now = std::chrono::steady_clock::now();
    if (failed_commits == 1 || now - last_logged >= std::chrono::minutes(1)) {
      last_logged = now;
      LOG_ERROR("Ledger commit failed; the entries stay in memory and are retried", {"err", error},
                {"failed_commits", failed_commits});
    }
  };
  auto ledger = pricing::Ledger::Open(ledger_options);
  if (!ledger) return std::unexpected("cannot open the ledger: " + ledger.error());
  ledger_ = std::move(*ledger);
  LOG_INFO("Opened ledger", {"path", ledger_->path()});
  auto checkpoints = reconcile::CheckpointStore::Open(ledger_->path(), clock_.Wall(),
                                                      ledger_options.retention_days);
  if (!checkpoints) return std::unexpected("cannot open the ledger: " + checkpoints.error());
  checkpoints_ = std::move(*checkpoints);
  billing_store_.SetLedger(ledger_.get(), checkpoints_.get());

  probes::ProbeScheduler::Options scheduler_options;
  scheduler_options.clock = &clock_;
  scheduler_options.ledger = ledger_.get();
  meter_ = std::make_unique<meter::Meter>(traffic_, ledger_.get());
  scheduler_options.meter = meter_.get();
  scheduler_options.observer = store_.get();
  scheduler_ = std::make_unique<probes::ProbeScheduler>(scheduler_options);
  probes::billing::BillingPoller::Options billing_options;
  billing_options.clock = &clock_;
  billing_options.observer = &billing_store_;
  billing_options.first_poll_spread = std::chrono::seconds(2);
  billing_poller_ = std::make_unique<probes::billing::BillingPoller>(billing_options);
  Apply(*loaded);
  SetReloadResult(true);

  HttpServer::Options options;
  options.listen_addresses = flags_.listen_addresses;
  if (!flags_.web_config_file.empty()) {
    auto web = config::LoadWebConfigFile(flags_.web_config_file);
    if (!web) {
      for (const auto& d : web.error())
        LOG_ERROR("Invalid web configuration", {"err", d.ToString()});
      return std::unexpected("invalid web config file " + flags_.web_config_file);
    }
    options.web = std::move(*web);
  }
  auto server = HttpServer::Start(std::move(options), Routes());
  if (!server) return std::unexpected(server.error());
  server_ = std::move(*server);
  std::vector<std::string> proxy_addresses;
  if (!flags_.proxy_listen_addresses.empty()) {
    proxy_ = std::make_unique<proxy::Proxy>(
        *meter_, proxy_metrics_,
        std::make_shared<const proxy::Routing>(loaded->config, loaded->prices));
    auto bound = proxy_->Start(flags_.proxy_listen_addresses);
    if (!bound) return std::unexpected(bound.error());
    proxy_addresses = std::move(*bound);
  }
  scheduler_->Start();
  billing_poller_->Start();
  ready_ = true;
  // Logged once ready, so that whoever waits for this line finds /-/ready up.
  for (const auto& address : server_->BoundAddresses()) {
    LOG_INFO("Listening on", {"address", address});
  }
  for (const auto& address : proxy_addresses) {
    LOG_INFO("Proxy listening on", {"address", address});
  }
  return {};
}

void App::Stop() {
  ready_ = false;
  // First: its requests still running are booked before the ledger flushes.
  if (proxy_) {
    proxy_->Stop();
    proxy_.reset();
  }
  if (scheduler_) scheduler_->Stop();
  if (billing_poller_) billing_poller_->Stop();
  if (ledger_) ledger_->Flush();
  if (server_) {
    server_->Stop();
    server_.reset();
  }
}

std::expected<void, std::string> App::Reload() {
  std::lock_guard reload_lock(reload_mutex_);
  auto loaded = LoadConfigAndPrices(flags_.config_file);
  if (!loaded) {
    for (const auto& e : loaded.error()) {
      LOG_ERROR("Error reloading config; the previous configuration stays in use", {"err", e});
    }
    SetReloadResult(false);
    std::string error = Join(loaded.error());
    std::lock_guard lock(config_mutex_);
    last_reload_error_ = error;
    return std::unexpected(error);
  }
  Apply(*loaded);
  SetReloadResult(true);
  LOG_INFO("Reloaded configuration", {"file", flags_.config_file});
  return {};
}

std::vector<prometheus::MetricFamily> App::DerivedMetrics() const {
  std::vector<prometheus::MetricFamily> out;
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const pricing::PriceBook> prices;
  {
    std::lock_guard lock(config_mutex_);
    config = config_;
    prices = prices_;
  }
  if (!config || !scheduler_) return out;
  const auto now = clock_.Wall();
  auto append = [&out](std::vector<prometheus::MetricFamily> families) {
    for (auto& family : families) out.push_back(std::move(family));
  };
  append(BudgetMetrics(scheduler_->budget(), now));
  if (ledger_) append(LedgerHealthMetrics(ledger_->Health()));
  append(PriceMetrics(*config, *prices, now));
  append(billing_store_.Collect(now));
  append(ReconciliationMetrics(*Reconciliation()));
  return out;
}

std::shared_ptr<const std::vector<reconcile::ReconciliationRow>> App::Reconciliation() const {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const pricing::PriceBook> prices;
  {
    std::lock_guard lock(config_mutex_);
    config = config_;
    prices = prices_;
  }
  static const auto kNone = std::make_shared<const std::vector<reconcile::ReconciliationRow>>();
  if (!config || !ledger_) return kNone;
  const auto now = clock_.Wall();
  // Read the versions before the inputs: a change that lands meanwhile makes
  // the next call rebuild again, never keeps stale rows.
  const uint64_t billing_version = billing_store_.Version();
  const int64_t ledger_entries = ledger_->RecordedEntries();
  const auto day = pricing::UtcDay(now);
  std::lock_guard lock(reconciliation_mutex_);
  ReconciliationCache& cache = reconciliation_;
  if (cache.rows && cache.billing_version == billing_version &&
      cache.ledger_entries == ledger_entries && cache.config == config && cache.day == day) {
    return cache.rows;
  }
  cache.rows = std::make_shared<const std::vector<reconcile::ReconciliationRow>>(
      reconcile::BuildReconciliation(*config, *prices, *ledger_, billing_store_.Snapshot(), now,
                                     checkpoints_.get()));
  cache.billing_version = billing_version;
  cache.ledger_entries = ledger_entries;
  cache.config = config;
  cache.day = day;
  return cache.rows;
}

std::string App::RenderMetrics() const {
  std::vector<prometheus::MetricFamily> families;
  for (const prometheus::Collectable* collectable : collectables_) {
    for (auto& family : collectable->Collect()) families.push_back(std::move(family));
  }
  return SerializeText(families);
}

std::map<std::string, Handler> App::Routes() {
  std::map<std::string, Handler> routes;
  routes["/"] = [this](const HttpRequest& r) { return HandleStatus(r); };
  routes[flags_.telemetry_path] = [this](const HttpRequest& r) { return HandleMetrics(r); };
  routes["/-/healthy"] = [](const HttpRequest&) { return HttpResponse::Text(200, "Healthy.\n"); };
  routes["/-/ready"] = [this](const HttpRequest&) {
    return ready_ && CurrentConfig() ? HttpResponse::Text(200, "Ready.\n")
                                     : HttpResponse::Text(503, "Not ready.\n");
  };
  routes["/-/reload"] = [this](const HttpRequest& r) { return HandleReload(r); };
  routes["/probe"] = [this](const HttpRequest& r) { return HandleProbe(r); };
  routes["/reconcile"] = [this](const HttpRequest& r) { return HandleReconcile(r); };
  routes["/details"] = [this](const HttpRequest& r) { return HandleDetails(r); };
  return routes;
}

HttpResponse App::HandleMetrics(const HttpRequest&) const {
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = RenderMetrics();
  return response;
}

HttpResponse App::HandleReload(const HttpRequest& request) {
  if (!flags_.enable_lifecycle) {
    return HttpResponse::Text(403, "Lifecycle API is not enabled.\n");
  }
  if (request.method != "POST" && request.method != "PUT") {
    HttpResponse response = HttpResponse::Text(405, "This endpoint requires a POST request.\n");
    response.headers.emplace_back("Allow", "POST");
    return response;
  }
  if (IsCrossSite(request)) {
    return HttpResponse::Text(403, "Cross-site requests to /-/reload are refused.\n");
  }
  auto result = Reload();
  if (!result) return HttpResponse::Text(500, "failed to reload config:\n" + result.error());
  return HttpResponse::Text(200, "OK\n");
}

}  // namespace llm_exporter::exporter
