#include "tests/fake_vendor/test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace llm_exporter::fake_vendor::testing {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

struct Transfer {
  std::chrono::steady_clock::time_point start;
  HttpResult* result;
};

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  transfer->result->body.append(data, bytes);
  transfer->result->pieces.push_back({MillisSince(transfer->start), std::string(data, bytes)});
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.remove_suffix(1);
    transfer->result->headers[Lower(std::string(line.substr(0, colon)))] = std::string(value);
  }
  return bytes;
}

}  // namespace

std::expected<std::unique_ptr<FakeVendorProcess>, std::string> FakeVendorProcess::Spawn(
    const std::vector<std::string>& args, const Environment& env) {
  std::string pattern = (std::filesystem::temp_directory_path() / "fake_vendor_test.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return std::unexpected(std::string("mkdtemp: ") + std::strerror(errno));
  }
  std::unique_ptr<FakeVendorProcess> process(new FakeVendorProcess);
  process->dir_ = pattern;

  std::vector<std::string> argv_storage = {FAKE_VENDOR_BIN};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The child sees our environment minus any inherited keys, plus `env`.
  std::vector<std::string> env_storage;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view variable = *entry;
    if (!variable.starts_with("FAKE_VENDOR_API_KEY=") &&
        !variable.starts_with("FAKE_VENDOR_ADMIN_KEY=")) {
      env_storage.push_back(*entry);
    }
  }
  for (const auto& [name, value] : env) env_storage.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_storage) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = process->dir_ / "stdout";
  const std::string err = process->dir_ / "stderr";
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const int spawned =
      posix_spawn(&process->pid_, FAKE_VENDOR_BIN, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    process->pid_ = -1;
    return std::unexpected(std::string("posix_spawn: ") + std::strerror(spawned));
  }
  return process;
}

std::expected<std::unique_ptr<FakeVendorProcess>, std::string> FakeVendorProcess::Start(
    const std::vector<std::string>& args, const Environment& env) {
  // The port file lives in the process's own directory, unknown until spawned;
  // a sibling directory of our own keeps the path stable.
  std::string pattern = (std::filesystem::temp_directory_path() / "fake_vendor_port.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return std::unexpected(std::string("mkdtemp: ") + std::strerror(errno));
  }
  const std::filesystem::path port_dir = pattern;
  const std::filesystem::path port_file = port_dir / "port";
  std::vector<std::string> full_args = {"--listen", "127.0.0.1:0", "--port-file",
                                        port_file.string()};
  full_args.insert(full_args.end(), args.begin(), args.end());
  auto process = Spawn(full_args, env);
  if (!process) {
    std::filesystem::remove_all(port_dir);
    return process;
  }
  std::string port_text;
  std::optional<int> early_exit;
  const bool ready = PollUntil(
      [&] {
        port_text = ReadFile(port_file);
        if (!port_text.empty()) return true;
        early_exit = (*process)->WaitExit(std::chrono::milliseconds(0));
        return early_exit.has_value();
      },
      std::chrono::seconds(10));
  std::filesystem::remove_all(port_dir);
  if (!ready || early_exit) {
    return std::unexpected("fake_vendor did not start (" +
                           (early_exit ? "exit " + std::to_string(*early_exit) : "timeout") +
                           "): " + (*process)->Stderr());
  }
  (*process)->port_ = std::stoi(port_text);
  return process;
}

FakeVendorProcess::~FakeVendorProcess() {
  // A graceful stop lets LeakSanitizer run in sanitizer builds; SIGKILL is the
  // fallback for a wedged child.
  if (pid_ > 0 && !reaped_ && !StopWith(SIGTERM, std::chrono::seconds(2))) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (pid_ > 0) {
    const std::string errors = Stderr();
    BOOST_CHECK_MESSAGE(errors.find("Sanitizer") == std::string::npos &&
                            errors.find("runtime error:") == std::string::npos,
                        "fake_vendor reported a sanitizer error:\n"
                            << errors);
  }
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

std::string FakeVendorProcess::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::optional<int> FakeVendorProcess::WaitExit(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return std::nullopt;
  std::optional<int> exit_code;
  PollUntil(
      [&] {
        int status = 0;
        const pid_t done = waitpid(pid_, &status, WNOHANG);
        if (done != pid_) return false;
        reaped_ = true;
        exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
      },
      deadline);
  return exit_code;
}

std::optional<int> FakeVendorProcess::StopWith(int signal, std::chrono::milliseconds deadline) {
  if (pid_ <= 0 || reaped_) return std::nullopt;
  kill(pid_, signal);
  return WaitExit(deadline);
}

std::string FakeVendorProcess::Stdout() const { return ReadFile(dir_ / "stdout"); }
std::string FakeVendorProcess::Stderr() const { return ReadFile(dir_ / "stderr"); }

HttpResult Perform(const HttpRequest& request) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    result.code = CURLE_FAILED_INIT;
    return result;
  }
  Transfer transfer{std::chrono::steady_clock::now(), &result};
  char error[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  transfer.start = std::chrono::steady_clock::now();
  result.code = curl_easy_perform(curl);
  result.elapsed_ms = MillisSince(transfer.start);
  result.error = error;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

std::vector<SseEvent> ParseSse(const std::vector<Piece>& pieces) {
  std::vector<SseEvent> events;
  std::string buffer;
  SseEvent current;
  bool has_content = false;
  auto take_line = [&](std::string_view line, double at_ms) {
    if (line.empty()) {
      if (has_content) {
        current.at_ms = at_ms;
        events.push_back(current);
      }
      current = SseEvent{};
      has_content = false;
      return;
    }
    if (line.front() == ':') return;
    const size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (field == "event") {
      current.event = value;
      has_content = true;
    } else if (field == "data") {
      if (!current.data.empty()) current.data.push_back('\n');
      current.data.append(value);
      has_content = true;
    }
  };
  for (const auto& piece : pieces) {
    buffer += piece.data;
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      std::string_view line(buffer.data(), newline);
      if (line.ends_with('\r')) line.remove_suffix(1);
      take_line(line, piece.at_ms);
      buffer.erase(0, newline + 1);
    }
  }
  if (!buffer.empty()) take_line(buffer, -1);
  if (has_content) {
    current.at_ms = -1;
    events.push_back(current);
  }
  return events;
}

}  // namespace llm_exporter::fake_vendor::testing
