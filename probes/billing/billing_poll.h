#pragma once

// One billing poll of one vendor as a pure state machine: the caller asks for
// the next GET (NextRequest), performs it however it likes, and hands the
// reply back (OnResponse) until NextRequest returns nullopt; then Result() is
// the snapshot. No I/O, no clock reads, no logging here: BillingPoller is the
// I/O driver, the unit tests feed recorded bodies.
//
// Every poll re-reads a trailing window: today (the UTC day of `now`) and the
// two days before, because vendors revise recent buckets, widened back to the
// 1st of the month for month-to-date figures.
// A (day, model) pair absent from Result().days had nothing reported; days
// outside the window may appear if the vendor sends them.
//
// Replies are classified the same way for every kind: 404, or an HTML body on
// a 2xx, is kUnsupported (the gateway lacks the endpoint); other non-2xx
// replies map by status (401/403 kAuth, 429 kHttp429, 5xx kHttp5xx, other 4xx
// kHttp4xx) with the retry-after header, if any, in retry_after_seconds; a 2xx
// whose JSON carries an error object is kInvalidResponse (kAuth for auth error
// types); a body we cannot read, or a required field missing or invalid, is
// kInvalidResponse. Numbers are read from their JSON text, so a field may be a
// JSON number or a numeric string alike and money stays exact (never a
// double). After an error the poll is over: NextRequest returns nullopt and
// Result() is empty (partial data is discarded).
//
// HttpGet::headers carry the key: never log them. PollError messages never
// contain the key (vendor text passes through wire::ErrorMessageForLog).

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "probes/billing/billing_snapshot.h"
#include "probes/transport.h"

namespace llm_exporter::probes::billing {

// The llm_billing_poll_failures_total reasons: timeout through
// invalid_response, unsupported and page_cap of probes::Failure.
using PollErrorReason = Failure;
inline std::string_view PollErrorReasonName(PollErrorReason reason) { return FailureName(reason); }

struct PollError {
  PollErrorReason reason = PollErrorReason::kInvalidResponse;
  std::string message;  // log-safe: "<path>: <what went wrong>"
  std::optional<int64_t> retry_after_seconds;
};

struct HttpGet {
  std::string url;
  std::vector<std::string> headers;  // "Name: value", auth included
};

class BillingPoll {
 public:
  virtual ~BillingPoll() = default;
  // The next request, or nullopt when the poll is over (done or failed).
  virtual std::optional<HttpGet> NextRequest() = 0;
  // The reply to the request NextRequest last returned: HTTP status, body and
  // the retry-after header's value ("" if absent).
  virtual std::expected<void, PollError> OnResponse(long status, std::string_view body,
                                                    std::string_view retry_after) = 0;
  // The snapshot once NextRequest returned nullopt without an error; empty
  // (only polled_at set) otherwise.
  virtual BillingSnapshot Result() const = 0;
};

// The base URL used when vendor.billing.base_url is empty; nullopt for
// openai_dashboard, which has no default (a gateway's own URL is needed).
std::optional<std::string_view> DefaultBillingBaseUrl(config::BillingKind kind);

// A poll of `kind` at `now`. `base_url` "" means the kind's default; a
// trailing "/" and a trailing "/v1" (openrouter also "/api/v1") are dropped so
// that the vendor's chat base URL works too. `page_cap` bounds the pages read
// per endpoint; more gives kPageCap. An empty key sends no auth header
// (keyless local gateways). Fails (kUnsupported) only for openai_dashboard
// without a base URL.
std::expected<std::unique_ptr<BillingPoll>, PollError> NewBillingPoll(
    config::BillingKind kind, const std::string& base_url, const config::Secret& key,
    std::chrono::system_clock::time_point now, int page_cap = 20);

}  // namespace llm_exporter::probes::billing
