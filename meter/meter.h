#pragma once

// The one metering path: every request this exporter sends to a vendor (a
// scheduled probe run, a /probe run, and next a proxied request) ends here,
// and is priced, booked in the ledger and counted in the traffic series the
// same way. The rule for a reply that may have been billed although its usage
// never arrived lives here and nowhere else. (node_exporter's execute(), which
// wraps every collector, is the model.)

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "meter/traffic_metrics.h"
#include "pricing/ledger.h"
#include "pricing/price_book.h"
#include "pricing/usage.h"

namespace llm_exporter::meter {

// How a reply ended, as far as its usage goes.
enum class Ending {
  kComplete,       // read to its end (usage present or not)
  kTimeout,        // we stopped waiting
  kUpstreamReset,  // the connection broke
  kClientAbort,    // our side hung up (a reload, shutdown, or the proxy's client)
};

// One finished request, as its sender saw it.
struct Exchange {
  std::string vendor;
  std::string model;  // a bounded label: a configured model (or "other")
  // The name to price by when it is not the label (the proxy's client asked
  // for a dated snapshot, or a model counted as "other"); empty: `model`.
  std::string price_model;
  std::string price_table;
  std::string source;    // "probe" | "proxy"
  std::string endpoint;  // the dialect's label
  std::chrono::system_clock::time_point started_at;
  long http_status = 0;  // the vendor's; 0: none came back
  // The `code` label when it is not the vendor's status: what the proxy's
  // client saw (499: it hung up first; 502 or 504: the proxy's own reply).
  std::optional<long> client_code;
  double duration_seconds = 0;
  std::optional<double> ttft_seconds;
  std::optional<double> output_tokens_per_second;
  // Its bytes reached the network: from here on the vendor may bill it.
  bool request_written = false;
  bool usage_present = false;
  pricing::Usage usage;
  Ending ending = Ending::kComplete;
  // Booked instead of a cost when it may have been billed without usage.
  int64_t worst_case_nano_usd = 0;
};

// What the meter booked for an exchange.
struct Booking {
  std::optional<int64_t> cost_nano_usd;  // usage at the price in effect; nullopt: unpriced
  // Set when the vendor may have billed a reply whose usage we never got:
  // timeout | upstream_reset | client_abort | not_reported.
  std::optional<std::string> usage_missing_reason;
  int64_t estimated_cost_nano_usd = 0;  // the worst case booked in its place
  int64_t charged_nano_usd = 0;         // cost or estimate: what a budget counts
};

// Whether (and why) an exchange without usage may still have been billed:
// its request was written, and no error status came back (vendors do not
// bill errors). nullopt for an exchange that carried usage or cannot have
// been billed.
std::optional<std::string> UsageMissingReason(const Exchange& exchange);

class Meter {
 public:
  // `ledger` may be null (no durable books).
  Meter(TrafficMetrics& traffic, pricing::Ledger* ledger) : traffic_(traffic), ledger_(ledger) {}

  // A request to `vendor` left (the in-flight gauge).
  void Started(const std::string& vendor);
  // It ended: priced with `prices` (may be null: unpriced), booked in the
  // ledger, counted in the traffic series; in flight no more.
  Booking Finish(const Exchange& exchange, const pricing::PriceBook* prices);
  // Given up before a reply was read (a reload or shutdown): booked at its
  // worst case, counted as usage missing (client_abort).
  void Abandon(const std::string& vendor, const std::string& model, const std::string& source,
               int64_t worst_case_nano_usd, std::chrono::system_clock::time_point at);

  TrafficMetrics& traffic() { return traffic_; }

 private:
  void BookEstimate(const std::string& vendor, const std::string& model, const std::string& source,
                    int64_t estimate_nano_usd, std::chrono::system_clock::time_point at);

  TrafficMetrics& traffic_;
  pricing::Ledger* ledger_;
};

}  // namespace llm_exporter::meter
