#include "probes/transport.h"

#include <array>

#include "base/enum_names.h"

namespace llm_exporter::probes {

VendorTransport::~VendorTransport() { curl_slist_free_all(connect_to_); }

std::string VendorTransport::Apply(CURL* easy, const config::TransportConfig& transport,
                                   const std::string& url) {
  // Without proxy_url libcurl reads http_proxy / HTTPS_PROXY / NO_PROXY itself.
  if (!transport.proxy_url.empty())
    curl_easy_setopt(easy, CURLOPT_PROXY, transport.proxy_url.c_str());
  if (!transport.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, transport.ca_file.c_str());
  if (!transport.cert_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, transport.cert_file.c_str());
    curl_easy_setopt(easy, CURLOPT_SSLKEY, transport.key_file.c_str());
  }
  if (transport.insecure_skip_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (transport.server_name.empty()) return url;

  CURLU* parsed = curl_url();
  std::string out = url;
  char* host = nullptr;
  char* port = nullptr;
  if (curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      curl_url_set(parsed, CURLUPART_HOST, transport.server_name.c_str(), 0) == CURLUE_OK) {
    char* renamed = nullptr;
    if (curl_url_get(parsed, CURLUPART_URL, &renamed, 0) == CURLUE_OK) {
      out = renamed;
      // "name:port:" + "host:port": connect to the configured address.
      const std::string rule =
          transport.server_name + ":" + port + ":" + std::string(host) + ":" + port;
      curl_slist_free_all(connect_to_);
      connect_to_ = curl_slist_append(nullptr, rule.c_str());
      curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_to_);
    }
    curl_free(renamed);
  }
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(parsed);
  return out;
}

TransportFailure ClassifyCurlCode(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return TransportFailure::kNone;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailure::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return TransportFailure::kConnect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return TransportFailure::kTls;
    default:
      return TransportFailure::kBroken;
  }
}

std::string_view FailureName(Failure failure) {
  static constexpr std::array<std::string_view, 13> kNames = {"none",
                                                              "timeout",
                                                              "connect",
                                                              "tls",
                                                              "http_4xx",
                                                              "http_429",
                                                              "http_5xx",
                                                              "auth",
                                                              "invalid_response",
                                                              "content_mismatch",
                                                              "budget_exhausted",
                                                              "unsupported",
                                                              "page_cap"};
  return base::EnumName(failure, kNames, "invalid_response");
}

Failure FromWire(wire::FailureReason reason) {
  static constexpr std::array<Failure, 6> kByWire = {Failure::kNone,    Failure::kHttp4xx,
                                                     Failure::kHttp429, Failure::kHttp5xx,
                                                     Failure::kAuth,    Failure::kInvalidResponse};
  const auto index = static_cast<size_t>(reason);
  return index < kByWire.size() ? kByWire[index] : Failure::kInvalidResponse;
}

}  // namespace llm_exporter::probes
