#pragma once

// Polls every enabled vendor's billing endpoints from one thread running a
// TransferDriver (probes/transfer_driver.h), as the probe scheduler does (all
// easy handles live and die on that thread; other threads only wake it). Each vendor's first poll
// comes soon after it is added (spread over `first_poll_spread` by a hash of its name), then one
// every `interval`. A failed poll is retried after a backoff that starts at interval/8 and doubles
// up to interval, and never sooner than a retry-after the vendor sent. Each request has its own
// timeout.
//
// Update() (start-up and reload) replaces the vendor list: new vendors are
// scheduled, changed ones (kind, interval, base URL or key) restart with a
// fresh schedule, removed or disabled ones stop; a poll in flight for a
// changed or removed vendor is abandoned and reports nothing. The observer is
// called on the poller thread once per finished poll, with either the
// snapshot or the error. Keys are never logged.

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "config/config.h"
#include "probes/billing/billing_poll.h"
#include "probes/billing/billing_snapshot.h"
#include "probes/transfer_driver.h"

namespace llm_exporter::probes::billing {

class BillingObserver {
 public:
  virtual ~BillingObserver() = default;
  // Exactly one of `snapshot` and `error` is non-null; both live only for the
  // duration of the call.
  virtual void OnPoll(const std::string& vendor, const BillingSnapshot* snapshot,
                      const PollError* error) = 0;
};

struct BillingTarget {
  std::string vendor;  // the vendor label
  config::BillingConfig billing;
};

class BillingPoller {
 public:
  struct Options {
    const base::Clock* clock = nullptr;   // required
    BillingObserver* observer = nullptr;  // may be null
    std::chrono::milliseconds request_timeout{30'000};
    std::chrono::milliseconds first_poll_spread{10'000};
    int page_cap = 20;
  };

  explicit BillingPoller(Options options);
  ~BillingPoller();  // Stop()s
  BillingPoller(const BillingPoller&) = delete;
  BillingPoller& operator=(const BillingPoller&) = delete;

  void Start();
  // Abandons polls in flight and joins the thread; returns promptly.
  void Stop();
  // Replaces the vendors (thread-safe; takes effect on the poller thread).
  void Update(std::vector<BillingTarget> targets);

 private:
  struct Transfer;
  struct Vendor;

  void Loop();
  void ApplyUpdate(std::vector<BillingTarget> targets);
  void StartPoll(const std::string& name, Vendor& vendor);
  // Sends the poll's next request, or finishes the poll when it has none.
  void Advance(const std::string& name, Vendor& vendor);
  void OnTransferDone(const std::string& name, Vendor& vendor, CURLcode code);
  void Finish(const std::string& name, Vendor& vendor, const PollError* error);

  Options options_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  std::mutex mutex_;  // guards the members below
  std::optional<std::vector<BillingTarget>> pending_;

  // Poller thread only.
  TransferDriver driver_;
  std::map<std::string, std::unique_ptr<Vendor>> vendors_;
};

}  // namespace llm_exporter::probes::billing
