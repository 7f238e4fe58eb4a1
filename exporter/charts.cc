#include "exporter/charts.h"

#include <algorithm>
#include <cstdio>

#include "exporter/html.h"

namespace llm_exporter::exporter {
namespace {

constexpr int kCellWidth = 3;
constexpr int kBarHeight = 18;

enum class Outcome { kNone, kSkipped, kOk, kPartial, kFailed };

Outcome OutcomeOf(const ProbeHistory::Slice& s) {
  if (s.failed > 0) return s.ok > 0 ? Outcome::kPartial : Outcome::kFailed;
  if (s.ok > 0) return Outcome::kOk;
  if (s.skipped > 0) return Outcome::kSkipped;
  return Outcome::kNone;
}

// Class (colour) and height: failures stand out by height as well as colour.
struct CellStyle {
  const char* css_class;
  int height;
};
CellStyle StyleOf(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return {"u", 10};
    case Outcome::kPartial:
      return {"p", kBarHeight};
    case Outcome::kFailed:
      return {"d", kBarHeight};
    case Outcome::kSkipped:
      return {"s", 6};
    case Outcome::kNone:
      break;
  }
  return {"n", 2};
}

std::string Plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string CellLabel(const ProbeHistory::Slice& first, const ProbeHistory::Slice& last,
                      std::chrono::minutes slice_length, int ok, int failed, int skipped,
                      probes::ProbeFailure reason) {
  std::string label = ClockText(first.start) + "–" + ClockText(last.start + slice_length) + ": ";
  if (ok + failed + skipped == 0) return label + "no runs";
  std::vector<std::string> parts;
  if (ok > 0) parts.push_back(std::to_string(ok) + " ok");
  if (failed > 0) {
    parts.push_back(std::to_string(failed) +
                    " failed (last: " + std::string(probes::ProbeFailureName(reason)) + ")");
  }
  if (skipped > 0) parts.push_back(std::to_string(skipped) + " skipped (budget)");
  for (size_t i = 0; i < parts.size(); ++i) label += (i ? ", " : "") + parts[i];
  return label;
}

std::string Number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

}  // namespace

std::string ClockText(std::chrono::system_clock::time_point t) {
  auto minutes = std::chrono::floor<std::chrono::minutes>(t);
  auto in_day = minutes - std::chrono::floor<std::chrono::days>(minutes);
  const auto m = static_cast<unsigned>(in_day.count()) % (24 * 60);
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%02u:%02u", m / 60, m % 60);
  return buffer;
}

std::string UptimeBar(const std::vector<ProbeHistory::Slice>& slices,
                      std::chrono::minutes slice_length,
                      const std::function<std::string(const ProbeHistory::Slice&)>& link) {
  int ok = 0, failed = 0, skipped = 0;
  for (const auto& s : slices) {
    ok += s.ok;
    failed += s.failed;
    skipped += s.skipped;
  }
  std::string summary = "Last 24 hours: ";
  if (ok + failed + skipped == 0) {
    summary += "no runs";
  } else {
    summary += Plural(ok, "run ok", "runs ok") + ", " + Plural(failed, "failed", "failed") + ", " +
               Plural(skipped, "skipped", "skipped");
  }
  const int width = static_cast<int>(slices.size()) * kCellWidth;
  std::string svg = "<svg class=\"bar\" role=\"img\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(kBarHeight) + "\" viewBox=\"0 0 " +
                    std::to_string(width) + " " + std::to_string(kBarHeight) + "\" aria-label=\"" +
                    HtmlEscape(summary) + "\"><title>" + HtmlEscape(summary) + "</title>";
  for (size_t i = 0; i < slices.size();) {
    const Outcome outcome = OutcomeOf(slices[i]);
    size_t end = i + 1;
    int run_ok = slices[i].ok, run_failed = slices[i].failed, run_skipped = slices[i].skipped;
    // Good, skipped and empty cells merge with their like neighbours; every
    // slice with a failure stays a cell of its own (with its link).
    if (outcome != Outcome::kFailed && outcome != Outcome::kPartial) {
      while (end < slices.size() && OutcomeOf(slices[end]) == outcome) {
        run_ok += slices[end].ok;
        run_skipped += slices[end].skipped;
        ++end;
      }
    }
    const CellStyle style = StyleOf(outcome);
    std::string cell = "<rect class=\"" + std::string(style.css_class) + "\" x=\"" +
                       std::to_string(static_cast<int>(i) * kCellWidth) + "\" y=\"" +
                       std::to_string(kBarHeight - style.height) + "\" width=\"" +
                       std::to_string(static_cast<int>(end - i) * kCellWidth - 1) + "\" height=\"" +
                       std::to_string(style.height) + "\"><title>" +
                       HtmlEscape(CellLabel(slices[i], slices[end - 1], slice_length, run_ok,
                                            run_failed, run_skipped, slices[i].last_failure)) +
                       "</title></rect>";
    std::string href = run_failed > 0 ? link(slices[i]) : std::string();
    svg += href.empty() ? cell : "<a href=\"" + HtmlEscape(href) + "\">" + cell + "</a>";
    i = end;
  }
  return svg + "</svg>";
}

