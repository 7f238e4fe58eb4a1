#pragma once

// What the proxy sends a vendor for a client's request (docs/proxy.md): the
// route and vendor its model picks, the client behind an injected key, the
// end-to-end headers (hop-by-hop ones and those libcurl writes itself left
// out, the key swapped where the route says so), and the body, with
// stream_options.include_usage added where the client did not ask for usage.
// Or why the request goes nowhere, as the status and message of the proxy's
// own error reply.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/endpoints.h"
#include "proxy/forward.h"
#include "proxy/routing.h"

namespace llm_exporter::proxy {

struct Rejection {
  int status;
  std::string message;
};

// Takes the request's body. The times of the result are left for the caller.
std::expected<ForwardRequest, Rejection> BuildForward(
    boost::beast::http::request<boost::beast::http::string_body>& request,
    const EndpointInfo& endpoint, std::shared_ptr<const Routing> routing, std::string_view target);

}  // namespace llm_exporter::proxy
