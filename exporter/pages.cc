// The HTML and JSON pages of App: / (status), /details and /reconcile.

#include "exporter/app.h"
#include "exporter/reconcile_views.h"
#include "exporter/status_page.h"
#include "pricing/cost.h"

namespace llm_exporter::exporter {

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

}  // namespace llm_exporter::exporter
