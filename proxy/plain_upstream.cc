#include "proxy/plain_upstream.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace llm_exporter::proxy {
namespace {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;
using boost::system::error_code;

constexpr size_t kReadBytes = 16 * 1024;
constexpr uint32_t kHeaderLimit = 256 * 1024;  // libcurl's limit for a reply's headers
constexpr size_t kMaxIdleConnections = 256;    // per loop, as libcurl's cache
constexpr auto kMaxIdle = std::chrono::seconds(60);

}  // namespace

std::unique_ptr<tcp::socket> PlainPool::Take(const std::string& authority) {
  auto found = idle_.find(authority);
  if (found == idle_.end() || found->second.empty()) return nullptr;
  std::vector<Idle>& list = found->second;
  Idle idle = std::move(list.back());
  list.pop_back();
  --count_;
  if (Clock::now() - idle.since > kMaxIdle) {
    // The last one put back is the youngest: the others are older still.
    count_ -= list.size();
    list.clear();
    return nullptr;
  }
  return std::move(idle.socket);
}

void PlainPool::Put(const std::string& authority, std::unique_ptr<tcp::socket> socket) {
  if (count_ >= kMaxIdleConnections) return;  // closed as it goes
  idle_[authority].push_back(Idle{std::move(socket), Clock::now()});
  ++count_;
}

const tcp::resolver::results_type* PlainPool::Resolved(const std::string& authority) {
  auto found = resolved_.find(authority);
  if (found == resolved_.end()) return nullptr;
  if (Clock::now() - found->second.at > kMaxIdle) {
    resolved_.erase(found);
    return nullptr;
  }
  return &found->second.results;
}

void PlainPool::Remember(const std::string& authority,
                         const tcp::resolver::results_type& addresses) {
  resolved_[authority] = Addresses{addresses, Clock::now()};
}

// The vendor's reply, parsed in place: its head and body go straight to the
// sink, a 1xx reply's to nowhere.
class PlainUpstream::Reader final : public http::basic_parser<false> {
 public:
  explicit Reader(PlainUpstream& owner) : owner_(owner) {
    eager(true);
    // No limit; not boost::none, which Boost 1.74 compares as below any length.
    body_limit(std::numeric_limits<uint64_t>::max());
    header_limit(kHeaderLimit);
  }
  int status() const { return status_; }

 private:
  bool Final() const { return status_ >= 200 && owner_.sink_ != nullptr; }
  void on_request_impl(http::verb, boost::beast::string_view, boost::beast::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, boost::beast::string_view, int, error_code&) override {
    status_ = code;
    if (Final()) owner_.sink_->OnStatus(code);
  }
  void on_field_impl(http::field, boost::beast::string_view name, boost::beast::string_view value,
                     error_code&) override {
    if (Final()) owner_.sink_->OnHeader({name.data(), name.size()}, {value.data(), value.size()});
  }
  void on_header_impl(error_code&) override {
    if (Final()) owner_.sink_->OnHeadEnd();
  }
  void on_body_init_impl(const boost::optional<uint64_t>&, error_code&) override {}
  size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    if (Final() && !body.empty()) owner_.sink_->OnBody({body.data(), body.size()});
    return body.size();
  }
  void on_chunk_header_impl(uint64_t, boost::beast::string_view, error_code&) override {}
  size_t on_chunk_body_impl(uint64_t, boost::beast::string_view body, error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  PlainUpstream& owner_;
  int status_ = 0;
};

PlainUpstream::PlainUpstream(PlainPool& pool, Burst& burst, UpstreamSink& sink, PlainTarget target)
    : pool_(pool), burst_(burst), sink_(&sink), target_(std::move(target)) {}

PlainUpstream::~PlainUpstream() = default;

