#pragma once

// Faults the fake vendor injects into chat replies (both dialects), chosen by
// `--fault NAME[:COUNT]` or `POST /control/fault`. A FaultSchedule hands the
// active fault to the next COUNT chat requests (unlimited without COUNT) and then
// falls back to kNone. It is thread-safe; only chat routes consume faults.

#include <cstdint>
#include <expected>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llm_exporter::fake_vendor {

enum class Fault {
  kNone,
  kSlowFirstByte,   // nothing is sent for --slow-ms, then a normal reply
  kStall,           // some tokens (or half a body), then silence until hang-up or shutdown
  kReset,           // some tokens (or half a body), then the connection drops mid-chunk/body
  kTruncated,       // the stream/body ends cleanly at the HTTP level but is incomplete
  kHttp401,         // vendor-format authentication error
  kHttp429,         // vendor-format rate limit error with `retry-after: 7`
  kHttp500,         // vendor-format server error
  kHttp529,         // Anthropic-style overloaded (also on OpenAI routes)
  kError200,        // HTTP 200 with an error object as the body
  kHtml,            // HTTP 200 text/html page instead of JSON
  kMidstreamError,  // streaming: error event after some tokens (non-streaming: as kError200)
  kWrongContent,    // the reply says "ping" instead of "pong"
  kNoUsage,         // usage omitted from the reply / no usage chunk
  kHugeUsage,       // a complete reply whose usage claims 2^53 output tokens
  kEchoKey401,      // 401 whose message echoes the caller's key after 190 bytes of text
};

std::string_view FaultName(Fault fault);
std::optional<Fault> ParseFaultName(std::string_view name);
std::vector<Fault> AllFaults();

// A completed reply that a real vendor would bill: the tokens were delivered.
// Requests that met any other fault are not counted as served.
bool FaultStillServes(Fault fault);

struct FaultSpec {
  Fault fault = Fault::kNone;
  std::optional<int64_t> count;  // requests left; nullopt = unlimited
};

// Parses "NAME" or "NAME:COUNT" (COUNT >= 1).
std::expected<FaultSpec, std::string> ParseFaultSpec(std::string_view text);

class FaultSchedule {
 public:
  void Set(FaultSpec spec);
  // The fault for the request being served now; consumes one count.
  Fault Take();
  void Reset();
  FaultSpec Current() const;

 private:
  mutable std::mutex mutex_;
  FaultSpec spec_;
};

}  // namespace llm_exporter::fake_vendor
