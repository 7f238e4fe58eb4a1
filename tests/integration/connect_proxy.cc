#include "tests/integration/connect_proxy.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

namespace llm_exporter::testing {
namespace {

void SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

ConnectProxy::ConnectProxy() {
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener_, 16) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("connect proxy: cannot listen");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

ConnectProxy::~ConnectProxy() {
  stop_ = true;
  acceptor_.join();
  close(listener_);
  std::lock_guard lock(mutex_);
  for (auto& worker : workers_) worker.join();
}

void ConnectProxy::Accept() {
  while (!stop_) {
    pollfd waiting{listener_, POLLIN, 0};
    if (poll(&waiting, 1, 50) <= 0) continue;
    int client = accept(listener_, nullptr, nullptr);
    if (client < 0) continue;
    std::lock_guard lock(mutex_);
    workers_.emplace_back([this, client] { Tunnel(client); });
  }
}

void ConnectProxy::Tunnel(int client) {
  std::string request;
  char buffer[16384];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192 && !stop_) {
    pollfd readable{client, POLLIN, 0};
    if (poll(&readable, 1, 50) <= 0) continue;
    ssize_t n = recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<size_t>(n));
  }
  unsigned a = 0, b = 0, c = 0, d = 0, port = 0;
  // Loopback only: this proxy never reaches anything else.
  if (std::sscanf(request.c_str(), "CONNECT %u.%u.%u.%u:%u ", &a, &b, &c, &d, &port) != 5 ||
      a != 127 || port == 0 || port > 65535) {
    const char refused[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    SendAll(client, refused, sizeof refused - 1);
    close(client);
    return;
  }
  int upstream = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl((a << 24) | (b << 16) | (c << 8) | d);
  if (connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const char failed[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
    SendAll(client, failed, sizeof failed - 1);
    close(upstream);
    close(client);
    return;
  }
  ++tunnels_;
  const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
  SendAll(client, established, sizeof established - 1);
  // Bytes the client sent after its CONNECT header belong to the tunnel.
  size_t header_end = request.find("\r\n\r\n") + 4;
  if (header_end < request.size()) {
    SendAll(upstream, request.data() + header_end, request.size() - header_end);
  }
  pollfd ends[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  while (!stop_) {
    if (poll(ends, 2, 50) <= 0) continue;
    bool closed = false;
    for (int i = 0; i < 2; ++i) {
      if ((ends[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = recv(ends[i].fd, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      SendAll(ends[1 - i].fd, buffer, static_cast<size_t>(n));
    }
    if (closed) break;
  }
  close(upstream);
  close(client);
}

}  // namespace llm_exporter::testing
