#pragma once

// The fake LLM vendor's HTTP server (civetweb). It serves the OpenAI-compatible
// chat completions route (POST /v1/chat/completions and /chat/completions), the
// Anthropic messages route (POST /v1/messages), GET /v1/models, the vendors'
// billing routes (billing_reports.h), and the control routes POST /control/fault,
// POST /control/price_skew, POST /control/reset and GET /control/stats.
//
// Every served chat reply is priced when it completes (vendor_pricer.h) and
// recorded with its tokens in the UsageLedger; the billing routes report from
// the ledger what was served at least `report_delay` ago.
//
// Replies are deterministic (see chat_request.h for the token rule) and paced:
// streaming replies send headers and the preamble at once, the first content token
// after `ttft`, then one token per `token_interval`; plain replies arrive after
// ttft + (n-1) * token_interval. Faults (faults.h) alter the next chat replies.
//
// Every wait in a handler wakes on Stop(), so Stop() returns promptly even while
// replies are streaming or stalled. Start() and Stop() are called from one thread;
// handlers run on civetweb's worker threads.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tests/fake_vendor/chat_request.h"
#include "tests/fake_vendor/faults.h"
#include "tests/fake_vendor/price_list.h"
#include "tests/fake_vendor/usage_ledger.h"
#include "tests/fake_vendor/vendor_pricer.h"
#include "tests/fake_vendor/wire_replies.h"

struct mg_connection;
struct mg_context;

namespace llm_exporter::fake_vendor {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // IPv4 host:port; port 0 picks a free port
  std::string api_key;                 // empty: no authentication
  std::chrono::milliseconds ttft{0};
  std::chrono::milliseconds token_interval{0};
  std::chrono::milliseconds slow_first_byte{5000};
  int64_t reply_tokens = 8;
  FaultSpec fault;
  size_t max_body_bytes = 1 << 20;
  int64_t threads = 64;     // civetweb worker threads: connections served at once
  bool keep_alive = false;  // one request per connection unless set
  std::function<std::chrono::system_clock::time_point()> wall_clock;  // default: system clock

  // Billing.
  std::string admin_key;                        // org usage/cost routes; empty: they take api_key
  std::shared_ptr<const PriceList> price_book;  // null: nothing is priced
  std::string price_table = "fake";
  SkewMap price_skews;
  int64_t quota_nano_usd = 25'000'000'000;  // credit / limit of the balance routes
  std::optional<int64_t> cny_balance_nano;  // DeepSeek's extra CNY entry
  int64_t billing_page_size = 2;            // buckets per report page at most
  std::chrono::milliseconds report_delay{0};
};

// The billing routes; which vendor's key, header and error format each uses is
// decided in server.cc.
enum class BillingEndpoint {
  kOpenAiUsage,
  kOpenAiCosts,
  kAnthropicUsage,
  kAnthropicCosts,
  kDashboardSubscription,
  kDashboardUsage,
  kDeepSeekBalance,
  kOpenRouterCredits,
  kOpenRouterKey,
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving; returns the bound port.
  std::expected<int, std::string> Start();
  // Wakes every waiting handler, then stops civetweb (joins its threads).
  void Stop();

  UsageLedger& ledger() { return ledger_; }
  FaultSchedule& faults() { return faults_; }
  VendorPricer& pricer() { return pricer_; }

 private:
  struct Outcome {
    int status = 200;
    bool completed = false;  // every byte of a well-formed reply was written
  };

  static int Dispatch(mg_connection* conn, void* self);
  int Route(mg_connection* conn);
  int HandleChat(mg_connection* conn, Dialect dialect, std::string_view route);
  int HandleModels(mg_connection* conn, std::string_view route);
  int HandleBilling(mg_connection* conn, std::string_view route, BillingEndpoint endpoint);
  int HandleControlFault(mg_connection* conn);
  int HandleControlPriceSkew(mg_connection* conn);
  int HandleControlReset(mg_connection* conn);
  // POST /control/topup {"nano_usd": N}: raises the credit of the balance routes.
  int HandleControlTopUp(mg_connection* conn);
  int64_t Quota() const { return options_.quota_nano_usd + topped_up_nano_usd_; }
  int HandleControlStats(mg_connection* conn);

  // `before_last_write` runs just before the last bytes of a complete reply go
  // out, so a client that has the whole reply also finds it counted and priced.
  using Hook = std::function<void()>;
  Outcome Respond(mg_connection* conn, Dialect dialect, const ChatRequest& request, Fault fault,
                  std::string_view request_id, const Hook& before_last_write);
  Outcome RespondPlain(mg_connection* conn, const Reply& reply, Fault fault,
                       std::string_view request_id, std::chrono::steady_clock::time_point start,
                       const Hook& before_last_write);
  Outcome RespondStream(mg_connection* conn, const Reply& reply, Fault fault,
                        std::string_view request_id, const Hook& before_last_write);
  bool Authorized(mg_connection* conn, Dialect dialect) const;
  // Admin routes want admin_key (api_key when there is none); the others api_key.
  bool BillingAuthorized(mg_connection* conn, bool admin, bool x_api_key) const;
  std::chrono::system_clock::time_point WallNow() const;
  void StallUntilHangUp(mg_connection* conn);

  // False if Stop() was called before the deadline.
  bool SleepUntil(std::chrono::steady_clock::time_point deadline);
  std::string NextId(std::string_view prefix);

  const ServerOptions options_;
  std::atomic<int64_t> topped_up_nano_usd_{0};
  FaultSchedule faults_;
  UsageLedger ledger_;
  VendorPricer pricer_;
  mg_context* context_ = nullptr;
  int port_ = 0;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mutex_

  std::mutex id_mutex_;
  int64_t next_id_ = 1;  // guarded by id_mutex_
};

}  // namespace llm_exporter::fake_vendor
