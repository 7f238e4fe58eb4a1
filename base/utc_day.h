#pragma once

// Days are UTC days everywhere: the ledger's rows, the probe budget, the
// vendors' reports and reconciliation windows.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace llm_exporter::base {

// The UTC day a time point falls on.
std::chrono::sys_days UtcDay(std::chrono::system_clock::time_point at);

// "YYYY-MM-DD" for a day, and back (nullopt for anything else).
std::string FormatDay(std::chrono::sys_days day);
std::optional<std::chrono::sys_days> ParseDay(std::string_view text);

}  // namespace llm_exporter::base
