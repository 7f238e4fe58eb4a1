// BillingPoller against a tiny HTTP server on 127.0.0.1 (port 0) with a fake
// clock: first polls, auth headers, disabled vendors, transport failures,
// backoff and retry-after, reloads that abandon polls in flight, prompt Stop().

#include "probes/billing/billing_poller.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/probes/fake_clock.h"
#include "tests/unit/probes/print_optional.h"
#include "tests/unit/wire/testdata.h"

namespace llm_exporter::probes::billing {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

using testing::FakeClock;

// One connection at a time, Connection: close. Enough for a GET client.
class TinyHttpServer {
 public:
  struct Request {
    std::string target;  // path and query
    std::vector<std::string> headers;
    int fd = -1;  // the connection, for handlers that watch the client
  };
  struct Response {
    int status = 200;
    std::string body;
    std::string extra_headers;  // "Name: value\r\n" lines
  };
  using Handler = std::function<Response(const Request&)>;

  explicit TinyHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(listen_fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    BOOST_REQUIRE(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    BOOST_REQUIRE(listen(listen_fd_, 16) == 0);
    socklen_t length = sizeof(address);
    BOOST_REQUIRE(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    BOOST_REQUIRE(pipe(stop_pipe_) == 0);
    thread_ = std::thread([this] { Serve(); });
  }

  ~TinyHttpServer() {
    (void)!write(stop_pipe_[1], "x", 1);
    thread_.join();
    close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }

  std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<Request> Requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void Serve() {
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Handle(fd);
      close(fd);
    }
  }

  void Handle(int fd) {
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 5000) <= 0) return;
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) return;
      head.append(buffer, static_cast<size_t>(n));
    }
    Request request;
    request.fd = fd;
    size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const size_t first_space = request_line.find(' ');
    request.target =
        request_line.substr(first_space + 1, request_line.rfind(' ') - first_space - 1);
    size_t pos = line_end + 2;
    while ((line_end = head.find("\r\n", pos)) != std::string::npos && line_end > pos) {
      request.headers.push_back(head.substr(pos, line_end - pos));
      pos = line_end + 2;
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    const Response response = handler_(request);
    const std::string reply = "HTTP/1.1 " + std::to_string(response.status) +
                              " Status\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(response.body.size()) + "\r\nConnection: close\r\n" +
                              response.extra_headers + "\r\n" + response.body;
    // The client may be gone (an abandoned poll): no SIGPIPE.
    (void)send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

struct PollEvent {
  std::string vendor;
  std::optional<BillingSnapshot> snapshot;
  std::optional<PollError> error;
};

class RecordingObserver final : public BillingObserver {
 public:
  void OnPoll(const std::string& vendor, const BillingSnapshot* snapshot,
              const PollError* error) override {
    PollEvent event{vendor, std::nullopt, std::nullopt};
    if (snapshot != nullptr) event.snapshot = *snapshot;
    if (error != nullptr) event.error = *error;
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    changed_.notify_all();
  }

  // Waits (with a deadline) until `count` events arrived; returns them all.
  std::vector<PollEvent> WaitFor(size_t count, std::chrono::milliseconds deadline = 10s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, deadline, [&] { return events_.size() >= count; });
    return events_;
  }

  size_t Count() {
    std::lock_guard lock(mutex_);
    return events_.size();
  }

  size_t CountFor(std::string_view vendor) {
    std::lock_guard lock(mutex_);
    return CountForLocked(vendor);
  }

  // Waits (with a deadline) until `vendor` has `count` events.
  bool WaitFor(std::string_view vendor, size_t count, std::chrono::milliseconds deadline = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] { return CountForLocked(vendor) >= count; });
  }

 private:
  size_t CountForLocked(std::string_view vendor) const {
    size_t count = 0;
    for (const PollEvent& event : events_) count += event.vendor == vendor ? 1 : 0;
    return count;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<PollEvent> events_;
};

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

