#include "exporter/status_page.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "config/values.h"
#include "exporter/charts.h"
#include "exporter/html.h"
#include "exporter/version.h"
#include "pricing/cost.h"

namespace llm_exporter::exporter {
namespace {

using Clock = std::chrono::system_clock;
constexpr auto kSliceLength = kStatusSlice;

// Worst first: the order of the targets table.
enum class State { kFailing, kSkipped, kStale, kNoRuns, kUp };

struct TargetState {
  State state = State::kNoRuns;
  std::string word;    // "up", "failing", ...
  std::string reason;  // the failure reason, or why skipped/stale
  std::string detail;  // a longer, log-safe explanation
  const char* symbol;  // shown beside the word, never alone
  const char* css;
};

TargetState StateOf(const ProbeStore::TargetOverview& t, Clock::time_point now) {
  if (!t.last) return {State::kNoRuns, "no runs yet", "", "", "○", "muted"};
  const probes::ProbeResult& r = t.last->result;
  if (!r.sent) {
    return {State::kSkipped, "skipped", std::string(probes::ProbeFailureName(r.failure)),
            r.message,       "⏸",     "warn"};
  }
  // Overdue: the scheduler should have started (and ended) another run.
  const auto overdue = 2 * t.spec.probe.interval + t.spec.probe.timeout;
  if (now - t.last->at > overdue) {
    return {State::kStale,
            "stale",
            "no run since " + TimeText(t.last->at),
            "the last run is older than two intervals and a timeout",
            "⌛",
            "warn"};
  }
  if (!r.success) {
    return {State::kFailing, "failing", std::string(probes::ProbeFailureName(r.failure)),
            r.message,       "✖",       "bad"};
  }
  return {State::kUp, "up", "", "", "✔", "ok"};
}

std::string Percent(double share) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f %%", share * 100);
  return buffer;
}

std::string Ago(Clock::time_point then, Clock::time_point now) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - then).count();
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return std::to_string(seconds) + " s ago";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min ago";
  return std::to_string(seconds / 3600) + " h ago";
}

// Halves the slices for a sparkline: the mean of each pair's present values,
// paired from the newest (an odd count leaves the oldest slice alone).
std::vector<std::optional<double>> Pairs(const std::vector<ProbeHistory::Slice>& slices,
                                         std::optional<double> ProbeHistory::Slice::*field) {
  std::vector<std::optional<double>> out;
  size_t i = 0;
  if (slices.size() % 2 == 1) out.push_back(slices[i++].*field);
  for (; i + 1 < slices.size(); i += 2) {
    const auto& a = slices[i].*field;
    const auto& b = slices[i + 1].*field;
    if (a && b) {
      out.push_back((*a + *b) / 2);
    } else {
      out.push_back(a ? a : b);
    }
  }
  return out;
}

std::string LatestText(const std::vector<std::optional<double>>& values) {
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (*it) return Ms(**it);
  }
  return "–";
}

