#pragma once

// How a libcurl transfer failed, in the terms both the probes and the billing
// pollers report: the transport half of their closed failure-reason lists.

#include <curl/curl.h>

namespace llm_exporter::probes {

enum class TransportFailure {
  kNone,  // CURLE_OK: look at the HTTP reply
  kTimeout,
  kConnect,  // resolve or connect failed
  kTls,
  kBroken,  // the transfer broke: before a reply a connection failure, after it an incomplete reply
};

TransportFailure ClassifyCurlCode(CURLcode code);

}  // namespace llm_exporter::probes
