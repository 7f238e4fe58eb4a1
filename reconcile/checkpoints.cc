#include "reconcile/checkpoints.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "pricing/cost.h"

namespace llm_exporter::reconcile {
namespace {

int64_t ToMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point FromMs(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::string Error(sqlite3* db, const std::string& what) {
  return "checkpoints: " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
}

// Memory keeps the current UTC day of `now` and the two before it.
std::chrono::system_clock::time_point KeepFrom(std::chrono::system_clock::time_point now) {
  return std::chrono::sys_days(pricing::UtcDay(now) - std::chrono::days(2));
}

}  // namespace

std::expected<std::unique_ptr<CheckpointStore>, std::string> CheckpointStore::Open(
    const std::string& ledger_path, std::chrono::system_clock::time_point now, int retention_days) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(ledger_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string error = Error(db, "cannot open " + ledger_path);
    sqlite3_close(db);
    return std::unexpected(error);
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<CheckpointStore> store(new CheckpointStore(db));
  const int64_t cutoff =
      ToMs(std::chrono::sys_days(pricing::UtcDay(now) - std::chrono::days(retention_days)));
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, "DELETE FROM checkpoints WHERE at_ms < ?", -1, &statement, nullptr) !=
      SQLITE_OK) {
    return std::unexpected(Error(db, "prepare delete"));
  }
  sqlite3_bind_int64(statement, 1, cutoff);
  int status = sqlite3_step(statement);
  sqlite3_finalize(statement);
  if (status != SQLITE_DONE) return std::unexpected(Error(db, "delete old checkpoints"));
  if (sqlite3_prepare_v2(db,
                         "SELECT vendor, at_ms, vendor_spent_nano_usd, local_nano_usd FROM "
                         "checkpoints WHERE at_ms >= ? ORDER BY vendor, at_ms",
                         -1, &statement, nullptr) != SQLITE_OK) {
    return std::unexpected(Error(db, "prepare select"));
  }
  sqlite3_bind_int64(statement, 1, ToMs(KeepFrom(now)));
  while ((status = sqlite3_step(statement)) == SQLITE_ROW) {
    const auto* vendor = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    store->recent_[vendor != nullptr ? vendor : ""].push_back(
        {FromMs(sqlite3_column_int64(statement, 1)), sqlite3_column_int64(statement, 2),
         sqlite3_column_int64(statement, 3)});
  }
  sqlite3_finalize(statement);
  if (status != SQLITE_DONE) return std::unexpected(Error(db, "read checkpoints"));
  return store;
}

CheckpointStore::~CheckpointStore() { sqlite3_close(db_); }

std::expected<void, std::string> CheckpointStore::Add(const std::string& vendor,
                                                      const Checkpoint& checkpoint) {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO checkpoints (vendor, at_ms, "
                         "vendor_spent_nano_usd, local_nano_usd) VALUES (?, ?, ?, ?)",
                         -1, &statement, nullptr) != SQLITE_OK) {
    return std::unexpected(Error(db_, "prepare insert"));
  }
  sqlite3_bind_text(statement, 1, vendor.c_str(), static_cast<int>(vendor.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(statement, 2, ToMs(checkpoint.at));
  sqlite3_bind_int64(statement, 3, checkpoint.vendor_spent_nano_usd);
  sqlite3_bind_int64(statement, 4, checkpoint.local_nano_usd);
  const int status = sqlite3_step(statement);
  sqlite3_finalize(statement);
  if (status != SQLITE_DONE) return std::unexpected(Error(db_, "insert"));
  auto& list = recent_[vendor];
  list.push_back(checkpoint);
  std::stable_sort(list.begin(), list.end(),
                   [](const Checkpoint& a, const Checkpoint& b) { return a.at < b.at; });
  const auto keep = KeepFrom(checkpoint.at);
  list.erase(list.begin(), std::find_if(list.begin(), list.end(),
                                        [&](const Checkpoint& c) { return c.at >= keep; }));
  return {};
}

std::vector<Checkpoint> CheckpointStore::Since(const std::string& vendor,
                                               std::chrono::system_clock::time_point since) const {
  std::lock_guard lock(mutex_);
  std::vector<Checkpoint> out;
  auto it = recent_.find(vendor);
  if (it == recent_.end()) return out;
  for (const auto& c : it->second) {
    if (c.at >= since) out.push_back(c);
  }
  return out;
}

SpanReconciliation ReconcileSpan(std::span<const Checkpoint> window, int64_t tolerance_nano_usd) {
  SpanReconciliation out;
  if (window.empty()) return out;
  size_t start = 0;
  for (size_t i = 1; i < window.size(); ++i) {
    if (window[i].vendor_spent_nano_usd < window[i - 1].vendor_spent_nano_usd ||
        window[i].local_nano_usd < window[i - 1].local_nano_usd) {
      out.reset_at = window[i].at;
      start = i;
    }
  }
  out.start = window[start];
  out.end = window.back();
  if (window.size() - start < 2) {
    out.verdict = out.reset_at ? Verdict::kToppedUp : Verdict::kNoVendorData;
    return out;
  }
  // Absurd vendor figures must not overflow: such a span is inconclusive.
  int64_t difference = 0;
  if (__builtin_sub_overflow(out.end->vendor_spent_nano_usd, out.start->vendor_spent_nano_usd,
                             &out.vendor_delta_nano_usd) ||
      __builtin_sub_overflow(out.end->local_nano_usd, out.start->local_nano_usd,
                             &out.local_delta_nano_usd) ||
      __builtin_sub_overflow(out.vendor_delta_nano_usd, out.local_delta_nano_usd, &difference) ||
      difference == std::numeric_limits<int64_t>::min()) {
    out.vendor_delta_nano_usd = out.local_delta_nano_usd = 0;
    out.verdict = Verdict::kNoVendorData;
    return out;
  }
  if (out.vendor_delta_nano_usd != 0) {
    out.drift_ratio =
        static_cast<double>(difference) / static_cast<double>(out.vendor_delta_nano_usd);
  } else if (out.local_delta_nano_usd == 0) {
    out.drift_ratio = 0.0;
  }
  if (std::llabs(difference) <= tolerance_nano_usd) {
    out.verdict = Verdict::kMatch;
  } else if (difference > 0) {
    out.verdict = Verdict::kCoverage;
  } else {
    out.verdict = out.vendor_delta_nano_usd <= tolerance_nano_usd ? Verdict::kLocalOnly
                                                                  : Verdict::kVendorBehind;
  }
  return out;
}

}  // namespace llm_exporter::reconcile
