#include "proxy/connection.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <limits>

#include "base/text.h"
#include "proxy/local_reply.h"
#include "proxy/request_builder.h"

namespace llm_exporter::proxy {
namespace {

namespace http = boost::beast::http;
using base::EqualsIgnoreCase;

constexpr std::chrono::seconds kIdleTimeout{75};     // between requests (nginx's keepalive_timeout)
constexpr std::chrono::seconds kRequestTimeout{60};  // to send a request's head and body
constexpr uint32_t kMaxHeadBytes = 64 * 1024;
constexpr size_t kBacklogBytes = 256 * 1024;
constexpr size_t kMinRead = 4096;       // a read of the client's bytes: at least
constexpr size_t kMaxRead = 64 * 1024;  // and at most

std::string_view View(boost::beast::string_view text) { return {text.data(), text.size()}; }

}  // namespace

Connection::Connection(LoopContext& loop, boost::asio::ip::tcp::socket socket,
                       RoutingSource routing, std::set<Connection*>& live)
    : loop_(loop), socket_(std::move(socket)), routing_(std::move(routing)), live_(live) {
  live_.insert(this);
}

Connection::~Connection() {
  forward_.reset();
  live_.erase(this);
}

void Connection::Start() {
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);  // Flush's first try never waits
  ReadHead();
}

void Connection::Shutdown() {
  forward_.reset();
  Close();
}

void Connection::ArmIdle(std::chrono::seconds after) { idle_deadline_ = Clock::now() + after; }

void Connection::Tick(Clock::time_point now) {
  if (closed_) return;
  // A client that reads nothing for idle_timeout is treated like a vendor
  // that sends nothing for as long: nothing else would ever end this.
  if (write_pending_ && now - write_started_ > routing_()->config().proxy.idle_timeout) {
    if (forward_) forward_->ClientGone();
    boost::system::error_code ignored;
    socket_.set_option(boost::asio::socket_base::linger(true, 0), ignored);
    return Close();
  }
  if (forward_ && forward_->running()) return forward_->CheckTimeouts(now);
  if (now >= idle_deadline_) Close();
}

void Connection::ReadHead() {
  if (closed_) return;
  forward_.reset();
  reply_done_ = false;
  chunked_ = false;
  cut_ = false;
  dialect_ = config::WireApi::kOpenAi;
  endpoint_label_ = "other";
  parser_.emplace();
  parser_->header_limit(kMaxHeadBytes);
  // No limit until OnHead sets max_body_bytes: Beast's own (1 MiB for a
  // request) would refuse a larger Content-Length with the head.
  parser_->body_limit(std::numeric_limits<uint64_t>::max());
  phase_ = Phase::kHead;
  ArmIdle(buffer_.size() > 0 ? kRequestTimeout : kIdleTimeout);
  Parse();
}

// One read of the client's bytes at a time, into buffer_. While a request is
// answered that read is the watch: its end of stream (or reset) is a client
// hanging up, and bytes are the next request, pipelined, parsed after this
// reply (the watch is armed only with buffer_ empty). While a read is pending
// nothing but its completion touches buffer_: a consume would move the place
// it writes to.
void Connection::Receive() {
  if (receiving_ || closed_ || receive_error_) return;
  receiving_ = true;
  size_t want = std::max(kMinRead, buffer_.capacity() - buffer_.size());
  if (phase_ == Phase::kBody) {
    if (auto remaining = parser_->content_length_remaining()) {
      want = std::max<size_t>(want, static_cast<size_t>(*remaining));
    }
  }
  socket_.async_read_some(
      buffer_.prepare(std::min(want, kMaxRead)),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        self->receiving_ = false;
        if (self->closed_) return;
        self->buffer_.commit(n);
        if (ec) self->receive_error_ = ec;
        self->OnReceived();
      });
}

