#pragma once

// The proxy's own HTTP/1.1 client, for a vendor at a plain http:// URL with
// no transport setting (upstream.h says when): the request goes out in one
// write, the reply is parsed as it arrives (Beast's parser: chunked or sized
// bodies, or to the end of the connection), and a connection the reply left
// reusable waits in the loop's pool for the next request to that host.
// A request on a pooled connection that the vendor had closed meanwhile is
// sent once more on a new connection, as libcurl does, when not a byte of a
// reply came.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/burst.h"
#include "proxy/endpoints.h"
#include "proxy/upstream.h"

namespace llm_exporter::proxy {

// Idle connections to vendors, by authority; one per event loop.
class PlainPool {
 public:
  explicit PlainPool(boost::asio::io_context& io) : io_(io) {}
  boost::asio::io_context& io() { return io_; }
  // The connection last put back for `authority`, if one idled for less
  // than a minute.
  std::unique_ptr<boost::asio::ip::tcp::socket> Take(const std::string& authority);
  void Put(const std::string& authority, std::unique_ptr<boost::asio::ip::tcp::socket> socket);
  // Addresses resolved for `authority` less than a minute ago (libcurl keeps
  // them as long): a burst of new connections waits for one lookup, not one
  // each, on the resolver's single thread.
  const boost::asio::ip::tcp::resolver::results_type* Resolved(const std::string& authority);
  void Remember(const std::string& authority,
                const boost::asio::ip::tcp::resolver::results_type& addresses);

 private:
  struct Idle {
    std::unique_ptr<boost::asio::ip::tcp::socket> socket;
    Clock::time_point since;
  };
  boost::asio::io_context& io_;
  std::unordered_map<std::string, std::vector<Idle>> idle_;
  size_t count_ = 0;
  struct Addresses {
    boost::asio::ip::tcp::resolver::results_type results;
    Clock::time_point at;
  };
  std::unordered_map<std::string, Addresses> resolved_;
};

class PlainUpstream final : public Upstream, public std::enable_shared_from_this<PlainUpstream> {
 public:
  PlainUpstream(PlainPool& pool, Burst& burst, UpstreamSink& sink, PlainTarget target);
  ~PlainUpstream() override;

  bool Start(const UpstreamCall& call) override;
  void Resume() override;
  void Stop() override;
  std::optional<Clock::time_point> connecting_since() const override { return connecting_since_; }
  bool request_written() const override { return written_; }
  Clock::duration elapsed() const override;

 private:
  class Reader;

  void Connect();
  void Send();
  void Read();
  void OnRead(const boost::system::error_code& ec, size_t n);
  // Parses what the buffer holds; false when the transfer ended.
  bool Parse();
  // The connection failed: a fresh one when nothing came yet on a reused
  // one, else the end of the transfer.
  void Broken(const std::string& why);
  void End(UpstreamEnd end, std::string_view why);

  PlainPool& pool_;
  Burst& burst_;
  UpstreamSink* sink_;  // null once stopped or ended
  PlainTarget target_;
  std::string out_;  // the request, head and body
  std::unique_ptr<boost::asio::ip::tcp::socket> socket_;
  std::unique_ptr<boost::asio::ip::tcp::resolver> resolver_;
  std::unique_ptr<Reader> reader_;
  std::unique_ptr<char[]> in_;  // read, not yet parsed: [0, have_) of in_size_
  size_t in_size_ = 0;
  size_t have_ = 0;
  unsigned generation_ = 0;  // of the connection: a handler of an older one does nothing
  bool reused_ = false;
  std::optional<Clock::time_point> connecting_since_;
  bool write_done_ = false;
  bool written_ = false;
  bool replied_ = false;  // a byte of a reply came
  bool reading_ = false;
  bool paused_ = false;
  Clock::time_point started_;
  std::optional<Clock::time_point> ended_;
};

}  // namespace llm_exporter::proxy
