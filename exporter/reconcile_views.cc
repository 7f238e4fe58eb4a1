#include "exporter/reconcile_views.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "exporter/exposition.h"
#include "exporter/html.h"
#include "pricing/cost.h"

namespace llm_exporter::exporter {

using reconcile::ReconciliationRow;

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(JsonWriter& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void String(JsonWriter& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// Money as exact decimal text; null when absent.
void Money(JsonWriter& w, std::string_view key, std::optional<int64_t> nano_usd) {
  Key(w, key);
  if (nano_usd) {
    String(w, pricing::NanoUsdToString(*nano_usd));
  } else {
    w.Null();
  }
}

// A ratio as a number (six significant digits); null when absent.
void Ratio(JsonWriter& w, std::string_view key, const std::optional<double>& ratio) {
  Key(w, key);
  if (!ratio || !std::isfinite(*ratio)) {
    w.Null();
    return;
  }
  char buffer[32];
  const int n = std::snprintf(buffer, sizeof buffer, "%.6g", *ratio);
  w.RawValue(buffer, static_cast<size_t>(n), rapidjson::kNumberType);
}

void Time(JsonWriter& w, std::string_view key,
          const std::optional<std::chrono::system_clock::time_point>& t) {
  Key(w, key);
  if (t) {
    String(w, TimeText(*t));
  } else {
    w.Null();
  }
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
    if (r.result.verdict != reconcile::Verdict::kNoVendorData) {
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
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "rows");
  w.StartArray();
  for (const auto& r : rows) {
    w.StartObject();
    Key(w, "vendor");
    String(w, r.vendor);
    Key(w, "model");
    String(w, r.model);
    Key(w, "window");
    String(w, r.window);
    Key(w, "day");
    String(w, pricing::FormatDay(r.day));
    Money(w, "local_cost_usd", r.local.cost_nano_usd);
    Money(w, "vendor_cost_usd", r.vendor_day.cost_nano_usd);
    Money(w, "vendor_tokens_at_our_prices_usd", r.result.vendor_tokens_at_our_prices_nano_usd);
    Ratio(w, "drift_ratio", r.result.cost_drift_ratio);
    Ratio(w, "price_drift_ratio", r.result.price_drift_ratio);
    Key(w, "local_requests");
    w.Int64(r.local.requests);
    Key(w, "token_drift");
    w.StartObject();
    for (const auto& t : r.result.token_drift) {
      Key(w, t.type);
      w.StartObject();
      Key(w, "local");
      w.Int64(t.local);
      Key(w, "vendor");
      w.Int64(t.vendor);
      Ratio(w, "ratio", t.ratio);
      w.EndObject();
    }
    w.EndObject();
    if (r.span) {
      Time(w, "span_start", r.span->start ? std::optional(r.span->start->at) : std::nullopt);
      Time(w, "span_end", r.span->end ? std::optional(r.span->end->at) : std::nullopt);
      Time(w, "reset_at", r.span->reset_at);
      Money(w, "tolerance_usd", r.tolerance_nano_usd);
    }
    Key(w, "verdict");
    String(w, reconcile::VerdictName(r.result.verdict));
    Key(w, "explanation");
    String(w, reconcile::VerdictExplanation(r.result.verdict));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
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
    bool ok = r.result.verdict == reconcile::Verdict::kMatch;
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
         << HtmlEscape(reconcile::VerdictExplanation(r.result.verdict)) << "\">"
         << HtmlEscape(reconcile::VerdictName(r.result.verdict)) << "</td></tr>\n";
  }
  html << "</table>\n<ul>\n";
  for (auto v : {reconcile::Verdict::kMatch, reconcile::Verdict::kCoverage,
                 reconcile::Verdict::kPrice, reconcile::Verdict::kLocalOnly,
                 reconcile::Verdict::kVendorBehind, reconcile::Verdict::kToppedUp}) {
    html << "<li><b>" << reconcile::VerdictName(v)
         << "</b>: " << HtmlEscape(reconcile::VerdictExplanation(v)) << "</li>\n";
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