BillingTarget Target(std::string vendor, config::BillingKind kind, std::string base_url,
                     std::string key, std::chrono::milliseconds interval = 80s) {
  BillingTarget target;
  target.vendor = std::move(vendor);
  target.billing.kind = kind;
  target.billing.base_url = std::move(base_url);
  target.billing.api_key = config::Secret("env TEST", std::move(key));
  target.billing.interval = interval;
  return target;
}

int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

bool HasHeader(const TinyHttpServer::Request& request, std::string_view header) {
  for (const std::string& h : request.headers) {
    if (h == header) return true;
  }
  return false;
}

const PollEvent* EventFor(const std::vector<PollEvent>& events, std::string_view vendor) {
  for (const PollEvent& event : events) {
    if (event.vendor == vendor) return &event;
  }
  BOOST_ERROR("no event for " << vendor);
  return nullptr;
}

// Gives the poller thread a moment to act on a clock change it must ignore.
// Only used to check that something does NOT happen; a slow machine can make
// such a check pass wrongly, never fail wrongly.
void LetThePollerLook(BillingPoller& poller, const std::vector<BillingTarget>& targets) {
  poller.Update(targets);  // wakes the loop; unchanged targets keep their schedule
  std::this_thread::sleep_for(300ms);
}

BOOST_AUTO_TEST_SUITE(billing_poller)

