#pragma once

// Runs every configured probe on its interval from one thread running a
// TransferDriver (probes/transfer_driver.h, the billing poller's too), so
// that hundreds of probes are in flight without a thread each. A probe never overlaps itself; first
// runs are spread over the interval (by a hash of the target name against wall time, so restarts
// keep the phase); a 429 with retry-after postpones that target's next run. Update() (a reload)
// adds, changes and removes targets without disturbing the others; a removed target's run in flight
// is abandoned and reports nothing.
//
// Every run is metered (meter/meter.h: priced, booked in the ledger as source
// "probe", counted in the traffic series) and checked against the daily probe
// budget first: a run whose worst case (prompt plus
// max_tokens at the model's price) would cross what is left of today's budget
// is skipped with reason budget_exhausted.

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "meter/meter.h"
#include "pricing/ledger.h"
#include "pricing/price_book.h"
#include "probes/chat/chat_probe.h"
#include "probes/chat/probe_result.h"
#include "probes/transfer_driver.h"

namespace llm_exporter::probes {

// Receives results (already metered: priced, booked, counted), on the
// scheduler's thread (scheduled runs) or the caller's (RunNow).
class ProbeObserver {
 public:
  virtual ~ProbeObserver() = default;
  virtual void OnResult(const ProbeSpec& spec, const ProbeResult& result) = 0;
};

// Today's probe spend against the daily limit: a hard cap on what the vendor
// could bill. Spend comes from the ledger (exact costs, plus the worst case of
// every run the vendor may have billed without telling us its usage); runs in
// flight hold a reservation of their worst case. The limit is split: on-demand
// runs (/probe) may spend only their own part, scheduled runs the rest, so
// neither can starve the other.
class ProbeBudget {
 public:
  explicit ProbeBudget(pricing::Ledger* ledger) : ledger_(ledger) {}
  void SetDailyLimit(int64_t nano_usd, int64_t on_demand_nano_usd);
  bool TryReserve(std::chrono::sys_days day, int64_t worst_case_nano_usd, bool on_demand);
  // After the run: `charged_nano_usd` is what it was booked at in the ledger.
  void Release(std::chrono::sys_days day, int64_t worst_case_nano_usd, int64_t charged_nano_usd,
               bool on_demand);
  // What scheduled runs may still spend today.
  int64_t RemainingNanoUsd(std::chrono::sys_days day) const;
  int64_t OnDemandRemainingNanoUsd(std::chrono::sys_days day) const;
  int64_t LimitNanoUsd() const;

 private:
  int64_t SpentLocked(std::chrono::sys_days day) const;  // ledger, all probe runs
  int64_t OnDemandSpentLocked(std::chrono::sys_days day) const;
  int64_t ScheduledRemainingLocked(std::chrono::sys_days day) const;
  int64_t OnDemandRemainingLocked(std::chrono::sys_days day) const;
  mutable std::mutex mutex_;
  pricing::Ledger* ledger_;
  int64_t limit_ = 0;
  int64_t on_demand_limit_ = 0;
  int64_t reserved_ = 0;            // scheduled runs in flight
  int64_t on_demand_reserved_ = 0;  // on-demand runs in flight
  // What on-demand runs were booked at, per UTC day (in memory: after a
  // restart their spend counts as scheduled, which only errs on the safe side).
  std::map<std::chrono::sys_days, int64_t> on_demand_spent_;
};

class ProbeScheduler {
 public:
  struct Options {
    const base::Clock* clock = nullptr;
    pricing::Ledger* ledger = nullptr;  // the budget's spend; may be null in tests
    meter::Meter* meter = nullptr;      // books every run; may be null in tests
    ProbeObserver* observer = nullptr;
  };

  explicit ProbeScheduler(Options options);
  ~ProbeScheduler();
  ProbeScheduler(const ProbeScheduler&) = delete;
  ProbeScheduler& operator=(const ProbeScheduler&) = delete;

  void Start();
  void Stop();  // abandons runs in flight and joins the thread

  // Replaces the targets, prices and budget (start-up and reload).
  void Update(std::vector<ProbeSpec> specs, std::shared_ptr<const pricing::PriceBook> prices,
              int64_t budget_nano_usd, int64_t on_demand_budget_nano_usd);

  // Runs `target` now on the caller's thread (blackbox-style /probe), within
  // `timeout` (at least kMinOnDemandTimeout) and the probe's own timeout.
  struct RunNowError {
    int status;  // 400 unknown target, 403 unpriced, 429 too many at once
    std::string message;
  };
  std::expected<ProbeResult, RunNowError> RunNow(const std::string& target,
                                                 std::chrono::milliseconds timeout);
  void SetMaxConcurrentRunNow(int64_t max);
  // A caller cannot cut a run shorter than this: a run abandoned early is
  // still billed by the vendor (and booked at its worst case here).
  static constexpr std::chrono::milliseconds kMinOnDemandTimeout{1000};

  ProbeBudget& budget() { return budget_; }

 private:
  struct Target {
    ProbeSpec spec;
    std::string fingerprint;
    std::chrono::steady_clock::time_point next_run;
    std::unique_ptr<ChatProbeRun> run;
    int64_t reserved_nano_usd = 0;
    double delay_seconds = 0;  // of the run in flight
  };
  struct Pending {
    std::vector<ProbeSpec> specs;
  };

  void Loop();
  void ApplyUpdate(std::vector<ProbeSpec> specs);
  void StartRun(Target& target, std::chrono::steady_clock::time_point now);
  // Drops a run in flight without a result (its target changed or went away).
  void Abandon(Target& target);
  // Budget check; fills `reserved` on success, or returns the skip result.
  std::optional<ProbeResult> Reserve(const ProbeSpec& spec, int64_t& reserved, bool on_demand);
  // Books the run (cost, or its worst case when the vendor may have billed it
  // without usage), releases its reservation and reports it.
  // `stopped_by_us`: the run was cut short by Stop() (booked as a client abort).
  void Complete(const ProbeSpec& spec, ProbeResult& result, int64_t reserved,
                bool stopped_by_us = false);
  std::shared_ptr<const pricing::PriceBook> Prices() const;

  Options options_;
  ProbeBudget budget_;
  TransferDriver driver_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mutex_;  // guards the members below
  std::optional<Pending> pending_;
  std::shared_ptr<const pricing::PriceBook> prices_;
  std::map<std::string, ProbeSpec> specs_;  // for RunNow
  int64_t run_now_in_flight_ = 0;
  int64_t max_run_now_ = 4;

  std::map<std::string, Target> targets_;  // scheduler thread only
};

}  // namespace llm_exporter::probes
