#include "proxy/curl_loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <chrono>

namespace llm_exporter::proxy {

CurlLoop::CurlLoop(boost::asio::io_context& io, Burst& burst)
    : io_(io), burst_(burst), multi_(curl_multi_init()), timer_(io) {
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlLoop::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlLoop::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // Keep enough idle upstream connections for a burst of clients.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 256L);
}

CurlLoop::~CurlLoop() {
  timer_.cancel();
  for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
  for (auto& [fd, socket] : sockets_) {
    socket->gone = true;
    socket->descriptor.release();
  }
}

bool CurlLoop::Add(CURL* easy, Transfer* owner) {
  curl_easy_setopt(easy, CURLOPT_PRIVATE, static_cast<void*>(owner));
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlLoop::OnCloseSocket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlLoop::OnOpenSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, this);
  return curl_multi_add_handle(multi_, easy) == CURLM_OK;
}

void CurlLoop::Remove(CURL* easy) { curl_multi_remove_handle(multi_, easy); }

CURL* CurlLoop::TakeEasy() {
  if (idle_easy_.empty()) return curl_easy_init();
  CURL* easy = idle_easy_.back();
  idle_easy_.pop_back();
  return easy;
}

void CurlLoop::ReturnEasy(CURL* easy) {
  constexpr size_t kMaxIdle = 256;
  if (idle_easy_.size() >= kMaxIdle) return curl_easy_cleanup(easy);
  curl_easy_reset(easy);
  idle_easy_.push_back(easy);
}

int CurlLoop::OnSocket(CURL* /*easy*/, curl_socket_t fd, int what, void* self_ptr,
                       void* /*socket*/) {
  auto& self = *static_cast<CurlLoop*>(self_ptr);
  auto found = self.sockets_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    if (found == self.sockets_.end()) return 0;
    if (self.opened_.count(fd)) {
      // A connection going idle, not closed: waits still pending are ignored
      // when they fire, and the registration serves its next transfer.
      found->second->what = 0;
    } else {
      found->second->gone = true;
      found->second->descriptor.release();  // libcurl closes it next, unseen
      self.sockets_.erase(found);
    }
    return 0;
  }
  if (found == self.sockets_.end()) {
    found = self.sockets_.emplace(fd, std::make_shared<Socket>(self.io_, fd)).first;
  }
  found->second->what = what;
  self.Arm(found->second, fd);
  return 0;
}

curl_socket_t CurlLoop::OnOpenSocket(void* self_ptr, curlsocktype /*purpose*/,
                                     curl_sockaddr* address) {
  auto& self = *static_cast<CurlLoop*>(self_ptr);
  const curl_socket_t fd = ::socket(address->family, address->socktype, address->protocol);
  if (fd != CURL_SOCKET_BAD) self.opened_.insert(fd);
  return fd;
}

int CurlLoop::OnCloseSocket(void* self_ptr, curl_socket_t fd) {
  auto& self = *static_cast<CurlLoop*>(self_ptr);
  self.opened_.erase(fd);
  if (auto found = self.sockets_.find(fd); found != self.sockets_.end()) {
    found->second->gone = true;
    found->second->descriptor.release();  // deregistered before the number is reused
    self.sockets_.erase(found);
  }
  return ::close(fd);
}

void CurlLoop::Arm(const std::shared_ptr<Socket>& socket, curl_socket_t fd) {
  using boost::asio::posix::stream_descriptor;
  if ((socket->what & CURL_POLL_IN) && !socket->reading) {
    socket->reading = true;
    socket->descriptor.async_wait(stream_descriptor::wait_read,
                                  [this, socket, fd](const boost::system::error_code& ec) {
                                    socket->reading = false;
                                    if (socket->gone || !(socket->what & CURL_POLL_IN)) return;
                                    Action(fd, ec ? CURL_CSELECT_ERR : CURL_CSELECT_IN);
                                    if (!socket->gone) Arm(socket, fd);
                                  });
  }
  if ((socket->what & CURL_POLL_OUT) && !socket->writing) {
    socket->writing = true;
    socket->descriptor.async_wait(stream_descriptor::wait_write,
                                  [this, socket, fd](const boost::system::error_code& ec) {
                                    socket->writing = false;
                                    if (socket->gone || !(socket->what & CURL_POLL_OUT)) return;
                                    Action(fd, ec ? CURL_CSELECT_ERR : CURL_CSELECT_OUT);
                                    if (!socket->gone) Arm(socket, fd);
                                  });
  }
}

int CurlLoop::OnTimer(CURLM* /*multi*/, long timeout_ms, void* self_ptr) {
  auto& self = *static_cast<CurlLoop*>(self_ptr);
  if (timeout_ms < 0) return 0;  // an armed timer may still fire: libcurl checks
  if (timeout_ms == 0) {
    if (self.burst_.active()) {
      // Run before the burst ends, without a loop turn.
      if (!self.timeout_due_) {
        self.timeout_due_ = true;
        self.burst_.Defer(nullptr, [&self] {
          self.timeout_due_ = false;
          int running = 0;
          curl_multi_socket_action(self.multi_, CURL_SOCKET_TIMEOUT, 0, &running);
          self.CheckDone();
        });
      }
    } else if (!self.timeout_posted_) {
      self.timeout_posted_ = true;
      boost::asio::post(self.io_, [&self] {
        self.timeout_posted_ = false;
        self.Action(CURL_SOCKET_TIMEOUT, 0);
      });
    }
    return 0;
  }
  const auto at = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (self.timer_armed_ && self.timer_at_ <= at) return 0;
  self.timer_armed_ = true;
  self.timer_at_ = at;
  self.timer_.expires_at(at);
  self.timer_.async_wait([&self](const boost::system::error_code& ec) {
    if (ec) return;
    self.timer_armed_ = false;
    self.Action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void CurlLoop::Action(curl_socket_t fd, int events) {
  burst_.Run([&] {
    int running = 0;
    curl_multi_socket_action(multi_, fd, events, &running);
    CheckDone();
  });
}

void CurlLoop::CheckDone() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    void* owner = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &owner);
    curl_multi_remove_handle(multi_, easy);
    if (owner != nullptr) static_cast<Transfer*>(owner)->OnDone(code);
  }
}

}  // namespace llm_exporter::proxy
