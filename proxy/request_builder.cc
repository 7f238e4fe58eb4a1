#include "proxy/request_builder.h"

#include "base/text.h"
#include "proxy/hop_by_hop.h"
#include "wire/dialect.h"
#include "wire/request_body.h"

namespace llm_exporter::proxy {
namespace {

namespace http = boost::beast::http;
using base::EqualsIgnoreCase;

std::string_view View(boost::beast::string_view text) { return {text.data(), text.size()}; }

// Request headers that stay on this hop, or that libcurl writes itself.
bool DroppedRequestHeader(std::string_view lower, std::string_view connection_tokens) {
  // Hop-by-hop, or written by libcurl itself (Host, the body's framing); the
  // vendor's reply must come uncompressed to be metered.
  if (IsHopByHop(lower) || lower == "host" || lower == "content-length" || lower == "expect" ||
      lower == "accept-encoding") {
    return true;
  }
  // Headers the client's Connection header names are hop-by-hop too.
  size_t start = 0;
  while (start < connection_tokens.size()) {
    size_t end = connection_tokens.find(',', start);
    if (end == std::string_view::npos) end = connection_tokens.size();
    std::string_view token = connection_tokens.substr(start, end - start);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (EqualsIgnoreCase(token, lower)) return true;
    start = end + 1;
  }
  return false;
}

// The key a client presented: "Authorization: Bearer KEY" or "x-api-key: KEY".
std::string PresentedKey(const http::request<http::string_body>& request) {
  const std::string_view authorization = View(request[http::field::authorization]);
  if (authorization.size() > 7 && EqualsIgnoreCase(authorization.substr(0, 7), "bearer ")) {
    std::string_view key = authorization.substr(7);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    return std::string(key);
  }
  return std::string(View(request["x-api-key"]));
}

}  // namespace

std::expected<ForwardRequest, Rejection> BuildForward(http::request<http::string_body>& request,
                                                      const EndpointInfo& endpoint,
                                                      std::shared_ptr<const Routing> routing,
                                                      std::string_view target) {
  std::string body = std::move(request.body());
  const std::optional<wire::RequestInfo> info = wire::InspectRequestBody(body);
  if (!info) return std::unexpected(Rejection{400, "the request body must be a JSON object"});
  if (info->model.empty()) {
    return std::unexpected(Rejection{400, "you must provide a model parameter (a string)"});
  }
  const config::ProxyRoute* route = routing->Match(info->model);
  if (route == nullptr) {
    return std::unexpected(
        Rejection{404, "the model '" + info->model + "' is not routed by this proxy"});
  }
  const config::VendorConfig& vendor = routing->VendorOf(*route);

  ForwardRequest forward;
  if (route->inject_key) {
    auto client = routing->ClientFor(PresentedKey(request));
    if (!client) {
      return std::unexpected(Rejection{401, "invalid or missing client key for this proxy"});
    }
    forward.client = *client;
  }
  std::string connection_tokens;  // of every Connection header
  for (auto [it, end] = request.equal_range(http::field::connection); it != end; ++it) {
    connection_tokens += std::string(View(it->value())) + ",";
  }
  forward.headers.reserve(16);
  bool has_accept = false;
  bool has_content_type = false;
  bool has_anthropic_version = false;
  for (const auto& field : request) {
    const base::AsciiLowered lowered(View(field.name_string()));
    const std::string_view lower = lowered.view();
    if (DroppedRequestHeader(lower, connection_tokens)) continue;
    if (route->inject_key && (lower == "authorization" || lower == "x-api-key")) continue;
    has_accept = has_accept || lower == "accept";
    has_content_type = has_content_type || lower == "content-type";
    has_anthropic_version = has_anthropic_version || lower == "anthropic-version";
    const std::string_view value = View(field.value());
    // "Name;" is how libcurl sends a header with an empty value.
    const std::string_view name = View(field.name_string());
    std::string& line = forward.headers.emplace_back();
    line.reserve(name.size() + 2 + value.size());
    line.append(name).append(value.empty() ? ";" : ": ").append(value);
  }
  // Keep libcurl from adding what the client did not send.
  if (!has_accept) forward.headers.emplace_back("Accept:");
  if (!has_content_type) forward.headers.emplace_back("Content-Type:");
  if (route->inject_key) {
    for (std::string& line : wire::DialectFor(endpoint.dialect).Headers(vendor.api_key.Reveal())) {
      if (line.starts_with("anthropic-version") && has_anthropic_version) continue;
      forward.headers.push_back(std::move(line));
    }
  }
  if (endpoint.takes_stream_options && info->stream && !info->include_usage) {
    if (auto with_usage = wire::AddIncludeUsage(body)) {
      body = std::move(*with_usage);
      forward.strip_usage_chunk = true;
    }
  }
  forward.routing = routing;
  forward.endpoint = &endpoint;
  forward.vendor = &vendor;
  forward.model = info->model;
  forward.model_label = routing->ModelLabel(vendor.name, info->model);
  forward.target = std::string(target);
  forward.method = std::string(endpoint.method);
  forward.body = std::move(body);
  forward.max_tokens = info->max_tokens;
  return forward;
}

}  // namespace llm_exporter::proxy
