#pragma once

// The one way the probes and the billing pollers move bytes: a libcurl multi
// handle driven from one thread (folly's FunctionScheduler is the model). The
// owner says what is due (start_due), learns what finished (done) and when
// something is due next (next_due); the driver performs the transfers and
// sleeps until the earliest of that, libcurl's own timers and network
// activity. Wake() (from any thread) makes it look again at once.
//
// Also what both need of a transfer: its response headers (Content-Type,
// Retry-After) and the first-run phase by name.

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace llm_exporter::probes {

class TransferDriver {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hooks {
    std::function<void()> start_due;                             // start what is due now
    std::function<void(CURL* easy, CURLcode code)> done;         // removed from the handle already
    std::function<std::optional<Clock::time_point>()> next_due;  // nullopt: nothing scheduled
  };

  TransferDriver();
  ~TransferDriver();
  TransferDriver(const TransferDriver&) = delete;
  TransferDriver& operator=(const TransferDriver&) = delete;

  bool Add(CURL* easy);
  void Remove(CURL* easy);
  void Wake();  // thread-safe
  // Until `stop` is set (and Wake() called): start, perform, hand back, sleep
  // at most `max_wait`.
  void Run(const std::atomic<bool>& stop, const Hooks& hooks, std::chrono::milliseconds max_wait);

  // One transfer to its end on the caller's thread, with a multi handle of
  // its own; CURLE_ABORTED_BY_CALLBACK when `stop` is set first.
  static CURLcode RunOne(CURL* easy, const std::atomic<bool>& stop);

 private:
  CURLM* multi_;
};

// Response headers worth keeping, from libcurl's header callback: a new
// status line (after a 100 Continue, or a redirect) starts afresh.
struct ResponseHeaders {
  std::string content_type;
  std::string retry_after;
  // Give to CURLOPT_HEADERFUNCTION with the ResponseHeaders as HEADERDATA.
  static size_t OnHeader(char* data, size_t size, size_t count, void* self);
};

// A vendor's Retry-After in seconds, capped at an hour: a gateway sending
// milliseconds as seconds must not silence a target for weeks.
std::chrono::seconds CappedRetryAfter(int64_t seconds);

// Where in [0, period) a schedule named `name` runs: a hash of the name, so
// that first runs spread out and restarts keep the phase.
int64_t PhaseByName(std::string_view name, int64_t period);

}  // namespace llm_exporter::probes
