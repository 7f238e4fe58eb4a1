// llm_exporter: a Prometheus exporter for LLM APIs.

#include <civetweb.h>
#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>

#include "base/log.h"
#include "config/config.h"
#include "exporter/app.h"
#include "exporter/flags.h"
#include "exporter/version.h"

using llm_exporter::exporter::App;

namespace {

int CheckConfig(const llm_exporter::exporter::Flags& flags) {
  auto loaded = llm_exporter::exporter::LoadConfigAndPrices(flags.config_file);
  if (!loaded) {
    for (const auto& e : loaded.error()) std::cerr << e << "\n";
    std::cerr << flags.config_file << ": " << loaded.error().size() << " error"
              << (loaded.error().size() == 1 ? "" : "s") << "\n";
    return 1;
  }
  std::cout << flags.config_file << ": OK (" << loaded->config->vendors.size() << " vendors, "
            << loaded->config->probes.size() << " probes, " << loaded->prices->rows().size()
            << " price rows)\n";
  return 0;
}

// Stops the app, but exits anyway once the deadline passes: a client holding a
// connection open must not keep the process from honouring SIGTERM. Durable
// state is written by App::Stop() before it waits on the listener.
void StopWithin(App& app, std::chrono::milliseconds deadline) {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::thread stopper([&] {
    app.Stop();
    std::lock_guard lock(mutex);
    done = true;
    done_cv.notify_all();
  });
  std::unique_lock lock(mutex);
  if (!done_cv.wait_for(lock, deadline, [&] { return done; })) {
    LOG_WARN("Shutdown deadline passed; exiting without waiting for open connections",
             {"deadline", std::to_string(deadline.count()) + "ms"});
    std::fflush(nullptr);
    _exit(0);
  }
  lock.unlock();
  stopper.join();
}

// A scrape renders about a megabyte on one of the listener's worker threads.
// By default glibc gives busy threads their own malloc arenas (up to eight a
// core) and, after the first large free, raises its mmap threshold so that
// later large buffers come from those arenas too, where freed memory stays:
// 100 scrapes left 46 MB behind. Two arenas and a fixed threshold (buffers
// of 256 KiB or more are mapped and unmapped) keep RSS flat.
void BoundMallocArenas() {
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

}  // namespace

int main(int argc, char** argv) {
  BoundMallocArenas();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto flags = llm_exporter::exporter::ParseFlags(args);
  if (!flags) {
    std::cerr << "llm_exporter: error: " << flags.error() << ", try --help\n";
    return 1;
  }
  if (flags->help) {
    std::cout << llm_exporter::exporter::Usage();
    return 0;
  }
  if (flags->version) {
    std::cout << llm_exporter::exporter::VersionText();
    return 0;
  }
  llm_exporter::base::Log().Configure(*llm_exporter::base::ParseLogLevel(flags->log_level),
                                      *llm_exporter::base::ParseLogFormat(flags->log_format));
  if (flags->config_check) return CheckConfig(*flags);

  // Signals are taken synchronously by this thread; every thread started
  // from here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  // civetweb initialises OpenSSL here, once, before any listener exists.
  mg_init_library(MG_FEATURES_TLS);

  int exit_code = 0;
  {
    App app(*flags);
    LOG_INFO("Starting llm_exporter", {"version", std::string(llm_exporter::exporter::kVersion)},
             {"revision", std::string(llm_exporter::exporter::kRevision)});
    if (auto started = app.Start(); !started) {
      LOG_ERROR("Cannot start", {"err", started.error()});
      exit_code = 1;
    } else {
      for (;;) {
        int signal_number = 0;
        if (sigwait(&signals, &signal_number) != 0) continue;
        if (signal_number == SIGHUP) {
          (void)app.Reload();
          continue;
        }
        LOG_INFO("Received signal, exiting gracefully",
                 {"signal", std::string(strsignal(signal_number))});
        break;
      }
    }
    StopWithin(app, std::chrono::milliseconds(1500));
  }
  mg_exit_library();
  curl_global_cleanup();
  return exit_code;
}
