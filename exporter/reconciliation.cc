#include "exporter/reconciliation.h"

#include <cstdio>
#include <set>
#include <sstream>

#include "exporter/exposition.h"
#include "exporter/html.h"
#include "pricing/cost.h"

namespace llm_exporter::exporter {

// checkpoint_reconciliation.cc
std::vector<ReconciliationRow> CheckpointRows(const config::Config& config,
                                              const pricing::PriceBook& prices,
                                              const pricing::CheckpointStore& checkpoints,
                                              std::chrono::system_clock::time_point now);

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Ratio(const std::optional<double>& ratio) {
  if (!ratio) return "null";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", *ratio);
  return buffer;
}

// For totals-only rows: the checkpoints compared, any top-up, the tolerance.
std::string SpanText(const ReconciliationRow& r) {
  if (!r.span || !r.span->start) return "";
  std::string text =
      "<br><small>" + TimeText(r.span->start->at) + " &rarr; " + TimeText(r.span->end->at);
  if (r.span->reset_at) text += ", top-up or reset at " + TimeText(*r.span->reset_at);
  return text + ", tolerance $" + pricing::NanoUsdToString(r.tolerance_nano_usd) + "</small>";
}

std::string Percent(const std::optional<double>& ratio) {
  if (!ratio) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%+.2f %%", *ratio * 100);
  return buffer;
}

}  // namespace

std::string_view VerdictExplanation(pricing::Verdict verdict) {
  switch (verdict) {
    case pricing::Verdict::kMatch:
      return "the vendor's figures agree with what this exporter saw";
    case pricing::Verdict::kCoverage:
      return "coverage: the vendor counted tokens this exporter never saw (traffic that bypassed "
             "the proxy, or another client using the key)";
    case pricing::Verdict::kPrice:
      return "price: the vendor charges a different price for the tokens it counted than our "
             "price table says (a wrong or stale price)";
    case pricing::Verdict::kCoverageAndPrice:
      return "both a coverage gap and a price difference";
    case pricing::Verdict::kLocalOnly:
      return "the vendor reports nothing yet for traffic this exporter saw (reporting delay?)";
    case pricing::Verdict::kVendorBehind:
      return "the vendor reports less than this exporter saw (reporting delay, or traffic the "
             "vendor did not bill)";
    case pricing::Verdict::kNoVendorData:
      return "no vendor figures";
    case pricing::Verdict::kToppedUp:
      return "a top-up (or a reset of the vendor's figures) in this window: inconclusive until "
             "two checkpoints follow it";
  }
  return "";
}

