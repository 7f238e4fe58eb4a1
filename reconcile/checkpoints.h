#pragma once

// Checkpoints of vendors that report only totals (a gateway's lifetime usage,
// a balance): at every successful poll, the vendor's lifetime spend and the
// ledger's lifetime cost for that vendor at the same instant. Reconciling two
// checkpoints compares what each side says was spent between them.
//
// Stored in the ledger's file (table `checkpoints`, created by the ledger's
// schema), through a connection of its own; the recent ones are kept in
// memory, so reads do no I/O. Adding one is a small synchronous write (once a
// poll).

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "reconcile/verdict.h"

struct sqlite3;

namespace llm_exporter::reconcile {

struct Checkpoint {
  std::chrono::system_clock::time_point at;
  // The vendor's spend since it began counting: lifetime usage, or for a
  // balance its negative (so that spending raises it and a top-up lowers it).
  int64_t vendor_spent_nano_usd = 0;
  int64_t local_nano_usd = 0;  // Ledger::LifetimeNanoUsd at the same instant
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

class CheckpointStore {
 public:
  // `ledger_path` is the ledger's database, already opened (and migrated) by
  // Ledger::Open. Checkpoints older than `retention_days` are deleted.
  static std::expected<std::unique_ptr<CheckpointStore>, std::string> Open(
      const std::string& ledger_path, std::chrono::system_clock::time_point now,
      int retention_days);
  ~CheckpointStore();
  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  std::expected<void, std::string> Add(const std::string& vendor, const Checkpoint& checkpoint);
  // A vendor's checkpoints at or after `since`, oldest first (memory holds the
  // current and the two previous UTC days).
  std::vector<Checkpoint> Since(const std::string& vendor,
                                std::chrono::system_clock::time_point since) const;

 private:
  explicit CheckpointStore(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<Checkpoint>, std::less<>> recent_;
};

// What one window (today, yesterday) of checkpoints says.
struct SpanReconciliation {
  std::optional<Checkpoint> start, end;  // the span compared
  int64_t vendor_delta_nano_usd = 0;
  int64_t local_delta_nano_usd = 0;
  // A top-up (or a reset: either side going backwards) inside the window: the
  // span starts again at the checkpoint after it.
  std::optional<std::chrono::system_clock::time_point> reset_at;
  Verdict verdict = Verdict::kNoVendorData;
  std::optional<double> drift_ratio;  // (vendor - local) / vendor
};

// Compares the first and last checkpoints of `window` (oldest first) after
// the last reset. |vendor - local| within `tolerance_nano_usd` is a match;
// fewer than two checkpoints after a reset is kToppedUp (inconclusive).
SpanReconciliation ReconcileSpan(std::span<const Checkpoint> window, int64_t tolerance_nano_usd);

}  // namespace llm_exporter::reconcile
