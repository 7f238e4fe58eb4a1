#pragma once

// Minimal logfmt logger for the fake vendor (house format:
// `time=... level=... source=file.cc:NN msg="..." key=value`), written to stderr
// with one write per line so concurrent handlers never interleave. Values are
// quoted and escaped when needed; callers must not pass secrets.

#include <initializer_list>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>

namespace llm_exporter::fake_vendor {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

using LogField = std::pair<std::string_view, std::string>;

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {},
         std::source_location where = std::source_location::current());

// Exposed for tests: one rendered line without the trailing newline.
std::string FormatLogLine(std::string_view time, LogLevel level, std::string_view source,
                          std::string_view msg, std::initializer_list<LogField> fields);

}  // namespace llm_exporter::fake_vendor
