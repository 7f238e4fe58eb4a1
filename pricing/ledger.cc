#include "pricing/ledger.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include "pricing/cost.h"

namespace llm_exporter::pricing {

void AddTotals(LedgerTotals& to, const LedgerTotals& delta) {
  to.requests = SatAdd(to.requests, delta.requests);
  to.unpriced_requests = SatAdd(to.unpriced_requests, delta.unpriced_requests);
  to.tokens += delta.tokens;
  to.cost_nano_usd = SatAdd(to.cost_nano_usd, delta.cost_nano_usd);
  to.usage_missing_requests = SatAdd(to.usage_missing_requests, delta.usage_missing_requests);
  to.estimated_cost_nano_usd = SatAdd(to.estimated_cost_nano_usd, delta.estimated_cost_nano_usd);
}

namespace {

// Schema migrations; the ledger's PRAGMA user_version is how many have run.
constexpr const char* kMigrations[] = {
    // 1: one row of totals per UTC day (YYYY-MM-DD), vendor, model and source.
    "CREATE TABLE totals ("
    "  day TEXT NOT NULL,"
    "  vendor TEXT NOT NULL,"
    "  model TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  requests INTEGER NOT NULL DEFAULT 0,"
    "  unpriced_requests INTEGER NOT NULL DEFAULT 0,"
    "  input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cached_input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,"
    "  output_tokens INTEGER NOT NULL DEFAULT 0,"
    "  reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cost_nano_usd INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (day, vendor, model, source)"
    ") WITHOUT ROWID;",
    // 2: requests whose reply carried no usage, and the upper bound of their cost.
    "ALTER TABLE totals ADD COLUMN usage_missing_requests INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE totals ADD COLUMN estimated_cost_nano_usd INTEGER NOT NULL DEFAULT 0;",
    // 3: each vendor's exact cost since the ledger began, never pruned (the
    // local side of checkpoints), and the checkpoints of totals-only vendors.
    "CREATE TABLE lifetime (vendor TEXT PRIMARY KEY, cost_nano_usd INTEGER NOT NULL DEFAULT 0)"
    " WITHOUT ROWID;"
    "INSERT INTO lifetime (vendor, cost_nano_usd)"
    " SELECT vendor, SUM(cost_nano_usd) FROM totals GROUP BY vendor;"
    "CREATE TABLE checkpoints ("
    "  vendor TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  vendor_spent_nano_usd INTEGER NOT NULL,"
    "  local_nano_usd INTEGER NOT NULL,"
    "  PRIMARY KEY (vendor, at_ms)"
    ") WITHOUT ROWID;",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

constexpr const char* kUpsert =
    "INSERT INTO totals (day, vendor, model, source, requests, unpriced_requests, input_tokens,"
    " cached_input_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens,"
    " reasoning_tokens, cost_nano_usd, usage_missing_requests, estimated_cost_nano_usd)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (day, vendor, model, source) DO UPDATE SET"
    " requests = requests + excluded.requests,"
    " unpriced_requests = unpriced_requests + excluded.unpriced_requests,"
    " input_tokens = input_tokens + excluded.input_tokens,"
    " cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,"
    " cache_write_5m_tokens = cache_write_5m_tokens + excluded.cache_write_5m_tokens,"
    " cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,"
    " output_tokens = output_tokens + excluded.output_tokens,"
    " reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,"
    " cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd,"
    " usage_missing_requests = usage_missing_requests + excluded.usage_missing_requests,"
    " estimated_cost_nano_usd = estimated_cost_nano_usd + excluded.estimated_cost_nano_usd";

constexpr const char* kUpsertLifetime =
    "INSERT INTO lifetime (vendor, cost_nano_usd) VALUES (?, ?)"
    " ON CONFLICT (vendor) DO UPDATE SET cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd";

constexpr const char* kSelectAll =
    "SELECT day, vendor, model, source, requests, unpriced_requests, input_tokens,"
    " cached_input_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens,"
    " reasoning_tokens, cost_nano_usd, usage_missing_requests, estimated_cost_nano_usd"
    " FROM totals";

// How often an idle writer looks whether the UTC day changed (retention).
constexpr std::chrono::seconds kIdleWake{60};

struct Key {
  std::chrono::sys_days day;
  std::string vendor;
  std::string model;
  std::string source;
  auto operator<=>(const Key&) const = default;
};

using TotalsMap = std::map<Key, LedgerTotals>;

void Add(LedgerTotals& to, const LedgerTotals& delta) { AddTotals(to, delta); }

// Closes what it owns; keeps Open()'s early returns leak-free.
struct Handles {
  sqlite3* db = nullptr;
  sqlite3_stmt* upsert = nullptr;
  sqlite3_stmt* upsert_lifetime = nullptr;
  int lock_fd = -1;

  Handles() = default;
  Handles(Handles&& other) noexcept
      : db(std::exchange(other.db, nullptr)),
        upsert(std::exchange(other.upsert, nullptr)),
        upsert_lifetime(std::exchange(other.upsert_lifetime, nullptr)),
        lock_fd(std::exchange(other.lock_fd, -1)) {}
  Handles& operator=(Handles&&) = delete;
  ~Handles() {
    sqlite3_finalize(upsert);
    sqlite3_finalize(upsert_lifetime);
    sqlite3_close(db);
    if (lock_fd >= 0) close(lock_fd);  // releases the flock
  }
};

std::string DbError(sqlite3* db, std::string_view what) {
  return std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
}

// Runs SQL without results; "" or the error.
std::string Exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return "";
  std::string error = message != nullptr ? message : sqlite3_errmsg(db);
  sqlite3_free(message);
  return error;
}

std::expected<int64_t, std::string> QueryInt(sqlite3* db, const char* sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) {
    return std::unexpected(DbError(db, sql));
  }
  std::expected<int64_t, std::string> result = std::unexpected(std::string(sql) + ": no row");
  if (sqlite3_step(statement) == SQLITE_ROW) result = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  return result;
}

std::expected<std::string, std::string> QueryText(sqlite3* db, const char* sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) {
    return std::unexpected(DbError(db, sql));
  }
  std::expected<std::string, std::string> result = std::unexpected(DbError(db, sql));
  if (sqlite3_step(statement) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    result = std::string(text != nullptr ? text : "");
  }
  sqlite3_finalize(statement);
  return result;
}

