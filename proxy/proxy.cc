#include "proxy/proxy.h"

#include <algorithm>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <set>

#include "base/log.h"
#include "proxy/connection.h"
#include "proxy/plain_upstream.h"

namespace llm_exporter::proxy {
namespace {

using boost::asio::ip::tcp;

// "host:port", ":port" (every interface) or "[v6]:port".
std::expected<std::pair<std::string, std::string>, std::string> SplitAddress(
    const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return std::unexpected("proxy listen address \"" + address + "\" needs a port (host:port)");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::pair{host, address.substr(colon + 1)};
}

std::string Format(const tcp::endpoint& endpoint) {
  const std::string host = endpoint.address().to_string();
  return (endpoint.address().is_v6() ? "[" + host + "]" : host) + ":" +
         std::to_string(endpoint.port());
}

// Says which client carries each routed vendor's requests (upstream.h): a
// vendor that unexpectedly goes through libcurl is one line away.
void LogUpstreamClients(const Routing& routing) {
  std::set<std::string> seen;
  for (const config::ProxyRoute& route : routing.config().proxy.routes) {
    const config::VendorConfig& vendor = routing.VendorOf(route);
    if (!seen.insert(vendor.name).second) continue;
    const bool plain = routing.PlainBase(vendor) != nullptr;
    LOG_INFO("Proxy upstream client", {"vendor", vendor.name},
             {"client", plain ? "http1" : "libcurl"});
  }
}

}  // namespace

Proxy::Proxy(meter::Meter& meter, ProxyMetrics& metrics, std::shared_ptr<const Routing> routing)
    : meter_(meter), metrics_(metrics), routing_(std::move(routing)) {}

Proxy::~Proxy() { Stop(); }

std::shared_ptr<const Routing> Proxy::Current() const {
  std::lock_guard lock(mutex_);
  return routing_;
}

void Proxy::Apply(std::shared_ptr<const Routing> routing) {
  if (started_) LogUpstreamClients(*routing);
  std::lock_guard lock(mutex_);
  routing_ = std::move(routing);
}

std::expected<std::vector<std::string>, std::string> Proxy::Start(
    const std::vector<std::string>& addresses) {
  // One loop a core, at most four (bench/proxy_bench.sh: on two cores, two
  // loops move about 5 % more requests than one).
  const size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  for (size_t i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->curl = std::make_unique<CurlLoop>(loop->io, loop->burst);
    loop->plain = std::make_unique<PlainPool>(loop->io);
    loop->context.reset(
        new LoopContext{loop->io, *loop->curl, *loop->plain, loop->burst, meter_, metrics_});
    loops_.push_back(std::move(loop));
  }
  std::vector<std::string> bound;
  for (const std::string& address : addresses) {
    auto parts = SplitAddress(address);
    if (!parts) return std::unexpected(parts.error());
    boost::system::error_code ec;
    std::vector<tcp::endpoint> endpoints;
    if (parts->first.empty()) {
      endpoints.emplace_back(tcp::v6(), 0);
    } else {
      tcp::resolver resolver(loops_[0]->io);
      auto results = resolver.resolve(parts->first, parts->second,
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
      if (ec)
        return std::unexpected("cannot resolve proxy listen address \"" + address +
                               "\": " + ec.message());
      for (const auto& result : results) endpoints.push_back(result.endpoint());
      if (endpoints.empty()) return std::unexpected("no address for \"" + address + "\"");
      endpoints.resize(1);
    }
    tcp::endpoint endpoint = endpoints.front();
    if (parts->first.empty()) {
      endpoint.port(static_cast<unsigned short>(std::stoi(parts->second)));
    }
    auto acceptor = std::make_unique<tcp::acceptor>(loops_[0]->io);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec && parts->first.empty()) {
      // ":port" means every interface, IPv4 too.
      acceptor->set_option(boost::asio::ip::v6_only(false), ec);
    }
    if (ec && parts->first.empty()) {
      ec.clear();
      acceptor = std::make_unique<tcp::acceptor>(loops_[0]->io);
      endpoint = tcp::endpoint(tcp::v4(), endpoint.port());
      acceptor->open(endpoint.protocol(), ec);
    }
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) return std::unexpected("cannot listen on \"" + address + "\": " + ec.message());
    bound.push_back(Format(acceptor->local_endpoint()));
    acceptors_.push_back(std::move(acceptor));
  }
  LogUpstreamClients(*Current());
  for (auto& acceptor : acceptors_) Accept(*acceptor);
  for (auto& loop : loops_) {
    Tick(*loop);
    loop->thread = std::thread([&io = loop->io] { io.run(); });
  }
  started_ = true;
  return bound;
}

void Proxy::Accept(tcp::acceptor& acceptor) {
  Loop& target = *loops_[next_loop_++ % loops_.size()];
  acceptor.async_accept(target.io, [this, &acceptor, &target](const boost::system::error_code& ec,
                                                              tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors, say: try again shortly rather than spin.
      LOG_WARN("Proxy cannot accept a connection", {"err", ec.message()});
      auto timer = std::make_shared<boost::asio::steady_timer>(loops_[0]->io,
                                                               std::chrono::milliseconds(100));
      timer->async_wait([this, &acceptor, timer](const boost::system::error_code&) {
        if (acceptor.is_open()) Accept(acceptor);
      });
      return;
    }
    boost::asio::post(target.io, [this, &target, socket = std::move(socket)]() mutable {
      std::make_shared<Connection>(
          *target.context, std::move(socket), [this] { return Current(); }, target.live)
          ->Start();
    });
    Accept(acceptor);
  });
}

void Proxy::Tick(Loop& loop) {
  // Timeouts are checked to this granularity.
  loop.tick.expires_after(std::chrono::milliseconds(50));
  loop.tick.async_wait([&loop](const boost::system::error_code& ec) {
    if (ec) return;
    const auto now = Clock::now();
    // Copied: a tick may end connections (they leave the set only once destroyed).
    const std::vector<Connection*> live(loop.live.begin(), loop.live.end());
    for (Connection* connection : live) connection->Tick(now);
    Tick(loop);
  });
}

void Proxy::Stop() {
  if (!started_) return;
  started_ = false;
  boost::asio::post(loops_[0]->io, [this] {
    for (auto& acceptor : acceptors_) {
      boost::system::error_code ignored;
      acceptor->close(ignored);
    }
  });
  for (auto& loop : loops_) {
    boost::asio::post(loop->io, [&loop = *loop] {
      // Copied: a connection leaves the set when it is destroyed.
      const std::set<Connection*> live = loop.live;
      for (Connection* connection : live) connection->Shutdown();
      loop.tick.cancel();
      loop.work.reset();
      loop.io.stop();
    });
  }
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
  // No easy handle is left: every forward was stopped above.
  for (auto& loop : loops_) loop->curl.reset();
  acceptors_.clear();
  loops_.clear();
}

}  // namespace llm_exporter::proxy
