#include "pricing/ledger.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <thread>

#include "test_support.h"

namespace llm_exporter::pricing {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using testing::TempDir;

const sys_days kDay = sys_days(std::chrono::year(2025) / 6 / 1);

LedgerEntry Entry(sys_days day, std::string vendor, std::string model, std::string source,
                  Usage usage, std::optional<int64_t> cost) {
  return LedgerEntry{day, std::move(vendor), std::move(model), std::move(source), usage, cost};
}

std::unique_ptr<Ledger> MustOpen(LedgerOptions options) {
  auto ledger = Ledger::Open(std::move(options));
  BOOST_REQUIRE_MESSAGE(ledger.has_value(), (ledger ? "" : ledger.error()));
  return std::move(*ledger);
}

LedgerOptions Options(const std::string& state_dir,
                      std::chrono::milliseconds batch_delay = std::chrono::hours(1)) {
  LedgerOptions options;
  options.state_dir = state_dir;
  options.batch_delay = batch_delay;
  // Retention is measured from a fixed "today" unless a test moves it.
  options.now = [] { return kDay + std::chrono::hours(12); };
  return options;
}

// Polls instead of sleeping blindly.
template <typename Predicate>
bool WaitFor(Predicate predicate, std::chrono::seconds deadline = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return predicate();
}

BOOST_AUTO_TEST_SUITE(ledger)

BOOST_AUTO_TEST_CASE(reads_include_entries_not_yet_committed) {
  TempDir dir;
  auto ledger = MustOpen(Options(dir.Sub("state")));  // the writer waits an hour
  ledger->Record(Entry(kDay, "openai", "gpt-4.1", "probe", {.input = 10, .output = 5}, 100));
  ledger->Record(Entry(kDay, "openai", "gpt-4.1", "probe",
                       {.input = 1,
                        .cached_input = 2,
                        .cache_write_5m = 3,
                        .cache_write_1h = 4,
                        .output = 5,
                        .reasoning = 6},
                       50));
  ledger->Record(Entry(kDay, "openai", "gpt-4.1", "probe", {.input = 7}, std::nullopt));
  ledger->Record(Entry(kDay, "openai", "gpt-4.1", "proxy", {.input = 1}, 1000));

  BOOST_TEST(ledger->CommittedEntries() == 0);
  BOOST_TEST(ledger->RecordedEntries() == 4);
  const LedgerTotals want{.requests = 3,
                          .unpriced_requests = 1,
                          .tokens = {.input = 18,
                                     .cached_input = 2,
                                     .cache_write_5m = 3,
                                     .cache_write_1h = 4,
                                     .output = 10,
                                     .reasoning = 6},
                          .cost_nano_usd = 150};
  BOOST_TEST((ledger->Totals(kDay, "openai", "gpt-4.1", "probe") == want));
  BOOST_TEST(ledger->SpendNanoUsd(kDay, "probe") == 150);
  BOOST_TEST(ledger->SpendNanoUsd(kDay, "proxy") == 1000);
  BOOST_TEST(ledger->SpendNanoUsd(kDay + days(1), "probe") == 0);

  BOOST_TEST(ledger->Flush());
  BOOST_TEST(ledger->CommittedEntries() == 4);
  BOOST_TEST(ledger->LastError().empty());
  BOOST_TEST((ledger->Totals(kDay, "openai", "gpt-4.1", "probe") == want));
}

BOOST_AUTO_TEST_CASE(lists_a_day_per_vendor_and_model) {
  TempDir dir;
  auto ledger = MustOpen(Options(dir.Sub("state")));
  ledger->Record(Entry(kDay, "openai", "gpt-4.1", "probe", {.input = 1}, 10));
  ledger->Record(Entry(kDay, "openai", "gpt-4.1", "proxy", {.input = 2}, 20));
  ledger->Record(Entry(kDay, "anthropic", "claude-sonnet-4-5", "proxy", {.output = 3}, 30));
  ledger->Record(Entry(kDay + days(1), "openai", "gpt-4.1", "probe", {.input = 4}, 40));
  ledger->Record(Entry(kDay - days(1), "openai", "gpt-4.1", "probe", {.input = 5}, 50));

  const auto all = ledger->Day(kDay);
  BOOST_REQUIRE(all.size() == 2u);
  BOOST_TEST(all[0].vendor == "anthropic");
  BOOST_TEST(all[0].totals.cost_nano_usd == 30);
  BOOST_TEST(all[1].vendor == "openai");
  BOOST_TEST(all[1].model == "gpt-4.1");
  BOOST_TEST(all[1].totals.requests == 2);
  BOOST_TEST(all[1].totals.tokens.input == 3);
  BOOST_TEST(all[1].totals.cost_nano_usd == 30);

  const auto probes = ledger->Day(kDay, "probe");
  BOOST_REQUIRE(probes.size() == 1u);
  BOOST_TEST(probes[0].totals.cost_nano_usd == 10);
  BOOST_TEST(ledger->Day(kDay + days(2)).empty());
}

BOOST_AUTO_TEST_CASE(restart_keeps_totals) {
  TempDir dir;
  const LedgerTotals one{.requests = 1, .tokens = {.input = 3, .output = 4}, .cost_nano_usd = 7};
  {
    auto ledger = MustOpen(Options(dir.Sub("state")));
    ledger->Record(Entry(kDay, "v", "m", "proxy", {.input = 3, .output = 4}, 7));
  }  // the destructor commits what is pending
  {
    auto ledger = MustOpen(Options(dir.Sub("state")));
    BOOST_TEST((ledger->Totals(kDay, "v", "m", "proxy") == one));
    BOOST_TEST(ledger->RecordedEntries() == 0);
    ledger->Record(Entry(kDay, "v", "m", "proxy", {.input = 3, .output = 4}, 7));
    BOOST_TEST(ledger->Totals(kDay, "v", "m", "proxy").requests == 2);
  }
  auto ledger = MustOpen(Options(dir.Sub("state")));
  BOOST_TEST(ledger->Totals(kDay, "v", "m", "proxy").requests == 2);
  BOOST_TEST(ledger->Totals(kDay, "v", "m", "proxy").cost_nano_usd == 14);
  BOOST_TEST(ledger->path() == dir.Sub("state") + "/ledger.sqlite");
}

BOOST_AUTO_TEST_CASE(the_writer_commits_by_itself_within_the_batch_delay) {
  TempDir dir;
  std::atomic<int64_t> last_reported{0};
  LedgerOptions options = Options(dir.Sub("state"), std::chrono::milliseconds(20));
  options.on_commit = [&](int64_t committed) { last_reported = committed; };
  auto ledger = MustOpen(std::move(options));
  for (int i = 0; i < 100; ++i) ledger->Record(Entry(kDay, "v", "m", "probe", {.input = 1}, 1));
  BOOST_TEST(WaitFor([&] { return last_reported.load() == 100; }));
  BOOST_TEST(ledger->CommittedEntries() == 100);
}

BOOST_AUTO_TEST_CASE(retention_deletes_old_days_at_open_and_daily) {
  TempDir dir;
  std::atomic<int64_t> today_offset{0};  // days after kDay
  auto options = [&] {
    LedgerOptions o = Options(dir.Sub("state"));
    o.retention_days = 400;
    o.now = [&] { return kDay + days(today_offset.load()) + std::chrono::hours(1); };
    return o;
  };
  {
    auto ledger = MustOpen(options());
    ledger->Record(Entry(kDay - days(401), "v", "m", "probe", {.input = 1}, 1));
    ledger->Record(Entry(kDay - days(400), "v", "m", "probe", {.input = 1}, 1));
    ledger->Record(Entry(kDay, "v", "m", "probe", {.input = 1}, 1));
  }
  {
    auto ledger = MustOpen(options());  // prunes at open
    BOOST_TEST(ledger->Totals(kDay - days(401), "v", "m", "probe").requests == 0);
    BOOST_TEST(ledger->Totals(kDay - days(400), "v", "m", "probe").requests == 1);
    BOOST_TEST(ledger->Totals(kDay, "v", "m", "probe").requests == 1);

    today_offset = 1;  // the UTC day changes while running
    ledger->Record(Entry(kDay + days(1), "v", "m", "probe", {.input = 1}, 1));
    BOOST_TEST(ledger->Flush());
    BOOST_TEST(ledger->Totals(kDay - days(400), "v", "m", "probe").requests == 0);
    BOOST_TEST(ledger->Totals(kDay - days(399), "v", "m", "probe").requests == 0);
    BOOST_TEST(ledger->Totals(kDay, "v", "m", "probe").requests == 1);
  }
  auto ledger = MustOpen(options());
  BOOST_TEST(ledger->Day(kDay - days(400)).empty());
  BOOST_TEST(ledger->Totals(kDay + days(1), "v", "m", "probe").requests == 1);
}

BOOST_AUTO_TEST_CASE(creates_a_missing_state_dir) {
  TempDir dir;
  auto ledger = MustOpen(Options(dir.Sub("a/b/state")));
  BOOST_TEST(std::filesystem::is_regular_file(dir.Sub("a/b/state/ledger.sqlite")));
}

BOOST_AUTO_TEST_CASE(unusable_state_dirs_are_clear_errors) {
  TempDir dir;
  std::ofstream(dir.Sub("file")) << "not a directory";
  {
    const auto ledger = Ledger::Open(Options(dir.Sub("file")));
    BOOST_REQUIRE(!ledger.has_value());
    BOOST_TEST(ledger.error() == "state dir " + dir.Sub("file") + " is not a directory");
  }
  {
    const auto ledger = Ledger::Open(Options(dir.Sub("file/state")));
    BOOST_REQUIRE(!ledger.has_value());
    BOOST_TEST(ledger.error() ==
               "cannot create state dir " + dir.Sub("file/state") + ": Not a directory");
  }
  if (geteuid() == 0) {
    BOOST_TEST_MESSAGE("running as root: permission bits do not stop root, skipping chmod case");
  } else {
    std::filesystem::create_directory(dir.Sub("read-only"));
    chmod(dir.Sub("read-only").c_str(), 0500);
    const auto ledger = Ledger::Open(Options(dir.Sub("read-only")));
    BOOST_REQUIRE(!ledger.has_value());
    BOOST_TEST(ledger.error() ==
               "state dir " + dir.Sub("read-only") + " is not writable: Permission denied");
    const auto below = Ledger::Open(Options(dir.Sub("read-only/state")));
    BOOST_REQUIRE(!below.has_value());
    BOOST_TEST(below.error() ==
               "cannot create state dir " + dir.Sub("read-only/state") + ": Permission denied");
    chmod(dir.Sub("read-only").c_str(), 0700);
  }
  {
    LedgerOptions options = Options(dir.Sub("state"));
    options.state_dir.clear();
    BOOST_TEST(Ledger::Open(options).error() == "ledger: state dir is empty");
  }
}

BOOST_AUTO_TEST_CASE(one_ledger_per_state_dir) {
  TempDir dir;
  auto first = MustOpen(Options(dir.Sub("state")));
  const auto second = Ledger::Open(Options(dir.Sub("state")));
  BOOST_REQUIRE(!second.has_value());
  BOOST_TEST(second.error() ==
             "ledger in " + dir.Sub("state") + " is already open (by another process or Ledger)");
  first.reset();
  BOOST_TEST(Ledger::Open(Options(dir.Sub("state"))).has_value());
}

// A failed commit (here: another connection holds the database's write lock)
// is reported through the callback and Health(); the entries stay pending and
// are committed once the lock is gone.
BOOST_AUTO_TEST_CASE(failed_commits_are_visible_and_retried) {
  TempDir dir;
  std::atomic<int> callbacks{0};
  std::string reported;
  std::mutex reported_mutex;
  LedgerOptions options = Options(dir.Sub("state"), std::chrono::milliseconds(10));
  options.on_commit_error = [&](const std::string& error, int64_t) {
    std::lock_guard lock(reported_mutex);
    reported = error;
    ++callbacks;
  };
  auto ledger = MustOpen(options);
  const auto opened = ledger->Health().last_commit;
  BOOST_TEST(opened.has_value());

  sqlite3* blocker = nullptr;
  BOOST_REQUIRE(sqlite3_open((dir.Sub("state") + "/ledger.sqlite").c_str(), &blocker) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(blocker, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  ledger->Record(Entry(kDay, "v", "m", "probe", {.input = 1}, 5));
  BOOST_REQUIRE(WaitFor([&] { return callbacks > 0; }, std::chrono::seconds(20)));
  LedgerHealth health = ledger->Health();
  BOOST_TEST(health.failed_commits >= 1);
  BOOST_TEST(health.pending_entries == 1);
  BOOST_TEST(health.last_error.find("database is locked") != std::string::npos);
  {
    std::lock_guard lock(reported_mutex);
    BOOST_TEST(reported == health.last_error);
  }
  BOOST_TEST(ledger->Totals(kDay, "v", "m", "probe").cost_nano_usd == 5);  // not lost

  sqlite3_exec(blocker, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(blocker);
  BOOST_REQUIRE(ledger->Flush());
  health = ledger->Health();
  BOOST_TEST(health.last_error.empty());
  BOOST_TEST(health.pending_entries == 0);
  BOOST_TEST((*health.last_commit >= *opened));
}

// Replies without usage are booked apart, as an upper bound that the budget
// (SpendNanoUsd) counts and that survives a restart.
BOOST_AUTO_TEST_CASE(usage_missing_requests_keep_their_estimate) {
  TempDir dir;
  {
    auto ledger = MustOpen(Options(dir.Sub("state")));
    ledger->Record(Entry(kDay, "v", "m", "probe", {.input = 10, .output = 5}, 100));
    LedgerEntry missing = Entry(kDay, "v", "m", "probe", {}, std::nullopt);
    missing.usage_missing = true;
    missing.estimated_cost_nano_usd = 40;
    ledger->Record(missing);
    BOOST_REQUIRE(ledger->Flush());
  }
  auto ledger = MustOpen(Options(dir.Sub("state")));
  LedgerTotals totals = ledger->Totals(kDay, "v", "m", "probe");
  BOOST_TEST(totals.requests == 2);
  BOOST_TEST(totals.unpriced_requests == 0);
  BOOST_TEST(totals.cost_nano_usd == 100);
  BOOST_TEST(totals.usage_missing_requests == 1);
  BOOST_TEST(totals.estimated_cost_nano_usd == 40);
  BOOST_TEST(ledger->SpendNanoUsd(kDay, "probe") == 140);
}

// Sums saturate: absurd figures can never wrap a total negative.
BOOST_AUTO_TEST_CASE(sums_saturate_instead_of_wrapping) {
  TempDir dir;
  auto ledger = MustOpen(Options(dir.Sub("state")));
  const int64_t max = std::numeric_limits<int64_t>::max();
  ledger->Record(Entry(kDay, "v", "m", "probe", {.output = max}, max));
  ledger->Record(Entry(kDay, "v", "m", "probe", {.output = max}, max));
  LedgerTotals totals = ledger->Totals(kDay, "v", "m", "probe");
  BOOST_TEST(totals.cost_nano_usd == max);
  BOOST_TEST(totals.tokens.output == max);
  BOOST_TEST(ledger->SpendNanoUsd(kDay, "probe") == max);
  BOOST_TEST(SatAdd(max, 1) == max);
  BOOST_TEST(SatAdd(-max, -5) == std::numeric_limits<int64_t>::min());
}

// A file that is not a database is moved aside (kept) and a fresh ledger starts.
BOOST_AUTO_TEST_CASE(a_corrupt_file_is_moved_aside) {
  TempDir dir;
  const std::string state = dir.Sub("state");
  std::filesystem::create_directories(state);
  std::ofstream(state + "/ledger.sqlite") << std::string(4096, 'z');
  std::string moved_to, error;
  LedgerOptions options = Options(state);
  options.on_corrupt = [&](const std::string& moved, const std::string& why) {
    moved_to = moved;
    error = why;
  };
  auto ledger = MustOpen(options);
  BOOST_TEST(moved_to == state + "/ledger.sqlite.corrupt-20250601T120000Z");
  BOOST_TEST(error.find("file is not a database") != std::string::npos);
  BOOST_TEST(std::filesystem::file_size(moved_to) == 4096u);
  ledger->Record(Entry(kDay, "v", "m", "probe", {.input = 1}, 1));
  BOOST_TEST(ledger->Flush());
}

// A ledger written by the first schema upgrades in place: its rows stay, and
// the lifetime totals start from them.
BOOST_AUTO_TEST_CASE(a_version_1_ledger_upgrades_with_its_rows) {
  TempDir dir;
  const std::string state = dir.Sub("state");
  std::filesystem::create_directories(state);
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open((state + "/ledger.sqlite").c_str(), &db) == SQLITE_OK);
  const char* v1 =
      "CREATE TABLE totals (day TEXT NOT NULL, vendor TEXT NOT NULL, model TEXT NOT NULL,"
      " source TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,"
      " unpriced_requests INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,"
      " cached_input_tokens INTEGER NOT NULL DEFAULT 0,"
      " cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,"
      " cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,"
      " output_tokens INTEGER NOT NULL DEFAULT 0, reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
      " cost_nano_usd INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, vendor, model, source))"
      " WITHOUT ROWID;"
      "INSERT INTO totals (day, vendor, model, source, requests, output_tokens, cost_nano_usd)"
      " VALUES ('2025-06-01', 'gw', 'm', 'probe', 3, 30, 900),"
      " ('2025-05-31', 'gw', 'm', 'proxy', 1, 10, 100);"
      "PRAGMA user_version = 1;";
  BOOST_REQUIRE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto ledger = MustOpen(Options(state));
  LedgerTotals totals = ledger->Totals(kDay, "gw", "m", "probe");
  BOOST_TEST(totals.requests == 3);
  BOOST_TEST(totals.cost_nano_usd == 900);
  BOOST_TEST(totals.usage_missing_requests == 0);
  BOOST_TEST(ledger->LifetimeNanoUsd("gw") == 1000);
  ledger->Record(Entry(kDay, "gw", "m", "probe", {.output = 1}, 5));
  BOOST_TEST(ledger->LifetimeNanoUsd("gw") == 1005);
}

BOOST_AUTO_TEST_CASE(schema_is_versioned_and_wal) {
  TempDir dir;
  MustOpen(Options(dir.Sub("state")));
  const std::string path = dir.Sub("state/ledger.sqlite");
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const auto query = [&](const char* sql) {
    sqlite3_stmt* statement = nullptr;
    std::string value;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
    return value;
  };
  BOOST_TEST(query("PRAGMA user_version") == "3");
  BOOST_TEST(query("PRAGMA journal_mode") == "wal");
  BOOST_TEST(query("PRAGMA user_version = 99").empty());
  sqlite3_close(db);

  const auto ledger = Ledger::Open(Options(dir.Sub("state")));
  BOOST_REQUIRE(!ledger.has_value());
  BOOST_TEST(ledger.error() ==
             "ledger " + path + ": schema version 99 is newer than this build knows (3)");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::pricing
