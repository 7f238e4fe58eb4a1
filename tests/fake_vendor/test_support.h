#pragma once

// Helpers for fake_vendor_test: a RAII handle on a spawned fake_vendor process
// (stopped and reaped on destruction, so a failing test never leaks a child; its
// stderr is then checked for sanitizer reports) and
// a blocking libcurl client that records when each piece of the body arrived.

#include <curl/curl.h>
#include <sys/types.h>

#include <chrono>
#include <expected>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/fake_vendor/usage_ledger.h"

namespace llm_exporter::fake_vendor::testing {

using Environment = std::vector<std::pair<std::string, std::string>>;

class FakeVendorProcess {
 public:
  // Spawns FAKE_VENDOR_BIN with `--listen 127.0.0.1:0 --port-file <tmp>/port`
  // plus `args`, then polls for the port file (10 s deadline). stdout and stderr
  // go to files in a private temporary directory.
  static std::expected<std::unique_ptr<FakeVendorProcess>, std::string> Start(
      const std::vector<std::string>& args, const Environment& env = {});
  // Spawns with exactly `args` and does not wait for readiness.
  static std::expected<std::unique_ptr<FakeVendorProcess>, std::string> Spawn(
      const std::vector<std::string>& args, const Environment& env = {});

  ~FakeVendorProcess();
  FakeVendorProcess(const FakeVendorProcess&) = delete;
  FakeVendorProcess& operator=(const FakeVendorProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Url(std::string_view path) const;
  const std::filesystem::path& dir() const { return dir_; }

  // Waits up to `deadline` for the process to exit. Returns its exit code, or
  // 128 + signal if a signal killed it; nullopt if it is still running.
  std::optional<int> WaitExit(std::chrono::milliseconds deadline);
  // Sends `signal`, then WaitExit(deadline).
  std::optional<int> StopWith(int signal, std::chrono::milliseconds deadline);

  std::string Stdout() const;
  std::string Stderr() const;

 private:
  FakeVendorProcess() = default;

  pid_t pid_ = -1;
  bool reaped_ = false;
  int port_ = 0;
  std::filesystem::path dir_;
};

struct Piece {
  double at_ms = 0;  // since the request started
  std::string data;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  long timeout_ms = 10'000;
};

struct HttpResult {
  CURLcode code = CURLE_OK;
  std::string error;
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::vector<Piece> pieces;
  double elapsed_ms = 0;
};

HttpResult Perform(const HttpRequest& request);

struct SseEvent {
  std::string event;  // empty when the event had no `event:` line
  std::string data;
  double at_ms = 0;  // arrival of the piece that completed the event
};

// Splits an SSE body into events; comment lines are dropped, an unterminated
// final event is returned with at_ms = -1.
std::vector<SseEvent> ParseSse(const std::vector<Piece>& pieces);

// Polls `predicate` every 10 ms until it holds or `deadline` passes.
template <typename Predicate>
bool PollUntil(Predicate predicate, std::chrono::milliseconds deadline);

// Counters of served traffic, for expectations.
inline TokenCounters Tokens(int64_t requests, int64_t input, int64_t cached, int64_t output,
                            CostSplit cost = {}, int64_t unpriced = 0) {
  return {.requests = requests,
          .input_tokens = input,
          .cached_input_tokens = cached,
          .output_tokens = output,
          .cost = cost,
          .unpriced_requests = unpriced};
}

}  // namespace llm_exporter::fake_vendor::testing

#include <thread>

namespace llm_exporter::fake_vendor::testing {

template <typename Predicate>
bool PollUntil(Predicate predicate, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace llm_exporter::fake_vendor::testing
