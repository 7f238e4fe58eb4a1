#pragma once

// A transfer to a vendor through libcurl, on the loop's multi handle
// (curl_loop.h): HTTPS, egress proxies and every vendor transport setting.

#include <curl/curl.h>

#include "probes/transport.h"
#include "proxy/curl_loop.h"
#include "proxy/upstream.h"

namespace llm_exporter::proxy {

class CurlUpstream final : public Upstream, CurlLoop::Transfer {
 public:
  CurlUpstream(CurlLoop& curl, UpstreamSink& sink) : curl_(curl), sink_(sink) {}
  ~CurlUpstream() override;
  CurlUpstream(const CurlUpstream&) = delete;
  CurlUpstream& operator=(const CurlUpstream&) = delete;

  bool Start(const UpstreamCall& call) override;
  void Resume() override;
  void Stop() override;
  std::optional<Clock::time_point> connecting_since() const override { return std::nullopt; }
  bool request_written() const override;
  Clock::duration elapsed() const override;

 private:
  void OnDone(CURLcode code) override;
  static size_t OnHeaderLine(char* data, size_t size, size_t count, void* self);
  static size_t OnBodyBytes(char* data, size_t size, size_t count, void* self);

  CurlLoop& curl_;
  UpstreamSink& sink_;
  CURL* easy_ = nullptr;
  curl_slist* header_list_ = nullptr;
  probes::VendorTransport transport_;
  bool running_ = false;
  bool paused_ = false;
  long status_ = 0;
  bool head_done_ = false;
};

}  // namespace llm_exporter::proxy