bool PlainUpstream::Start(const UpstreamCall& call) {
  started_ = Clock::now();
  out_.reserve(256 + call.body.size());
  out_.append(call.method).append(" ").append(target_.target).append(" HTTP/1.1\r\nHost: ");
  out_.append(target_.authority).append("\r\n");
  for (const std::string& line : *call.headers) {
    // libcurl's header lines: "Name;" sends an empty value, "Name:" nothing.
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      if (line.ends_with(';')) out_.append(line, 0, line.size() - 1).append(":\r\n");
      continue;
    }
    if (line.find_first_not_of(" \t", colon + 1) == std::string::npos) continue;
    out_.append(line).append("\r\n");
  }
  if (call.method != "GET") {
    out_.append("Content-Length: ").append(std::to_string(call.body.size())).append("\r\n");
  }
  out_.append("\r\n").append(call.body);
  in_ = std::make_unique_for_overwrite<char[]>(kReadBytes);  // not zeroed: 16 KiB a request
  in_size_ = kReadBytes;
  reader_ = std::make_unique<Reader>(*this);
  socket_ = pool_.Take(target_.authority);
  reused_ = socket_ != nullptr;
  if (reused_) {
    Send();
  } else {
    Connect();
  }
  return true;
}

void PlainUpstream::Connect() {
  connecting_since_ = Clock::now();
  ++generation_;
  socket_ = std::make_unique<tcp::socket>(pool_.io());
  auto connect = [self = shared_from_this(),
                  generation = generation_](const tcp::resolver::results_type& endpoints) {
    boost::asio::async_connect(
        *self->socket_, endpoints, [self, generation](const error_code& ec, const tcp::endpoint&) {
          if (self->sink_ == nullptr || generation != self->generation_) return;
          self->connecting_since_.reset();
          if (ec) return self->Broken("Couldn't connect to server: " + ec.message());
          error_code ignored;
          self->socket_->set_option(tcp::no_delay(true), ignored);
          self->socket_->non_blocking(true, ignored);  // Send's first try never waits
          self->Send();
        });
  };
  error_code numeric;
  const auto address = boost::asio::ip::make_address(target_.host, numeric);
  if (!numeric) {
    const tcp::endpoint endpoint(address,
                                 static_cast<unsigned short>(std::atoi(target_.port.c_str())));
    return connect(tcp::resolver::results_type::create(endpoint, target_.host, target_.port));
  }
  if (const tcp::resolver::results_type* known = pool_.Resolved(target_.authority)) {
    return connect(*known);
  }
  resolver_ = std::make_unique<tcp::resolver>(pool_.io());
  resolver_->async_resolve(target_.host, target_.port,
                           [self = shared_from_this(), connect](
                               const error_code& ec, const tcp::resolver::results_type& endpoints) {
                             if (self->sink_ == nullptr) return;
                             if (ec) {
                               self->connecting_since_.reset();
                               return self->End(UpstreamEnd::kFailed,
                                                "Couldn't resolve host name: " + ec.message());
                             }
                             self->pool_.Remember(self->target_.authority, endpoints);
                             connect(endpoints);
                           });
}

void PlainUpstream::Send() {
  write_done_ = false;
  // A request usually fits the socket's buffer: written now, with no write's
  // end to wait for. What is left (or an error, met again) goes to Asio.
  error_code ec;
  size_t sent = socket_->write_some(boost::asio::buffer(out_), ec);
  if (ec) sent = 0;
  written_ = written_ || sent > 0;
  if (sent == out_.size()) {
    write_done_ = true;
    return Read();
  }
  boost::asio::async_write(
      *socket_, boost::asio::buffer(out_) + sent,
      [self = shared_from_this(), generation = generation_](const error_code& ec, size_t written) {
        if (self->sink_ == nullptr || generation != self->generation_) return;
        self->written_ = self->written_ || written > 0;
        if (!ec) {
          self->write_done_ = true;
          return;
        }
        // A reply may still come (a vendor refusing the body early).
        if (!self->replied_) self->Broken(ec.message());
      });
  Read();
}