BOOST_AUTO_TEST_CASE(polls_enabled_vendors_once_per_interval) {
  CurlGlobal curl;
  TinyHttpServer server([](const TinyHttpServer::Request& request) {
    TinyHttpServer::Response response;
    if (request.target == "/v1/dashboard/billing/subscription") {
      response.body = testing::ReadTestdata("billing/dashboard_subscription_doc.json");
    } else if (request.target.starts_with("/v1/dashboard/billing/usage?")) {
      response.body = testing::ReadTestdata("billing/dashboard_usage.json");
    } else if (request.target == "/user/balance") {
      response.body = testing::ReadTestdata("billing/deepseek_balance_doc.json");
    } else {
      response.status = 404;
      response.body = "{}";
    }
    return response;
  });
  FakeClock clock;
  RecordingObserver observer;
  BillingPoller poller({.clock = &clock, .observer = &observer, .first_poll_spread = 0ms});
  BillingTarget disabled =
      Target("off", config::BillingKind::kDeepSeekBalance, server.BaseUrl(), "sk-off-key");
  disabled.billing.enabled = false;
  const std::string closed = "http://127.0.0.1:" + std::to_string(ClosedPort());
  const std::vector<BillingTarget> targets = {
      Target("gw", config::BillingKind::kOpenAiDashboard, server.BaseUrl() + "/v1", "sk-gw-key"),
      Target("ds", config::BillingKind::kDeepSeekBalance, server.BaseUrl(), "sk-ds-key"),
      Target("down", config::BillingKind::kDeepSeekBalance, closed, "sk-down-key"),
      disabled,
  };
  poller.Update(targets);
  poller.Start();

  const std::vector<PollEvent> events = observer.WaitFor(3);
  BOOST_REQUIRE(events.size() == 3u);
  const PollEvent* gw = EventFor(events, "gw");
  BOOST_REQUIRE(gw != nullptr);
  BOOST_REQUIRE(gw->snapshot.has_value());
  BOOST_TEST(gw->snapshot->limit_nano_usd == 25'000'000'000);
  BOOST_TEST(gw->snapshot->used_nano_usd == 12'345'678'000);
  BOOST_TEST((gw->snapshot->polled_at == clock.Wall()));
  const PollEvent* ds = EventFor(events, "ds");
  BOOST_REQUIRE(ds != nullptr);
  BOOST_REQUIRE(ds->snapshot.has_value());
  BOOST_REQUIRE(ds->snapshot->balances.size() == 1u);
  BOOST_TEST(ds->snapshot->balances[0].total_nano == 110'000'000'000);
  const PollEvent* down = EventFor(events, "down");
  BOOST_REQUIRE(down != nullptr);
  BOOST_REQUIRE(down->error.has_value());
  BOOST_TEST(PollErrorReasonName(down->error->reason) == "connect");

  std::vector<TinyHttpServer::Request> requests = server.Requests();
  BOOST_REQUIRE(requests.size() == 3u);
  for (const auto& request : requests) {
    const bool gw_request = request.target.starts_with("/v1/dashboard");
    BOOST_TEST(HasHeader(request, gw_request ? "Authorization: Bearer sk-gw-key"
                                             : "Authorization: Bearer sk-ds-key"));
  }

  // Nothing more until the interval has passed ("down" retries sooner, after
  // its backoff); then every vendor again.
  clock.Set(79s);
  LetThePollerLook(poller, targets);
  BOOST_TEST(observer.CountFor("gw") == 1u);
  BOOST_TEST(observer.CountFor("ds") == 1u);
  clock.Set(80s);
  poller.Update(targets);
  BOOST_TEST(observer.WaitFor("gw", 2));
  BOOST_TEST(observer.WaitFor("ds", 2));
  poller.Stop();
  BOOST_TEST(observer.CountFor("off") == 0u);
  requests = server.Requests();
  BOOST_TEST(requests.size() == 6u);
  for (const auto& request : requests)
    BOOST_TEST(!HasHeader(request, "Authorization: Bearer sk-off-key"));
}

// A reload that changes only a vendor's transport (here: an egress proxy)
// takes effect at once, through the new proxy, not at the next interval.
BOOST_AUTO_TEST_CASE(a_changed_transport_is_a_changed_target) {
  CurlGlobal curl;
  TinyHttpServer server([](const TinyHttpServer::Request&) {
    TinyHttpServer::Response response;
    response.body = testing::ReadTestdata("billing/deepseek_balance_doc.json");
    return response;
  });
  FakeClock clock;
  RecordingObserver observer;
  BillingPoller poller({.clock = &clock, .observer = &observer, .first_poll_spread = 0ms});
  std::vector<BillingTarget> targets = {
      Target("ds", config::BillingKind::kDeepSeekBalance, server.BaseUrl(), "sk-ds-key")};
  poller.Update(targets);
  poller.Start();
  BOOST_REQUIRE(observer.WaitFor("ds", 1));
  clock.Set(10s);
  targets[0].billing.transport.proxy_url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  poller.Update(targets);
  BOOST_REQUIRE(observer.WaitFor("ds", 2));
  poller.Stop();
  const std::vector<PollEvent> events = observer.WaitFor(2);
  BOOST_REQUIRE(events.size() >= 2u);
  BOOST_REQUIRE(events[1].error.has_value());  // the proxy is not there
  BOOST_TEST(PollErrorReasonName(events[1].error->reason) == "connect");
  BOOST_TEST(server.Requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(backs_off_and_honours_retry_after) {
  CurlGlobal curl;
  FakeClock clock;
  std::atomic<int> replies{0};
  std::mutex times_mutex;
  std::vector<int64_t> request_seconds;
  TinyHttpServer server([&](const TinyHttpServer::Request&) {
    {
      std::lock_guard lock(times_mutex);
      request_seconds.push_back(
          std::chrono::duration_cast<std::chrono::seconds>(clock.offset()).count());
    }
    TinyHttpServer::Response response;
    switch (replies++) {
      case 0:
        response.status = 429;
        response.body = testing::ReadTestdata("billing/openai_error_rate_limit.json");
        response.extra_headers = "Retry-After: 100\r\n";
        break;
      case 1:
        response.status = 500;
        response.body = testing::ReadTestdata("billing/anthropic_error_api.json");
        break;
      default:
        response.body = testing::ReadTestdata("billing/deepseek_balance_doc.json");
        break;
    }
    return response;
  });
  RecordingObserver observer;
  BillingPoller poller({.clock = &clock, .observer = &observer, .first_poll_spread = 0ms});
  const std::vector<BillingTarget> targets = {
      Target("ds", config::BillingKind::kDeepSeekBalance, server.BaseUrl(), "sk-ds-key", 80s)};
  poller.Update(targets);
  poller.Start();

  std::vector<PollEvent> events = observer.WaitFor(1);
  BOOST_REQUIRE(events.size() == 1u);
  BOOST_REQUIRE(events[0].error.has_value());
  BOOST_TEST(PollErrorReasonName(events[0].error->reason) == "http_429");
  BOOST_TEST(events[0].error->retry_after_seconds == 100);

  // Backoff would be 80s/8 = 10s, but the vendor asked for 100s.
  clock.Set(99s);
  LetThePollerLook(poller, targets);
  BOOST_TEST(observer.Count() == 1u);
  clock.Set(100s);
  poller.Update(targets);
  events = observer.WaitFor(2);
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(PollErrorReasonName(events[1].error->reason) == "http_5xx");

  // Second failure in a row: the backoff doubles to 20s.
  clock.Set(119s);
  LetThePollerLook(poller, targets);
  BOOST_TEST(observer.Count() == 2u);
  clock.Set(120s);
  poller.Update(targets);
  events = observer.WaitFor(3);
  BOOST_REQUIRE(events.size() == 3u);
  BOOST_TEST(events[2].snapshot.has_value());

  // Success: back to the interval.
  clock.Set(199s);
  LetThePollerLook(poller, targets);
  BOOST_TEST(observer.Count() == 3u);
  clock.Set(200s);
  poller.Update(targets);
  BOOST_TEST(observer.WaitFor(4).size() == 4u);
  poller.Stop();

  std::lock_guard lock(times_mutex);
  const std::vector<int64_t> expected = {0, 100, 120, 200};
  BOOST_TEST(request_seconds == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(removal_abandons_the_poll_in_flight_and_stop_is_prompt) {
  CurlGlobal curl;
  std::atomic<int> clients_gone{0};
  // Never answers: holds the request until the client hangs up.
  TinyHttpServer server([&](const TinyHttpServer::Request& request) {
    const auto deadline = steady_clock::now() + 10s;
    while (steady_clock::now() < deadline) {
      pollfd pfd{request.fd, POLLIN | POLLRDHUP, 0};
      if (poll(&pfd, 1, 50) > 0) {
        char byte;
        if ((pfd.revents & (POLLRDHUP | POLLHUP)) != 0 || recv(request.fd, &byte, 1, 0) <= 0) {
          ++clients_gone;
          break;
        }
      }
    }
    return TinyHttpServer::Response{};
  });
  FakeClock clock;
  RecordingObserver observer;
  BillingPoller poller({.clock = &clock, .observer = &observer, .first_poll_spread = 0ms});
  const std::vector<BillingTarget> targets = {
      Target("slow", config::BillingKind::kDeepSeekBalance, server.BaseUrl(), "sk-k")};
  const auto wait_until = [](const std::function<bool()>& done) {
    const auto deadline = steady_clock::now() + 10s;
    while (!done() && steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return done();
  };
  poller.Update(targets);
  poller.Start();
  BOOST_REQUIRE(wait_until([&] { return server.Requests().size() == 1u; }));

  // Removed while its request is in flight: the connection is dropped and
  // nothing is reported.
  poller.Update({});
  BOOST_REQUIRE(wait_until([&] { return clients_gone.load() == 1; }));
  BOOST_TEST(observer.Count() == 0u);

  // Stop() does not wait for a stalled request.
  poller.Update(targets);
  BOOST_REQUIRE(wait_until([&] { return server.Requests().size() == 2u; }));
  const auto stop_started = steady_clock::now();
  poller.Stop();
  BOOST_TEST(std::chrono::duration<double>(steady_clock::now() - stop_started).count() < 1.0);
  BOOST_REQUIRE(wait_until([&] { return clients_gone.load() == 2; }));
  BOOST_TEST(observer.Count() == 0u);
}

BOOST_AUTO_TEST_CASE(stop_without_start_and_twice) {
  CurlGlobal curl;
  FakeClock clock;
  RecordingObserver observer;
  BillingPoller poller({.clock = &clock, .observer = &observer});
  poller.Stop();
  poller.Start();
  poller.Stop();
  poller.Stop();
  BOOST_TEST(observer.Count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::probes::billing
