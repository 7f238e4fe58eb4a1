#include "base/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "base/decimal.h"
#include "base/enum_names.h"

namespace llm_exporter::base {
namespace {

constexpr std::array<std::string_view, 4> kLevelNames = {"debug", "info", "warn", "error"};

std::string_view LevelName(LogLevel level) { return EnumName(level, kLevelNames, "info"); }

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buffer;
}

std::string_view BaseName(const char* path) {
  std::string_view p(path);
  auto slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

void AppendEscaped(std::string& out, std::string_view value, bool json) {
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, json ? "\\u%04x" : "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

void AppendLogfmtValue(std::string& out, std::string_view value) {
  bool quote = value.empty();
  for (unsigned char c : value) {
    if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= 0x7f) quote = true;
  }
  if (!quote) {
    out += value;
    return;
  }
  out += '"';
  AppendEscaped(out, value, false);
  out += '"';
}

}  // namespace

LogField::LogField(std::string_view k, double v) : key(k), value(ShortestDecimal(v)) {}

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return std::nullopt;
}

std::optional<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "logfmt") return LogFormat::kLogfmt;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

void LogCapture::Append(std::string line) {
  std::lock_guard lock(mutex_);
  lines_.push_back(std::move(line));
}

std::vector<std::string> LogCapture::Lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

void Logger::Configure(LogLevel level, LogFormat format) {
  level_ = level;
  format_ = format;
}

std::string Logger::Format(LogLevel level, const char* file, int line, std::string_view msg,
                           std::initializer_list<LogField> fields) const {
  std::string source = std::string(BaseName(file)) + ":" + std::to_string(line);
  std::string out;
  out.reserve(128);
  if (format_.load() == LogFormat::kJson) {
    auto add = [&out](std::string_view key, std::string_view value) {
      out += out.size() > 1 ? ",\"" : "\"";
      AppendEscaped(out, key, true);
      out += "\":\"";
      AppendEscaped(out, value, true);
      out += '"';
    };
    out += '{';
    add("time", Timestamp());
    add("level", LevelName(level));
    add("source", source);
    add("msg", msg);
    for (const LogField& f : fields) add(f.key, f.value);
    out += '}';
  } else {
    auto add = [&out](std::string_view key, std::string_view value) {
      if (!out.empty()) out += ' ';
      out += key;
      out += '=';
      AppendLogfmtValue(out, value);
    };
    add("time", Timestamp());
    add("level", LevelName(level));
    add("source", source);
    add("msg", msg);
    for (const LogField& f : fields) add(f.key, f.value);
  }
  return out;
}

void Logger::Write(LogLevel level, const char* file, int line, std::string_view msg,
                   std::initializer_list<LogField> fields, LogCapture* capture) {
  std::string text = Format(level, file, line, msg, fields);
  if (capture != nullptr) capture->Append(text);
  if (!Enabled(level)) return;
  text += '\n';
  std::lock_guard lock(write_mutex_);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

Logger& Log() {
  static Logger logger;
  return logger;
}

}  // namespace llm_exporter::base