std::string Migrate(sqlite3* db) {
  if (std::string error = Exec(db, "BEGIN IMMEDIATE"); !error.empty()) return error;
  const auto version = QueryInt(db, "PRAGMA user_version");
  std::string error;
  if (!version) {
    error = version.error();
  } else if (*version > kSchemaVersion) {
    error = "schema version " + std::to_string(*version) + " is newer than this build knows (" +
            std::to_string(kSchemaVersion) + ")";
  } else {
    for (int64_t step = *version; step < kSchemaVersion && error.empty(); ++step) {
      error = Exec(db, kMigrations[step]);
    }
    if (error.empty()) {
      const std::string set = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
      error = Exec(db, set.c_str());
    }
  }
  if (!error.empty()) {
    Exec(db, "ROLLBACK");
    return error;
  }
  return Exec(db, "COMMIT");
}

std::string DeleteBefore(sqlite3* db, std::chrono::sys_days cutoff) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, "DELETE FROM totals WHERE day < ?", -1, &statement, nullptr) !=
      SQLITE_OK) {
    return DbError(db, "prepare delete");
  }
  const std::string day = FormatDay(cutoff);
  sqlite3_bind_text(statement, 1, day.c_str(), static_cast<int>(day.size()), SQLITE_TRANSIENT);
  std::string error;
  if (sqlite3_step(statement) != SQLITE_DONE) error = DbError(db, "delete old days");
  sqlite3_finalize(statement);
  return error;
}

using LifetimeMap = std::map<std::string, int64_t, std::less<>>;  // vendor -> exact cost

struct LoadedState {
  TotalsMap totals;
  LifetimeMap lifetime;
};

std::expected<LifetimeMap, std::string> LoadLifetime(sqlite3* db) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT vendor, cost_nano_usd FROM lifetime", -1, &statement,
                         nullptr) != SQLITE_OK) {
    return std::unexpected(DbError(db, "prepare lifetime"));
  }
  LifetimeMap lifetime;
  int status;
  while ((status = sqlite3_step(statement)) == SQLITE_ROW) {
    const auto* vendor = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    lifetime[vendor != nullptr ? vendor : ""] = sqlite3_column_int64(statement, 1);
  }
  sqlite3_finalize(statement);
  if (status != SQLITE_DONE) return std::unexpected(DbError(db, "read lifetime"));
  return lifetime;
}

