#pragma once

// Headers that belong to one hop of HTTP only (RFC 9110 7.6.1): the proxy
// never passes them on, in either direction.

#include <string_view>

namespace llm_exporter::proxy {

// `lower`: the header's name in lower case.
inline bool IsHopByHop(std::string_view lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "proxy-connection" ||
         lower == "transfer-encoding" || lower == "te" || lower == "trailer" ||
         lower == "upgrade" || lower == "proxy-authenticate" || lower == "proxy-authorization";
}

}  // namespace llm_exporter::proxy
