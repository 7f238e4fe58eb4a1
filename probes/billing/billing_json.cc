#include "probes/billing/billing_json.h"

#include <rapidjson/error/en.h>

#include <limits>

#include "base/decimal.h"
#include "base/utc_day.h"

namespace llm_exporter::probes::billing::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Longer "numbers" are not money or counts.
constexpr size_t kMaxNumberText = 64;

// A JSON number's text (leading zeros tolerated): -?D+(.D+)?([eE][+-]?D+)?
bool IsNumberText(std::string_view text) {
  size_t i = text.starts_with('-') ? 1 : 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    return i > start;
  };
  if (!digits()) return false;
  if (i < text.size() && text[i] == '.' && (++i, !digits())) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

// text * 10^shift as an integer. Rounds half to even, or (exact) refuses any
// value that is not an integer.
std::optional<int64_t> Scale(std::string_view text, int shift, bool exact) {
  if (text.size() > kMaxNumberText || !IsNumberText(text)) return std::nullopt;
  auto scaled = base::ScaleSignedDecimal(
      text, shift, exact ? base::Rounding::kExact : base::Rounding::kHalfEven);
  if (!scaled) return std::nullopt;
  return *scaled;
}

std::string FieldError(std::string_view name, std::string_view what) {
  return "field " + std::string(name) + " " + std::string(what);
}

std::string TwoDigits(unsigned value) {
  return std::string{static_cast<char>('0' + value / 10 % 10), static_cast<char>('0' + value % 10)};
}

std::optional<int> Digits(std::string_view text, size_t pos, size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (size_t k = pos; k < pos + count; ++k) {
    if (!IsDigit(text[k])) return std::nullopt;
    value = value * 10 + (text[k] - '0');
  }
  return value;
}

}  // namespace

std::expected<void, std::string> ParseJsonKeepingNumbers(std::string_view text,
                                                         rapidjson::Document& doc) {
  return base::ParseJson(text, doc, /*numbers_as_text=*/true);
}

// The text of a number member (the parser keeps numbers as text): nullopt
// when absent or null, an error when that is not allowed or it is no number.
std::expected<std::optional<std::string_view>, std::string> NumberText(
    const rapidjson::Value& object, std::string_view name, bool required) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || value->IsNull()) {
    if (required) return std::unexpected(FieldError(name, "is missing"));
    return std::nullopt;
  }
  if (!value->IsString()) return std::unexpected(FieldError(name, "is not a number"));
  return std::string_view(value->GetString(), value->GetStringLength());
}

std::optional<int64_t> ScaleDecimal(std::string_view text, int shift) {
  return Scale(text, shift, /*exact=*/false);
}

std::expected<std::optional<int64_t>, std::string> MoneyMember(const rapidjson::Value& object,
                                                               std::string_view name, int shift,
                                                               bool required) {
  auto text = NumberText(object, name, required);
  if (!text) return std::unexpected(text.error());
  if (!*text) return std::nullopt;
  const std::optional<int64_t> scaled = ScaleDecimal(**text, shift);
  if (!scaled) return std::unexpected(FieldError(name, "is not a decimal number"));
  return scaled;
}

std::expected<std::optional<int64_t>, std::string> CountMember(const rapidjson::Value& object,
                                                               std::string_view name,
                                                               bool required) {
  auto text = NumberText(object, name, required);
  if (!text) return std::unexpected(text.error());
  if (!*text) return std::nullopt;
  const std::optional<int64_t> count = Scale(**text, 0, /*exact=*/true);
  if (!count || *count < 0 || *count > kMaxCount) {
    return std::unexpected(FieldError(name, "is not a count"));
  }
  return count;
}

std::expected<std::optional<std::string_view>, std::string> StringMember(
    const rapidjson::Value& object, std::string_view name) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || value->IsNull()) return std::nullopt;
  if (!value->IsString()) return std::unexpected(FieldError(name, "is not a string"));
  return std::string_view(value->GetString(), value->GetStringLength());
}

std::expected<std::optional<bool>, std::string> BoolMember(const rapidjson::Value& object,
                                                           std::string_view name) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || value->IsNull()) return std::nullopt;
  if (!value->IsBool()) return std::unexpected(FieldError(name, "is not a boolean"));
  return value->GetBool();
}

bool AddChecked(int64_t& total, int64_t value) {
  int64_t sum = 0;
  if (__builtin_add_overflow(total, value, &sum)) return false;
  total = sum;
  return true;
}

bool AddChecked(pricing::Usage& total, const pricing::Usage& value) {
  pricing::Usage sum = total;
  if (!AddChecked(sum.input, value.input) || !AddChecked(sum.cached_input, value.cached_input) ||
      !AddChecked(sum.cache_write_5m, value.cache_write_5m) ||
      !AddChecked(sum.cache_write_1h, value.cache_write_1h) ||
      !AddChecked(sum.output, value.output) || !AddChecked(sum.reasoning, value.reasoning)) {
    return false;
  }
  total = sum;
  return true;
}

std::string FormatRfc3339(std::chrono::sys_seconds time) {
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::hh_mm_ss clock{time - day};
  return base::FormatDay(day) + "T" + TwoDigits(static_cast<unsigned>(clock.hours().count())) +
         ":" + TwoDigits(static_cast<unsigned>(clock.minutes().count())) + ":" +
         TwoDigits(static_cast<unsigned>(clock.seconds().count())) + "Z";
}

std::optional<std::chrono::sys_days> Rfc3339Day(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  const auto year = Digits(text, 0, 4);
  const auto month = Digits(text, 5, 2);
  const auto day = Digits(text, 8, 2);
  const auto hour = Digits(text, 11, 2);
  const auto minute = Digits(text, 14, 2);
  const auto second = Digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':' || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{*year},
                                         std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) return std::nullopt;
  size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const size_t fraction_start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == fraction_start) return std::nullopt;
  }
  std::chrono::minutes offset{0};
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    const auto offset_hours = Digits(text, i + 1, 2);
    const auto offset_minutes = Digits(text, i + 4, 2);
    if (!offset_hours || !offset_minutes || text[i + 3] != ':' || *offset_hours > 23 ||
        *offset_minutes > 59) {
      return std::nullopt;
    }
    offset = std::chrono::hours{*offset_hours} + std::chrono::minutes{*offset_minutes};
    if (text[i] == '-') offset = -offset;
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  const std::chrono::sys_seconds local = std::chrono::sys_days{date} + std::chrono::hours{*hour} +
                                         std::chrono::minutes{*minute} +
                                         std::chrono::seconds{*second};
  return std::chrono::floor<std::chrono::days>(local - offset);
}

std::optional<std::chrono::sys_days> UnixSecondsDay(std::string_view text) {
  constexpr int64_t kYear10000 = 253402300800;
  const std::optional<int64_t> seconds = Scale(text, 0, /*exact=*/true);
  if (!seconds || *seconds < 0 || *seconds >= kYear10000) return std::nullopt;
  return std::chrono::floor<std::chrono::days>(
      std::chrono::sys_seconds{std::chrono::seconds{*seconds}});
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

std::string ModelFromLineItem(std::string_view line_item) {
  const size_t separator = line_item.rfind(", ");
  return std::string(separator == std::string_view::npos ? line_item
                                                         : line_item.substr(0, separator));
}

}  // namespace llm_exporter::probes::billing::internal