std::expected<TotalsMap, std::string> LoadAll(sqlite3* db) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, kSelectAll, -1, &statement, nullptr) != SQLITE_OK) {
    return std::unexpected(DbError(db, "prepare select"));
  }
  TotalsMap totals;
  int status;
  const auto text = [&](int column) {
    const auto* chars = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
    return std::string(chars != nullptr ? chars : "");
  };
  while ((status = sqlite3_step(statement)) == SQLITE_ROW) {
    const auto day = ParseDay(text(0));
    if (!day) continue;  // not ours to interpret; retention will not touch it either
    LedgerTotals& row = totals[Key{*day, text(1), text(2), text(3)}];
    row.requests = sqlite3_column_int64(statement, 4);
    row.unpriced_requests = sqlite3_column_int64(statement, 5);
    row.tokens.input = sqlite3_column_int64(statement, 6);
    row.tokens.cached_input = sqlite3_column_int64(statement, 7);
    row.tokens.cache_write_5m = sqlite3_column_int64(statement, 8);
    row.tokens.cache_write_1h = sqlite3_column_int64(statement, 9);
    row.tokens.output = sqlite3_column_int64(statement, 10);
    row.tokens.reasoning = sqlite3_column_int64(statement, 11);
    row.cost_nano_usd = sqlite3_column_int64(statement, 12);
    row.usage_missing_requests = sqlite3_column_int64(statement, 13);
    row.estimated_cost_nano_usd = sqlite3_column_int64(statement, 14);
  }
  sqlite3_finalize(statement);
  if (status != SQLITE_DONE) return std::unexpected(DbError(db, "read totals"));
  return totals;
}

