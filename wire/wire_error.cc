#include "wire/wire_error.h"

#include <rapidjson/document.h>

#include <array>
#include <cctype>
#include <cstdio>

#include "base/enum_names.h"
#include "wire/error_body.h"
#include "wire/json_util.h"

namespace llm_exporter::wire {
namespace {

constexpr size_t kMaxTypeBytes = 64;

bool LooksLikeHtml(std::string_view body) {
  const std::string_view trimmed = internal::TrimWhitespace(body);
  return !trimmed.empty() && trimmed.front() == '<';
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

size_t FindCaseInsensitive(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return std::string_view::npos;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() && AsciiLower(haystack[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

std::optional<int> MonthFromName(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == name) return static_cast<int>(i) + 1;
  }
  return std::nullopt;
}

std::optional<std::chrono::sys_seconds> ParseHttpDate(std::string_view value) {
  constexpr size_t kMaxDateLength = 64;
  if (value.size() > kMaxDateLength) return std::nullopt;
  const std::string text(value);
  char weekday[16] = {};
  char month_name[4] = {};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  int consumed = -1;
  const auto whole = [&](int fields) {
    return fields == 7 && consumed == static_cast<int>(text.size());
  };
  // IMF-fixdate, the form servers must send: "Sun, 06 Nov 1994 08:49:37 GMT".
  bool matched =
      whole(std::sscanf(text.c_str(), "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", weekday,
                        &day, month_name, &year, &hour, &minute, &second, &consumed));
  if (!matched) {
    // Obsolete RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
    consumed = -1;
    matched =
        whole(std::sscanf(text.c_str(), "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n",
                          weekday, &day, month_name, &year, &hour, &minute, &second, &consumed));
    if (matched) year += year < 70 ? 2000 : 1900;
  }
  if (!matched) {
    // asctime: "Sun Nov  6 08:49:37 1994".
    consumed = -1;
    matched =
        whole(std::sscanf(text.c_str(), "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", weekday,
                          month_name, &day, &hour, &minute, &second, &year, &consumed));
  }
  if (!matched) return std::nullopt;
  const std::optional<int> month = MonthFromName(month_name);
  if (!month) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (day < 1 || year < 1900 || !date.ok() || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 60) {
    return std::nullopt;
  }
  return std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

std::optional<int64_t> ParseDeltaSeconds(std::string_view value) {
  constexpr size_t kMaxDigits = 15;
  size_t i = 0;
  int64_t seconds = 0;
  while (i < value.size() && std::isdigit(static_cast<unsigned char>(value[i]))) {
    if (i >= kMaxDigits) return std::nullopt;
    seconds = seconds * 10 + (value[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  if (i == value.size()) return seconds;
  if (value[i] != '.' || i + 1 == value.size()) return std::nullopt;
  bool fractional = false;
  for (size_t k = i + 1; k < value.size(); ++k) {
    if (!std::isdigit(static_cast<unsigned char>(value[k]))) return std::nullopt;
    fractional = fractional || value[k] != '0';
  }
  return fractional ? seconds + 1 : seconds;
}

}  // namespace

namespace internal {

std::optional<WireError> ErrorFromJson(const rapidjson::Value& root) {
  if (!root.IsObject()) return std::nullopt;
  WireError error;
  error.error_in_body = true;
  const rapidjson::Value* error_value = Member(root, "error");
  if (error_value != nullptr && error_value->IsObject()) {
    if (auto type = StringMember(*error_value, "type")) error.type = ForLog(*type, kMaxTypeBytes);
    if (auto code = StringMember(*error_value, "code")) {
      error.code = ForLog(*code, kMaxTypeBytes);
    } else if (const rapidjson::Value* number = Member(*error_value, "code");
               number != nullptr && number->IsInt64()) {
      error.code = std::to_string(number->GetInt64());
    } else if (const rapidjson::Value* details = ObjectMember(*error_value, "details")) {
      if (auto detail_code = StringMember(*details, "error_code")) {
        error.code = ForLog(*detail_code, kMaxTypeBytes);
      }
    }
    if (auto message = StringMember(*error_value, "message")) {
      error.message = ErrorMessageForLog(*message);
    }
    return error;
  }
  if (error_value != nullptr && error_value->IsString() && error_value->GetStringLength() > 0) {
    error.message = ErrorMessageForLog(
        std::string_view(error_value->GetString(), error_value->GetStringLength()));
    return error;
  }
  if (StringMember(root, "type") == "error") {
    if (auto message = StringMember(root, "message")) error.message = ErrorMessageForLog(*message);
    return error;
  }
  return std::nullopt;
}

bool IsAuthError(const WireError& error) {
  return error.type == "authentication_error" || error.type == "permission_error" ||
         error.type == "invalid_api_key" || error.code == "invalid_api_key";
}

WireError InBodyFailure(WireError error) {
  error.reason = IsAuthError(error) ? FailureReason::kAuth : FailureReason::kInvalidResponse;
  return error;
}

std::expected<rapidjson::Document, WireError> ParseReplyObject(std::string_view body) {
  rapidjson::Document doc;
  if (auto parsed = ParseJson(body, doc); !parsed) {
    return std::unexpected(UnparsableBody(body, parsed.error()));
  }
  if (auto error = ErrorFromJson(doc)) return std::unexpected(InBodyFailure(std::move(*error)));
  if (!doc.IsObject()) return std::unexpected(InvalidResponse("reply is not an object"));
  return doc;
}

WireError InvalidResponse(std::string_view message) {
  WireError error;
  error.reason = FailureReason::kInvalidResponse;
  error.message = ErrorMessageForLog(message);
  return error;
}

WireError UnparsableBody(std::string_view body, std::string_view parse_error) {
  if (LooksLikeHtml(body) || TrimWhitespace(body).empty()) {
    return InvalidResponse(DescribeNonJsonBody(body));
  }
  return InvalidResponse(parse_error);
}

std::string DescribeNonJsonBody(std::string_view body) {
  if (TrimWhitespace(body).empty()) return "empty body";
  if (LooksLikeHtml(body)) {
    const size_t open = FindCaseInsensitive(body, "<title>");
    if (open != std::string_view::npos) {
      const std::string_view rest = body.substr(open + 7);
      const size_t close = FindCaseInsensitive(rest, "</title>");
      const std::string_view title = TrimWhitespace(rest.substr(0, close));
      return ErrorMessageForLog("HTML body: " +
                                std::string(title.substr(0, kMaxErrorMessageBytes)));
    }
    return "HTML body";
  }
  return ErrorMessageForLog("non-JSON body: " +
                            std::string(body.substr(0, 2 * kMaxErrorMessageBytes)));
}

}  // namespace internal

std::string_view FailureReasonName(FailureReason reason) {
  static constexpr std::array<std::string_view, 6> kNames = {
      "none", "http_4xx", "http_429", "http_5xx", "auth", "invalid_response"};
  return base::EnumName(reason, kNames, "invalid_response");
}

FailureReason ClassifyHttpStatus(int status) {
  if (status >= 200 && status <= 299) return FailureReason::kNone;
  if (status == 401 || status == 403) return FailureReason::kAuth;
  if (status == 429) return FailureReason::kHttp429;
  if (status >= 400 && status <= 499) return FailureReason::kHttp4xx;
  if (status >= 500 && status <= 599) return FailureReason::kHttp5xx;
  return FailureReason::kInvalidResponse;
}

WireError ClassifyHttpReply(int status, std::string_view body) {
  const FailureReason status_reason = ClassifyHttpStatus(status);
  rapidjson::Document doc;
  const auto parsed = internal::ParseJson(body, doc);
  std::optional<WireError> body_error;
  if (parsed) body_error = internal::ErrorFromJson(doc);

  if (status_reason != FailureReason::kNone) {
    WireError error;
    if (body_error) {
      error = std::move(*body_error);
    } else {
      error.message =
          parsed ? "HTTP " + std::to_string(status) : internal::DescribeNonJsonBody(body);
    }
    error.reason = status_reason;
    if (status_reason != FailureReason::kInvalidResponse && internal::IsAuthError(error)) {
      error.reason = FailureReason::kAuth;
    }
    if (error.message.empty()) error.message = "HTTP " + std::to_string(status);
    return error;
  }
  if (!parsed) return internal::UnparsableBody(body, parsed.error());
  if (body_error) return internal::InBodyFailure(std::move(*body_error));
  return WireError{};
}

std::optional<int64_t> ParseRetryAfterSeconds(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
  value = internal::TrimWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) return ParseDeltaSeconds(value);
  const std::optional<std::chrono::sys_seconds> date = ParseHttpDate(value);
  if (!date) return std::nullopt;
  // Whole seconds throughout: a far-future date in the clock's nanoseconds
  // would overflow. date - floor(now) equals ceil(date - now) for whole-second
  // dates.
  const int64_t remaining = (*date - std::chrono::floor<std::chrono::seconds>(now)).count();
  return remaining > 0 ? remaining : 0;
}

std::string ErrorMessageForLog(std::string_view text) {
  return internal::ForLog(text, kMaxErrorMessageBytes);
}

}  // namespace llm_exporter::wire