void PlainUpstream::Read() {
  if (reading_ || sink_ == nullptr) return;
  if (sink_->Backlogged()) {
    paused_ = true;
    return;
  }
  reading_ = true;
  socket_->async_read_some(
      boost::asio::buffer(in_.get() + have_, in_size_ - have_),
      [self = shared_from_this(), generation = generation_](const error_code& ec, size_t n) {
        if (generation != self->generation_) return;
        self->reading_ = false;
        self->burst_.Run([&] { self->OnRead(ec, n); });
      });
}

void PlainUpstream::Resume() {
  if (!paused_ || sink_ == nullptr) return;
  paused_ = false;
  Read();
}

void PlainUpstream::OnRead(const error_code& ec, size_t n) {
  if (sink_ == nullptr) return;
  if (ec == boost::asio::error::eof) {
    if (!replied_) return Broken("the vendor closed the connection");
    if (reader_->is_header_done() && reader_->need_eof()) {
      // The body ran to the end of the connection: that end is its end.
      error_code end;
      reader_->put_eof(end);
      if (!end && reader_->is_done()) {
        socket_->close(end);
        return End(UpstreamEnd::kComplete, {});
      }
    }
    return Broken("the vendor's reply ended early");
  }
  if (ec) return Broken(ec.message());
  replied_ = true;
  have_ += n;
  if (Parse()) Read();
}

bool PlainUpstream::Parse() {
  while (have_ > 0) {
    error_code ec;
    const size_t used = reader_->put(boost::asio::buffer(in_.get(), have_), ec);
    if (sink_ == nullptr) return false;  // stopped by the sink
    if (used > 0) std::memmove(in_.get(), in_.get() + used, have_ - used);
    have_ -= used;
    if (ec == http::error::need_more) break;
    if (ec) {
      Broken("the vendor's reply is not HTTP/1.1: " + ec.message());
      return false;
    }
    if (!reader_->is_done()) {
      if (used == 0) break;
      continue;
    }
    if (reader_->status() < 200 && reader_->status() != 101) {
      reader_ = std::make_unique<Reader>(*this);  // a 1xx reply: the real one follows
      continue;
    }
    if (reader_->status() < 200) {
      Broken("the vendor switched protocols");
      return false;
    }
    if (reader_->keep_alive() && have_ == 0 && write_done_) {
      pool_.Put(target_.authority, std::move(socket_));
    } else {
      error_code ignored;
      socket_->close(ignored);
    }
    End(UpstreamEnd::kComplete, {});
    return false;
  }
  if (have_ == in_size_) {
    // A head, a chunk's size line or the trailers longer than the buffer: a
    // bigger one, up to the limit of a head (the parser enforces it for the
    // head only, not for the lines of a chunked body).
    if (in_size_ >= kHeaderLimit) {
      Broken("a line of the vendor's reply is longer than 256 KiB");
      return false;
    }
    auto bigger = std::make_unique_for_overwrite<char[]>(in_size_ * 2);
    std::memcpy(bigger.get(), in_.get(), have_);
    in_ = std::move(bigger);
    in_size_ *= 2;
  }
  return true;
}

void PlainUpstream::Broken(const std::string& why) {
  error_code ignored;
  if (socket_) socket_->close(ignored);
  if (reused_ && !replied_) {
    // The vendor had closed the pooled connection: once more, on a new one.
    reused_ = false;
    written_ = false;
    reading_ = false;
    have_ = 0;
    reader_ = std::make_unique<Reader>(*this);
    return Connect();
  }
  End(UpstreamEnd::kFailed, why);
}

void PlainUpstream::End(UpstreamEnd end, std::string_view why) {
  UpstreamSink* sink = sink_;
  sink_ = nullptr;
  ended_ = Clock::now();
  if (sink != nullptr) sink->OnEnd(end, why);
}

void PlainUpstream::Stop() {
  if (sink_ == nullptr) return;
  sink_ = nullptr;
  ended_ = Clock::now();
  error_code ignored;
  if (resolver_) resolver_->cancel();
  if (socket_) socket_->close(ignored);
}

Clock::duration PlainUpstream::elapsed() const { return ended_.value_or(Clock::now()) - started_; }

}  // namespace llm_exporter::proxy
