#pragma once

// Text forms of durations and money shared by the config and its users.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace llm_exporter::config {

// Prometheus-style durations: "500ms", "30s", "5m", "1h30m", "1d", "1w".
std::optional<Duration> ParseDuration(std::string_view text);
std::string FormatDuration(Duration duration);

// A decimal number of dollars ("1.25", "0.000002", "3") as exact nano-USD;
// nullopt when it has more than nine decimals or overflows.
std::optional<int64_t> ParseDecimalNanoUsd(std::string_view text);

}  // namespace llm_exporter::config
