#pragma once

// One request's transfer to a vendor, as the forward sees it, whichever
// client moves the bytes (docs/proxy.md, "Upstream connections"):
//   - CurlUpstream (curl_upstream.h): libcurl, for HTTPS, egress proxies and
//     every vendor transport setting;
//   - PlainUpstream (plain_upstream.h): the proxy's own HTTP/1.1 client on the
//     event loop, for a vendor at a plain http:// URL with no transport
//     setting and no proxy variable in the environment (a gateway next to the
//     proxy): no libcurl bookkeeping and fewer system calls per request.
// Both send the same request and report the same events.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace llm_exporter::proxy {

using Clock = std::chrono::steady_clock;

// What is sent: `headers` are libcurl's header lines ("Name: value", "Name;"
// for an empty value, "Name:" for a header not to send at all). Both must
// outlive the transfer.
struct UpstreamCall {
  std::string url;
  std::string_view method;
  const std::vector<std::string>* headers = nullptr;
  std::string_view body;
  const config::TransportConfig* transport = nullptr;
  std::chrono::milliseconds connect_timeout{10000};
};

enum class UpstreamEnd {
  kComplete,  // the whole reply came
  kTimeout,   // libcurl's connect timeout
  kFailed,    // unreachable, reset, or a reply cut short or unreadable
};

// The forward's side of a transfer. Calls come from the event loop.
class UpstreamSink {
 public:
  // The final reply's status line (1xx replies are not reported).
  virtual void OnStatus(long status) = 0;
  virtual void OnHeader(std::string_view name, std::string_view value) = 0;
  virtual void OnHeadEnd() = 0;
  // Asked before body bytes are handed over: true stops the transfer until
  // Upstream::Resume().
  virtual bool Backlogged() = 0;
  virtual void OnBody(std::string_view bytes) = 0;
  // The transfer ended by itself; `why` says how when it failed.
  virtual void OnEnd(UpstreamEnd end, std::string_view why) = 0;

 protected:
  ~UpstreamSink() = default;
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  virtual bool Start(const UpstreamCall& call) = 0;
  virtual void Resume() = 0;
  // Stops the transfer at once (its connection is closed when a reply was
  // under way); the sink hears nothing more.
  virtual void Stop() = 0;
  // When the connection the request waits for began connecting, while it
  // does: the forward's connect timeout runs from there (libcurl watches its
  // own, and says nothing).
  virtual std::optional<Clock::time_point> connecting_since() const = 0;
  // Some of the request went out.
  virtual bool request_written() const = 0;
  // From Start() to the end of the transfer (or now).
  virtual Clock::duration elapsed() const = 0;
};

}  // namespace llm_exporter::proxy
