#include "tests/integration/harness.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace llm_exporter::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "llm_exporter_test_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::string path = File(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
                 const std::string& log_dir, const std::string& name) {
  stdout_path_ = log_dir + "/" + name + ".stdout";
  stderr_path_ = log_dir + "/" + name + ".stderr";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    // Tests talk to loopback only: never through a proxy from the environment.
    for (const char* name :
         {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"}) {
      unsetenv(name);
    }
    for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
    // A fresh process group so that nothing it starts outlives the test.
    setpgid(0, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (Running()) {
    kill(pid_, SIGKILL);
    Wait(5s);
  }
}

void Process::Signal(int signal) const { kill(pid_, signal); }

bool Process::Running() {
  if (status_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return r == 0;
}

int Process::Wait(std::chrono::milliseconds deadline) {
  WaitFor([this] { return !Running(); }, deadline, 5ms);
  return status_.value_or(-1);
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
             std::chrono::milliseconds poll) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(poll);
  }
}

namespace {

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * n;
}

HttpResult Perform(const std::string& url, const std::string* post_body,
                   const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  if (post_body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body->c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
  }
  CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  } else {
    result.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return result;
}

}  // namespace

HttpResult HttpGet(const std::string& url, const std::vector<std::string>& headers,
                   std::chrono::milliseconds timeout) {
  return Perform(url, nullptr, headers, timeout);
}

HttpResult HttpPost(const std::string& url, const std::string& body,
                    const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
  return Perform(url, &body, headers, timeout);
}

int BindLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *port = ntohs(address.sin_port);
  return fd;
}

int FreePort() {
  int port = 0;
  close(BindLoopback(&port));
  return port;
}

std::map<std::string, std::string> ParseLogfmt(const std::string& line) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t eq = line.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = line.substr(i, eq - i);
    i = eq + 1;
    std::string value;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          value += line[i] == 'n' ? '\n' : line[i];
        } else {
          value += line[i];
        }
        ++i;
      }
      ++i;
    } else {
      size_t end = line.find(' ', i);
      value = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end == std::string::npos ? line.size() : end;
    }
    out[key] = value;
  }
  return out;
}

std::optional<std::map<std::string, std::string>> FindLog(const std::string& log,
                                                          const std::string& msg) {
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    auto fields = ParseLogfmt(line);
    if (fields["msg"] == msg) return fields;
  }
  return std::nullopt;
}

std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string value = line.substr(space + 1);
    double number = value == "+Inf"   ? INFINITY
                    : value == "-Inf" ? -INFINITY
                                      : std::strtod(value.c_str(), nullptr);
    out[line.substr(0, space)] = number;
  }
  return out;
}

int Run(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
  int status = pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// LLM_EXPORTER_TEST_BIN runs the tests against another build of the exporter
// (e.g. an older commit, to see a new test fail there first).
std::string ExporterBinary() {
  const char* other = std::getenv("LLM_EXPORTER_TEST_BIN");
  return other != nullptr && *other != '\0' ? other : LLM_EXPORTER_BIN;
}
std::string FakeVendorBinary() { return FAKE_VENDOR_BIN; }

Exporter::Exporter(const TempDir& dir, const std::string& config_text,
                   std::map<std::string, std::string> env, std::vector<std::string> extra_flags) {
  config_path_ = dir.Write("llm_exporter.toml", config_text);
  std::vector<std::string> argv = {ExporterBinary(), "--config.file=" + config_path_,
                                   "--web.listen-address=127.0.0.1:0",
                                   "--state.dir=" + dir.File("state")};
  for (auto& f : extra_flags) argv.push_back(f);
  // A fresh log file per instance: a restarted exporter must not be read
  // through its predecessor's log.
  static std::atomic<int> instances{0};
  process_ = std::make_unique<Process>(argv, env, dir.path(),
                                       "llm_exporter." + std::to_string(++instances));
  std::string address;
  bool up = WaitFor(
      [&] {
        if (!process_->Running()) return true;
        auto fields = FindLog(process_->Stderr(), "Listening on");
        if (fields) address = (*fields)["address"];
        return fields.has_value();
      },
      15s);
  if (!up || address.empty()) {
    throw std::runtime_error("llm_exporter did not start:\n" + process_->Stderr());
  }
  url_ = "http://" + address;
}

std::string Exporter::Metrics() const {
  HttpResult result = HttpGet(url_ + "/metrics");
  if (result.status != 200) throw std::runtime_error("scrape failed: " + result.error);
  return result.body;
}

}  // namespace llm_exporter::testing

