#pragma once

// Helpers for the fake vendor's HTTP tests (a real fake_vendor process on
// loopback): starting it, requests in each vendor's format, reading replies.

#include <curl/curl.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/decimal.h"
#include "pricing/cost.h"
#include "pricing/price_book.h"
#include "tests/fake_vendor/billing_query.h"
#include "tests/fake_vendor/chat_request.h"
#include "tests/fake_vendor/decimal_text.h"
#include "tests/fake_vendor/test_support.h"
#include "tests/fake_vendor/usage_ledger.h"
#include "tests/fake_vendor/vendor_pricer.h"

namespace llm_exporter::fake_vendor::testing {

using std::chrono::milliseconds;

inline std::unique_ptr<FakeVendorProcess> StartVendor(const std::vector<std::string>& args = {},
                                                      const Environment& env = {}) {
  auto process = FakeVendorProcess::Start(args, env);
  BOOST_REQUIRE_MESSAGE(process, (process ? "" : process.error()));
  return std::move(*process);
}

inline rapidjson::Document Json(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject(), "not a JSON object: " << text);
  return doc;
}

inline std::string Str(const rapidjson::Value& value) {
  BOOST_REQUIRE(value.IsString());
  return std::string(value.GetString(), value.GetStringLength());
}

inline HttpResult Post(const FakeVendorProcess& vendor, std::string_view path, std::string body,
                       std::vector<std::string> headers = {}, long timeout_ms = 10'000) {
  headers.push_back("Content-Type: application/json");
  return Perform({"POST", vendor.Url(path), std::move(body), std::move(headers), timeout_ms});
}

inline HttpResult Get(const FakeVendorProcess& vendor, std::string_view path,
                      std::vector<std::string> headers = {}) {
  return Perform({"GET", vendor.Url(path), "", std::move(headers)});
}

inline std::string OpenAiBody(std::string_view content, int max_tokens = 0, bool stream = false,
                              bool include_usage = false, std::string_view model = "gpt-4o-mini") {
  std::string body = R"({"model":")" + std::string(model) +
                     R"(","messages":[{"role":"user","content":")" + std::string(content) + "\"}]";
  if (max_tokens > 0) body += ",\"max_tokens\":" + std::to_string(max_tokens);
  if (stream) body += ",\"stream\":true";
  if (include_usage) body += R"(,"stream_options":{"include_usage":true})";
  return body + "}";
}

inline std::string AnthropicBody(std::string_view content, int max_tokens = 16, bool stream = false,
                                 std::string_view model = "claude-3-5-haiku-20241022") {
  std::string body = R"({"model":")" + std::string(model) + R"(","max_tokens":)" +
                     std::to_string(max_tokens) + R"(,"messages":[{"role":"user","content":")" +
                     std::string(content) + "\"}]";
  if (stream) body += ",\"stream\":true";
  return body + "}";
}

const std::vector<std::string> kAnthropicHeaders = {"anthropic-version: 2023-06-01"};

// Content tokens of an OpenAI stream, in order.
inline std::vector<std::string> OpenAiContents(const std::vector<SseEvent>& events) {
  std::vector<std::string> contents;
  for (const auto& event : events) {
    if (event.data == "[DONE]" || event.at_ms < 0) continue;  // the end or an unfinished event
    const auto doc = Json(event.data);
    if (!doc.HasMember("choices") || doc["choices"].Empty()) continue;
    const auto& delta = doc["choices"][0]["delta"];
    if (delta.HasMember("content") && delta["content"].GetStringLength() > 0) {
      contents.push_back(Str(delta["content"]));
    }
  }
  return contents;
}

inline std::vector<std::string> EventNames(const std::vector<SseEvent>& events) {
  std::vector<std::string> names;
  for (const auto& event : events) names.push_back(event.event);
  return names;
}

inline int CountEvents(const std::vector<SseEvent>& events, std::string_view name) {
  return static_cast<int>(std::count_if(events.begin(), events.end(),
                                        [&](const SseEvent& e) { return e.event == name; }));
}

inline bool HasDone(const std::vector<SseEvent>& events) {
  return std::any_of(events.begin(), events.end(),
                     [](const SseEvent& e) { return e.data == "[DONE]"; });
}

inline rapidjson::Document Stats(const FakeVendorProcess& vendor) {
  const HttpResult result = Get(vendor, "/control/stats");
  BOOST_REQUIRE_EQUAL(result.status, 200);
  return Json(result.body);
}

inline void SetFault(const FakeVendorProcess& vendor, std::string_view body) {
  const HttpResult result = Post(vendor, "/control/fault", std::string(body));
  BOOST_REQUIRE_MESSAGE(result.status == 200, result.body);
}

// "ping" is 4 bytes: ceil(4 / 4) + 4 * 1 message.
constexpr int64_t kPingInputTokens = 5;

// ---------------------------------------------------------------------------

}  // namespace llm_exporter::fake_vendor::testing
