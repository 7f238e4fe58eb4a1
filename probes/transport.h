#pragma once

// How a libcurl transfer failed, in the terms both the probes and the billing
// pollers report: the transport half of their closed failure-reason lists.

#include <curl/curl.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "wire/wire_error.h"

namespace llm_exporter::probes {

// A vendor's TLS and proxy settings on one transfer. Owns what libcurl needs
// kept alive while the transfer runs; set up before the URL is set.
class VendorTransport {
 public:
  VendorTransport() = default;
  ~VendorTransport();
  VendorTransport(const VendorTransport&) = delete;
  VendorTransport& operator=(const VendorTransport&) = delete;

  // Applies `transport` to `easy` and returns the URL to request: with a
  // server_name, the URL names that host (so that it is verified and sent as
  // SNI and Host) while the connection still goes to the configured address.
  std::string Apply(CURL* easy, const config::TransportConfig& transport, const std::string& url);

 private:
  curl_slist* connect_to_ = nullptr;
};

enum class TransportFailure {
  kNone,  // CURLE_OK: look at the HTTP reply
  kTimeout,
  kConnect,  // resolve or connect failed
  kTls,
  kBroken,  // the transfer broke: before a reply a connection failure, after it an incomplete reply
};

TransportFailure ClassifyCurlCode(CURLcode code);

// Why a request to a vendor failed: one list for the reasons of
// llm_probe_failures_total and of llm_billing_poll_failures_total (each
// metric shows its own subset; docs/metrics.md).
enum class Failure {
  kNone,
  kTimeout,
  kConnect,
  kTls,
  kHttp4xx,
  kHttp429,
  kHttp5xx,
  kAuth,
  kInvalidResponse,
  kContentMismatch,  // probes: the answer did not match `expect`
  kBudgetExhausted,  // probes: skipped, the day's budget is spent
  kUnsupported,      // billing: the endpoint is not what this kind expects (HTML, ...)
  kPageCap,          // billing: more pages than a poll may read
};
// The label value: "none", "timeout", ..., "page_cap".
std::string_view FailureName(Failure failure);
// The failure a wire-level classification names (kNone stays kNone).
Failure FromWire(wire::FailureReason reason);

}  // namespace llm_exporter::probes
