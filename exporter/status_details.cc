#include <cstdio>
#include <ctime>
#include <sstream>

#include "config/values.h"
#include "exporter/html.h"
#include "exporter/reconcile_views.h"
#include "exporter/status_page.h"
#include "exporter/version.h"
#include "pricing/cost.h"

namespace llm_exporter::exporter {
namespace {

void RunRow(std::ostringstream& html, const ProbeHistoryEntry& e) {
  const probes::ProbeResult& r = e.result;
  html << "<tr><td>" << TimeText(e.at) << "</td><td class=\"" << (r.success ? "ok" : "bad") << "\">"
       << (r.success ? "success" : HtmlEscape(probes::ProbeFailureName(r.failure)))
       << (r.on_demand ? " (on demand)" : "") << "</td><td>" << (r.sent ? Ms(r.timings.total) : "-")
       << "</td><td>" << (r.timings.first_token ? Ms(*r.timings.first_token) : "-") << "</td><td>"
       << (r.http_status ? std::to_string(r.http_status) : "-") << "</td><td>"
       << (r.cost_nano_usd ? HtmlEscape(pricing::NanoUsdToString(*r.cost_nano_usd))
           : r.usage_missing_reason
               ? "&le; " + HtmlEscape(pricing::NanoUsdToString(r.estimated_cost_nano_usd)) +
                     " (no usage: " + HtmlEscape(*r.usage_missing_reason) + ")"
               : std::string("-"))
       << "</td></tr>\n";
}

}  // namespace

std::string ProbeConfigText(const config::Config& config, const config::ProbeConfig& probe) {
  std::ostringstream out;
  out << "name: " << probe.name << "\nvendor: " << probe.vendor << "\nmodel: " << probe.model
      << "\nstream: " << (probe.stream ? "true" : "false")
      << "\ninterval: " << config::FormatDuration(probe.interval)
      << "\ntimeout: " << config::FormatDuration(probe.timeout) << "\nprompt: " << probe.prompt
      << "\nmax_tokens: " << probe.max_tokens << "\nexpect: " << probe.expect
      << "\nreasoning_effort: " << probe.reasoning_effort << "\n";
  if (const config::VendorConfig* v = config.FindVendor(probe.vendor)) {
    out << "vendor.api: " << config::ToString(v->api) << "\nvendor.base_url: " << v->base_url
        << "\nvendor.api_key: " << v->api_key << " (from "
        << (v->api_key.Empty() ? "nowhere" : v->api_key.Source()) << ")"
        << "\nvendor.price_table: " << v->price_table << "\n";
  }
  return out.str();
}

std::string RenderDetailsPage(const StatusPageData& data) {
  const config::Config& config = *data.config;
  std::ostringstream html;
  html << PageStart("llm_exporter details", 0) << "<h1>Details</h1>\n"
       << Navigation(data.telemetry_path) << "<p>Version " << HtmlEscape(kVersion) << " (revision "
       << HtmlEscape(kRevision) << "). Times are UTC.</p>\n";
  if (data.only_target) {
    html << "<p>Only target <b>" << HtmlEscape(*data.only_target)
         << "</b>; <a href=\"/details\">all targets</a>.</p>\n";
  }
  html << "<h2>Configuration</h2><p>File: " << HtmlEscape(data.config_file) << "</p>\n";
  if (!data.reload_error.empty()) {
    html
        << "<p class=\"bad\">The last reload failed; the previous configuration is in use:</p><pre>"
        << HtmlEscape(data.reload_error) << "</pre>\n";
  }
  html << "<p>Probe budget today (UTC): " << Usd(data.budget_limit_nano_usd)
       << "; left: " << Usd(data.budget_remaining_nano_usd) << " for scheduled runs, "
       << Usd(data.on_demand_remaining_nano_usd) << " for on-demand runs (/probe)</p>\n";
  if (data.ledger) {
    const pricing::LedgerHealth& ledger = *data.ledger;
    if (ledger.last_error.empty()) {
      html << "<p class=\"ok\">Ledger: healthy";
    } else {
      html << "<p class=\"bad\">Ledger: commits are failing (" << ledger.failed_commits
           << " failed so far; " << ledger.pending_entries
           << " entries wait in memory and are retried): " << HtmlEscape(ledger.last_error);
    }
    if (ledger.last_commit) html << "; last commit " << TimeText(*ledger.last_commit);
    html << "</p>\n";
  }

  html << "<h2>Vendors</h2><table><tr><th>Vendor</th><th>API</th><th>Base URL</th>"
          "<th>Key from</th><th>Price table</th><th>Billing</th></tr>\n";
  for (const auto& v : config.vendors) {
    html << "<tr><td>" << HtmlEscape(v.name) << "</td><td>" << config::ToString(v.api)
         << "</td><td>" << HtmlEscape(v.base_url) << "</td><td>"
         << HtmlEscape(v.api_key.Empty() ? "(none)" : v.api_key.Source()) << "</td><td>"
         << HtmlEscape(v.price_table) << "</td><td>"
         << (v.billing ? std::string(config::ToString(v.billing->kind)) +
                             (v.billing->enabled ? "" : " (disabled here)")
                       : "-")
         << "</td></tr>\n";
  }
  html << "</table>\n";

  html << "<h2>Probe targets</h2>\n";
  std::vector<std::string> unpriced;
  for (const auto& t : data.targets) {
    const auto& p = t.spec.probe;
    const pricing::PriceRow* row =
        data.prices ? data.prices->Find(t.spec.vendor.price_table, p.model, data.now) : nullptr;
    if (row == nullptr) unpriced.push_back(t.spec.vendor.price_table + " / " + p.model);
    html << "<h3 id=\"target-" << HtmlEscape(UrlEncode(p.name)) << "\">" << HtmlEscape(p.name)
         << "</h3><p>" << HtmlEscape(p.vendor) << " · " << HtmlEscape(p.model) << " · "
         << (p.stream ? "streaming" : "plain") << " · every " << config::FormatDuration(p.interval)
         << ", timeout " << config::FormatDuration(p.timeout) << " · "
         << (row ? "priced by " + HtmlEscape(row->origin) : std::string("unpriced"))
         << " · <a href=\"/probe?target=" << HtmlEscape(UrlEncode(p.name))
         << "&amp;debug=true\">run now (debug)</a></p>\n";
    if (t.recent.empty()) {
      html << "<p>No runs yet.</p>\n";
    } else {
      html << "<table><tr><th>Started</th><th>Result</th><th>Latency</th><th>TTFT</th>"
              "<th>HTTP</th><th>Cost (USD)</th></tr>\n";
      for (const auto& e : t.recent) RunRow(html, e);
      html << "</table>\n";
    }
    if (!t.recent.empty() && !t.recent.front().result.sent) {
      html << "<p class=\"bad\">Stale: scheduled runs are skipped, "
           << HtmlEscape(t.recent.front().result.message) << "</p>\n";
    }
    if (!t.on_demand.empty()) {
      html << "<details><summary>On-demand runs (" << t.on_demand.size()
           << ", kept apart from the schedule)</summary><table><tr><th>Started</th>"
              "<th>Result</th><th>Latency</th><th>TTFT</th><th>HTTP</th><th>Cost (USD)</th></tr>\n";
      for (const auto& e : t.on_demand) RunRow(html, e);
      html << "</table></details>\n";
    }
    if (!t.failures.empty()) {
      html << "<details open id=\"failures-" << HtmlEscape(UrlEncode(p.name))
           << "\"><summary>Recent failures with their logs (" << t.failures.size()
           << ")</summary>\n";
      for (const auto& e : t.failures) {
        html << "<p id=\"" << RunAnchor(e.at) << "\"><b>" << TimeText(e.at) << " "
             << HtmlEscape(probes::ProbeFailureName(e.result.failure))
             << "</b>: " << HtmlEscape(e.result.message) << "</p><pre>";
        for (const auto& line : e.result.log) html << HtmlEscape(line) << "\n";
        html << "</pre>\n";
      }
      html << "</details>\n";
    }
  }
  html << "<h2>Billing polls</h2>\n";
  if (data.billing.empty()) {
    html << "<p>No vendor has billing polling enabled here.</p>\n";
  } else {
    html << "<table><tr><th>Vendor</th><th>Kind</th><th>State</th><th>Polls</th>"
            "<th>Last success</th><th>Last error</th></tr>\n";
    for (const auto& [vendor, b] : data.billing) {
      html << "<tr><td>" << HtmlEscape(vendor) << "</td><td>" << HtmlEscape(b.kind)
           << "</td><td class=\"" << (b.up ? "ok\">up" : "bad\">down") << "</td><td>" << b.polls
           << "</td><td>" << (b.last_success ? TimeText(*b.last_success) : "-") << "</td><td>"
           << HtmlEscape(b.last_error) << "</td></tr>\n";
    }
    html << "</table>\n";
  }
  html << "<h2>Reconciliation</h2>\n" << ReconciliationTable(data.reconciliation);
  html << "<h2>Unpriced models</h2>\n";
  if (unpriced.empty()) {
    html << "<p>Every probe target has a price.</p>\n";
  } else {
    html << "<p class=\"bad\">No price in effect for these (table / model); their cost is not "
            "counted and never guessed:</p><ul>\n";
    for (const auto& u : unpriced) html << "<li>" << HtmlEscape(u) << "</li>\n";
    html << "</ul>\n";
  }
  html << "</body></html>\n";
  return html.str();
}

}  // namespace llm_exporter::exporter
