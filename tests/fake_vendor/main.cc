// fake_vendor: a deterministic fake LLM vendor for llm_exporter's tests and demo.
// See README.md in this folder.

#include <civetweb.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pricing/price_book.h"
#include "tests/fake_vendor/log.h"
#include "tests/fake_vendor/options.h"
#include "tests/fake_vendor/server.h"

namespace {

using llm_exporter::fake_vendor::Log;
using llm_exporter::fake_vendor::LogLevel;

// Readers poll for the file, so it must appear complete: write aside, then rename.
bool WritePortFile(const std::string& path, int port) {
  const std::string temporary = path + ".tmp." + std::to_string(getpid());
  std::FILE* file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) return false;
  const bool written = std::fprintf(file, "%d\n", port) > 0;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fv = llm_exporter::fake_vendor;
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  auto command_line =
      fv::ParseCommandLine(args, std::getenv(std::string(fv::kApiKeyEnvironmentVariable).c_str()),
                           std::getenv(std::string(fv::kAdminKeyEnvironmentVariable).c_str()));
  if (!command_line) {
    std::fprintf(stderr, "fake_vendor: %s\n%.*s", command_line.error().c_str(),
                 static_cast<int>(fv::UsageText().size()), fv::UsageText().data());
    return 2;
  }
  if (command_line->help) {
    std::fwrite(fv::UsageText().data(), 1, fv::UsageText().size(), stdout);
    return 0;
  }
  if (!command_line->prices_file.empty()) {
    auto book = fv::PriceList::Load(command_line->prices_file);
    if (!book) {
      std::fprintf(stderr, "fake_vendor: %s\n", book.error().c_str());
      return 2;
    }
    if (!book->HasTable(command_line->server.price_table)) {
      std::fprintf(stderr, "fake_vendor: --price-table: no table \"%s\" in %s\n",
                   command_line->server.price_table.c_str(), command_line->prices_file.c_str());
      return 2;
    }
    command_line->server.price_book = std::make_shared<const fv::PriceList>(std::move(*book));
  }

  // Block the stop signals before civetweb starts its threads so that they all
  // inherit the mask and only sigwait() below sees SIGTERM/SIGINT.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  mg_init_library(0);
  fv::Server server(command_line->server);
  auto port = server.Start();
  if (!port) {
    Log(LogLevel::kError, "Cannot start", {{"error", port.error()}});
    mg_exit_library();
    return 1;
  }
  if (!command_line->port_file.empty() && !WritePortFile(command_line->port_file, *port)) {
    Log(LogLevel::kError, "Cannot write port file",
        {{"path", command_line->port_file}, {"error", std::strerror(errno)}});
    server.Stop();
    mg_exit_library();
    return 1;
  }
  const std::string_view host = fv::ListenHost(command_line->server.listen);
  std::printf("fake_vendor listening on %.*s:%d\n", static_cast<int>(host.size()), host.data(),
              *port);
  std::fflush(stdout);
  Log(LogLevel::kInfo, "Listening",
      {{"address", std::string(host) + ":" + std::to_string(*port)},
       {"auth", command_line->server.api_key.empty() ? "none" : "<secret>"},
       {"admin_auth", command_line->server.admin_key.empty() ? "api key" : "<secret>"},
       {"prices", command_line->prices_file.empty() ? "none" : command_line->prices_file},
       {"fault", std::string(fv::FaultName(command_line->server.fault.fault))}});

  int received = 0;
  while (sigwait(&stop_signals, &received) != 0) {
  }
  Log(LogLevel::kInfo, "Stopping", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.Stop();
  mg_exit_library();
  return 0;
}