void Connection::OnReceived() {
  switch (phase_) {
    case Phase::kHead:
    case Phase::kBody:
      return Parse();
    case Phase::kBusy:
      // Bytes: the next request, read after this reply. The end: the client
      // hung up, which stops the vendor now (once the reply is complete,
      // the next read of a request sees it).
      if (receive_error_ && forward_ && forward_->running()) {
        forward_->ClientGone();
        Close();
      }
      return;
    case Phase::kDrain:
      buffer_.consume(buffer_.size());
      if (receive_error_) return Close();
      return Receive();
  }
}

// Feeds buffer_ to the parser: the head, then (its limits set by OnHead) the
// body; reads more while it needs more.
void Connection::Parse() {
  while (!closed_ && (phase_ == Phase::kHead || phase_ == Phase::kBody)) {
    if (phase_ == Phase::kHead && parser_->is_header_done()) {
      phase_ = Phase::kBody;
      if (!OnHead()) return;
      continue;
    }
    if (phase_ == Phase::kBody && parser_->is_done()) {
      phase_ = Phase::kBusy;
      return OnBody();
    }
    if (buffer_.size() > 0) {
      boost::system::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec && ec != http::error::need_more) return ParseFailed(ec);
      if (used > 0) continue;
    }
    if (receive_error_) {
      // Beast's rules: a message cut short is a partial message, no message
      // at all the end of the stream.
      boost::system::error_code ec = receive_error_;
      if (ec == boost::asio::error::eof) {
        ec = http::error::end_of_stream;
        if (parser_->got_some()) {
          ec = {};
          parser_->put_eof(ec);
          if (!ec) continue;  // complete after all (is_done)
        }
      }
      return ParseFailed(ec);
    }
    return Receive();
  }
}

// Whether to read on: a head refused, or a 100 Continue being written, stops.
bool Connection::OnHead() {
  received_at_ = Clock::now();
  const auto& request = parser_->get();
  const std::string_view target = View(request.target());
  const std::string_view path = target.substr(0, target.find('?'));
  dialect_ = DialectOfPath(path);
  if (const EndpointInfo* endpoint = FindEndpoint(path))
    endpoint_label_ = std::string(endpoint->label);
  // One config for the whole request, from its head on.
  request_routing_ = routing_();
  const int64_t limit = request_routing_->config().proxy.max_body_bytes;
  parser_->body_limit(static_cast<uint64_t>(limit));
  parser_->eager(true);  // the body: as much of it as buffer_ holds, each put
  if (auto length = parser_->content_length(); length && *length > static_cast<uint64_t>(limit)) {
    RejectTooLarge();
    return false;
  }
  ArmIdle(kRequestTimeout);
  // An HTTP/1.0 client never gets a 1xx (RFC 9110 15.2).
  if (request.version() >= 11 &&
      EqualsIgnoreCase(View(request[http::field::expect]), "100-continue")) {
    writing_ = "HTTP/1.1 100 Continue\r\n\r\n";
    StartWriting();
    boost::asio::async_write(
        socket_, boost::asio::buffer(writing_),
        [self = shared_from_this()](const boost::system::error_code& error, size_t) {
          self->write_pending_ = false;
          self->writing_.clear();
          if (error) return self->Close();
          self->Parse();
        });
    return false;
  }
  return true;
}

void Connection::ParseFailed(const boost::system::error_code& ec) {
  phase_ = Phase::kBusy;
  if (!parser_->is_header_done()) {
    if (ec == http::error::end_of_stream || ec == boost::asio::error::eof ||
        ec == boost::asio::error::operation_aborted || ec == boost::asio::error::connection_reset) {
      return Close();
    }
    return Reject(ec == http::error::header_limit ? 431 : 400,
                  "malformed HTTP request: " + ec.message(), true);
  }
  if (ec == http::error::body_limit) return RejectTooLarge();
  // A client gone mid-body is no bad request: there is no one to answer.
  if (ec == boost::asio::error::operation_aborted || ec == boost::asio::error::connection_reset) {
    return Close();
  }
  Reject(400, "malformed HTTP request body: " + ec.message(), true);
}

