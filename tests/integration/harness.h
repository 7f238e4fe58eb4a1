#pragma once

// Test harness for integration tests: real processes on loopback, real HTTP,
// and deadlines instead of sleeps.

#include <rapidjson/document.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llm_exporter::testing {

using namespace std::chrono_literals;

// A fresh directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);

// A child process with stdout and stderr captured to files; killed (SIGKILL)
// at destruction if still running.
class Process {
 public:
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
          const std::string& log_dir, const std::string& name);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal) const;
  // Exit code (or 128+signal) once exited within the deadline, else -1.
  int Wait(std::chrono::milliseconds deadline);
  bool Running();
  std::string Stdout() const { return ReadFile(stdout_path_); }
  std::string Stderr() const { return ReadFile(stderr_path_); }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// Polls `condition` until it holds or the deadline passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
             std::chrono::milliseconds poll = 20ms);

struct HttpResult {
  long status = 0;  // 0: transport error
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;
};
HttpResult HttpGet(const std::string& url, const std::vector<std::string>& headers = {},
                   std::chrono::milliseconds timeout = 10s);
HttpResult HttpPost(const std::string& url, const std::string& body,
                    const std::vector<std::string>& headers = {},
                    std::chrono::milliseconds timeout = 10s);

// A TCP socket bound to a free loopback port (given in `port`), not listening yet.
int BindLoopback(int* port);
// A TCP port that was free a moment ago (for programs that cannot report theirs).
int FreePort();

// logfmt line -> key/value map.
std::map<std::string, std::string> ParseLogfmt(const std::string& line);
// Finds the first log line with msg == `msg` and returns its fields.
std::optional<std::map<std::string, std::string>> FindLog(const std::string& log,
                                                          const std::string& msg);

// Parsed text exposition: "name{a=\"b\",...}" (labels sorted, as serialized) -> value.
std::map<std::string, double> ParseMetrics(const std::string& text);

// Runs a shell command line; returns its exit code, and output in `output`.
int Run(const std::string& command, std::string* output = nullptr);

// Starts llm_exporter with the given config text and flags, waits until it
// listens, and gives its base URL.
class Exporter {
 public:
  Exporter(const TempDir& dir, const std::string& config_text,
           std::map<std::string, std::string> env = {}, std::vector<std::string> extra_flags = {});
  const std::string& url() const { return url_; }
  Process& process() { return *process_; }
  std::string config_path() const { return config_path_; }
  std::string Metrics() const;

 private:
  std::string config_path_;
  std::unique_ptr<Process> process_;
  std::string url_;
};

// tests/fake_vendor on a free loopback port.
class FakeVendor {
 public:
  FakeVendor(const TempDir& dir, std::vector<std::string> flags,
             const std::string& name = "fake_vendor");
  const std::string& url() const { return url_; }  // http://127.0.0.1:PORT
  // POST /control/fault {"fault": NAME, "count": COUNT}.
  void SetFault(const std::string& fault, int count);
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  std::string url_;
};

// The value of one series in a scrape, by name and label subset; nullopt when absent.
std::optional<double> Series(const std::string& scrape, const std::string& name,
                             const std::map<std::string, std::string>& labels = {});

// Polls the exporter's scrape until series `name{labels}` reaches `value`.
bool WaitForSeries(const Exporter& exporter, const std::string& name,
                   const std::map<std::string, std::string>& labels, double value,
                   std::chrono::milliseconds deadline = 20s);
// llm_billing_polls_total of `vendor` (0 before the first poll).
double BillingPolls(const Exporter& exporter, const std::string& vendor);
// GET /probe?target=TARGET `times` times; each run must succeed.
void ProbeNow(const Exporter& exporter, const std::string& target, int times = 1);

// Calls `row` for each row of /reconcile?format=json whose window is `window`.
void ForEachReconcileRow(const Exporter& exporter, const std::string& window,
                         const std::function<void(const rapidjson::Value& row)>& row);

std::string ExporterBinary();
std::string FakeVendorBinary();

}  // namespace llm_exporter::testing