namespace llm_exporter::testing {

FakeVendor::FakeVendor(const TempDir& dir, std::vector<std::string> flags,
                       const std::string& name) {
  std::string port_file = dir.File(name + ".port");
  std::vector<std::string> argv = {FakeVendorBinary(), "--listen", "127.0.0.1:0", "--port-file",
                                   port_file};
  for (auto& f : flags) argv.push_back(f);
  process_ =
      std::make_unique<Process>(argv, std::map<std::string, std::string>{}, dir.path(), name);
  std::string port;
  bool up = WaitFor(
      [&] {
        port = ReadFile(port_file);
        return !port.empty() || !process_->Running();
      },
      10s);
  while (!port.empty() && (port.back() == '\n' || port.back() == ' ')) port.pop_back();
  if (!up || port.empty())
    throw std::runtime_error("fake_vendor did not start:\n" + process_->Stderr());
  url_ = "http://127.0.0.1:" + port;
}

void FakeVendor::SetFault(const std::string& fault, int count) {
  HttpResult r = HttpPost(url_ + "/control/fault",
                          "{\"fault\":\"" + fault + "\",\"count\":" + std::to_string(count) + "}");
  if (r.status != 200) throw std::runtime_error("cannot set fault " + fault + ": " + r.body);
}

std::optional<double> Series(const std::string& scrape, const std::string& name,
                             const std::map<std::string, std::string>& labels) {
  for (const auto& [series, value] : ParseMetrics(scrape)) {
    auto brace = series.find('{');
    if (series.substr(0, brace) != name) continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      // A whole label: preceded by '{' or ',', so "type" never matches "token_type".
      std::string pair = k + "=\"" + v + "\"";
      if (series.find("{" + pair) == std::string::npos &&
          series.find("," + pair) == std::string::npos) {
        all = false;
      }
    }
    if (all) return value;
  }
  return std::nullopt;
}

bool WaitForSeries(const Exporter& exporter, const std::string& name,
                   const std::map<std::string, std::string>& labels, double value,
                   std::chrono::milliseconds deadline) {
  return WaitFor([&] { return Series(exporter.Metrics(), name, labels).value_or(-1) >= value; },
                 deadline, 25ms);
}

double BillingPolls(const Exporter& exporter, const std::string& vendor) {
  return Series(exporter.Metrics(), "llm_billing_polls_total", {{"vendor", vendor}}).value_or(0);
}

void ProbeNow(const Exporter& exporter, const std::string& target, int times) {
  for (int i = 0; i < times; ++i) {
    HttpResult r = HttpGet(exporter.url() + "/probe?target=" + target);
    BOOST_REQUIRE_MESSAGE(Series(r.body, "probe_success").value_or(0) == 1, r.body);
  }
}

void ForEachReconcileRow(const Exporter& exporter, const std::string& window,
                         const std::function<void(const rapidjson::Value& row)>& row) {
  HttpResult r = HttpGet(exporter.url() + "/reconcile?format=json");
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject() && doc.HasMember("rows"), r.body);
  for (const auto& each : doc["rows"].GetArray()) {
    if (std::string(each["window"].GetString()) == window) row(each);
  }
}

}  // namespace llm_exporter::testing
