#pragma once

// Inline SVG charts for the status page. Each is an image with a text
// alternative (role="img", aria-label, and a <title> a browser shows on
// hover), and none tells by colour alone: failed cells of the uptime bar
// stand taller than good ones, and every cell names its outcome.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/probe_history.h"

namespace llm_exporter::exporter {

// One cell per slice, oldest left; runs of cells with the same outcome and
// no failure are drawn (and labelled) as one. `link` gives the href of a
// slice with failures ("" for none).
std::string UptimeBar(const std::vector<ProbeHistory::Slice>& slices,
                      std::chrono::minutes slice_length,
                      const std::function<std::string(const ProbeHistory::Slice&)>& link);

// A line of `values` (gaps where nullopt), scaled from 0 to the largest, in
// milliseconds; `what` names it in the text alternative ("Latency").
std::string Sparkline(const std::vector<std::optional<double>>& seconds, std::string_view what);

// A horizontal bar: `used` of `limit`, with `label` as its text alternative.
std::string UsageBar(int64_t used, int64_t limit, std::string_view label);

// "12:00" (UTC) of a time point.
std::string ClockText(std::chrono::system_clock::time_point t);

}  // namespace llm_exporter::exporter
