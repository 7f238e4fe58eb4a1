#pragma once

// How a libcurl transfer failed, in the terms both the probes and the billing
// pollers report: the transport half of their closed failure-reason lists.

#include <curl/curl.h>

#include <string>

#include "config/config.h"

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

}  // namespace llm_exporter::probes
