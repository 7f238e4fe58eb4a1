// The HTML and JSON pages of App: / (status), /details and /reconcile.

#include "exporter/app.h"
#include "exporter/html.h"
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
  return HttpResponse::Html(RenderStatusPage(data));
}

HttpResponse App::HandleDetails(const HttpRequest& request) const {
  StatusPageData data = StatusData();
  data.only_target = request.QueryParam("target");
  if (data.only_target && data.only_target->empty()) data.only_target.reset();
  data.targets = store_->Snapshot(data.only_target);
  return HttpResponse::Html(RenderDetailsPage(data));
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
  return HttpResponse::Html(
      PageStart("llm_exporter reconciliation", 0) + "<h1>Reconciliation</h1>\n" +
      Navigation(flags_.telemetry_path) +
      "<p><a href=\"/reconcile?format=json\">JSON</a>. This exporter's ledger (probes and proxy) "
      "against the vendor's own usage and cost reports, per UTC day. Drift is (vendor &minus; "
      "local) / vendor.</p>\n" +
      ReconciliationTable(rows) + "</body></html>\n");
}

}  // namespace llm_exporter::exporter
