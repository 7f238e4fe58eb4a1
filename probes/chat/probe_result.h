#pragma once

// What one synthetic probe run found out. Produced by ChatProbeRun, consumed
// by the exporter's metrics and status page.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "pricing/usage.h"
#include "probes/transport.h"

namespace llm_exporter::probes {

// The llm_probe_failures_total reasons (docs/metrics.md): kNone and the
// first eleven of Failure.
using ProbeFailure = Failure;
inline constexpr std::array<ProbeFailure, 10> kAllProbeFailures = {
    ProbeFailure::kTimeout,        ProbeFailure::kConnect,         ProbeFailure::kTls,
    ProbeFailure::kHttp4xx,        ProbeFailure::kHttp429,         ProbeFailure::kHttp5xx,
    ProbeFailure::kAuth,           ProbeFailure::kInvalidResponse, ProbeFailure::kContentMismatch,
    ProbeFailure::kBudgetExhausted};
inline std::string_view ProbeFailureName(ProbeFailure failure) { return FailureName(failure); }

// A probe as configured, with its vendor: everything a run needs.
struct ProbeSpec {
  config::ProbeConfig probe;
  config::VendorConfig vendor;
  // Equal specs keep their schedule across a reload.
  std::string Fingerprint() const;
};

// Phase timings in seconds. resolve, connect and tls are the durations of
// those phases; first_byte, first_token and total are measured from the start
// of the request (time to first byte, time to first token, whole run).
struct ProbeTimings {
  double resolve = 0;
  double connect = 0;
  double tls = 0;
  double first_byte = 0;
  std::optional<double> first_token;  // streaming runs that saw a token
  double total = 0;
};

struct ProbeResult {
  std::string target;
  bool success = false;
  ProbeFailure failure = ProbeFailure::kNone;
  bool sent = true;  // false: skipped before any request (budget)
  // Request bytes reached the network: from here on the vendor may bill it.
  bool request_written = false;
  bool on_demand = false;
  long http_status = 0;
  ProbeTimings timings;
  bool stream = false;
  std::optional<double> output_tokens_per_second;  // streaming, after the first token
  pricing::Usage usage;
  bool usage_present = false;
  std::optional<int64_t> cost_nano_usd;  // nullopt: no usage or no price
  // Set when the vendor may have billed a reply whose usage we never got
  // (timeout, reset, a 2xx without usable usage): why, and the run's worst
  // case, which is booked in its place (0 for an unpriced model).
  std::optional<std::string> usage_missing_reason;  // timeout | upstream_reset | not_reported
  int64_t estimated_cost_nano_usd = 0;
  std::optional<int64_t> retry_after_seconds;
  std::chrono::system_clock::time_point started_at;
  double schedule_delay_seconds = 0;  // how late the scheduler started it
  std::string message;                // log-safe failure description
  std::string answer;                 // the start of the answer text
  std::vector<std::string> log;
};

}  // namespace llm_exporter::probes
