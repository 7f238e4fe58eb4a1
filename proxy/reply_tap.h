#pragma once

// What the proxy reads of a reply while it relays it, without changing it:
// the usage (of a whole JSON reply, or of a stream's events), and when the
// first token went by. The one change it may make is the one the client
// cannot see: for an OpenAI-style stream whose client did not ask for usage,
// the proxy asked for it, and the extra usage-only chunk is left out.
//
// A stream is relayed as it comes (event by event when a chunk must be left
// out, byte for byte otherwise); a whole reply is passed on at once and kept
// aside only up to a bound (the first 1 MiB, then the last 64 KiB, where
// vendors put `usage`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pricing/usage.h"
#include "proxy/endpoints.h"
#include "wire/dialect.h"
#include "wire/sse_parser.h"

namespace llm_exporter::proxy {

class ReplyTap {
 public:
  // `strip_usage_chunk`: the proxy added stream_options.include_usage.
  ReplyTap(const EndpointInfo& endpoint, bool strip_usage_chunk);

  // At the end of the reply's headers.
  void Start(long status, std::string_view content_type);
  // True once Start() saw a stream whose bytes it may change (the client's
  // framing must then not promise the vendor's Content-Length).
  bool changes_body() const { return strip_; }
  // Appends to `out` what the client receives of `data`; true if `data`
  // carried the first token.
  bool Feed(std::string_view data, std::string& out);
  // The reply ended: appends any bytes still held back.
  void End(std::string& out);

  struct Result {
    bool usage_present = false;
    pricing::Usage usage;
    int64_t deltas = 0;  // streamed deltas of any kind (an estimate of output tokens)
    bool stream = false;
  };
  Result Finish() const;

  static constexpr size_t kWholeBodyBytes = 1 << 20;
  static constexpr size_t kTailBytes = 64 * 1024;

 private:
  std::optional<pricing::Usage> UsageOfBody() const;

  const EndpointInfo& endpoint_;
  bool strip_requested_;
  bool strip_ = false;
  bool stream_ = false;
  bool success_ = false;
  std::optional<wire::SseParser> parser_;
  std::optional<wire::StreamAccumulator> accumulator_;
  std::string held_;  // bytes received but not yet relayed (strip mode)
  std::vector<wire::SseEvent> events_;
  std::string body_;  // a whole reply: its first kWholeBodyBytes
  std::string tail_;  // and beyond that, its last kTailBytes
  size_t body_size_ = 0;
};

}  // namespace llm_exporter::proxy