std::string Sparkline(const std::vector<std::optional<double>>& seconds, std::string_view what) {
  constexpr int kStep = 3;
  constexpr int kHeight = 20;
  const int width = std::max<int>(static_cast<int>(seconds.size()) * kStep, kStep);
  double max = 0, min = -1;
  std::optional<double> last;
  for (const auto& v : seconds) {
    if (!v) continue;
    max = std::max(max, *v);
    min = min < 0 ? *v : std::min(min, *v);
    last = v;
  }
  std::string text = std::string(what) + ", last 24 hours: ";
  if (!last) {
    text += "no data";
  } else {
    text += "lowest " + Number(min * 1000) + " ms, highest " + Number(max * 1000) + " ms, latest " +
            Number(*last * 1000) + " ms";
  }
  std::string svg = "<svg class=\"spark\" role=\"img\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(kHeight) + "\" viewBox=\"0 0 " +
                    std::to_string(width) + " " + std::to_string(kHeight) + "\" aria-label=\"" +
                    HtmlEscape(text) + "\"><title>" + HtmlEscape(text) + "</title>";
  std::string points;
  auto flush = [&] {
    if (points.find(' ') != std::string::npos) {
      svg += "<polyline points=\"" + points + "\"/>";
    } else if (!points.empty()) {  // a lone point: a dot
      auto comma = points.find(',');
      svg += "<circle cx=\"" + points.substr(0, comma) + "\" cy=\"" + points.substr(comma + 1) +
             "\" r=\"1.5\"/>";
    }
    points.clear();
  };
  for (size_t i = 0; i < seconds.size(); ++i) {
    if (!seconds[i]) {
      flush();
      continue;
    }
    const int x = static_cast<int>(i) * kStep + 1;
    const int y =
        max > 0 ? 1 + static_cast<int>((1 - *seconds[i] / max) * (kHeight - 2)) : kHeight - 1;
    if (!points.empty()) points += ' ';
    points += std::to_string(x) + "," + std::to_string(y);
  }
  flush();
  return svg + "</svg>";
}

std::string UsageBar(int64_t used, int64_t limit, std::string_view label) {
  constexpr int kWidth = 200;
  constexpr int kHeight = 12;
  double share = limit > 0
                     ? std::clamp(static_cast<double>(used) / static_cast<double>(limit), 0.0, 1.0)
                     : (used > 0 ? 1.0 : 0.0);
  const int filled = static_cast<int>(share * kWidth + 0.5);
  return "<svg class=\"budget\" role=\"img\" width=\"" + std::to_string(kWidth) + "\" height=\"" +
         std::to_string(kHeight) + "\" aria-label=\"" + HtmlEscape(label) + "\"><title>" +
         HtmlEscape(label) + "</title><rect class=\"track\" width=\"" + std::to_string(kWidth) +
         "\" height=\"" + std::to_string(kHeight) + "\"/><rect class=\"" +
         (share >= 0.9 ? "fill hot" : "fill") + "\" width=\"" + std::to_string(filled) +
         "\" height=\"" + std::to_string(kHeight) + "\"/></svg>";
}

}  // namespace llm_exporter::exporter