void TargetRow(std::string& html, const ProbeStore::TargetOverview& t, const TargetState& s,
               const StatusPageData& data) {
  const Clock::time_point now = data.now;
  const bool priced = data.prices != nullptr &&
                      data.prices->Find(t.spec.vendor.price_table, t.spec.probe.model, now);
  const auto& p = t.spec.probe;
  const std::string id = UrlEncode(p.name);
  const std::string details = "/details?target=" + id;
  int ok = 0, failed = 0;
  for (const auto& slice : t.slices) {
    ok += slice.ok;
    failed += slice.failed;
  }
  html += "<tr id=\"target-" + HtmlEscape(id) + "\" data-state=\"" + HtmlEscape(s.word) +
          "\" data-reason=\"" + HtmlEscape(s.reason) + "\">";
  html += "<td class=\"state " + std::string(s.css) + "\"" +
          (s.detail.empty() ? "" : " title=\"" + HtmlEscape(s.detail) + "\"") +
          "><span aria-hidden=\"true\">" + s.symbol + "</span> " + HtmlEscape(s.word) +
          (s.reason.empty() ? "" : ": " + HtmlEscape(s.reason)) + "</td>";
  html += "<td><a href=\"" + HtmlEscape(details) + "\">" + HtmlEscape(p.name) +
          "</a><br><small class=\"muted\">" + HtmlEscape(p.vendor) + " · " + HtmlEscape(p.model) +
          " · " + (p.stream ? "streaming" : "plain") + " · every " +
          config::FormatDuration(p.interval) +
          (priced ? std::string() : " · <span class=\"warn\">unpriced</span>") + "</small></td>";
  auto link = [&](const ProbeHistory::Slice& slice) {
    for (auto at : t.kept_failures) {
      if (at >= slice.start && at < slice.start + kSliceLength) {
        return details + "#" + RunAnchor(at);
      }
    }
    return details + "#failures-" + id;  // its log is no longer kept
  };
  html += "<td>" + UptimeBar(t.slices, kSliceLength, link) + "</td>";
  html += "<td class=\"num\">" +
          (ok + failed > 0 ? Percent(static_cast<double>(ok) / (ok + failed))
                           : std::string("<span class=\"muted\">no runs</span>")) +
          "</td>";
  auto latency = Pairs(t.slices, &ProbeHistory::Slice::mean_latency_seconds);
  html += "<td class=\"chart\">" + Sparkline(latency, "Latency") + " <span class=\"num\">" +
          LatestText(latency) + "</span></td>";
  if (p.stream) {
    auto ttft = Pairs(t.slices, &ProbeHistory::Slice::mean_ttft_seconds);
    html += "<td class=\"chart\">" + Sparkline(ttft, "Time to first token") +
            " <span class=\"num\">" + LatestText(ttft) + "</span></td>";
  } else {
    html += "<td class=\"muted\">plain (no stream)</td>";
  }
  html += "<td class=\"num\">" +
          (t.last ? "<time datetime=\"" + HtmlEscape(TimeText(t.last->at)) + "\">" +
                        Ago(t.last->at, now) + "</time>"
                  : std::string("–")) +
          "</td></tr>\n";
}

void TargetsSection(std::string& html, const StatusPageData& data) {
  html += "<h2>Probe targets</h2>\n";
  if (data.overview.empty()) {
    html += "<p>No probe targets are configured: add <code>[[probe]]</code> sections to " +
            HtmlEscape(data.config_file) + " and reload.</p>\n";
    return;
  }
  std::vector<std::pair<TargetState, const ProbeStore::TargetOverview*>> rows;
  int counts[5] = {};
  for (const auto& t : data.overview) {
    rows.emplace_back(StateOf(t, data.now), &t);
    ++counts[static_cast<int>(rows.back().first.state)];
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    if (a.first.state != b.first.state) return a.first.state < b.first.state;
    return a.second->spec.probe.name < b.second->spec.probe.name;
  });
  html += "<p class=\"summary\"><span>" + std::to_string(rows.size()) + " targets:</span>";
  const char* names[5] = {"failing", "skipped by budget", "stale", "no runs yet", "up"};
  const char* css[5] = {"bad", "warn", "warn", "muted", "ok"};
  for (int i = 0; i < 5; ++i) {
    if (counts[i] > 0) {
      html += "<span class=\"" + std::string(css[i]) + "\">" + std::to_string(counts[i]) + " " +
              names[i] + "</span>";
    }
  }
  html +=
      "</p>\n<table class=\"targets\"><thead><tr><th scope=\"col\">State</th>"
      "<th scope=\"col\">Target</th><th scope=\"col\">Last 24 h (UTC, 15 min a cell)</th>"
      "<th scope=\"col\">Availability 24 h</th><th scope=\"col\">Latency</th>"
      "<th scope=\"col\">Time to first token</th><th scope=\"col\">Last run</th></tr>"
      "</thead><tbody>\n";
  for (const auto& [state, t] : rows) TargetRow(html, *t, state, data);
  html += "</tbody></table>\n";
}

