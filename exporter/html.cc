#include "exporter/html.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "pricing/cost.h"

namespace llm_exporter::exporter {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace llm_exporter::exporter

namespace llm_exporter::exporter {

std::string TimeText(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace llm_exporter::exporter

namespace llm_exporter::exporter {

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

std::string Usd(int64_t nano_usd) { return "$" + pricing::NanoUsdToString(nano_usd, 2); }

std::string Ms(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.0f ms", seconds * 1000);
  return buffer;
}

std::string RunAnchor(std::chrono::system_clock::time_point started_at) {
  return "run-" +
         std::to_string(
             std::chrono::floor<std::chrono::milliseconds>(started_at).time_since_epoch().count());
}

std::string PageStart(std::string_view title, int refresh_seconds) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  if (refresh_seconds > 0) {
    html += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">";
  }
  html += "<title>" + HtmlEscape(title) + "</title>\n";
  html += R"(<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.2em auto;max-width:1280px;padding:0 1em;color:#1f2328;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.6em 0 .5em}h3{font-size:1em;margin:1.2em 0 .3em}
nav{margin:.3em 0 1em}nav a{margin-right:1.2em}
table{border-collapse:collapse;margin-bottom:1em}
td,th{border-bottom:1px solid #d8dee4;padding:.35em .7em;text-align:left;vertical-align:middle}
th{font-weight:600;color:#57606a;font-size:.9em}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bad{color:#b3261e}.ok{color:#1a7f37}.warn{color:#8a5a00}.muted{color:#57606a}
.state{white-space:nowrap;font-weight:600}.chart{white-space:nowrap}
.banner{padding:.6em 1em;border-left:4px solid #b3261e;background:#fff0ef}
.summary span{margin-right:1.2em}
svg{vertical-align:middle}
svg.bar rect.u{fill:#2da44e}svg.bar rect.p{fill:#d4a72c}svg.bar rect.d{fill:#cf222e}
svg.bar rect.s{fill:#8c959f}svg.bar rect.n{fill:#d0d7de}svg.bar a rect{cursor:pointer}
svg.spark polyline{fill:none;stroke:#0969da;stroke-width:1.5}svg.spark circle{fill:#0969da}
svg.budget .track{fill:#eaeef2}svg.budget .fill{fill:#0969da}svg.budget .hot{fill:#cf222e}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto}
</style></head><body>
)";
  return html;
}

std::string Navigation(std::string_view telemetry_path) {
  return "<nav><a href=\"/\">Status</a><a href=\"/details\">Details</a><a href=\"" +
         HtmlEscape(telemetry_path) +
         "\">Metrics</a><a href=\"/reconcile\">Reconciliation</a><a href=\"/-/healthy\">Health</a>"
         "</nav>\n";
}

}  // namespace llm_exporter::exporter
