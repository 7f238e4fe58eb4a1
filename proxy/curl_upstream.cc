#include "proxy/curl_upstream.h"

#include <cstdlib>

namespace llm_exporter::proxy {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

CurlUpstream::~CurlUpstream() {
  Stop();
  if (easy_ != nullptr) curl_.ReturnEasy(easy_);
  curl_slist_free_all(header_list_);
}

bool CurlUpstream::Start(const UpstreamCall& call) {
  easy_ = curl_.TakeEasy();
  if (easy_ == nullptr) return false;
  const std::string url = transport_.Apply(easy_, *call.transport, call.url);
  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(call.connect_timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &CurlUpstream::OnHeaderLine);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &CurlUpstream::OnBodyBytes);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  for (const std::string& line : *call.headers) {
    header_list_ = curl_slist_append(header_list_, line.c_str());
  }
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, header_list_);
  if (call.method == "GET") {
    curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, call.body.data());
  }
  if (!curl_.Add(easy_, this)) return false;
  running_ = true;
  return true;
}

size_t CurlUpstream::OnHeaderLine(char* data, size_t size, size_t count, void* self_ptr) {
  auto& self = *static_cast<CurlUpstream*>(self_ptr);
  const size_t n = size * count;
  const std::string_view line(data, n);
  if (self.head_done_) return n;  // trailers
  if (line.starts_with("HTTP/")) {
    // A new status line (after a 100 Continue): start afresh.
    const size_t space = line.find(' ');
    self.status_ = space == std::string_view::npos
                       ? 0
                       : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    if (self.status_ >= 200) self.sink_.OnStatus(self.status_);
    return n;
  }
  if (self.status_ < 200) return n;  // a 1xx reply's own headers
  if (Trim(line).empty()) {
    self.head_done_ = true;
    self.sink_.OnHeadEnd();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  self.sink_.OnHeader(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  return n;
}

size_t CurlUpstream::OnBodyBytes(char* data, size_t size, size_t count, void* self_ptr) {
  auto& self = *static_cast<CurlUpstream*>(self_ptr);
  const size_t n = size * count;
  if (!self.head_done_) {
    self.head_done_ = true;
    self.sink_.OnHeadEnd();
  }
  if (self.sink_.Backlogged()) {
    self.paused_ = true;
    return CURL_WRITEFUNC_PAUSE;  // handed over again on resuming
  }
  self.sink_.OnBody(std::string_view(data, n));
  return n;
}

void CurlUpstream::Resume() {
  if (!running_ || !paused_) return;
  paused_ = false;
  curl_easy_pause(easy_, CURLPAUSE_CONT);
}

void CurlUpstream::Stop() {
  if (!running_) return;
  running_ = false;
  curl_.Remove(easy_);
}

void CurlUpstream::OnDone(CURLcode code) {
  running_ = false;
  if (code == CURLE_OK && status_ >= 200) {
    if (!head_done_) {
      head_done_ = true;
      sink_.OnHeadEnd();
    }
    return sink_.OnEnd(UpstreamEnd::kComplete, {});
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return sink_.OnEnd(UpstreamEnd::kTimeout, curl_easy_strerror(code));
  }
  sink_.OnEnd(UpstreamEnd::kFailed, curl_easy_strerror(code == CURLE_OK ? CURLE_RECV_ERROR : code));
}

bool CurlUpstream::request_written() const {
  curl_off_t request_size = 0;
  if (easy_ != nullptr) curl_easy_getinfo(easy_, CURLINFO_REQUEST_SIZE, &request_size);
  return request_size > 0;
}

Clock::duration CurlUpstream::elapsed() const {
  curl_off_t us = 0;
  if (easy_ != nullptr) curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &us);
  return std::chrono::microseconds(us);
}

}  // namespace llm_exporter::proxy
