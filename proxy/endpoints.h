#pragma once

// The API paths the proxy serves (docs/proxy.md): which dialect a path speaks
// (for its usage and its error shape), its `endpoint` label, whether its
// traffic is metered, and where it goes on a vendor.

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "wire/dialect.h"

namespace llm_exporter::proxy {

enum class Endpoint {
  kChatCompletions,
  kCompletions,
  kEmbeddings,
  kResponses,
  kMessages,
  kCountTokens,  // passed through, not metered
  kModels,       // answered by the proxy: the routed models
};

struct EndpointInfo {
  Endpoint endpoint;
  std::string_view path;
  std::string_view method;
  std::string_view label;   // the `endpoint` label
  config::WireApi dialect;  // the shape of its bodies and errors
  wire::StreamKind stream_kind;
  bool metered;
  // An OpenAI-style stream that can be asked for usage (stream_options).
  bool takes_stream_options;
};

// The endpoint of a request path (without its query); nullptr: not served.
const EndpointInfo* FindEndpoint(std::string_view path);

// Where a request for `target` (path and query, as the client sent them)
// goes on `vendor`: an OpenAI-style base_url names the version ("…/v1"), so
// the client's "/v1" is dropped; an Anthropic-style one does not.
std::string UpstreamUrl(const config::VendorConfig& vendor, std::string_view target);

// Where a plain-HTTP request goes: "http://host[:port]/path?query".
struct PlainTarget {
  std::string host;       // without the brackets of an IPv6 address
  std::string port;       // "80" when the URL names none
  std::string authority;  // host[:port] as the URL has it: the Host header
  std::string target;     // path and query, "/" at least
};

// The target of `url` when the proxy's own client may carry it: plain HTTP,
// no user name, no transport setting, and no proxy variable (http_proxy,
// all_proxy, either case) in the environment, since libcurl would honour
// it. Otherwise nothing, and libcurl carries it.
std::optional<PlainTarget> PlainTargetOf(std::string_view url,
                                         const config::TransportConfig& transport);

// PlainTargetOf(UpstreamUrl(vendor, target)), in two steps: PlainBaseOf
// once per config (Routing::PlainBase), PlainTargetFor per request.
std::optional<PlainTarget> PlainBaseOf(const config::VendorConfig& vendor);
std::optional<PlainTarget> PlainTargetFor(const PlainTarget& base,
                                          const config::VendorConfig& vendor,
                                          std::string_view target);

// The dialect a path's errors are written in when no endpoint matched:
// Anthropic for /v1/messages…, else OpenAI.
config::WireApi DialectOfPath(std::string_view path);

}  // namespace llm_exporter::proxy