// 413: by the head's Content-Length, or a chunked body growing past the limit.
void Connection::RejectTooLarge() {
  const int64_t limit = request_routing_->config().proxy.max_body_bytes;
  Reject(413,
         "request body is larger than the proxy's max_body_bytes (" + std::to_string(limit) + ")",
         true);
}

void Connection::OnBody() {
  idle_deadline_ = Clock::time_point::max();
  Dispatch();
}

void Connection::Dispatch() {
  auto& request = parser_->get();
  close_after_ = !request.keep_alive();
  const std::string target(View(request.target()));
  const std::string_view path = std::string_view(target).substr(0, target.find('?'));
  const EndpointInfo* endpoint = FindEndpoint(path);
  if (endpoint == nullptr) {
    return Reject(404,
                  "Invalid URL (" + std::string(View(request.method_string())) + " " +
                      std::string(path) +
                      "): the proxy serves /v1/chat/completions, "
                      "/v1/completions, /v1/embeddings, /v1/responses, /v1/messages and "
                      "/v1/models",
                  false);
  }
  if (View(request.method_string()) != endpoint->method) {
    return Reject(405, "use " + std::string(endpoint->method) + " for " + std::string(path), false);
  }
  const std::shared_ptr<const Routing>& routing = request_routing_;
  if (endpoint->endpoint == Endpoint::kModels) {
    const bool anthropic = !request["anthropic-version"].empty();
    out_ += JsonResponse(200, routing->ModelsBody(anthropic), close_after_);
    reply_done_ = true;
    return Flush();
  }
  auto built = BuildForward(request, *endpoint, routing, target);
  if (!built) return Reject(built.error().status, std::move(built.error().message), false);
  ForwardRequest forward = std::move(*built);
  forward.received_at = received_at_;
  forward.started_at = std::chrono::system_clock::now();
  forward_ = std::make_unique<Forward>(loop_, std::move(forward), *this);
  if (!forward_->Start()) {
    forward_.reset();
    return Reject(502, "the proxy could not start a request to the vendor", false);
  }
  // Held while the vendor's reply runs: when the client has pipelined its next
  // request, no read or wait of ours is pending to keep this connection.
  running_hold_ = shared_from_this();
  if (buffer_.size() == 0) Receive();  // the watch
}

void Connection::Reject(int status, std::string message, bool close) {
  if (status != 499) loop_.metrics.CountRejected(endpoint_label_, status);
  close_after_ = close_after_ || close;
  out_ += JsonResponse(status, ErrorBody(dialect_, status, message), close_after_);
  reply_done_ = true;
  Flush();
}

void Connection::SendHead(long status, std::string_view fields,
                          std::optional<uint64_t> content_length) {
  const auto reason =
      http::obsolete_reason(static_cast<http::status>(static_cast<unsigned>(status)));
  // Appended in place: one string, grown once.
  out_.reserve(out_.size() + 96 + reason.size() + fields.size());
  const auto number = [this](uint64_t n) {
    char digits[24];
    out_.append(digits,
                static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, n).ptr - digits));
  };
  out_.append("HTTP/1.1 ");
  number(static_cast<uint64_t>(status));
  out_.append(" ").append(reason.data(), reason.size()).append("\r\n").append(fields);
  const bool http11 = parser_->get().version() >= 11;
  if (status == 204 || status == 304 || status < 200) {
    // No body, whatever the headers say: no framing and no terminator.
  } else if (content_length) {
    out_.append("Content-Length: ");
    number(*content_length);
    out_.append("\r\n");
  } else if (http11) {
    chunked_ = true;
    out_.append("Transfer-Encoding: chunked\r\n");
  } else {
    close_after_ = true;  // the end of the body is the end of the connection
  }
  if (close_after_) out_.append("Connection: close\r\n");
  out_.append("\r\n");
  ScheduleFlush();
}

void Connection::SendBody(std::string_view bytes) {
  if (bytes.empty()) return;
  if (chunked_) {
    char size[20];
    const int n = std::snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
    out_.append(size, static_cast<size_t>(n));
    out_.append(bytes);
    out_.append("\r\n");
  } else {
    out_.append(bytes);
  }
  ScheduleFlush();
}

