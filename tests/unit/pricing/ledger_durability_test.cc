// A writer killed with SIGKILL part-way loses only what was not yet committed:
// after reopening, the totals are exactly those of the entries the child last
// reported durable. Nothing is counted twice, nothing beyond is counted.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <map>
#include <sstream>

#include "pricing/cost.h"
#include "pricing/ledger.h"
#include "test_support.h"

extern char** environ;

namespace llm_exporter::pricing {
namespace {

using std::chrono::sys_days;
using testing::TempDir;

constexpr int kEntries = 10'000;
constexpr int kKillAfterBatches = 3;
constexpr int64_t kTail = 200;  // entries recorded after the last commit before the kill

// The child process with a pipe to its stdin and one from its stdout.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int to_child[2];
    int from_child[2];
    BOOST_REQUIRE(pipe2(to_child, O_CLOEXEC) == 0);
    BOOST_REQUIRE(pipe2(from_child, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const int error = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    to_child_ = to_child[1];
    from_child_ = from_child[0];
    BOOST_REQUIRE_MESSAGE(error == 0, "cannot start " << argv[0]);
  }

  ~Child() {
    if (pid_ > 0) Kill();
    close(to_child_);
    close(from_child_);
  }

  // The next line of output, or "" on EOF or when the deadline passes.
  std::string ReadLine(std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (true) {
      if (const size_t newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd fd{from_child_, POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[512];
      const ssize_t n = read(from_child_, chunk, sizeof(chunk));
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  void WriteLine(const std::string& line) {
    const std::string text = line + "\n";
    BOOST_REQUIRE(write(to_child_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }

  // SIGKILL and reap; returns the wait status.
  int Kill() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;
};

// What the child said last (see ledger_writer.cc for the line formats).
struct Progress {
  int64_t committed = -1;
  int64_t pending_since_ms = -1;
  int64_t committed_at_ms = 0;
  int64_t recorded = 0;
  int64_t recorded_at_ms = 0;
  int batches = 0;

  // False for a line that is neither kind.
  bool Read(const std::string& line) {
    std::istringstream fields(line);
    std::string kind;
    std::string label;
    fields >> kind;
    if (kind == "committed") {
      fields >> committed >> label >> pending_since_ms >> kind;
      ++batches;
    }
    if (kind != "recorded") return false;
    int64_t count = 0;
    int64_t at_ms = 0;
    fields >> count >> label >> at_ms;
    if (line.starts_with("committed")) committed_at_ms = at_ms;
    // The two threads' lines may arrive out of order: keep the latest.
    if (count > recorded) {
      recorded = count;
      recorded_at_ms = at_ms;
    }
    return !fields.fail();
  }
};

BOOST_AUTO_TEST_SUITE(ledger_durability)

BOOST_AUTO_TEST_CASE(sigkill_loses_only_uncommitted_entries) {
  TempDir dir;
  const std::string state_dir = dir.Sub("state");
  const sys_days today = UtcDay(std::chrono::system_clock::now());
  Child child({LEDGER_WRITER_PATH, state_dir, std::to_string(kEntries),
               std::to_string(today.time_since_epoch().count()), "20"});

  Progress last;
  while (last.batches < kKillAfterBatches) {
    const std::string line = child.ReadLine(std::chrono::seconds(30));
    BOOST_REQUIRE_MESSAGE(last.Read(line), "unexpected child output: '" << line << "'");
    // After a "committed" line the child's writer waits for this reply before
    // it may commit again, so the last report is exactly what is durable when
    // the kill lands; recording goes on meanwhile.
    if (line.starts_with("committed") && last.batches < kKillAfterBatches) child.WriteLine("go");
  }
  // Let recording run on past the last commit, so the kill has a real
  // uncommitted tail to lose.
  while (last.recorded < std::min<int64_t>(last.committed + kTail, kEntries)) {
    const std::string line = child.ReadLine(std::chrono::seconds(30));
    BOOST_REQUIRE_MESSAGE(last.Read(line), "unexpected child output: '" << line << "'");
  }
  const int status = child.Kill();
  BOOST_REQUIRE(WIFSIGNALED(status));
  BOOST_TEST(WTERMSIG(status) == SIGKILL);
  // Progress written before the kill is still in the pipe.
  for (std::string line; !(line = child.ReadLine(std::chrono::seconds(5))).empty();) {
    BOOST_REQUIRE_MESSAGE(last.Read(line), "unexpected child output: '" << line << "'");
  }
  BOOST_REQUIRE(last.committed > 0);
  BOOST_REQUIRE(last.committed < kEntries);
  BOOST_TEST(last.batches == kKillAfterBatches);

  LedgerOptions options;
  options.state_dir = state_dir;
  auto ledger = Ledger::Open(options);
  BOOST_REQUIRE_MESSAGE(ledger.has_value(), (ledger ? "" : ledger.error()));

  // Entry i went to model m<i%3>, source probe (even i) or proxy (odd i).
  std::map<std::pair<std::string, std::string>, LedgerTotals> want;
  for (int64_t i = 0; i < last.committed; ++i) {
    LedgerTotals& totals = want[{"m" + std::to_string(i % 3), i % 2 == 0 ? "probe" : "proxy"}];
    totals.requests += 1;
    totals.tokens += Usage{.input = 1, .output = 2, .reasoning = 1};
    if (i % 10 == 9) {
      totals.unpriced_requests += 1;
    } else {
      totals.cost_nano_usd += 10;
    }
  }
  for (const auto& [key, totals] : want) {
    BOOST_TEST_CONTEXT(key.first << "/" << key.second) {
      const LedgerTotals got = (*ledger)->Totals(today, "v", key.first, key.second);
      BOOST_TEST(got.requests == totals.requests);
      BOOST_TEST(got.unpriced_requests == totals.unpriced_requests);
      BOOST_TEST((got.tokens == totals.tokens));
      BOOST_TEST(got.cost_nano_usd == totals.cost_nano_usd);
    }
  }
  int64_t requests = 0;
  for (const LedgerRow& row : (*ledger)->Day(today)) requests += row.totals.requests;
  BOOST_TEST(requests == last.committed);

  // Entries recorded after the last report are lost too: the figures are lower bounds.
  const int64_t lost = last.recorded - last.committed;
  // With nothing pending at the commit, the first lost entry came after it.
  const int64_t lost_ms = last.recorded_at_ms - (last.pending_since_ms < 0 ? last.committed_at_ms
                                                                           : last.pending_since_ms);
  BOOST_TEST_MESSAGE("ledger_writer killed after "
                     << last.batches << " batches: " << last.committed << " of " << kEntries
                     << " entries durable, at least " << lost << " recorded entries (" << lost_ms
                     << " ms of recording) lost");
  std::printf(
      "ledger durability: %lld entries durable; >= %lld entries (%lld ms of recording) "
      "lost to SIGKILL\n",
      static_cast<long long>(last.committed), static_cast<long long>(lost),
      static_cast<long long>(lost_ms));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::pricing