// What the vendor's report says for the days of [from, to].
std::optional<int64_t> VendorSpend(const reconcile::VendorBilling& b, std::chrono::sys_days from,
                                   std::chrono::sys_days to, int* days_reported) {
  std::optional<int64_t> sum;
  std::set<std::chrono::sys_days> days;
  for (const auto& [key, day] : b.days) {
    if (key.second < from || key.second > to || !day.cost_nano_usd) continue;
    sum = pricing::SatAdd(sum.value_or(0), *day.cost_nano_usd);
    days.insert(key.second);
  }
  if (days_reported) *days_reported = static_cast<int>(days.size());
  return sum;
}

std::string LedgerCell(const std::map<std::string, pricing::LedgerTotals>& totals,
                       const std::string& vendor) {
  auto it = totals.find(vendor);
  if (it == totals.end()) return "<td class=\"num\">$0.00</td>";
  std::string cell = "<td class=\"num\">" + Usd(it->second.cost_nano_usd);
  if (it->second.estimated_cost_nano_usd > 0) {
    cell += "<br><small class=\"warn\">+ up to " + Usd(it->second.estimated_cost_nano_usd) +
            " without usage</small>";
  }
  return cell + "</td>";
}

std::string BalanceText(const reconcile::VendorBilling& b) {
  if (!b.snapshot) return "–";
  std::vector<std::string> parts;
  for (const auto& balance : b.snapshot->balances) {
    parts.push_back("balance " + pricing::NanoUsdToString(balance.total_nano, 2) + " " +
                    balance.currency);
  }
  if (b.snapshot->used_nano_usd) parts.push_back("used " + Usd(*b.snapshot->used_nano_usd));
  if (b.snapshot->limit_nano_usd) parts.push_back("limit " + Usd(*b.snapshot->limit_nano_usd));
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "<br>") + HtmlEscape(p);
  return out.empty() ? "–" : out;
}

std::string ReconciliationCell(const std::vector<reconcile::ReconciliationRow>& rows,
                               const std::string& vendor) {
  std::string issues;
  bool any = false;
  for (const auto& row : rows) {
    if (row.vendor != vendor || row.window != "today") continue;
    if (row.result.verdict == reconcile::Verdict::kNoVendorData) continue;  // nothing to compare
    any = true;
    if (row.result.verdict == reconcile::Verdict::kMatch) continue;
    issues += std::string(issues.empty() ? "" : "<br>") + "<span title=\"" +
              HtmlEscape(reconcile::VerdictExplanation(row.result.verdict)) + "\">" +
              HtmlEscape(reconcile::VerdictName(row.result.verdict)) + " (" +
              HtmlEscape(row.model) + ")</span>";
  }
  if (!any) return "<td class=\"muted\">–</td>";
  if (issues.empty()) return "<td class=\"ok\"><span aria-hidden=\"true\">✔</span> match</td>";
  return "<td class=\"warn\"><a href=\"/reconcile\">" + issues + "</a></td>";
}

