#include "wire/wire_error.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

#include "tests/unit/wire/testdata.h"

namespace llm_exporter::wire {
namespace {

using testing::ReadTestdata;

BOOST_AUTO_TEST_SUITE(wire_error)

BOOST_AUTO_TEST_CASE(reason_names_are_the_metric_labels) {
  BOOST_TEST(FailureReasonName(FailureReason::kNone) == "none");
  BOOST_TEST(FailureReasonName(FailureReason::kHttp4xx) == "http_4xx");
  BOOST_TEST(FailureReasonName(FailureReason::kHttp429) == "http_429");
  BOOST_TEST(FailureReasonName(FailureReason::kHttp5xx) == "http_5xx");
  BOOST_TEST(FailureReasonName(FailureReason::kAuth) == "auth");
  BOOST_TEST(FailureReasonName(FailureReason::kInvalidResponse) == "invalid_response");
}

BOOST_AUTO_TEST_CASE(status_classes) {
  BOOST_TEST(ClassifyHttpStatus(200) == FailureReason::kNone);
  BOOST_TEST(ClassifyHttpStatus(204) == FailureReason::kNone);
  BOOST_TEST(ClassifyHttpStatus(400) == FailureReason::kHttp4xx);
  BOOST_TEST(ClassifyHttpStatus(401) == FailureReason::kAuth);
  BOOST_TEST(ClassifyHttpStatus(402) == FailureReason::kHttp4xx);
  BOOST_TEST(ClassifyHttpStatus(403) == FailureReason::kAuth);
  BOOST_TEST(ClassifyHttpStatus(404) == FailureReason::kHttp4xx);
  BOOST_TEST(ClassifyHttpStatus(429) == FailureReason::kHttp429);
  BOOST_TEST(ClassifyHttpStatus(500) == FailureReason::kHttp5xx);
  BOOST_TEST(ClassifyHttpStatus(503) == FailureReason::kHttp5xx);
  BOOST_TEST(ClassifyHttpStatus(529) == FailureReason::kHttp5xx);
  BOOST_TEST(ClassifyHttpStatus(301) == FailureReason::kInvalidResponse);
  BOOST_TEST(ClassifyHttpStatus(101) == FailureReason::kInvalidResponse);
  BOOST_TEST(ClassifyHttpStatus(0) == FailureReason::kInvalidResponse);
  BOOST_TEST(ClassifyHttpStatus(-1) == FailureReason::kInvalidResponse);
  BOOST_TEST(ClassifyHttpStatus(600) == FailureReason::kInvalidResponse);
}

BOOST_AUTO_TEST_CASE(openai_invalid_key_is_auth_and_key_is_redacted) {
  const WireError error = ClassifyHttpReply(401, ReadTestdata("openai_error_invalid_api_key.json"));
  BOOST_TEST(error.reason == FailureReason::kAuth);
  BOOST_TEST(error.error_in_body);
  BOOST_TEST(error.type == "invalid_request_error");
  BOOST_TEST(error.code == "invalid_api_key");
  BOOST_TEST(error.message == "Incorrect API key provided: sk-...");

  const WireError echoed = ClassifyHttpReply(
      401,
      R"({"error":{"message":"Incorrect API key provided: sk-proj-abcd1234********wxyz. See","code":"invalid_api_key"}})");
  BOOST_TEST(echoed.message == "Incorrect API key provided: <secret>. See");
  // A 400 whose code says the key is bad is still an auth failure.
  BOOST_TEST(ClassifyHttpReply(400, R"({"error":{"code":"invalid_api_key"}})").reason ==
             FailureReason::kAuth);
}

BOOST_AUTO_TEST_CASE(rate_limits_and_quota) {
  WireError error = ClassifyHttpReply(429, ReadTestdata("openai_error_rate_limit.json"));
  BOOST_TEST(error.reason == FailureReason::kHttp429);
  BOOST_TEST(error.code == "rate_limit_exceeded");
  BOOST_TEST(error.message.size() <= kMaxErrorMessageBytes);

  error = ClassifyHttpReply(429, ReadTestdata("openai_error_insufficient_quota.json"));
  BOOST_TEST(error.reason == FailureReason::kHttp429);
  BOOST_TEST(error.code == "insufficient_quota");

  error = ClassifyHttpReply(429, ReadTestdata("anthropic_error_rate_limit.json"));
  BOOST_TEST(error.reason == FailureReason::kHttp429);
  BOOST_TEST(error.type == "rate_limit_error");
  BOOST_TEST(error.message == "Number of request tokens has exceeded your per-minute rate limit");

  error = ClassifyHttpReply(429, ReadTestdata("anthropic_error_spend_limit.json"));
  BOOST_TEST(error.code == "enforced_spend_limit_reached");
}

BOOST_AUTO_TEST_CASE(anthropic_statuses) {
  BOOST_TEST(ClassifyHttpReply(401, ReadTestdata("anthropic_error_auth.json")).reason ==
             FailureReason::kAuth);
  const WireError overloaded =
      ClassifyHttpReply(529, ReadTestdata("anthropic_error_overloaded.json"));
  BOOST_TEST(overloaded.reason == FailureReason::kHttp5xx);
  BOOST_TEST(overloaded.type == "overloaded_error");
  BOOST_TEST(overloaded.message == "Overloaded");
}

BOOST_AUTO_TEST_CASE(gateway_error_in_200_body) {
  WireError error = ClassifyHttpReply(200, ReadTestdata("gateway_200_error.json"));
  BOOST_TEST(error.reason == FailureReason::kInvalidResponse);
  BOOST_TEST(error.error_in_body);
  BOOST_TEST(error.type == "new_api_error");
  BOOST_TEST(error.code == "model_not_found");
  BOOST_TEST(error.message.starts_with("当前分组上游负载已饱和"));

  error = ClassifyHttpReply(200, ReadTestdata("gateway_200_error_string.json"));
  BOOST_TEST(error.reason == FailureReason::kInvalidResponse);
  BOOST_TEST(error.error_in_body);
  BOOST_TEST(error.message == "upstream request failed: context deadline exceeded");

  error =
      ClassifyHttpReply(200, R"({"error":{"type":"authentication_error","message":"bad key"}})");
  BOOST_TEST(error.reason == FailureReason::kAuth);

  // "error": null on a success body is not an error.
  error = ClassifyHttpReply(200, R"({"choices":[],"error":null})");
  BOOST_TEST(error.reason == FailureReason::kNone);
}

BOOST_AUTO_TEST_CASE(html_and_non_json_bodies) {
  WireError error = ClassifyHttpReply(200, ReadTestdata("html_502.html"));
  BOOST_TEST(error.reason == FailureReason::kInvalidResponse);
  BOOST_TEST(!error.error_in_body);
  BOOST_TEST(error.message == "HTML body: 502 Bad Gateway");

  error = ClassifyHttpReply(502, ReadTestdata("html_502.html"));
  BOOST_TEST(error.reason == FailureReason::kHttp5xx);
  BOOST_TEST(error.message == "HTML body: 502 Bad Gateway");

  error = ClassifyHttpReply(200, "");
  BOOST_TEST(error.reason == FailureReason::kInvalidResponse);
  BOOST_TEST(error.message == "empty body");

  error = ClassifyHttpReply(200, "OK");
  BOOST_TEST(error.reason == FailureReason::kInvalidResponse);
  BOOST_TEST(error.message.starts_with("invalid JSON"));

  error = ClassifyHttpReply(500, "");
  BOOST_TEST(error.reason == FailureReason::kHttp5xx);
  BOOST_TEST(error.message == "empty body");

  error = ClassifyHttpReply(503, "{}");
  BOOST_TEST(error.message == "HTTP 503");

  BOOST_TEST(ClassifyHttpReply(200, R"({"ok":true})").reason == FailureReason::kNone);
  BOOST_TEST(ClassifyHttpReply(200, "{\"a\":1}\0tail").reason == FailureReason::kNone);
  BOOST_TEST(ClassifyHttpReply(200, std::string("{\"a\":1}\0tail", 11)).reason ==
             FailureReason::kInvalidResponse);
}

BOOST_AUTO_TEST_CASE(messages_are_truncated_and_sanitized) {
  const std::string long_message(1000, 'm');
  WireError error = ClassifyHttpReply(500, R"({"error":{"message":")" + long_message + R"("}})");
  BOOST_TEST(error.message == std::string(kMaxErrorMessageBytes, 'm') + "...");

  error = ClassifyHttpReply(500, R"({"error":{"message":"line1\nline2\u0000end"}})");
  BOOST_TEST(error.message == "line1 line2 end");

  // Multi-byte characters are never cut in half.
  std::string wide;
  for (int i = 0; i < 150; ++i) wide += "é";
  error = ClassifyHttpReply(500, R"({"error":{"message":")" + wide + R"("}})");
  BOOST_TEST(error.message.size() == kMaxErrorMessageBytes + 3);
  BOOST_TEST(error.message == wide.substr(0, kMaxErrorMessageBytes) + "...");

  BOOST_TEST(ErrorMessageForLog("bad \xFF byte") == "bad ? byte");
  BOOST_TEST(ErrorMessageForLog("key sk-ant-api03-AAAAAAAAAAAAAAAAAAAA rest") ==
             "key <secret> rest");
  BOOST_TEST(ErrorMessageForLog("task-sk-learn") == "task-sk-learn");
  const std::string straddling = std::string(195, 'x') + " sk-" + std::string(100, 'k');
  BOOST_TEST(ErrorMessageForLog(straddling).find("kkkk") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(deeply_nested_body_is_invalid_not_a_stack_overflow) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  BOOST_TEST(ClassifyHttpReply(200, deep).reason == FailureReason::kInvalidResponse);
  const std::string ok_depth = std::string(60, '[') + std::string(60, ']');
  BOOST_TEST(ClassifyHttpReply(200, ok_depth).reason == FailureReason::kNone);
}

BOOST_AUTO_TEST_CASE(retry_after_seconds) {
  const auto now = std::chrono::sys_days{std::chrono::year{2015} / 10 / 21} +
                   std::chrono::hours{7} + std::chrono::minutes{28};
  BOOST_TEST(ParseRetryAfterSeconds("120", now).value_or(-1) == 120);
  BOOST_TEST(ParseRetryAfterSeconds(" 0 ", now).value_or(-1) == 0);
  BOOST_TEST(ParseRetryAfterSeconds("1.5", now).value_or(-1) == 2);
  BOOST_TEST(ParseRetryAfterSeconds("3.000", now).value_or(-1) == 3);
  BOOST_TEST(!ParseRetryAfterSeconds("", now).has_value());
  BOOST_TEST(!ParseRetryAfterSeconds("-5", now).has_value());
  BOOST_TEST(!ParseRetryAfterSeconds("5s", now).has_value());
  BOOST_TEST(!ParseRetryAfterSeconds("1.", now).has_value());
  BOOST_TEST(!ParseRetryAfterSeconds("99999999999999999999999", now).has_value());
}

BOOST_AUTO_TEST_CASE(retry_after_http_dates) {
  const auto now = std::chrono::sys_days{std::chrono::year{2015} / 10 / 21} +
                   std::chrono::hours{7} + std::chrono::minutes{28};
  BOOST_TEST(ParseRetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT", now).value_or(-1) == 0);
  BOOST_TEST(ParseRetryAfterSeconds("Wed, 21 Oct 2015 07:29:30 GMT", now).value_or(-1) == 90);
  BOOST_TEST(ParseRetryAfterSeconds("Thu, 22 Oct 2015 07:28:00 GMT", now).value_or(-1) == 86400);
  BOOST_TEST(ParseRetryAfterSeconds("Wednesday, 21-Oct-15 07:30:00 GMT", now).value_or(-1) == 120);
  BOOST_TEST(ParseRetryAfterSeconds("Wed Oct 21 07:28:05 2015", now).value_or(-1) == 5);
  BOOST_TEST(ParseRetryAfterSeconds("Wed Oct  1 07:28:05 2015", now).value_or(-1) == 0);
  // Past dates mean "now"; a fractional now rounds the wait up.
  BOOST_TEST(ParseRetryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", now).value_or(-1) == 0);
  BOOST_TEST(
      ParseRetryAfterSeconds("Wed, 21 Oct 2015 07:28:01 GMT", now + std::chrono::milliseconds{500})
          .value_or(-1) == 1);
  // Beyond the range of the clock's nanoseconds, still no overflow.
  BOOST_TEST(ParseRetryAfterSeconds("Fri, 31 Dec 9999 23:59:59 GMT", now).value_or(-1) ==
             253402300799 - 1445412480);
  BOOST_TEST(!ParseRetryAfterSeconds("Wed, 31 Feb 2015 07:28:00 GMT", now).has_value());
  BOOST_TEST(!ParseRetryAfterSeconds("Wed, 21 Foo 2015 07:28:00 GMT", now).has_value());
  BOOST_TEST(!ParseRetryAfterSeconds("Wed, 21 Oct 2015 25:28:00 GMT", now).has_value());
  BOOST_TEST(!ParseRetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT trailing", now).has_value());
  BOOST_TEST(!ParseRetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 PST", now).has_value());
  BOOST_TEST(!ParseRetryAfterSeconds("2015-10-21T07:28:00Z", now).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::wire
