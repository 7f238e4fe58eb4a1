#pragma once

// Replies the proxy writes itself (docs/proxy.md): errors in the dialect's own
// shape, so that an SDK shows a useful message, and the routed model list.

#include <string>
#include <string_view>

#include "config/config.h"

namespace llm_exporter::proxy {

// The error body a vendor of `dialect` would send for `status`:
//   OpenAI:    {"error":{"message":…,"type":…,"param":null,"code":…}}
//   Anthropic: {"type":"error","error":{"type":…,"message":…}}
std::string ErrorBody(config::WireApi dialect, int status, std::string_view message);

// A whole HTTP/1.1 response: status line, JSON headers and `body`. With
// `close`, the connection ends after it.
std::string JsonResponse(int status, std::string_view body, bool close);

}  // namespace llm_exporter::proxy