// Whether the last error of `db` says the file is not a readable database.
bool IsCorrupt(sqlite3* db) {
  if (db == nullptr) return false;
  const int code = sqlite3_errcode(db) & 0xff;
  return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(seconds - day);
  char text[32];
  std::snprintf(text, sizeof text, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return text;
}

struct OpenError {
  std::string message;
  bool corrupt = false;  // the file is not a database we can read
};

// Opens, configures, migrates and prunes the database at `path` into
// `handles`, and reads every retained row.
std::expected<LoadedState, OpenError> OpenDatabase(Handles& handles, const std::string& path,
                                                   std::chrono::sys_days prune_before) {
  const auto fail = [&](std::string message) {
    return std::unexpected(OpenError{std::move(message), IsCorrupt(handles.db)});
  };
  if (sqlite3_open_v2(path.c_str(), &handles.db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    return fail(DbError(handles.db, "cannot open"));
  }
  sqlite3_busy_timeout(handles.db, 5000);
  {
    sqlite3_stmt* statement = nullptr;
    std::string mode;
    if (sqlite3_prepare_v2(handles.db, "PRAGMA journal_mode=WAL", -1, &statement, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
      mode = text != nullptr ? text : "";
    }
    sqlite3_finalize(statement);
    if (mode != "wal") {
      return fail("cannot switch to WAL mode: " + DbError(handles.db, mode));
    }
  }
  if (std::string error = Exec(handles.db, "PRAGMA synchronous=FULL"); !error.empty()) {
    return fail(error);
  }
  // A quick structural check, so that a damaged file is found at start-up
  // and not at the first commit.
  {
    auto check = QueryText(handles.db, "PRAGMA quick_check");
    if (!check) return fail(check.error());
    if (*check != "ok")
      return std::unexpected(OpenError{"integrity check failed: " + *check, true});
  }
  if (std::string error = Migrate(handles.db); !error.empty()) return fail(error);
  if (std::string error = DeleteBefore(handles.db, prune_before); !error.empty()) {
    return fail(error);
  }
  auto totals = LoadAll(handles.db);
  if (!totals) return fail(totals.error());
  auto lifetime = LoadLifetime(handles.db);
  if (!lifetime) return fail(lifetime.error());
  if (sqlite3_prepare_v2(handles.db, kUpsert, -1, &handles.upsert, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(handles.db, kUpsertLifetime, -1, &handles.upsert_lifetime, nullptr) !=
          SQLITE_OK) {
    return fail(DbError(handles.db, "prepare upsert"));
  }
  return LoadedState{std::move(*totals), std::move(*lifetime)};
}

}  // namespace

class Ledger::Impl {
 public:
  Impl(LedgerOptions options, Handles handles, LoadedState state, std::chrono::sys_days today)
      : options_(std::move(options)),
        handles_(std::move(handles)),
        totals_(std::move(state.totals)),
        lifetime_(std::move(state.lifetime)),
        last_commit_(std::chrono::system_clock::now()),
        last_prune_day_(today) {
    writer_ = std::thread([this] { WriterLoop(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    writer_.join();
  }

  void Record(const LedgerEntry& entry) {
    Key key{entry.day, entry.vendor, entry.model, entry.source};
    LedgerTotals delta;
    delta.requests = 1;
    if (entry.usage_missing) {
      delta.usage_missing_requests = 1;
      delta.estimated_cost_nano_usd = std::max<int64_t>(0, entry.estimated_cost_nano_usd);
    } else {
      delta.unpriced_requests = entry.cost_nano_usd ? 0 : 1;
      delta.tokens = entry.usage;
      delta.cost_nano_usd = entry.cost_nano_usd.value_or(0);
    }
    bool first = false;
    {
      std::lock_guard lock(mutex_);
      Add(totals_[key], delta);
      int64_t& lifetime = lifetime_[key.vendor];
      lifetime = SatAdd(lifetime, delta.cost_nano_usd);
      Add(pending_[std::move(key)], delta);
      first = pending_entries_ == 0;
      if (first) first_pending_at_ = std::chrono::steady_clock::now();
      ++pending_entries_;
      ++recorded_;
    }
    if (first) wake_.notify_one();
  }

  bool Flush() {
    std::unique_lock lock(mutex_);
    const int64_t target = recorded_;
    const int64_t failures = failed_commits_;
    ++flush_requests_;
    wake_.notify_one();
    done_.wait(lock, [&] { return committed_ >= target || failed_commits_ != failures; });
    return committed_ >= target;
  }

  LedgerTotals Totals(const Key& key) const {
    std::lock_guard lock(mutex_);
    const auto it = totals_.find(key);
    return it == totals_.end() ? LedgerTotals{} : it->second;
  }

  template <typename Visit>
  void ForDay(std::chrono::sys_days day, Visit visit) const {
    std::lock_guard lock(mutex_);
    for (auto it = totals_.lower_bound(Key{day, "", "", ""});
         it != totals_.end() && it->first.day == day; ++it) {
      visit(it->first, it->second);
    }
  }

  int64_t RecordedEntries() const {
    std::lock_guard lock(mutex_);
    return recorded_;
  }
  int64_t CommittedEntries() const {
    std::lock_guard lock(mutex_);
    return committed_;
  }
  std::string LastError() const {
    std::lock_guard lock(mutex_);
    return last_error_;
  }

  int64_t Lifetime(std::string_view vendor) const {
    std::lock_guard lock(mutex_);
    auto it = lifetime_.find(vendor);
    return it == lifetime_.end() ? 0 : it->second;
  }

  LedgerHealth Health() const {
    std::lock_guard lock(mutex_);
    return {failed_commits_, pending_entries_, last_commit_, last_error_};
  }

 private:
  std::chrono::system_clock::time_point Now() const {
    return options_.now ? options_.now() : std::chrono::system_clock::now();
  }

  // One transaction for the whole batch; "" or the error (rolled back).
  std::string Commit(const TotalsMap& batch) {
    sqlite3* db = handles_.db;
    if (std::string error = Exec(db, "BEGIN IMMEDIATE"); !error.empty()) return error;
    sqlite3_stmt* upsert = handles_.upsert;
    for (const auto& [key, delta] : batch) {
      const std::string day = FormatDay(key.day);
      sqlite3_reset(upsert);
      sqlite3_bind_text(upsert, 1, day.c_str(), static_cast<int>(day.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(upsert, 2, key.vendor.c_str(), static_cast<int>(key.vendor.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_text(upsert, 3, key.model.c_str(), static_cast<int>(key.model.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_text(upsert, 4, key.source.c_str(), static_cast<int>(key.source.size()),
                        SQLITE_TRANSIENT);
      const int64_t values[] = {delta.requests,
                                delta.unpriced_requests,
                                delta.tokens.input,
                                delta.tokens.cached_input,
                                delta.tokens.cache_write_5m,
                                delta.tokens.cache_write_1h,
                                delta.tokens.output,
                                delta.tokens.reasoning,
                                delta.cost_nano_usd,
                                delta.usage_missing_requests,
                                delta.estimated_cost_nano_usd};
      for (int i = 0; i < static_cast<int>(std::size(values)); ++i) {
        sqlite3_bind_int64(upsert, 5 + i, values[i]);
      }
      if (sqlite3_step(upsert) != SQLITE_DONE) {
        std::string error = DbError(db, "upsert");
        sqlite3_reset(upsert);
        Exec(db, "ROLLBACK");
        return error;
      }
    }
    sqlite3_reset(upsert);
    LifetimeMap lifetime;
    for (const auto& [key, delta] : batch) {
      int64_t& sum = lifetime[key.vendor];
      sum = SatAdd(sum, delta.cost_nano_usd);
    }
    sqlite3_stmt* upsert_lifetime = handles_.upsert_lifetime;
    for (const auto& [vendor, delta] : lifetime) {
      sqlite3_reset(upsert_lifetime);
      sqlite3_bind_text(upsert_lifetime, 1, vendor.c_str(), static_cast<int>(vendor.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_int64(upsert_lifetime, 2, delta);
      if (sqlite3_step(upsert_lifetime) != SQLITE_DONE) {
        std::string error = DbError(db, "upsert lifetime");
        sqlite3_reset(upsert_lifetime);
        Exec(db, "ROLLBACK");
        return error;
      }
    }
    sqlite3_reset(upsert_lifetime);
    if (std::string error = Exec(db, "COMMIT"); !error.empty()) {
      Exec(db, "ROLLBACK");
      return error;
    }
    return "";
  }

  void WriterLoop() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait_for(lock, kIdleWake,
                     [&] { return stop_ || flush_requests_ > 0 || pending_entries_ > 0; });
      if (pending_entries_ > 0) {
        wake_.wait_until(lock, first_pending_at_ + options_.batch_delay,
                         [&] { return stop_ || flush_requests_ > 0; });
      }
      flush_requests_ = 0;
      const bool stopping = stop_;
      TotalsMap batch;
      batch.swap(pending_);
      const int64_t entries = std::exchange(pending_entries_, 0);
      lock.unlock();

      std::string error;
      if (entries > 0) error = Commit(batch);
      const std::chrono::sys_days today = UtcDay(Now());
      std::optional<std::chrono::sys_days> pruned_before;
      if (today != last_prune_day_) {
        const auto cutoff = today - std::chrono::days(options_.retention_days);
        if (DeleteBefore(handles_.db, cutoff).empty()) {
          pruned_before = cutoff;
          last_prune_day_ = today;
        }
      }

      lock.lock();
      int64_t committed = -1;
      if (entries > 0 && error.empty()) {
        committed_ += entries;
        committed = committed_;
        last_error_.clear();
        last_commit_ = std::chrono::system_clock::now();
      } else if (entries > 0) {
        ++failed_commits_;
        last_error_ = "ledger commit failed: " + error;
        for (auto& [key, delta] : batch) Add(pending_[key], delta);
        if (pending_entries_ == 0) first_pending_at_ = std::chrono::steady_clock::now();
        pending_entries_ += entries;
        if (options_.on_commit_error) {
          const std::string message = last_error_;
          const int64_t failures = failed_commits_;
          lock.unlock();
          options_.on_commit_error(message, failures);
          lock.lock();
        }
      }
      if (pruned_before) {
        totals_.erase(totals_.begin(), totals_.lower_bound(Key{*pruned_before, "", "", ""}));
      }
      done_.notify_all();
      if (committed >= 0 && options_.on_commit) {
        lock.unlock();
        options_.on_commit(committed);
        lock.lock();
      }
      if (stopping && (pending_entries_ == 0 || !error.empty())) return;
    }
  }

  const LedgerOptions options_;
  Handles handles_;  // the writer's alone once it runs

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // the writer waits on it
  std::condition_variable done_;  // Flush() waits on it
  TotalsMap totals_;              // committed and pending, all retained days
  LifetimeMap lifetime_;          // committed and pending, never pruned
  TotalsMap pending_;             // deltas not yet committed
  int64_t pending_entries_ = 0;
  std::chrono::steady_clock::time_point first_pending_at_;
  int64_t recorded_ = 0;
  int64_t committed_ = 0;
  int64_t failed_commits_ = 0;
  int flush_requests_ = 0;
  bool stop_ = false;
  std::string last_error_;
  std::optional<std::chrono::system_clock::time_point> last_commit_;
  std::chrono::sys_days last_prune_day_;  // writer thread only
  std::thread writer_;
};

std::expected<std::unique_ptr<Ledger>, std::string> Ledger::Open(LedgerOptions options) {
  namespace fs = std::filesystem;
  if (options.state_dir.empty()) return std::unexpected("ledger: state dir is empty");
  if (options.retention_days < 1) {
    return std::unexpected("ledger: retention_days must be at least 1");
  }
  if (options.batch_delay < std::chrono::milliseconds(0)) {
    return std::unexpected("ledger: batch_delay must not be negative");
  }
  const fs::path dir(options.state_dir);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return std::unexpected("state dir " + options.state_dir + " is not a directory");
  }
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) {
      return std::unexpected("cannot create state dir " + options.state_dir + ": " + ec.message());
    }
  }
  // Root passes access(2) checks, so try for real.
  const std::string probe = (dir / (".ledger-write-test." + std::to_string(getpid()))).string();
  const int probe_fd = open(probe.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (probe_fd < 0) {
    return std::unexpected("state dir " + options.state_dir +
                           " is not writable: " + std::strerror(errno));
  }
  close(probe_fd);
  unlink(probe.c_str());

  Handles handles;
  const std::string lock_path = (dir / "ledger.lock").string();
  handles.lock_fd = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (handles.lock_fd < 0) {
    return std::unexpected("cannot open " + lock_path + ": " + std::strerror(errno));
  }
  if (flock(handles.lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return std::unexpected("ledger in " + options.state_dir +
                           " is already open (by another process or Ledger)");
  }

  const std::string path = (dir / "ledger.sqlite").string();
  const auto now = options.now ? options.now() : std::chrono::system_clock::now();
  const auto today = UtcDay(now);
  auto totals = OpenDatabase(handles, path, today - std::chrono::days(options.retention_days));
  if (!totals && totals.error().corrupt) {
    // Not a database we can read: keep it for a human, start afresh.
    sqlite3_close(handles.db);
    handles.db = nullptr;
    const std::string moved = path + ".corrupt-" + FormatTimestamp(now);
    std::error_code rename_error;
    fs::rename(path, moved, rename_error);
    if (rename_error) {
      return std::unexpected("ledger " + path + ": " + totals.error().message +
                             "; cannot move it aside: " + rename_error.message());
    }
    for (const char* suffix : {"-wal", "-shm"}) {
      std::error_code ignored;
      if (fs::exists(path + suffix, ignored)) fs::rename(path + suffix, moved + suffix, ignored);
    }
    if (options.on_corrupt) options.on_corrupt(moved, totals.error().message);
    totals = OpenDatabase(handles, path, today - std::chrono::days(options.retention_days));
  }
  if (!totals) return std::unexpected("ledger " + path + ": " + totals.error().message);
  auto impl =
      std::make_unique<Impl>(std::move(options), std::move(handles), std::move(*totals), today);
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl), path));
}

Ledger::Ledger(std::unique_ptr<Impl> impl, std::string path)
    : impl_(std::move(impl)), path_(std::move(path)) {}

Ledger::~Ledger() = default;

void Ledger::Record(const LedgerEntry& entry) { impl_->Record(entry); }

bool Ledger::Flush() { return impl_->Flush(); }

LedgerTotals Ledger::Totals(std::chrono::sys_days day, std::string_view vendor,
                            std::string_view model, std::string_view source) const {
  return impl_->Totals(Key{day, std::string(vendor), std::string(model), std::string(source)});
}

int64_t Ledger::SpendNanoUsd(std::chrono::sys_days day, std::string_view source) const {
  int64_t sum = 0;
  impl_->ForDay(day, [&](const Key& key, const LedgerTotals& totals) {
    if (key.source == source) {
      sum = SatAdd(sum, SatAdd(totals.cost_nano_usd, totals.estimated_cost_nano_usd));
    }
  });
  return sum;
}

std::vector<LedgerRow> Ledger::Day(std::chrono::sys_days day, std::string_view source) const {
  std::map<std::pair<std::string, std::string>, LedgerTotals> merged;
  impl_->ForDay(day, [&](const Key& key, const LedgerTotals& totals) {
    if (source.empty() || key.source == source) Add(merged[{key.vendor, key.model}], totals);
  });
  std::vector<LedgerRow> rows;
  rows.reserve(merged.size());
  for (auto& [name, totals] : merged) rows.push_back(LedgerRow{name.first, name.second, totals});
  return rows;
}

int64_t Ledger::RecordedEntries() const { return impl_->RecordedEntries(); }
int64_t Ledger::CommittedEntries() const { return impl_->CommittedEntries(); }
std::string Ledger::LastError() const { return impl_->LastError(); }
LedgerHealth Ledger::Health() const { return impl_->Health(); }
int64_t Ledger::LifetimeNanoUsd(std::string_view vendor) const { return impl_->Lifetime(vendor); }

}  // namespace llm_exporter::pricing
