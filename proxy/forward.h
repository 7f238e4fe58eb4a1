#pragma once

// One request forwarded to a vendor: the upstream transfer (upstream.h), its
// timeouts, the relay of the reply to the client through a ReplyTap, and the booking of
// what it cost through the meter, once, however it ends (complete, vendor
// reset, timeout, or the client hanging up).

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "meter/meter.h"
#include "proxy/burst.h"
#include "proxy/curl_loop.h"
#include "proxy/endpoints.h"
#include "proxy/plain_upstream.h"
#include "proxy/proxy_metrics.h"
#include "proxy/reply_tap.h"
#include "proxy/routing.h"
#include "proxy/upstream.h"

namespace llm_exporter::proxy {

// What one event-loop thread of the proxy shares among its requests.
struct LoopContext {
  boost::asio::io_context& io;
  CurlLoop& curl;
  PlainPool& plain;
  Burst& burst;
  meter::Meter& meter;
  ProxyMetrics& metrics;
};

// The client side of a forwarded request, as the forward sees it.
class ClientSide {
 public:
  // The vendor's status and header lines ("Name: value\r\n" each, hop-by-hop
  // ones already removed); `content_length` when the body is relayed
  // unchanged and the vendor gave one.
  virtual void SendHead(long status, std::string_view fields,
                        std::optional<uint64_t> content_length) = 0;
  virtual void SendBody(std::string_view bytes) = 0;
  // Too much is waiting to be written: the forward pauses the vendor.
  virtual bool Backlogged() const = 0;
  // The reply is over: `complete` ends it properly, otherwise the client's
  // connection is cut so that it sees an incomplete reply, as it would have
  // from the vendor.
  virtual void EndReply(bool complete) = 0;
  // Before SendHead only: the proxy's own error reply instead of the vendor's.
  virtual void SendError(int status, std::string message) = 0;

 protected:
  ~ClientSide() = default;
};

struct ForwardRequest {
  std::shared_ptr<const Routing> routing;  // the config it started under
  const EndpointInfo* endpoint = nullptr;
  const config::VendorConfig* vendor = nullptr;
  std::string model;        // as the client named it (for the price)
  std::string model_label;  // bounded
  std::string client;       // client key name; empty: the client's own vendor key
  std::string target;       // path and query
  std::string method;
  std::string body;                  // as sent to the vendor
  std::vector<std::string> headers;  // "Name: value" lines for the vendor
  bool strip_usage_chunk = false;
  int64_t max_tokens = 0;  // the request's cap; 0: none
  Clock::time_point received_at;
  std::chrono::system_clock::time_point started_at;
};

class Forward final : public UpstreamSink {
 public:
  Forward(LoopContext& loop, ForwardRequest request, ClientSide& client);
  // A forward still running is stopped and booked as the client's abort.
  ~Forward();
  Forward(const Forward&) = delete;
  Forward& operator=(const Forward&) = delete;

  bool Start();
  // The client's backlog drained: let the vendor's bytes flow again.
  void Resume();
  // The client hung up: stop the vendor's transfer now, booked as 499.
  void ClientGone();
  // Called often (every few tens of ms) by the event loop: ends a transfer
  // whose first byte, next byte or end is overdue. One sweep per loop instead
  // of a timer per request: re-arming timers costs a system call each.
  void CheckTimeouts(Clock::time_point now);
  bool running() const { return running_; }

 private:
  void OnStatus(long status) override;
  void OnHeader(std::string_view name, std::string_view value) override;
  void OnHeadEnd() override;
  bool Backlogged() override;
  void OnBody(std::string_view bytes) override;
  void OnEnd(UpstreamEnd end, std::string_view why) override;
  // Stops the transfer, which ends here.
  void StopUpstream();
  void EndRelay(meter::Ending ending, bool complete);
  // Stops the transfer (if running) and books the exchange.
  void Book(meter::Ending ending, std::optional<long> client_code);

  LoopContext& loop_;
  ForwardRequest request_;
  ClientSide& client_;
  std::shared_ptr<Upstream> upstream_;
  ReplyTap tap_;
  std::string relay_;  // bytes for the client, reused

  long status_ = 0;
  std::string content_type_;
  std::optional<uint64_t> content_length_;
  std::string fields_;  // the vendor's header lines for the client
  bool head_sent_ = false;
  bool running_ = false;
  bool paused_ = false;
  bool metered_ = true;
  Clock::time_point upstream_started_;
  Clock::time_point last_data_;
  std::optional<Clock::time_point> first_token_at_;
};

}  // namespace llm_exporter::proxy
