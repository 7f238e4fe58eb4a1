#pragma once

// The ledger: durable per-day totals of priced traffic, kept per (UTC day,
// vendor, model, source) where source is "probe" or "proxy": requests, tokens
// by type, exact cost in nano-USD and the number of requests that could not be
// priced.
//
// Storage is <state_dir>/ledger.sqlite (SQLite, WAL, synchronous=FULL, schema
// versioned by PRAGMA user_version). Record() never does I/O: it adds the
// entry to an in-memory mirror of all retained totals and to a pending batch,
// under a mutex. One background writer thread commits the pending batch as one
// transaction (UPSERT adding the deltas) at most `batch_delay` after its first
// entry, so a crash loses at most the last ~batch_delay of entries and never
// counts one twice. Reads come from the mirror, so they include pending
// entries, never go backwards and never do I/O. A failed commit keeps its
// entries pending and is retried; LastError() says why.
//
// A file that SQLite cannot read as a database (corrupt, or not a database)
// is renamed to ledger.sqlite.corrupt-<UTC time> and a fresh ledger started:
// the old figures are kept for a human, and a bad file never stops start-up.
//
// A per-vendor lifetime total (never pruned) sits beside the daily rows, and
// the same file holds the checkpoints of totals-only vendors (checkpoints.h).
//
// Retention: rows of days more than `retention_days` before today (UTC) are
// deleted at Open() and again whenever the UTC day changes. Only one Ledger
// may hold a state dir at a time (an advisory lock on <state_dir>/ledger.lock).

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pricing/usage.h"

namespace llm_exporter::pricing {

struct LedgerEntry {
  std::chrono::sys_days day;  // UTC day of the request (see UtcDay in cost.h)
  std::string vendor;
  std::string model;
  std::string source;                    // "probe" | "proxy"
  Usage usage;                           // as billed
  std::optional<int64_t> cost_nano_usd;  // nullopt: no price found (unpriced)
  // The reply carried no usage although the vendor may have billed it: `usage`
  // and `cost_nano_usd` are empty, and `estimated_cost_nano_usd` is an upper
  // bound of what it may have cost (kept apart from the exact cost).
  bool usage_missing = false;
  int64_t estimated_cost_nano_usd = 0;
};

struct LedgerTotals {
  int64_t requests = 0;
  int64_t unpriced_requests = 0;
  Usage tokens;
  int64_t cost_nano_usd = 0;
  int64_t usage_missing_requests = 0;
  int64_t estimated_cost_nano_usd = 0;  // upper bound of the usage-missing requests
  friend bool operator==(const LedgerTotals&, const LedgerTotals&) = default;
};

// Adds `delta` to `to`, saturating.
void AddTotals(LedgerTotals& to, const LedgerTotals& delta);

struct LedgerRow {
  std::string vendor;
  std::string model;
  LedgerTotals totals;
};

struct LedgerOptions {
  std::string state_dir;  // created (with parents) if missing
  int retention_days = 400;
  std::chrono::milliseconds batch_delay{1000};
  // UTC wall clock, for retention; default std::chrono::system_clock::now.
  std::function<std::chrono::system_clock::time_point()> now;
  // Called on the writer thread after each committed batch with the number of
  // entries committed since Open(). It delays the writer while it runs.
  std::function<void(int64_t committed_entries)> on_commit;
  // Called on the writer thread after a failed commit (the entries stay
  // pending and are retried), with the error and the failures since Open().
  std::function<void(const std::string& error, int64_t failed_commits)> on_commit_error;
  // Called when a file that is not a readable ledger was moved aside and a
  // fresh ledger started (the old file is kept as `moved_to`).
  std::function<void(const std::string& moved_to, const std::string& error)> on_corrupt;
};

// How the writer is doing, for the exporter's own metrics and status page.
struct LedgerHealth {
  int64_t failed_commits = 0;  // since Open()
  int64_t pending_entries = 0;
  std::optional<std::chrono::system_clock::time_point> last_commit;  // successful
  std::string last_error;  // "" when the last commit succeeded
};

class Ledger {
 public:
  // Opens (creating, migrating and pruning) the ledger and starts its writer.
  static std::expected<std::unique_ptr<Ledger>, std::string> Open(LedgerOptions options);
  ~Ledger();  // commits what is pending, then stops the writer
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  void Record(const LedgerEntry& entry);

  // Blocks until every entry recorded before the call is committed. False if a
  // commit failed meanwhile (the entries stay pending; see LastError()).
  bool Flush();

  LedgerTotals Totals(std::chrono::sys_days day, std::string_view vendor, std::string_view model,
                      std::string_view source) const;
  // What one day and source was or may have been billed: exact cost plus the
  // upper bounds of requests without usage (what the probe budget holds to).
  int64_t SpendNanoUsd(std::chrono::sys_days day, std::string_view source) const;
  // Per (vendor, model), sorted, the totals of a day for one source, or summed
  // over all sources when `source` is empty.
  std::vector<LedgerRow> Day(std::chrono::sys_days day, std::string_view source = {}) const;

  int64_t RecordedEntries() const;   // Record() calls since Open()
  int64_t CommittedEntries() const;  // of those, how many are durable
  std::string LastError() const;     // "" when the last commit succeeded
  LedgerHealth Health() const;
  // A vendor's exact cost since this ledger began (all sources; never pruned,
  // includes what is not yet committed): the local side of checkpoints.
  int64_t LifetimeNanoUsd(std::string_view vendor) const;
  const std::string& path() const { return path_; }

 private:
  class Impl;
  Ledger(std::unique_ptr<Impl> impl, std::string path);

  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace llm_exporter::pricing