void VendorsSection(std::string& html, const StatusPageData& data) {
  html += "<h2>Vendors</h2>\n";
  const config::Config& config = *data.config;
  if (config.vendors.empty()) {
    html += "<p>No vendors are configured.</p>\n";
    return;
  }
  const auto today = pricing::UtcDay(data.now);
  const auto month = std::chrono::year_month_day(today);
  const auto month_start = std::chrono::sys_days(month.year() / month.month() / 1);
  html +=
      "<table class=\"vendors\"><thead><tr><th scope=\"col\">Vendor</th>"
      "<th scope=\"col\">Today, our ledger</th><th scope=\"col\">Today, vendor says</th>"
      "<th scope=\"col\">This month, our ledger</th>"
      "<th scope=\"col\">This month, vendor says</th><th scope=\"col\">Balance / limit</th>"
      "<th scope=\"col\">Reconciliation today</th><th scope=\"col\">Billing poll</th></tr>"
      "</thead><tbody>\n";
  for (const auto& v : config.vendors) {
    html += "<tr><td>" + HtmlEscape(v.name) + "<br><small class=\"muted\">" +
            std::string(config::ToString(v.api)) + "</small></td>";
    html += LedgerCell(data.ledger_today, v.name);
    auto billing = data.billing.find(v.name);
    const reconcile::VendorBilling* b = billing == data.billing.end() ? nullptr : &billing->second;
    if (b == nullptr || !b->snapshot) {
      html += "<td class=\"muted\">–</td>" + LedgerCell(data.ledger_month, v.name) +
              "<td class=\"muted\">–</td><td class=\"muted\">–</td>";
    } else {
      int days = 0;
      auto vendor_today = VendorSpend(*b, today, today, nullptr);
      auto vendor_month = VendorSpend(*b, month_start, today, &days);
      html += "<td class=\"num\">" + (vendor_today ? Usd(*vendor_today) : "–") + "</td>" +
              LedgerCell(data.ledger_month, v.name) + "<td class=\"num\">" +
              (vendor_month
                   ? Usd(*vendor_month) + "<br><small class=\"muted\">" + std::to_string(days) +
                         (days == 1 ? " day" : " days") + " reported</small>"
                   : std::string("–")) +
              "</td><td>" + BalanceText(*b) + "</td>";
    }
    html += ReconciliationCell(data.reconciliation, v.name);
    if (!v.billing) {
      html += "<td class=\"muted\">not configured</td>";
    } else if (!v.billing->enabled) {
      html += "<td class=\"muted\">disabled here</td>";
    } else if (b == nullptr || b->polls == 0) {
      html += "<td class=\"muted\">not polled yet</td>";
    } else if (b->up) {
      html += "<td class=\"ok\"><span aria-hidden=\"true\">✔</span> up" +
              (b->last_success ? ", " + Ago(*b->last_success, data.now) : std::string()) + "</td>";
    } else {
      html += "<td class=\"bad\" title=\"" + HtmlEscape(b->last_error) +
              "\"><span aria-hidden=\"true\">✖</span> down: " + HtmlEscape(b->last_error) + "</td>";
    }
    html += "</tr>\n";
  }
  html += "</tbody></table>\n";
}

void BudgetSection(std::string& html, const StatusPageData& data) {
  html += "<h2>Probe budget today (UTC)</h2>\n";
  const int64_t limit = data.budget_limit_nano_usd;
  const int64_t spent = data.probe_spent_today_nano_usd;
  std::string label = Usd(spent) + " of " + Usd(limit) + " spent";
  if (limit > 0)
    label += " (" + Percent(static_cast<double>(spent) / static_cast<double>(limit)) + ")";
  html += "<p>" + UsageBar(spent, limit, label) + " " + HtmlEscape(label) + "; left " +
          Usd(data.budget_remaining_nano_usd) + " for scheduled runs and " +
          Usd(data.on_demand_remaining_nano_usd) + " for on-demand runs (/probe).</p>\n";
}

}  // namespace

std::string RenderStatusPage(const StatusPageData& data) {
  std::string html = PageStart("llm_exporter status", data.refresh_seconds);
  html.reserve(4096 + data.overview.size() * 2048);
  html += "<h1>llm_exporter</h1>\n" + Navigation(data.telemetry_path);
  if (!data.reload_error.empty()) {
    html +=
        "<p class=\"banner\">The last reload failed; the previous configuration is in use. "
        "<a href=\"/details\">Why</a></p>\n";
  }
  if (data.ledger && !data.ledger->last_error.empty()) {
    html += "<p class=\"banner\">Ledger commits are failing (" +
            std::to_string(data.ledger->pending_entries) +
            " entries wait in memory and are retried): " + HtmlEscape(data.ledger->last_error) +
            "</p>\n";
  }
  TargetsSection(html, data);
  VendorsSection(html, data);
  BudgetSection(html, data);
  html += "<p class=\"muted\">Version " + HtmlEscape(kVersion) + ". Generated " +
          HtmlEscape(TimeText(data.now)) + ". Times are UTC. ";
  if (data.refresh_seconds > 0) {
    html +=
        "Refreshes every " + std::to_string(data.refresh_seconds) + " s (<a href=\"/\">stop</a>).";
  } else {
    html += "<a href=\"/?refresh=30\">Refresh every 30 s</a>.";
  }
  html +=
      " The runs of each target, failures with their logs and the configuration are on "
      "<a href=\"/details\">Details</a>.</p>\n</body></html>\n";
  return html;
}

}  // namespace llm_exporter::exporter
