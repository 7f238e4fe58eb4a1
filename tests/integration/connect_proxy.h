#pragma once

// A minimal HTTP CONNECT proxy on loopback, standing in for a corporate egress
// proxy: it tunnels to loopback addresses only and counts the tunnels, so a
// test can prove that traffic went through it.

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace llm_exporter::testing {

class ConnectProxy {
 public:
  ConnectProxy();  // listens on 127.0.0.1, a free port
  ~ConnectProxy();
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int tunnels() const { return tunnels_; }

 private:
  void Accept();
  void Tunnel(int client);

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> tunnels_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
};

}  // namespace llm_exporter::testing
