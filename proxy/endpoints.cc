#include "proxy/endpoints.h"

#include <array>
#include <cstdlib>

namespace llm_exporter::proxy {
namespace {

using config::WireApi;
using wire::StreamKind;

constexpr std::array<EndpointInfo, 7> kEndpoints = {{
    {Endpoint::kChatCompletions, "/v1/chat/completions", "POST", "chat_completions",
     WireApi::kOpenAi, StreamKind::kOpenAiChat, true, true},
    {Endpoint::kCompletions, "/v1/completions", "POST", "completions", WireApi::kOpenAi,
     StreamKind::kOpenAiChat, true, true},
    {Endpoint::kEmbeddings, "/v1/embeddings", "POST", "embeddings", WireApi::kOpenAi,
     StreamKind::kOpenAiChat, true, false},
    {Endpoint::kResponses, "/v1/responses", "POST", "responses", WireApi::kOpenAi,
     StreamKind::kOpenAiResponses, true, false},
    {Endpoint::kMessages, "/v1/messages", "POST", "messages", WireApi::kAnthropic,
     StreamKind::kAnthropic, true, false},
    {Endpoint::kCountTokens, "/v1/messages/count_tokens", "POST", "count_tokens",
     WireApi::kAnthropic, StreamKind::kAnthropic, false, false},
    {Endpoint::kModels, "/v1/models", "GET", "models", WireApi::kOpenAi, StreamKind::kOpenAiChat,
     false, false},
}};

bool ProxyInEnvironment() {
  static const bool set = [] {
    for (const char* name : {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}) {
      const char* value = std::getenv(name);
      if (value != nullptr && *value != '\0') return true;
    }
    return false;
  }();
  return set;
}

bool ValidPort(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  const int value = std::atoi(std::string(port).c_str());
  return value > 0 && value < 65536;
}

// The vendor's path for a client's `target`.
std::string_view UpstreamPath(const config::VendorConfig& vendor, std::string_view target) {
  if (vendor.api == WireApi::kOpenAi && target.starts_with("/v1/")) target.remove_prefix(3);
  return target;
}

std::string_view TrimmedBase(const config::VendorConfig& vendor) {
  std::string_view base = vendor.base_url;
  while (base.ends_with('/')) base.remove_suffix(1);
  return base;
}

// What libcurl is left to carry (PlainTargetOf).
bool Unusual(std::string_view rest) {
  for (char c : rest) {
    if (c <= ' ' || c > '~' || c == '#') return true;
  }
  return false;
}

}  // namespace

const EndpointInfo* FindEndpoint(std::string_view path) {
  for (const EndpointInfo& info : kEndpoints) {
    if (info.path == path) return &info;
  }
  return nullptr;
}

std::string UpstreamUrl(const config::VendorConfig& vendor, std::string_view target) {
  return std::string(TrimmedBase(vendor)) + std::string(UpstreamPath(vendor, target));
}

std::optional<PlainTarget> PlainTargetOf(std::string_view url,
                                         const config::TransportConfig& transport) {
  constexpr std::string_view kScheme = "http://";
  if (transport != config::TransportConfig{} || ProxyInEnvironment()) return std::nullopt;
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const size_t end = url.find_first_of("/?");
  const std::string_view authority = url.substr(0, end);
  const std::string_view rest = end == std::string_view::npos ? "" : url.substr(end);
  if (authority.empty() || authority.find_first_of("@#") != std::string_view::npos) {
    return std::nullopt;
  }
  if (Unusual(rest)) return std::nullopt;  // libcurl knows what to do
  PlainTarget target;
  target.authority = std::string(authority);
  std::string_view port = "80";
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    target.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    target.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (target.host.empty() || !ValidPort(port)) return std::nullopt;
  target.port = std::string(port);
  target.target = rest.empty() || rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
  return target;
}

std::optional<PlainTarget> PlainBaseOf(const config::VendorConfig& vendor) {
  auto base = PlainTargetOf(std::string(TrimmedBase(vendor)) + "/", vendor.transport);
  if (base) base->target.pop_back();  // the "/" added: "", "/v1", "/?q"...
  return base;
}

std::optional<PlainTarget> PlainTargetFor(const PlainTarget& base,
                                          const config::VendorConfig& vendor,
                                          std::string_view target) {
  const std::string_view path = UpstreamPath(vendor, target);
  if (Unusual(path)) return std::nullopt;
  PlainTarget out = base;
  if (out.target.empty() && (path.empty() || path.front() == '?')) out.target = "/";
  out.target.append(path);
  return out;
}

WireApi DialectOfPath(std::string_view path) {
  return path == "/v1/messages" || path.starts_with("/v1/messages/") ? WireApi::kAnthropic
                                                                     : WireApi::kOpenAi;
}

}  // namespace llm_exporter::proxy
