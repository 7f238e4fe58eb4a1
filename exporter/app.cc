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
  store_ = std::make_unique<ProbeStore>(*registry_);
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
  if (!flags_.proxy_listen_address.empty()) {
    LOG_WARN("The in-path proxy is not implemented yet; --proxy.listen-address is ignored",
             {"address", flags_.proxy_listen_address});
  }
  scheduler_->Start();
  billing_poller_->Start();
  ready_ = true;
  // Logged once ready, so that whoever waits for this line finds /-/ready up.
  for (const auto& address : server_->BoundAddresses()) {
    LOG_INFO("Listening on", {"address", address});
  }
  return {};
}

void App::Stop() {
  ready_ = false;
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
  auto now = clock_.Wall();

  prometheus::MetricFamily budget = NewFamily(
      "llm_probe_budget_remaining_usd",
      "What synthetic probes may still spend today (UTC), in USD.", prometheus::MetricType::Gauge);
  budget.metric.push_back(
      Sample(pricing::NanoToUsd(scheduler_->budget().RemainingNanoUsd(pricing::UtcDay(now)))));
  out.push_back(budget);
  prometheus::MetricFamily on_demand = NewFamily(
      "llm_probe_on_demand_budget_remaining_usd",
      "What /probe runs may still spend today (UTC), in USD: their own part of the probe budget.",
      prometheus::MetricType::Gauge);
  on_demand.metric.push_back(Sample(
      pricing::NanoToUsd(scheduler_->budget().OnDemandRemainingNanoUsd(pricing::UtcDay(now)))));
  out.push_back(on_demand);

  if (ledger_) {
    pricing::LedgerHealth health = ledger_->Health();
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
        "llm_exporter_ledger_pending_entries",
        "Entries recorded but not yet durable in the ledger.", prometheus::MetricType::Gauge);
    pending.metric.push_back(Sample(static_cast<double>(health.pending_entries)));
    out.push_back(pending);
  }

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
  for (const auto& probe : config->probes) {
    const config::VendorConfig* vendor = config->FindVendor(probe.vendor);
    if (vendor == nullptr) continue;
    if (const pricing::PriceRow* row = prices->Find(vendor->price_table, probe.model, now)) {
      add(*row, probe.model);
    }
  }
  for (const auto& route : config->proxy.routes) {
    const config::VendorConfig* vendor = config->FindVendor(route.vendor);
    if (vendor == nullptr) continue;
    for (const pricing::PriceRow* row : prices->InEffect(now)) {
      if (row->table == vendor->price_table && !pricing::IsGlob(row->model) &&
          pricing::GlobMatch(route.model, row->model)) {
        add(*row, row->model);
      }
    }
  }
  if (!price.metric.empty()) out.push_back(price);
  for (auto& family : billing_store_.Collect(now)) out.push_back(std::move(family));
  for (auto& family : ReconciliationMetrics(*Reconciliation())) out.push_back(std::move(family));
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

HttpResponse App::HandleReconcile(const HttpRequest& request) const {
  auto rows_ptr = Reconciliation();
  const auto& rows = *rows_ptr;
  HttpResponse response;
  if (request.QueryParam("format").value_or("") == "json") {
    response.content_type = "application/json";
    response.body = ReconciliationJson(rows);
    return response;
  }
  response.content_type = "text/html; charset=utf-8";
  response.body = std::string(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>llm_exporter reconciliation</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.bad{color:#b00}.ok{color:#070}</style>
</head><body><h1>Reconciliation</h1><p><a href="/">Status</a> · <a href="/reconcile?format=json">JSON</a></p>
<p>This exporter's ledger (probes and proxy) against the vendor's own usage and cost reports, per UTC day.
Drift is (vendor &minus; local) / vendor.</p>
)") + ReconciliationTable(rows) +
                  "</body></html>\n";
  return response;
}

std::string App::RenderMetrics() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : traffic_.Collect()) families.push_back(std::move(family));
  for (auto& family : DerivedMetrics()) families.push_back(std::move(family));
  for (auto& family : process_collector_.Collect()) families.push_back(std::move(family));
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

