#pragma once

// A vendor stand-in for the proxy tests that need to see the wire itself:
// the exact request line and headers the proxy sent, and the moment the
// proxy closed its connection. It answers each connection with a scripted
// reply head and SSE events, then either ends the reply or holds it open
// until the peer hangs up.

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace llm_exporter::testing {

class MockUpstream {
 public:
  struct Script {
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    std::vector<std::string> events;  // each sent as one chunk
    bool hold = true;                 // keep the reply open until the peer hangs up
    bool chunked = true;              // events as chunks (else as they are, after the head)
  };

  explicit MockUpstream(Script script);
  ~MockUpstream();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The last request's head (request line and headers) and body.
  std::string request_head() const;
  std::string request_body() const;
  // When the proxy's connection of the last request was seen closing.
  std::optional<std::chrono::steady_clock::time_point> closed_at() const;
  int requests() const { return requests_; }

 private:
  void Serve(int fd);

  Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::string head_;
  std::string body_;
  std::optional<std::chrono::steady_clock::time_point> closed_at_;
  std::thread thread_;
};

}  // namespace llm_exporter::testing
