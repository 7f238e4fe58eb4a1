#pragma once

// Runs every configured probe on its interval from one thread that drives a
// libcurl multi handle, so that hundreds of probes are in flight without a
// thread each. A probe never overlaps itself; first runs are spread over the
// interval (by a hash of the target name against wall time, so restarts keep
// the phase); a 429
// with retry-after postpones that target's next run. Update() (a reload) adds,
// changes and removes targets without disturbing the others; a removed
// target's run in flight is abandoned and reports nothing.
//
// Every run is priced, recorded in the ledger as source "probe", and checked
// against the daily probe budget first: a run whose worst case (prompt plus
// max_tokens at the model's price) would cross what is left of today's budget
// is skipped with reason budget_exhausted.

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "pricing/ledger.h"
#include "pricing/price_book.h"
#include "probes/chat/chat_probe.h"
#include "probes/chat/probe_result.h"
#include "probes/clock.h"

namespace llm_exporter::probes {

// Receives results, on the scheduler's thread (scheduled runs) or the
// caller's (RunNow).
class ProbeObserver {
 public:
  virtual ~ProbeObserver() = default;
  // A request is about to be sent; exactly one OnResult or OnAbandoned follows.
  virtual void OnStart(const ProbeSpec& /*spec*/) {}
  virtual void OnResult(const ProbeSpec& spec, const ProbeResult& result) = 0;
  // A run in flight was dropped (its target was removed by a reload).
  virtual void OnAbandoned(const ProbeSpec& /*spec*/) {}
};

// Today's probe spend against the daily limit. Spend comes from the ledger;
// runs in flight hold a reservation of their worst case; runs whose reply had
// no usage keep their worst case charged for the rest of the day.
class ProbeBudget {
 public:
  explicit ProbeBudget(pricing::Ledger* ledger) : ledger_(ledger) {}
  void SetDailyLimit(int64_t nano_usd);
  bool TryReserve(std::chrono::sys_days day, int64_t worst_case_nano_usd);
  // After the run's real cost is in the ledger (or not known: `charge_anyway`).
  void Release(std::chrono::sys_days day, int64_t worst_case_nano_usd, bool charge_anyway);
  int64_t RemainingNanoUsd(std::chrono::sys_days day) const;
  int64_t LimitNanoUsd() const;

 private:
  int64_t SpentLocked(std::chrono::sys_days day) const;
  mutable std::mutex mutex_;
  pricing::Ledger* ledger_;
  int64_t limit_ = 0;
  int64_t reserved_ = 0;
  std::map<std::chrono::sys_days, int64_t> unaccounted_;
};

class ProbeScheduler {
 public:
  struct Options {
    const Clock* clock = nullptr;
    pricing::Ledger* ledger = nullptr;  // may be null in tests
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
              int64_t budget_nano_usd);

  // Runs `target` now on the caller's thread (blackbox-style /probe), within
  // `timeout` and the probe's own timeout. nullopt for an unknown target.
  std::optional<ProbeResult> RunNow(const std::string& target, std::chrono::milliseconds timeout);

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
  void ApplyUpdate(CURLM* multi, std::vector<ProbeSpec> specs);
  void StartRun(CURLM* multi, Target& target, std::chrono::steady_clock::time_point now);
  // Drops a run in flight without a result (its target changed or went away).
  void Abandon(CURLM* multi, Target& target);
  // Budget check; fills `reserved` on success, or returns the skip result.
  std::optional<ProbeResult> Reserve(const ProbeSpec& spec, int64_t& reserved);
  void Complete(const ProbeSpec& spec, ProbeResult& result, int64_t reserved);
  std::shared_ptr<const pricing::PriceBook> Prices() const;

  Options options_;
  ProbeBudget budget_;
  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mutex_;  // guards the members below
  std::optional<Pending> pending_;
  std::shared_ptr<const pricing::PriceBook> prices_;
  std::map<std::string, ProbeSpec> specs_;  // for RunNow

  std::map<std::string, Target> targets_;  // scheduler thread only
};

}  // namespace llm_exporter::probes
