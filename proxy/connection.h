#pragma once

// One client connection to the proxy: reads HTTP/1.1 requests (bounded head
// and body, 100-continue, pipelining, keep-alive), answers what the proxy
// answers itself (errors in the dialect's shape, the model list), and hands
// the rest to a Forward, relaying its reply with the framing this hop needs.
// While a request is forwarded it watches the socket, so that a client
// hanging up stops the vendor's transfer at once.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "proxy/forward.h"

namespace llm_exporter::proxy {

class Connection : public std::enable_shared_from_this<Connection>, public ClientSide {
 public:
  using RoutingSource = std::function<std::shared_ptr<const Routing>()>;
  Connection(LoopContext& loop, boost::asio::ip::tcp::socket socket, RoutingSource routing,
             std::set<Connection*>& live);
  ~Connection();

  void Start();
  // Ends the connection now (shutdown): a forward still running is stopped
  // and booked as the client's abort.
  void Shutdown();
  // The event loop's sweep: the running forward's timeouts, and the
  // connection's own (idle between requests, slow to send one).
  void Tick(Clock::time_point now);

  // ClientSide
  void SendHead(long status, std::string_view fields,
                std::optional<uint64_t> content_length) override;
  void SendBody(std::string_view bytes) override;
  bool Backlogged() const override;
  void EndReply(bool complete) override;
  void SendError(int status, std::string message) override;

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  // What the client's bytes are read for.
  enum class Phase {
    kHead,   // a request's head
    kBody,   // its body
    kBusy,   // nothing: the request is answered (a read is the hang-up watch)
    kDrain,  // nothing, dropped: the connection is closing
  };

  void ReadHead();
  void Receive();
  void OnReceived();
  void Parse();
  bool OnHead();
  void ParseFailed(const boost::system::error_code& ec);
  void RejectTooLarge();
  void OnBody();
  void Dispatch();
  void Reject(int status, std::string message, bool close);
  void ScheduleFlush();
  void RunLater(std::function<void()> task);
  void Flush();
  void StartWriting();
  void AfterReply();
  void LingeringClose();
  void OnWritten(const boost::system::error_code& ec);
  void ArmIdle(std::chrono::seconds after);
  void Close();

  LoopContext& loop_;
  boost::asio::ip::tcp::socket socket_;
  RoutingSource routing_;
  std::shared_ptr<const Routing> request_routing_;  // the config the current request runs under
  std::set<Connection*>& live_;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  Clock::time_point idle_deadline_ = Clock::time_point::max();
  std::unique_ptr<Forward> forward_;
  std::shared_ptr<Connection> running_hold_;  // this, while a forward runs

  std::string out_;      // waiting to be written
  std::string writing_;  // being written
  Phase phase_ = Phase::kHead;
  bool receiving_ = false;                   // a read of the client's bytes is pending
  boost::system::error_code receive_error_;  // how the client's bytes ended (eof included)
  bool write_pending_ = false;
  bool chunked_ = false;
  bool close_after_ = false;  // this reply is the connection's last
  bool reply_done_ = false;   // everything of the reply is in out_
  bool cut_ = false;          // end abruptly once out_ is written
  bool closed_ = false;
  bool finishing_ = false;     // AfterReply is posted
  bool flush_posted_ = false;  // Flush is posted
  config::WireApi dialect_ = config::WireApi::kOpenAi;
  std::string endpoint_label_ = "other";
  Clock::time_point received_at_;
  Clock::time_point write_started_;
};

}  // namespace llm_exporter::proxy
