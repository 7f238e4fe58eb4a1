#pragma once

// One synthetic chat request on a libcurl easy handle. The caller adds
// easy() to a multi handle (the scheduler's, or a private one for /probe),
// drives it, and calls Finish() with the transfer's result code on the same
// thread: a handle never crosses threads.
//
// The prompt carries a per-run nonce at its start so that vendors' prompt
// caches (prefix caches) cannot flatter the latency.

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/log.h"
#include "probes/chat/probe_result.h"
#include "probes/transfer_driver.h"
#include "probes/transport.h"
#include "wire/dialect.h"
#include "wire/openai_chat.h"
#include "wire/sse_parser.h"

namespace llm_exporter::probes {

// The prompt as sent: "[probe <nonce>] <prompt>".
std::string PromptWithNonce(const std::string& prompt, const std::string& nonce);
// A 16-hex-digit random nonce.
std::string NewNonce();
// Upper bound of input tokens for the budget's worst case: one per byte (no
// byte-level tokenizer makes a token of less than a byte, whatever the
// script), plus a per-message overhead for the chat template.
int64_t EstimateInputTokens(const std::string& prompt);

class ChatProbeRun {
 public:
  ChatProbeRun(const ProbeSpec& spec, const base::Clock& clock, std::string nonce);
  ~ChatProbeRun();
  ChatProbeRun(const ChatProbeRun&) = delete;
  ChatProbeRun& operator=(const ChatProbeRun&) = delete;

  CURL* easy() const { return easy_; }
  // Limits the whole run (the probe's timeout, or less for /probe).
  void SetTimeout(std::chrono::milliseconds timeout);
  // Classifies the run once libcurl reports it done with `code`.
  ProbeResult Finish(CURLcode code);
  base::LogCapture& log() { return log_; }

 private:
  static size_t OnData(char* data, size_t size, size_t count, void* self);
  void Consume(std::string_view chunk);
  bool StreamingReply() const;
  void Classify(CURLcode code, ProbeResult& result);
  void ClassifyStream(ProbeResult& result);
  void ClassifyBody(ProbeResult& result);

  ProbeSpec spec_;
  const base::Clock& clock_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  VendorTransport transport_;
  std::string request_body_;
  std::string url_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::system_clock::time_point started_at_;
  std::optional<std::chrono::steady_clock::time_point> first_byte_;
  std::optional<std::chrono::steady_clock::time_point> first_token_;
  std::optional<std::chrono::steady_clock::time_point> last_token_;
  long status_ = 0;
  ResponseHeaders response_headers_;
  std::string body_;  // non-streaming replies and error bodies, capped
  bool body_truncated_ = false;
  wire::SseParser sse_;
  wire::StreamAccumulator stream_;
  int64_t token_events_ = 0;
  base::LogCapture log_;
};

}  // namespace llm_exporter::probes
