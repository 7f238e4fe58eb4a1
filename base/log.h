#pragma once

// Structured logging: logfmt or JSON lines on stderr,
//   time=2026-11-28T11:07:56.123Z level=info source=main.cc:42 msg="Listening" address=:10027
// Messages are fixed phrases; variable parts go in fields. A Secret passed as a
// field prints as <secret>. A LogCapture, when given, also keeps the formatted
// lines (one probe run's log for /probe?debug=true and the status page).

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret.h"

namespace llm_exporter::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

std::optional<LogLevel> ParseLogLevel(std::string_view text);
std::optional<LogFormat> ParseLogFormat(std::string_view text);

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const Secret&) : key(k), value("<secret>") {}
  LogField(std::string_view k, int64_t v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, double v);
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  std::string_view key;
  std::string value;
};

// Lines of one unit of work (a probe run), kept alongside the global log.
class LogCapture {
 public:
  void Append(std::string line);
  std::vector<std::string> Lines() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

class Logger {
 public:
  void Configure(LogLevel level, LogFormat format);
  bool Enabled(LogLevel level) const { return level >= level_.load(std::memory_order_relaxed); }
  void Write(LogLevel level, const char* file, int line, std::string_view msg,
             std::initializer_list<LogField> fields, LogCapture* capture = nullptr);
  // Formats without writing (tests).
  std::string Format(LogLevel level, const char* file, int line, std::string_view msg,
                     std::initializer_list<LogField> fields) const;

 private:
  std::atomic<LogLevel> level_{LogLevel::kInfo};
  std::atomic<LogFormat> format_{LogFormat::kLogfmt};
  std::mutex write_mutex_;
};

// The process logger (a function-local static: no global constructors).
Logger& Log();

}  // namespace llm_exporter::base

#define LLM_LOG(level, msg, ...)                                                        \
  do {                                                                                  \
    if (::llm_exporter::base::Log().Enabled(level))                                     \
      ::llm_exporter::base::Log().Write(level, __FILE__, __LINE__, msg, {__VA_ARGS__}); \
  } while (0)
#define LOG_DEBUG(msg, ...) LLM_LOG(::llm_exporter::base::LogLevel::kDebug, msg, __VA_ARGS__)
#define LOG_INFO(msg, ...) LLM_LOG(::llm_exporter::base::LogLevel::kInfo, msg, __VA_ARGS__)
#define LOG_WARN(msg, ...) LLM_LOG(::llm_exporter::base::LogLevel::kWarn, msg, __VA_ARGS__)
#define LOG_ERROR(msg, ...) LLM_LOG(::llm_exporter::base::LogLevel::kError, msg, __VA_ARGS__)