HttpResponse App::HandleProbe(const HttpRequest& request) {
  auto target = request.QueryParam("target");
  if (!target || target->empty()) {
    return HttpResponse::Text(400, "Target parameter is missing\n");
  }
  auto config = CurrentConfig();
  const config::ProbeConfig* probe = config->FindProbe(*target);
  if (probe == nullptr) {
    return HttpResponse::Text(400, "Unknown target \"" + *target + "\"\n");
  }
  // Blackbox-style: leave half a second of the scrape timeout for the reply.
  auto timeout = probe->timeout;
  std::string header = request.Header("x-prometheus-scrape-timeout-seconds");
  if (!header.empty()) {
    char* end = nullptr;
    double seconds = std::strtod(header.c_str(), &end);
    if (end != header.c_str() && seconds > 0 && std::isfinite(seconds)) {
      seconds = std::min(seconds, 3600.0);
      auto budget = std::chrono::milliseconds(static_cast<int64_t>((seconds - 0.5) * 1000));
      timeout = std::min(timeout, std::max(budget, std::chrono::milliseconds(0)));
    }
  }
  auto result = scheduler_->RunNow(*target, timeout);
  if (!result) {
    HttpResponse refused = HttpResponse::Text(result.error().status,
                                              result.error().message + " \"" + *target + "\"\n");
    if (result.error().status == 429) refused.headers.emplace_back("Retry-After", "1");
    return refused;
  }
  std::string metrics = RenderProbeResult(*result);
  if (request.QueryParam("debug").value_or("") == "true") {
    std::string text = "Logs for the probe:\n";
    for (const auto& line : result->log) text += line + "\n";
    text += "\n\nMetrics that would have been returned:\n" + metrics;
    text += "\n\nProbe configuration:\n" + ProbeConfigText(*config, *probe);
    return HttpResponse::Text(200, text);
  }
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = metrics;
  return response;
}

StatusPageData App::StatusData() const {
  StatusPageData data;
  {
    std::lock_guard lock(config_mutex_);
    data.config = config_;
    data.prices = prices_;
    data.reload_error = last_reload_error_;
  }
  data.telemetry_path = flags_.telemetry_path;
  data.config_file = flags_.config_file;
  data.billing = billing_store_.Snapshot();
  data.reconciliation = *Reconciliation();
  data.now = clock_.Wall();
  const auto today = pricing::UtcDay(data.now);
  if (scheduler_) {
    data.budget_limit_nano_usd = scheduler_->budget().LimitNanoUsd();
    data.budget_remaining_nano_usd = scheduler_->budget().RemainingNanoUsd(today);
    data.on_demand_remaining_nano_usd = scheduler_->budget().OnDemandRemainingNanoUsd(today);
  }
  if (ledger_) {
    data.ledger = ledger_->Health();
    data.probe_spent_today_nano_usd = ledger_->SpendNanoUsd(today, "probe");
    const auto ymd = std::chrono::year_month_day(today);
    for (auto day = std::chrono::sys_days(ymd.year() / ymd.month() / 1); day <= today;
         day += std::chrono::days(1)) {
      for (const auto& row : ledger_->Day(day)) {
        pricing::AddTotals(data.ledger_month[row.vendor], row.totals);
        if (day == today) pricing::AddTotals(data.ledger_today[row.vendor], row.totals);
      }
    }
  }
  return data;
}

HttpResponse App::HandleStatus(const HttpRequest& request) const {
  StatusPageData data = StatusData();
  data.overview = store_->Overview(data.now, kStatusSlice);
  if (auto refresh = request.QueryParam("refresh")) {
    int seconds = std::atoi(refresh->c_str());
    if (seconds >= 5 && seconds <= 3600) data.refresh_seconds = seconds;
  }
  HttpResponse response;
  response.content_type = "text/html; charset=utf-8";
  response.body = RenderStatusPage(data);
  return response;
}

HttpResponse App::HandleDetails(const HttpRequest& request) const {
  StatusPageData data = StatusData();
  data.only_target = request.QueryParam("target");
  if (data.only_target && data.only_target->empty()) data.only_target.reset();
  data.targets = store_->Snapshot(data.only_target);
  HttpResponse response;
  response.content_type = "text/html; charset=utf-8";
  response.body = RenderDetailsPage(data);
  return response;
}

}  // namespace llm_exporter::exporter
