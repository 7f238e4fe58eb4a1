#include "exporter/exposition.h"

#include <atomic>
#include <charconv>
#include <cmath>

#include "base/enum_names.h"

namespace llm_exporter::exporter {
namespace {

void AppendValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, ptr);
  }
}

void AppendEscaped(std::string& out, const std::string& text, bool quote_escape) {
  if (text.find_first_of(quote_escape ? "\\\n\"" : "\\\n") == std::string::npos) {
    out += text;  // the common case: nothing to escape
    return;
  }
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote_escape) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void AppendLabels(std::string& out, const std::vector<prometheus::ClientMetric::Label>& labels,
                  const char* extra_name = nullptr, double extra_value = 0) {
  if (labels.empty() && extra_name == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& label : labels) {
    if (!first) out += ',';
    first = false;
    out += label.name;
    out += "=\"";
    AppendEscaped(out, label.value, true);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    AppendValue(out, extra_value);
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, const std::string& name, const char* suffix,
                  const std::vector<prometheus::ClientMetric::Label>& labels, double value,
                  const char* extra_name = nullptr, double extra_value = 0) {
  out += name;
  out += suffix;
  AppendLabels(out, labels, extra_name, extra_value);
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

std::string_view TypeName(prometheus::MetricType type) {
  static constexpr std::array<std::string_view, 5> kNames = {"counter", "gauge", "summary",
                                                             "untyped", "histogram"};
  return base::EnumName(type, kNames, "untyped");
}

}  // namespace

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families) {
  // Scrapes are alike: start from the last one's size to avoid regrowing.
  static std::atomic<size_t> last_size{1 << 16};
  std::string out;
  out.reserve(last_size.load(std::memory_order_relaxed) + 4096);
  for (const auto& family : families) {
    if (family.metric.empty()) continue;
    out += "# HELP ";
    out += family.name;
    out += ' ';
    AppendEscaped(out, family.help, false);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += TypeName(family.type);
    out += '\n';
    for (const auto& m : family.metric) {
      switch (family.type) {
        case prometheus::MetricType::Counter:
          AppendSample(out, family.name, "", m.label, m.counter.value);
          break;
        case prometheus::MetricType::Gauge:
          AppendSample(out, family.name, "", m.label, m.gauge.value);
          break;
        case prometheus::MetricType::Histogram:
          for (const auto& bucket : m.histogram.bucket) {
            AppendSample(out, family.name, "_bucket", m.label,
                         static_cast<double>(bucket.cumulative_count), "le", bucket.upper_bound);
          }
          AppendSample(out, family.name, "_sum", m.label, m.histogram.sample_sum);
          AppendSample(out, family.name, "_count", m.label,
                       static_cast<double>(m.histogram.sample_count));
          break;
        case prometheus::MetricType::Summary:
          for (const auto& q : m.summary.quantile) {
            AppendSample(out, family.name, "", m.label, q.value, "quantile", q.quantile);
          }
          AppendSample(out, family.name, "_sum", m.label, m.summary.sample_sum);
          AppendSample(out, family.name, "_count", m.label,
                       static_cast<double>(m.summary.sample_count));
          break;
        default:
          AppendSample(out, family.name, "", m.label, m.untyped.value);
      }
    }
  }
  last_size.store(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace llm_exporter::exporter
