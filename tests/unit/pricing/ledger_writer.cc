// ledger_writer: the child process of the ledger durability test.
//
//   ledger_writer STATE_DIR COUNT DAY BATCH_DELAY_MS
//
// Records COUNT entries for DAY (days since 1970-01-01), pausing 1 ms every 20
// entries so that several batches commit. It prints (times in ms since start):
//   "recorded M at_ms T"              every 50 entries, from the recording thread;
//   "committed N pending_since_ms F recorded M at_ms T"  after each committed
//       batch: N entries are durable, the first entry that is not was recorded
//       at F (-1: none), and M entries were recorded at time T.
// After each "committed" line the writer waits for one line on stdin before it
// may commit again, so the parent can SIGKILL it at a moment when exactly N
// entries are durable. EOF on stdin means "never wait".
// Entry i: vendor "v", model "m<i%3>", source probe/proxy alternating, usage
// input 1 output 2 reasoning 1, unpriced when i%10 == 9, else 10 nano-USD.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "pricing/ledger.h"

namespace {

const auto kStart = std::chrono::steady_clock::now();

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               kStart)
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  using llm_exporter::pricing::Ledger;
  using llm_exporter::pricing::LedgerEntry;
  using llm_exporter::pricing::LedgerOptions;
  if (argc != 5) {
    std::fprintf(stderr, "usage: ledger_writer STATE_DIR COUNT DAY BATCH_DELAY_MS\n");
    return 2;
  }
  const std::string state_dir = argv[1];
  const int64_t count = std::atoll(argv[2]);
  const std::chrono::sys_days day{std::chrono::days(std::atoll(argv[3]))};
  const std::chrono::milliseconds batch_delay(std::atoll(argv[4]));

  std::vector<std::atomic<int64_t>> recorded_at_ms(static_cast<size_t>(count));
  std::atomic<int64_t> recorded{0};
  bool wait_for_parent = true;  // writer thread only

  LedgerOptions options;
  options.state_dir = state_dir;
  options.batch_delay = batch_delay;
  options.on_commit = [&](int64_t committed) {
    const int64_t seen = recorded.load();
    const int64_t pending_since = seen > committed ? recorded_at_ms[committed].load() : -1;
    std::printf("committed %lld pending_since_ms %lld recorded %lld at_ms %lld\n",
                static_cast<long long>(committed), static_cast<long long>(pending_since),
                static_cast<long long>(seen), static_cast<long long>(NowMs()));
    std::fflush(stdout);
    std::string line;
    if (wait_for_parent && !std::getline(std::cin, line)) wait_for_parent = false;
  };
  auto ledger = Ledger::Open(std::move(options));
  if (!ledger) {
    std::fprintf(stderr, "%s\n", ledger.error().c_str());
    return 1;
  }
  for (int64_t i = 0; i < count; ++i) {
    LedgerEntry entry;
    entry.day = day;
    entry.vendor = "v";
    entry.model = "m" + std::to_string(i % 3);
    entry.source = i % 2 == 0 ? "probe" : "proxy";
    entry.usage = {.input = 1, .output = 2, .reasoning = 1};
    if (i % 10 != 9) entry.cost_nano_usd = 10;
    recorded_at_ms[static_cast<size_t>(i)].store(NowMs());
    (*ledger)->Record(entry);
    recorded.store(i + 1);
    if ((i + 1) % 50 == 0) {
      std::printf("recorded %lld at_ms %lld\n", static_cast<long long>(i + 1),
                  static_cast<long long>(NowMs()));
      std::fflush(stdout);
    }
    if (i % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const bool flushed = (*ledger)->Flush();
  std::printf("done %lld\n", static_cast<long long>((*ledger)->CommittedEntries()));
  return flushed ? 0 : 1;
}
