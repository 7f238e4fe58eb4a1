#pragma once

// Failure classification for vendor replies. Given an HTTP status and body
// (never a request or a key), these pure functions decide the probe failure
// reason from the closed set below, and extract a short, log-safe message.
//
// Choice for gateways that answer HTTP 200 with {"error":{...}}: the reply is a
// failure with reason kInvalidResponse (kAuth if the error type/code says the
// key is bad) and `error_in_body` set, so a caller that wants a finer policy can
// look at `type`/`code`. The same applies to error events inside a stream.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llm_exporter::wire {

// The subset of llm_probe_failures_total reasons decided by the wire format;
// transport reasons (timeout, connect, tls) belong to the caller.
enum class FailureReason {
  kNone,
  kHttp4xx,
  kHttp429,
  kHttp5xx,
  kAuth,
  kInvalidResponse,
};

// The metric label value: "none", "http_4xx", "http_429", "http_5xx", "auth",
// "invalid_response".
std::string_view FailureReasonName(FailureReason reason);

struct WireError {
  FailureReason reason = FailureReason::kNone;
  // The vendor sent an error object (in the body or as a stream event), as
  // opposed to us failing to understand the reply.
  bool error_in_body = false;
  std::string type;     // vendor error.type, e.g. "rate_limit_error"; for logs only
  std::string code;     // vendor error.code (or error.details.error_code)
  std::string message;  // at most kMaxErrorMessageBytes plus "...", log-safe
};

inline constexpr size_t kMaxErrorMessageBytes = 200;

// Status alone: 2xx none; 401/403 auth; 429 http_429; other 4xx http_4xx;
// 5xx (including 529) http_5xx; anything else (1xx, 3xx, out of range)
// invalid_response.
FailureReason ClassifyHttpStatus(int status);

// Status plus body of a JSON endpoint. Non-2xx: the status class, except that
// an auth error type/code (authentication_error, permission_error,
// invalid_api_key) gives kAuth. 2xx: kNone for a JSON body without an error
// object; kInvalidResponse for an empty, HTML, non-JSON or too deeply nested
// body, or an error object (kAuth for auth types). Reply parsers re-check
// structure; this only decides whether the reply is an error at all.
WireError ClassifyHttpReply(int status, std::string_view body);

// A `retry-after` header value as seconds from `now`: delta-seconds (a
// non-negative decimal number, rounded up) or an HTTP-date (IMF-fixdate,
// RFC 850 or asctime form; a date in the past gives 0). nullopt if malformed.
std::optional<int64_t> ParseRetryAfterSeconds(std::string_view value,
                                              std::chrono::system_clock::time_point now);

// Message text made log-safe: control characters blanked, invalid UTF-8
// replaced, key-like words ("sk-...") replaced by <secret>, truncated to
// kMaxErrorMessageBytes.
std::string ErrorMessageForLog(std::string_view text);

}  // namespace llm_exporter::wire