std::vector<ReconciliationRow> BuildReconciliation(
    const config::Config& config, const pricing::PriceBook& prices, const pricing::Ledger& ledger,
    const std::map<std::string, VendorBilling>& billing, std::chrono::system_clock::time_point now,
    const pricing::CheckpointStore* checkpoints) {
  std::vector<ReconciliationRow> rows;
  auto today = pricing::UtcDay(now);
  for (const auto& vendor : config.vendors) {
    // Every vendor's local side is exported, so that a fleet's recording
    // rules can sum it whichever instance polls billing; vendor figures come
    // from the kinds that report per model.
    auto b = billing.find(vendor.name);
    const VendorBilling* vendor_billing =
        b != billing.end() && b->second.snapshot &&
                (b->second.kind == "openai_org" || b->second.kind == "anthropic_admin")
            ? &b->second
            : nullptr;
    std::set<std::string> known = meter::KnownModels(config, vendor, prices);
    for (auto [window, day] :
         {std::pair{"today", today}, {"yesterday", today - std::chrono::days(1)}}) {
      std::map<std::string, ReconciliationRow> by_model;
      // With a report, the ledger as it stood when the report was fetched.
      const std::vector<pricing::LedgerRow>* at_poll = nullptr;
      if (vendor_billing != nullptr) {
        auto it = vendor_billing->local_at_poll.find(day);
        if (it != vendor_billing->local_at_poll.end()) at_poll = &it->second;
      }
      for (const auto& row : at_poll != nullptr ? *at_poll : ledger.Day(day)) {
        if (row.vendor != vendor.name) continue;
        auto& r = by_model[meter::ModelLabel(known, row.model)];
        r.local.requests = pricing::SatAdd(r.local.requests, row.totals.requests);
        r.local.unpriced_requests =
            pricing::SatAdd(r.local.unpriced_requests, row.totals.unpriced_requests);
        r.local.tokens += row.totals.tokens;
        r.local.cost_nano_usd = pricing::SatAdd(r.local.cost_nano_usd, row.totals.cost_nano_usd);
      }
      if (vendor_billing != nullptr) {
        for (const auto& [key, vendor_day] : vendor_billing->days) {
          if (key.second == day) by_model[key.first].vendor_day = vendor_day;
        }
      }
      for (auto& [model, r] : by_model) {
        r.vendor = vendor.name;
        r.model = model;
        r.window = window;
        r.day = day;
        pricing::ReconcileInput in;
        in.local_tokens = r.local.tokens;
        in.local_cost_nano_usd = r.local.cost_nano_usd;
        in.local_requests = r.local.requests;
        in.vendor_requests = r.vendor_day.requests;
        in.vendor_cost_nano_usd = r.vendor_day.cost_nano_usd;
        in.vendor_tokens = r.vendor_day.tokens;
        in.price = model == "other"
                       ? nullptr
                       : prices.Find(vendor.price_table, model, std::chrono::sys_seconds(day));
        // With a report, a model the vendor does not list for the day is zero.
        if (vendor_billing != nullptr && !in.vendor_cost_nano_usd && !in.vendor_tokens) {
          in.vendor_cost_nano_usd = 0;
          in.vendor_tokens = pricing::Usage{};
        }
        r.result = pricing::Reconcile(in);
        rows.push_back(std::move(r));
      }
    }
  }
  if (checkpoints != nullptr) {
    for (auto& row : CheckpointRows(config, prices, *checkpoints, now))
      rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<MetricFamily> ReconciliationMetrics(const std::vector<ReconciliationRow>& rows) {
  const auto gauge = prometheus::MetricType::Gauge;
  MetricFamily local = NewFamily(
      "llm_reconciliation_local_cost_usd",
      "What this exporter's ledger says was spent (all sources), per UTC day window.", gauge);
  MetricFamily vendor = NewFamily("llm_reconciliation_vendor_cost_usd",
                                  "What the vendor reports was spent, per UTC day window.", gauge);
  MetricFamily drift =
      NewFamily("llm_reconciliation_drift_ratio",
                "(vendor - local) / vendor cost; absent when the vendor reports no cost.", gauge);
  MetricFamily token_drift = NewFamily(
      "llm_reconciliation_token_drift_ratio",
      "(vendor - local) / vendor tokens by type; absent when the vendor reports 0.", gauge);
  for (const auto& r : rows) {
    std::vector<std::pair<std::string, std::string>> labels = {
        {"model", r.model}, {"vendor", r.vendor}, {"window", r.window}};
    local.metric.push_back(Sample(pricing::NanoToUsd(r.local.cost_nano_usd), labels));
    if (r.result.verdict != pricing::Verdict::kNoVendorData) {
      vendor.metric.push_back(
          Sample(pricing::NanoToUsd(r.vendor_day.cost_nano_usd.value_or(0)), labels));
    }
    if (r.result.cost_drift_ratio)
      drift.metric.push_back(Sample(*r.result.cost_drift_ratio, labels));
    for (const auto& t : r.result.token_drift) {
      if (!t.ratio) continue;
      token_drift.metric.push_back(Sample(
          *t.ratio,
          {{"model", r.model}, {"type", t.type}, {"vendor", r.vendor}, {"window", r.window}}));
    }
  }
  return {local, vendor, drift, token_drift};
}

std::string ReconciliationJson(const std::vector<ReconciliationRow>& rows) {
  std::ostringstream out;
  out << "{\"rows\":[";
  bool first = true;
  for (const auto& r : rows) {
    out << (first ? "" : ",") << "\n{\"vendor\":" << JsonString(r.vendor)
        << ",\"model\":" << JsonString(r.model) << ",\"window\":" << JsonString(r.window)
        << ",\"day\":" << JsonString(pricing::FormatDay(r.day))
        << ",\"local_cost_usd\":" << JsonString(pricing::NanoUsdToString(r.local.cost_nano_usd))
        << ",\"vendor_cost_usd\":"
        << (r.vendor_day.cost_nano_usd
                ? JsonString(pricing::NanoUsdToString(*r.vendor_day.cost_nano_usd))
                : "null")
        << ",\"vendor_tokens_at_our_prices_usd\":"
        << (r.result.vendor_tokens_at_our_prices_nano_usd
                ? JsonString(
                      pricing::NanoUsdToString(*r.result.vendor_tokens_at_our_prices_nano_usd))
                : "null")
        << ",\"drift_ratio\":" << Ratio(r.result.cost_drift_ratio)
        << ",\"price_drift_ratio\":" << Ratio(r.result.price_drift_ratio)
        << ",\"local_requests\":" << r.local.requests << ",\"token_drift\":{";
    bool first_type = true;
    for (const auto& t : r.result.token_drift) {
      out << (first_type ? "" : ",") << JsonString(t.type) << ":{\"local\":" << t.local
          << ",\"vendor\":" << t.vendor << ",\"ratio\":" << Ratio(t.ratio) << "}";
      first_type = false;
    }
    out << "}";
    if (r.span) {
      auto time = [](const std::optional<std::chrono::system_clock::time_point>& t) {
        return t ? JsonString(TimeText(*t)) : std::string("null");
      };
      out << ",\"span_start\":"
          << time(r.span->start ? std::optional(r.span->start->at) : std::nullopt)
          << ",\"span_end\":" << time(r.span->end ? std::optional(r.span->end->at) : std::nullopt)
          << ",\"reset_at\":" << time(r.span->reset_at)
          << ",\"tolerance_usd\":" << JsonString(pricing::NanoUsdToString(r.tolerance_nano_usd));
    }
    out << ",\"verdict\":" << JsonString(pricing::VerdictName(r.result.verdict))
        << ",\"explanation\":" << JsonString(VerdictExplanation(r.result.verdict)) << "}";
    first = false;
  }
  out << "\n]}\n";
  return out.str();
}

std::string ReconciliationTable(const std::vector<ReconciliationRow>& rows) {
  if (rows.empty()) {
    return "<p>No traffic recorded today or yesterday. Vendor figures come from "
           "<code>openai_org</code> and <code>anthropic_admin</code> billing.</p>\n";
  }
  std::ostringstream html;
  html << "<table><tr><th>Vendor</th><th>Model</th><th>Window</th><th>Local cost (USD)</th>"
          "<th>Vendor cost (USD)</th><th>Drift</th><th>Input token drift</th>"
          "<th>Output token drift</th><th>Vendor tokens at our prices</th><th>Verdict</th></tr>\n";
  for (const auto& r : rows) {
    std::optional<double> input, output;
    for (const auto& t : r.result.token_drift) {
      if (t.type == "input") input = t.ratio;
      if (t.type == "output") output = t.ratio;
    }
    bool ok = r.result.verdict == pricing::Verdict::kMatch;
    html << "<tr><td>" << HtmlEscape(r.vendor) << "</td><td>" << HtmlEscape(r.model) << "</td><td>"
         << r.window << " (" << pricing::FormatDay(r.day) << ")" << SpanText(r) << "</td><td>"
         << pricing::NanoUsdToString(r.local.cost_nano_usd) << "</td><td>"
         << (r.vendor_day.cost_nano_usd ? pricing::NanoUsdToString(*r.vendor_day.cost_nano_usd)
                                        : "-")
         << "</td><td>" << Percent(r.result.cost_drift_ratio) << "</td><td>" << Percent(input)
         << "</td><td>" << Percent(output) << "</td><td>"
         << (r.result.vendor_tokens_at_our_prices_nano_usd
                 ? pricing::NanoUsdToString(*r.result.vendor_tokens_at_our_prices_nano_usd)
                 : "-")
         << "</td><td class=\"" << (ok ? "ok" : "bad") << "\" title=\""
         << HtmlEscape(VerdictExplanation(r.result.verdict)) << "\">"
         << HtmlEscape(pricing::VerdictName(r.result.verdict)) << "</td></tr>\n";
  }
  html << "</table>\n<ul>\n";
  for (auto v : {pricing::Verdict::kMatch, pricing::Verdict::kCoverage, pricing::Verdict::kPrice,
                 pricing::Verdict::kLocalOnly, pricing::Verdict::kVendorBehind,
                 pricing::Verdict::kToppedUp}) {
    html << "<li><b>" << pricing::VerdictName(v) << "</b>: " << HtmlEscape(VerdictExplanation(v))
         << "</li>\n";
  }
  html << "</ul>\n<p>Vendors that report only totals (one-api/new-api dashboards, OpenRouter, "
          "DeepSeek balances) show one row, model <code>all</code>: at every poll a checkpoint "
          "records the vendor's lifetime spend and this ledger's at the same instant, and a window "
          "compares the increases between its first and last checkpoints. Requests in flight at a "
          "checkpoint may be counted on one side only, so the tolerance is every probe of the "
          "vendor "
          "and the on-demand runs allowed at once, at their worst case, at each end of the span, "
          "plus the vendor's reporting step (shown per row); a difference within it is a "
          "match.</p>\n";
  return html.str();
}

}  // namespace llm_exporter::exporter
