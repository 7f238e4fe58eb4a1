#pragma once

// The fake vendor logs through the exporter's own logger (base/log.h: logfmt
// on stderr, one write per line), with the caller's file and line.

#include <initializer_list>
#include <source_location>
#include <string_view>

#include "base/log.h"

namespace llm_exporter::fake_vendor {

using base::LogField;
using base::LogLevel;

inline void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {},
                std::source_location where = std::source_location::current()) {
  if (!base::Log().Enabled(level)) return;
  base::Log().Write(level, where.file_name(), static_cast<int>(where.line()), msg, fields);
}

}  // namespace llm_exporter::fake_vendor