bool Connection::Backlogged() const { return out_.size() + writing_.size() > kBacklogBytes; }

void Connection::EndReply(bool complete) {
  if (!complete) {
    cut_ = true;
  } else if (chunked_) {
    out_ += "0\r\n\r\n";
  }
  reply_done_ = true;
  ScheduleFlush();
}

void Connection::SendError(int status, std::string message) {
  out_ += JsonResponse(status, ErrorBody(dialect_, status, message), close_after_);
  reply_done_ = true;
  Flush();
}

// What a forward hands over within one burst of the vendor's bytes (head and
// body of a small reply, several events) goes out in one write, after it.
void Connection::ScheduleFlush() {
  if (flush_posted_ || write_pending_ || closed_) return;
  flush_posted_ = true;
  RunLater([this] {
    flush_posted_ = false;
    Flush();
  });
}

// At the end of the current burst when in one (burst.h: no extra turn of the
// event loop), else from the loop: never inside the forward's own callbacks.
void Connection::RunLater(std::function<void()> task) {
  if (loop_.burst.active()) {
    loop_.burst.Defer(shared_from_this(), std::move(task));
  } else {
    boost::asio::post(loop_.io, [self = shared_from_this(), task = std::move(task)] { task(); });
  }
}

void Connection::Flush() {
  if (write_pending_ || closed_) return;
  if (out_.empty()) {
    // The reply is written: end the connection or read the next request,
    // from the event loop (this may run inside the forward's callbacks).
    if (reply_done_ && !finishing_) {
      finishing_ = true;
      RunLater([this] { AfterReply(); });
    }
    return;
  }
  writing_.swap(out_);
  out_.clear();
  StartWriting();
  // The socket usually takes it all at once: then the write's end runs as a
  // task of this burst (burst.h), no turn of the loop later; what is left (or
  // an error, met again) goes to Asio.
  boost::system::error_code ec;
  size_t sent = socket_.write_some(boost::asio::buffer(writing_), ec);
  if (ec) sent = 0;
  if (sent == writing_.size()) return RunLater([this] { OnWritten({}); });
  boost::asio::async_write(socket_, boost::asio::buffer(writing_) + sent,
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       size_t) { self->OnWritten(ec); });
}

// writing_ is on its way: Tick times the write from now (idle_timeout).
void Connection::StartWriting() {
  write_pending_ = true;
  write_started_ = Clock::now();
}

void Connection::AfterReply() {
  finishing_ = false;
  running_hold_.reset();  // a handler holds this connection while it runs
  if (closed_) return;
  boost::system::error_code ignored;
  if (cut_) {
    socket_.set_option(boost::asio::socket_base::linger(true, 0), ignored);
    return Close();
  }
  if (close_after_) return LingeringClose();
  ReadHead();
}

// Closing with unread request bytes would reset the connection and could
// destroy the reply before the client read it (a 413 for a body not read):
// stop sending, read and drop what still comes for a moment, then close.
void Connection::LingeringClose() {
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  ArmIdle(std::chrono::seconds(2));
  phase_ = Phase::kDrain;
  if (receive_error_) return Close();  // the client's side has ended already
  if (!receiving_) {
    buffer_.consume(buffer_.size());
    Receive();
  }
}

void Connection::OnWritten(const boost::system::error_code& ec) {
  write_pending_ = false;
  writing_.clear();
  if (closed_) return;
  if (ec) {
    // The client is gone.
    if (forward_) forward_->ClientGone();
    return Close();
  }
  if (out_.empty() && forward_) forward_->Resume();
  // The reply is out: from a handler of our own, the next request can be
  // read now rather than a turn of the loop later.
  if (out_.empty() && reply_done_ && !finishing_) return AfterReply();
  Flush();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  // Released from the loop, never here: the caller may be this connection.
  if (running_hold_) boost::asio::post(loop_.io, [hold = std::move(running_hold_)] {});
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace llm_exporter::proxy
