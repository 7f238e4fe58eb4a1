#include "tests/fake_vendor/billing_query.h"

#include <charconv>
#include <cstdio>

namespace llm_exporter::fake_vendor {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kPagePrefix = "page_";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      decoded.push_back(' ');
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      decoded.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      decoded.push_back(text[i]);
    }
  }
  return decoded;
}

// Fixed-width digits at text[pos, pos + width).
std::optional<int> Digits(std::string_view text, size_t pos, size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::expected<QueryParams, std::string> ParseQueryString(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t equals = pair.find('=');
    auto name = PercentDecode(pair.substr(0, equals));
    auto value = PercentDecode(equals == std::string_view::npos ? std::string_view()
                                                                : pair.substr(equals + 1));
    if (!name || !value) {
      return std::unexpected("malformed query parameter \"" + std::string(pair) + "\"");
    }
    params.emplace_back(std::move(*name), std::move(*value));
  }
  return params;
}

std::vector<std::string> ParamValues(const QueryParams& params, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& [key, value] : params) {
    if (key == name ||
        (key.size() == name.size() + 2 && key.starts_with(name) && key.ends_with("[]"))) {
      values.push_back(value);
    }
  }
  return values;
}

std::optional<std::string> ParamValue(const QueryParams& params, std::string_view name) {
  auto values = ParamValues(params, name);
  if (values.empty()) return std::nullopt;
  return std::move(values.front());
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::sys_time<std::chrono::microseconds>> ParseRfc3339(
    std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS
  const auto year = Digits(text, 0, 4);
  const auto month = Digits(text, 5, 2);
  const auto day = Digits(text, 8, 2);
  const auto hour = Digits(text, 11, 2);
  const auto minute = Digits(text, 14, 2);
  const auto second = Digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' || *hour > 23 ||
      *minute > 59 || *second > 59) {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year(*year), std::chrono::month(unsigned(*month)),
                            std::chrono::day(unsigned(*day))};
  if (!date.ok()) return std::nullopt;
  size_t pos = 19;
  microseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t digits = 0;
    int64_t scale = 1'000'000'000;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - start >= 9) return std::nullopt;
      digits = digits * 10 + (text[pos] - '0');
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    fraction = floor<microseconds>(nanoseconds(digits * scale));
  }
  seconds offset{0};
  const std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    // UTC
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const auto zone_hours = Digits(zone, 1, 2);
    const auto zone_minutes = Digits(zone, 4, 2);
    if (!zone_hours || !zone_minutes || *zone_hours > 23 || *zone_minutes > 59) {
      return std::nullopt;
    }
    offset = hours(*zone_hours) + minutes(*zone_minutes);
    if (zone[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  return sys_days(date) + hours(*hour) + minutes(*minute) + seconds(*second) + fraction - offset;
}

std::string FormatRfc3339(std::chrono::sys_seconds time) {
  using namespace std::chrono;
  const sys_days day = floor<days>(time);
  const year_month_day date(day);
  const hh_mm_ss clock(time - day);
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02uT%02d:%02d:%02dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return buffer;
}

std::string EncodePageToken(std::chrono::sys_days first_day) {
  return std::string(kPagePrefix) +
         Base64Encode(FormatRfc3339(std::chrono::sys_seconds(first_day)));
}

std::optional<std::chrono::sys_days> DecodePageToken(std::string_view token) {
  if (!token.starts_with(kPagePrefix)) return std::nullopt;
  const auto text = Base64Decode(token.substr(kPagePrefix.size()));
  if (!text) return std::nullopt;
  const auto time = ParseRfc3339(*text);
  if (!time) return std::nullopt;
  const auto day = std::chrono::floor<std::chrono::days>(*time);
  if (*time != day) return std::nullopt;
  return std::chrono::sys_days(day);
}

std::string Base64Encode(std::string_view data) {
  std::string encoded;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t n = (uint32_t(uint8_t(data[i])) << 16) | (uint32_t(uint8_t(data[i + 1])) << 8) |
                       uint8_t(data[i + 2]);
    for (int shift : {18, 12, 6, 0}) encoded.push_back(kBase64Alphabet[(n >> shift) & 63]);
  }
  if (i < data.size()) {
    uint32_t n = uint32_t(uint8_t(data[i])) << 16;
    if (i + 1 < data.size()) n |= uint32_t(uint8_t(data[i + 1])) << 8;
    encoded.push_back(kBase64Alphabet[(n >> 18) & 63]);
    encoded.push_back(kBase64Alphabet[(n >> 12) & 63]);
    encoded.push_back(i + 1 < data.size() ? kBase64Alphabet[(n >> 6) & 63] : '=');
    encoded.push_back('=');
  }
  return encoded;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string decoded;
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t n = 0;
    int padding = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      uint32_t value = 0;
      if (c == '=') {
        // Padding only at the very end, at most two.
        if (i + 4 != text.size() || j < 2) return std::nullopt;
        ++padding;
      } else {
        if (padding > 0) return std::nullopt;
        const size_t found = kBase64Alphabet.find(c);
        if (found == std::string_view::npos) return std::nullopt;
        value = static_cast<uint32_t>(found);
      }
      n = (n << 6) | value;
    }
    decoded.push_back(static_cast<char>((n >> 16) & 0xFF));
    if (padding < 2) decoded.push_back(static_cast<char>((n >> 8) & 0xFF));
    if (padding < 1) decoded.push_back(static_cast<char>(n & 0xFF));
  }
  return decoded;
}

}  // namespace llm_exporter::fake_vendor
