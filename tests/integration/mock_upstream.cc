#include "tests/integration/mock_upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "tests/integration/harness.h"

namespace llm_exporter::testing {

MockUpstream::MockUpstream(Script script) : script_(std::move(script)) {
  listen_fd_ = BindLoopback(&port_);
  listen(listen_fd_, 16);
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd >= 0) Serve(fd);
    }
  });
}

MockUpstream::~MockUpstream() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
}

void MockUpstream::Serve(int fd) {
  std::string received;
  char buffer[4096];
  size_t head_end = std::string::npos;
  size_t body_length = 0;
  while (!stop_) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
    if (head_end == std::string::npos &&
        (head_end = received.find("\r\n\r\n")) != std::string::npos) {
      for (const char* name : {"Content-Length: ", "content-length: "}) {
        const size_t at = received.find(name);
        if (at != std::string::npos && at < head_end)
          body_length = std::strtoul(received.c_str() + at + 16, nullptr, 10);
      }
    }
    if (head_end != std::string::npos && received.size() >= head_end + 4 + body_length) break;
  }
  {
    std::lock_guard lock(mutex_);
    head_ = received.substr(0, head_end);
    body_ = head_end == std::string::npos ? "" : received.substr(head_end + 4);
    closed_at_.reset();
  }
  ++requests_;
  std::string reply = script_.head;
  for (const std::string& event : script_.events) {
    if (!script_.chunked) {
      reply += event;
      continue;
    }
    char size[20];
    std::snprintf(size, sizeof size, "%zx\r\n", event.size());
    reply += size + event + "\r\n";
  }
  if (!script_.hold && script_.chunked) reply += "0\r\n\r\n";
  send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  while (script_.hold && !stop_) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5) <= 0) continue;
    if (recv(fd, buffer, sizeof buffer, 0) <= 0) break;
  }
  {
    std::lock_guard lock(mutex_);
    closed_at_ = std::chrono::steady_clock::now();
  }
  close(fd);
}

std::string MockUpstream::request_head() const {
  std::lock_guard lock(mutex_);
  return head_;
}

std::string MockUpstream::request_body() const {
  std::lock_guard lock(mutex_);
  return body_;
}

std::optional<std::chrono::steady_clock::time_point> MockUpstream::closed_at() const {
  std::lock_guard lock(mutex_);
  return closed_at_;
}

}  // namespace llm_exporter::testing
