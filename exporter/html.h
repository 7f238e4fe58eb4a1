#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace llm_exporter::exporter {

// Escapes text for HTML element content and attribute values.
std::string HtmlEscape(std::string_view text);
// A UTC time as "2025-06-01 12:00:00Z".
std::string TimeText(std::chrono::system_clock::time_point t);
// Percent-encodes text for a URL's query value or fragment.
std::string UrlEncode(std::string_view text);
// "$1.23" (rounded to cents) of nano-USD.
std::string Usd(int64_t nano_usd);
// "123 ms" of seconds.
std::string Ms(double seconds);
// The id of a run's log on /details ("run-" and its start in milliseconds).
std::string RunAnchor(std::chrono::system_clock::time_point started_at);

// The start of every page of ours: doctype, title, the one inline style sheet
// (no external CSS, fonts or scripts), and a refresh every `refresh_seconds`
// when positive.
std::string PageStart(std::string_view title, int refresh_seconds);
// The links between the pages.
std::string Navigation(std::string_view telemetry_path);

}  // namespace llm_exporter::exporter
