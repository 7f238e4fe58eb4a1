#pragma once

// A libcurl multi handle driven by an Asio io_context (libcurl's
// "multi_socket" API; curl's asiohiper example is the model): the sockets
// libcurl opens are watched by the same event loop that serves the proxy's
// clients, so one thread moves many streams both ways. Upstream connections
// and TLS sessions are kept and reused by the multi handle.
//
// Everything runs on the io_context's one thread. Add() and Remove() must not
// be called from inside a libcurl callback (a transfer's header or write
// function): defer them (burst.h) instead.

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "proxy/burst.h"

namespace llm_exporter::proxy {

class CurlLoop {
 public:
  // A transfer's owner: told once when its transfer ended by itself.
  class Transfer {
   public:
    virtual void OnDone(CURLcode code) = 0;

   protected:
    ~Transfer() = default;
  };

  // libcurl's work runs inside `burst`: what the transfers' owners defer
  // meanwhile (and libcurl's immediate timeouts) runs at its end.
  CurlLoop(boost::asio::io_context& io, Burst& burst);
  ~CurlLoop();
  CurlLoop(const CurlLoop&) = delete;
  CurlLoop& operator=(const CurlLoop&) = delete;

  // Starts `easy`; `owner` hears of its end unless Remove() comes first.
  // Sets the easy handle's socket-close callback (the loop must know).
  bool Add(CURL* easy, Transfer* owner);
  // Stops `easy` at once (its connection is closed if a reply was under way).
  void Remove(CURL* easy);

  // An easy handle with default options, from a pool of finished ones:
  // allocating one per request costs more than the rest of libcurl's work.
  CURL* TakeEasy();
  // Back to the pool (it must not be in the multi handle any more).
  void ReturnEasy(CURL* easy);

 private:
  struct Socket {
    explicit Socket(boost::asio::io_context& io, int fd) : descriptor(io, fd) {}
    boost::asio::posix::stream_descriptor descriptor;
    int what = 0;
    bool reading = false;
    bool writing = false;
    bool gone = false;
  };

  static int OnSocket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket);
  static int OnCloseSocket(void* self, curl_socket_t fd);
  static curl_socket_t OnOpenSocket(void* self, curlsocktype purpose, curl_sockaddr* address);
  static int OnTimer(CURLM* multi, long timeout_ms, void* self);
  void Arm(const std::shared_ptr<Socket>& socket, curl_socket_t fd);
  void Action(curl_socket_t fd, int events);
  void CheckDone();

  boost::asio::io_context& io_;
  Burst& burst_;
  CURLM* multi_;
  boost::asio::steady_timer timer_;
  // libcurl moves its timeout on every transfer; the timer is only re-armed
  // when it must fire sooner (firing early is harmless: libcurl re-asks).
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point timer_at_;
  bool timeout_posted_ = false;
  bool timeout_due_ = false;  // an immediate timeout is deferred in the current burst
  // Every socket libcurl opened and has not closed yet: one watched by the
  // event loop keeps its registration while its connection idles in
  // libcurl's cache (what = 0), so reusing it costs no system call.
  std::unordered_map<curl_socket_t, std::shared_ptr<Socket>> sockets_;
  std::vector<CURL*> idle_easy_;
  // Sockets opened through OnOpenSocket: their close is reported to us, so
  // their registration may outlive CURL_POLL_REMOVE. Any other socket (the
  // threaded resolver's) is closed by libcurl alone, right after REMOVE.
  std::unordered_set<curl_socket_t> opened_;
};

}  // namespace llm_exporter::proxy
