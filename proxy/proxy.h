#pragma once

// The in-path proxy (docs/proxy.md): listeners on --proxy.listen-address, a
// few event-loop threads (one a core, at most four) that each serve their
// share of client connections and drive their own libcurl multi handle to
// the vendors, and the config they route by, swapped on reload.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <expected>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "meter/meter.h"
#include "proxy/curl_loop.h"
#include "proxy/forward.h"
#include "proxy/proxy_metrics.h"
#include "proxy/routing.h"

namespace llm_exporter::proxy {

class Connection;

class Proxy {
 public:
  Proxy(meter::Meter& meter, ProxyMetrics& metrics, std::shared_ptr<const Routing> routing);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds every address ("host:port", ":port", "[::1]:port"; port 0 picks
  // one) and starts serving; the bound addresses, or why not.
  std::expected<std::vector<std::string>, std::string> Start(
      const std::vector<std::string>& addresses);
  // Requests from now on route by `routing`; running ones finish under theirs.
  void Apply(std::shared_ptr<const Routing> routing);
  // Stops listening and ends every connection; requests still running are
  // booked as the client's abort.
  void Stop();

 private:
  struct Loop {
    std::set<Connection*> live;  // outlives io: connections leave it when destroyed
    boost::asio::io_context io{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        io.get_executor()};
    Burst burst;  // before the clients that use it, after them gone
    std::unique_ptr<CurlLoop> curl;
    std::unique_ptr<PlainPool> plain;
    boost::asio::steady_timer tick{io};
    std::unique_ptr<LoopContext> context;
    std::thread thread;
  };

  void Accept(boost::asio::ip::tcp::acceptor& acceptor);
  // Every kTick, each connection of `loop` checks its deadlines.
  static void Tick(Loop& loop);
  std::shared_ptr<const Routing> Current() const;

  meter::Meter& meter_;
  ProxyMetrics& metrics_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Routing> routing_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  size_t next_loop_ = 0;
  bool started_ = false;
};

}  // namespace llm_exporter::proxy
