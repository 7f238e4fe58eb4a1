#include "tests/fake_vendor/server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "pricing/cost.h"
#include "tests/fake_vendor/billing_query.h"
#include "tests/fake_vendor/billing_reports.h"
#include "tests/fake_vendor/decimal_text.h"
#include "tests/fake_vendor/log.h"

namespace llm_exporter::fake_vendor {
namespace {

using std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr std::chrono::milliseconds kPollInterval{50};
constexpr std::string_view kChatRouteV1 = "/v1/chat/completions";
constexpr std::string_view kChatRoute = "/chat/completions";
constexpr std::string_view kMessagesRoute = "/v1/messages";
constexpr std::string_view kModelsRoute = "/v1/models";
constexpr std::string_view kAnthropicAdminPrefix = "/v1/organizations/";

constexpr std::string_view kModelIds[] = {"gpt-4o-mini", "gpt-4.1", "claude-3-5-haiku-20241022",
                                          "deepseek-chat"};

std::string_view StatusText(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 529:
      return "Overloaded";
    default:
      return "Unknown";
  }
}

// Responses are written by hand rather than with mg_send_http_ok so that faults
// can break framing on purpose. Keep-alive is off: civetweb closes every
// connection after its handler returns, which is what makes `reset` a reset.
// --keep-alive: replies stop saying "Connection: close" (one setting per
// process; the benchmarks run one server each).
std::atomic<bool> g_keep_alive{false};

std::string HeaderBlock(int status, std::string_view content_type,
                        std::optional<size_t> content_length, const Headers& extra) {
  std::string block = "HTTP/1.1 " + std::to_string(status) + " ";
  block.append(StatusText(status));
  block.append("\r\nContent-Type: ");
  block.append(content_type);
  if (content_length) {
    block.append("\r\nContent-Length: " + std::to_string(*content_length));
  } else {
    block.append("\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache");
  }
  block.append(g_keep_alive ? "\r\n" : "\r\nConnection: close\r\n");
  for (const auto& [name, value] : extra) block.append(name + ": " + value + "\r\n");
  block.append("\r\n");
  return block;
}

bool WriteAll(mg_connection* conn, std::string_view data) {
  if (data.empty()) return true;
  return mg_write(conn, data.data(), data.size()) == static_cast<int>(data.size());
}

std::string Chunk(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  std::string chunk = size;
  chunk.append(data);
  chunk.append("\r\n");
  return chunk;
}

constexpr std::string_view kLastChunk = "0\r\n\r\n";

int SendBody(mg_connection* conn, int status, std::string_view content_type, std::string_view body,
             const Headers& extra = {}) {
  std::string response = HeaderBlock(status, content_type, body.size(), extra);
  response.append(body);
  WriteAll(conn, response);
  return status;
}

int SendJson(mg_connection* conn, int status, std::string_view body, const Headers& extra = {}) {
  return SendBody(conn, status, "application/json", body, extra);
}

enum class BodyError { kTooLarge, kIncomplete };

std::expected<std::string, BodyError> ReadBody(mg_connection* conn, size_t limit) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (info->content_length > static_cast<long long>(limit))
    return std::unexpected(BodyError::kTooLarge);
  // civetweb answers `Expect: 100-continue` only for its own file uploads.
  const char* expect = mg_get_header(conn, "Expect");
  if (expect != nullptr && mg_strcasecmp(expect, "100-continue") == 0) {
    WriteAll(conn, "HTTP/1.1 100 Continue\r\n\r\n");
  }
  std::string body;
  char buffer[16384];
  while (true) {
    const int n = mg_read(conn, buffer, sizeof(buffer));
    if (n < 0) return std::unexpected(BodyError::kIncomplete);
    if (n == 0) break;
    body.append(buffer, static_cast<size_t>(n));
    if (body.size() > limit) return std::unexpected(BodyError::kTooLarge);
  }
  if (info->content_length >= 0 && body.size() != static_cast<size_t>(info->content_length)) {
    return std::unexpected(BodyError::kIncomplete);
  }
  return body;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// civetweb does not expose a connection's socket, but a stalled reply must still
// notice the client hanging up (or its worker thread would be held until shutdown).
// The socket is found among our descriptors by its address pair, and only polled.
int FindClientSocket(const mg_request_info& info) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    struct stat st {};
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_in local{};
    sockaddr_in peer{};
    socklen_t local_len = sizeof(local);
    socklen_t peer_len = sizeof(peer);
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        local.sin_family != AF_INET || peer.sin_family != AF_INET) {
      continue;
    }
    char peer_address[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, peer_address, sizeof(peer_address));
    if (ntohs(local.sin_port) == info.server_port && ntohs(peer.sin_port) == info.remote_port &&
        std::string_view(peer_address) == info.remote_addr) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
  return found;
}

bool PeerHungUp(int fd) {
  pollfd entry{fd, POLLRDHUP, 0};
  return poll(&entry, 1, 0) > 0 && (entry.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

int64_t UnixSeconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

Headers RequestIdHeader(Dialect dialect, std::string_view request_id) {
  return {{dialect == Dialect::kOpenAi ? "x-request-id" : "request-id", std::string(request_id)}};
}

bool InterruptsStream(Fault fault) {
  return fault == Fault::kStall || fault == Fault::kReset || fault == Fault::kTruncated ||
         fault == Fault::kMidstreamError;
}

void WakeListener(std::string_view listen, int port) {
  std::string host(listen.substr(0, listen.rfind(':')));
  if (host == "0.0.0.0") host = "127.0.0.1";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) return;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  close(fd);
}

int CivetLog(const mg_connection*, const char* message) {
  Log(LogLevel::kWarn, "civetweb message", {{"detail", message}});
  return 1;
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      ledger_(options_.report_delay),
      pricer_(options_.price_book, options_.price_table, options_.price_skews) {
  faults_.Set(options_.fault);
}

Server::~Server() { Stop(); }

std::expected<int, std::string> Server::Start() {
  mg_callbacks callbacks{};
  callbacks.log_message = &CivetLog;
  const std::string threads = std::to_string(options_.threads);
  g_keep_alive = options_.keep_alive;
  const char* config[] = {"listening_ports",
                          options_.listen.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "tcp_nodelay",
                          "1",
                          "enable_keep_alive",
                          options_.keep_alive ? "yes" : "no",
                          "request_timeout_ms",
                          "30000",
                          nullptr};
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = config;
  char error_text[256] = {};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  context_ = mg_start2(&init, &error);
  if (context_ == nullptr) {
    return std::unexpected("cannot listen on " + options_.listen + ": " + error_text);
  }
  mg_set_request_handler(context_, "**", &Server::Dispatch, this);
  mg_server_port ports[4] = {};
  if (mg_get_server_ports(context_, 4, ports) < 1) {
    Stop();
    return std::unexpected("civetweb reports no listening port");
  }
  port_ = ports[0].port;
  return port_;
}

void Server::Stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (context_ == nullptr) return;
  // civetweb's master thread polls the listening socket in 2 s quanta and only
  // then looks at its stop flag; connecting to ourselves ends that wait at once.
  std::atomic<bool> stopped = false;
  std::thread waker([this, &stopped] {
    while (!stopped.load()) {
      WakeListener(options_.listen, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  mg_stop(context_);
  stopped = true;
  waker.join();
  context_ = nullptr;
}

bool Server::SleepUntil(steady_clock::time_point deadline) {
  std::unique_lock lock(stop_mutex_);
  return !stop_cv_.wait_until(lock, deadline, [this] { return stopping_; });
}

std::string Server::NextId(std::string_view prefix) {
  std::lock_guard lock(id_mutex_);
  char id[32];
  std::snprintf(id, sizeof(id), "%010lld", static_cast<long long>(next_id_++));
  return std::string(prefix) + id;
}

int Server::Dispatch(mg_connection* conn, void* self) {
  return static_cast<Server*>(self)->Route(conn);
}

int Server::Route(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view method = info->request_method;
  const std::string_view path = info->local_uri != nullptr ? info->local_uri : "";

  struct Entry {
    std::string_view path;
    std::string_view method;
    std::function<int()> handle;
  };
  const Entry routes[] = {
      {kChatRouteV1, "POST", [&] { return HandleChat(conn, Dialect::kOpenAi, kChatRouteV1); }},
      {kChatRoute, "POST", [&] { return HandleChat(conn, Dialect::kOpenAi, kChatRoute); }},
      {kMessagesRoute, "POST",
       [&] { return HandleChat(conn, Dialect::kAnthropic, kMessagesRoute); }},
      {kModelsRoute, "GET", [&] { return HandleModels(conn, kModelsRoute); }},
      {"/control/fault", "POST", [&] { return HandleControlFault(conn); }},
      {"/control/price_skew", "POST", [&] { return HandleControlPriceSkew(conn); }},
      {"/control/reset", "POST", [&] { return HandleControlReset(conn); }},
      {"/control/topup", "POST", [&] { return HandleControlTopUp(conn); }},
      {"/control/stats", "GET", [&] { return HandleControlStats(conn); }},
  };
  struct BillingEntry {
    std::string_view path;
    BillingEndpoint endpoint;
  };
  static constexpr BillingEntry kBillingRoutes[] = {
      {"/v1/organization/usage/completions", BillingEndpoint::kOpenAiUsage},
      {"/v1/organization/costs", BillingEndpoint::kOpenAiCosts},
      {"/v1/organizations/usage_report/messages", BillingEndpoint::kAnthropicUsage},
      {"/v1/organizations/cost_report", BillingEndpoint::kAnthropicCosts},
      {"/v1/dashboard/billing/subscription", BillingEndpoint::kDashboardSubscription},
      {"/dashboard/billing/subscription", BillingEndpoint::kDashboardSubscription},
      {"/v1/dashboard/billing/usage", BillingEndpoint::kDashboardUsage},
      {"/dashboard/billing/usage", BillingEndpoint::kDashboardUsage},
      {"/user/balance", BillingEndpoint::kDeepSeekBalance},
      {"/api/v1/credits", BillingEndpoint::kOpenRouterCredits},
      {"/api/v1/key", BillingEndpoint::kOpenRouterKey},
      {"/api/v1/auth/key", BillingEndpoint::kOpenRouterKey},
  };
  const Dialect dialect = path == kMessagesRoute || path.starts_with(kAnthropicAdminPrefix)
                              ? Dialect::kAnthropic
                              : Dialect::kOpenAi;
  for (const auto& billing : kBillingRoutes) {
    if (billing.path != path) continue;
    if (method != "GET") {
      return SendJson(
          conn, ErrorStatus(ErrorCase::kMethodNotAllowed),
          RenderErrorBody(dialect, ErrorCase::kMethodNotAllowed,
                          "Method " + std::string(method) + " is not allowed on this route."),
          {{"Allow", "GET"}});
    }
    return HandleBilling(conn, billing.path, billing.endpoint);
  }
  for (const auto& route : routes) {
    if (route.path != path) continue;
    if (route.method != method) {
      return SendJson(
          conn, ErrorStatus(ErrorCase::kMethodNotAllowed),
          RenderErrorBody(dialect, ErrorCase::kMethodNotAllowed,
                          "Method " + std::string(method) + " is not allowed on this route."),
          {{"Allow", std::string(route.method)}});
    }
    return route.handle();
  }
  return SendJson(
      conn, ErrorStatus(ErrorCase::kNotFound),
      RenderErrorBody(dialect, ErrorCase::kNotFound,
                      "Invalid URL (" + std::string(method) + " " + std::string(path) + ")"));
}

bool Server::Authorized(mg_connection* conn, Dialect dialect) const {
  if (options_.api_key.empty()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  if (const char* header = mg_get_header(conn, "Authorization")) {
    const std::string_view value = header;
    if (value.starts_with(kBearer) &&
        ConstantTimeEquals(value.substr(kBearer.size()), options_.api_key)) {
      return true;
    }
  }
  if (dialect == Dialect::kAnthropic) {
    if (const char* header = mg_get_header(conn, "x-api-key")) {
      return ConstantTimeEquals(header, options_.api_key);
    }
  }
  return false;
}

int Server::HandleChat(mg_connection* conn, Dialect dialect, std::string_view route) {
  ledger_.CountRequest(route);
  const std::string request_id = NextId("req_fake_");
  const Headers id_header = RequestIdHeader(dialect, request_id);
  auto fail = [&](ErrorCase error_case, std::string_view message) {
    ledger_.RecordFailed(route);
    Log(LogLevel::kInfo, "Rejected chat request",
        {{"route", std::string(route)},
         {"status", std::to_string(ErrorStatus(error_case))},
         {"reason", std::string(message)}});
    return SendJson(conn, ErrorStatus(error_case),
                    RenderErrorBody(dialect, error_case, message, request_id), id_header);
  };

  auto body = ReadBody(conn, options_.max_body_bytes);
  if (!body) {
    return body.error() == BodyError::kTooLarge
               ? fail(ErrorCase::kPayloadTooLarge, "")
               : fail(ErrorCase::kBadRequest, "request body could not be read");
  }
  if (!Authorized(conn, dialect)) {
    return fail(ErrorCase::kUnauthorized,
                dialect == Dialect::kOpenAi ? "Incorrect API key provided." : "invalid x-api-key");
  }
  auto request = ParseChatRequest(*body, dialect);
  if (!request) return fail(ErrorCase::kBadRequest, request.error());

  const Fault fault = faults_.Take();
  // Priced and counted before the reply's last bytes leave, so that whoever has
  // the whole reply (and then, say, changes a price skew or reads the stats)
  // finds it accounted for. A client hanging up during that last write is still
  // billed, as by a real vendor that generated every token.
  bool served = false;
  const auto record_served = [&] {
    if (!FaultStillServes(fault)) return;
    served = true;
    const auto now = WallNow();
    TokenCounters usage;
    usage.requests = 1;
    usage.input_tokens = request->input_tokens;
    usage.cached_input_tokens = request->cached_input_tokens;
    usage.cache_write_5m_tokens = request->cache_write_5m_tokens;  // 0 on OpenAI routes
    usage.cache_write_1h_tokens = request->cache_write_1h_tokens;
    usage.output_tokens = OutputTokensFor(*request, options_.reply_tokens);
    if (const auto cost = pricer_.Price(request->model, usage, now)) {
      usage.cost = *cost;
    } else {
      usage.unpriced_requests = 1;
    }
    ledger_.RecordServed(UtcDay(now), request->model, route, usage, steady_clock::now());
  };
  const Outcome outcome = Respond(conn, dialect, *request, fault, request_id, record_served);
  if (!served) ledger_.RecordFailed(route);
  Log(LogLevel::kInfo, "Chat request",
      {{"route", std::string(route)},
       {"model", request->model},
       {"stream", request->stream ? "true" : "false"},
       {"fault", std::string(FaultName(fault))},
       {"status", std::to_string(outcome.status)},
       {"served", served ? "true" : "false"}});
  return outcome.status;
}

Server::Outcome Server::Respond(mg_connection* conn, Dialect dialect, const ChatRequest& request,
                                Fault fault, std::string_view request_id,
                                const Hook& before_last_write) {
  const Headers id_header = RequestIdHeader(dialect, request_id);
  auto error_reply = [&](ErrorCase error_case, Headers headers) {
    headers.insert(headers.end(), id_header.begin(), id_header.end());
    return Outcome{SendJson(conn, ErrorStatus(error_case),
                            RenderErrorBody(dialect, error_case, {}, request_id), headers),
                   true};
  };
  switch (fault) {
    case Fault::kHttp401:
      return error_reply(ErrorCase::kUnauthorized, {});
    case Fault::kEchoKey401: {
      // Like real vendors' "Incorrect API key provided: sk-...", with the key
      // placed where a 200-byte cut of the message falls inside it.
      std::string key;
      for (const char* name : {"x-api-key", "Authorization"}) {
        if (const char* value = mg_get_header(conn, name)) key = value;
        if (!key.empty()) break;
      }
      if (key.rfind("Bearer ", 0) == 0) key = key.substr(7);
      std::string message = "Incorrect API key provided: " + std::string(162, '.') + " " + key;
      auto headers = id_header;
      return Outcome{
          SendJson(conn, 401,
                   RenderErrorBody(dialect, ErrorCase::kUnauthorized, message, request_id),
                   headers),
          true};
    }
    case Fault::kHttp429:
      return error_reply(ErrorCase::kRateLimited, {{"retry-after", "7"}});
    case Fault::kHttp500:
      return error_reply(ErrorCase::kServerError, {});
    case Fault::kHttp529:
      return error_reply(ErrorCase::kOverloaded, {});
    case Fault::kError200:
      return error_reply(ErrorCase::kUpstreamError, {});
    case Fault::kMidstreamError:
      if (!request.stream) return error_reply(ErrorCase::kUpstreamError, {});
      break;
    case Fault::kHtml:
      return Outcome{SendBody(conn, 200, "text/html; charset=utf-8", RenderHtmlPage()), true};
    default:
      break;
  }

  if (fault == Fault::kSlowFirstByte &&
      !SleepUntil(steady_clock::now() + options_.slow_first_byte)) {
    return Outcome{503, false};
  }

  const auto wall_now = WallNow();
  const int64_t output_tokens = OutputTokensFor(request, options_.reply_tokens);
  Reply reply;
  reply.dialect = dialect;
  reply.id = NextId(dialect == Dialect::kOpenAi ? "chatcmpl-fake" : "msg_fake");
  reply.model = request.model;
  reply.created_unix_seconds = UnixSeconds(wall_now);
  reply.tokens = ReplyTokens(fault == Fault::kWrongContent ? "ping" : "pong", output_tokens);
  reply.stopped_by_max_tokens = request.max_tokens && *request.max_tokens <= options_.reply_tokens;
  if (fault != Fault::kNoUsage) {
    reply.usage = ReplyUsage{.input_tokens = request.input_tokens,
                             .cached_input_tokens = request.cached_input_tokens,
                             .output_tokens = output_tokens,
                             .cache_write_5m_tokens = request.cache_write_5m_tokens,
                             .cache_write_1h_tokens = request.cache_write_1h_tokens};
  }
  if (fault == Fault::kHugeUsage) reply.usage->output_tokens = int64_t{1} << 53;
  reply.include_usage_chunk = request.include_usage;

  return request.stream
             ? RespondStream(conn, reply, fault, request_id, before_last_write)
             : RespondPlain(conn, reply, fault, request_id, steady_clock::now(), before_last_write);
}

Server::Outcome Server::RespondPlain(mg_connection* conn, const Reply& reply, Fault fault,
                                     std::string_view request_id, steady_clock::time_point start,
                                     const Hook& before_last_write) {
  const Headers headers = RequestIdHeader(reply.dialect, request_id);
  const std::string body = RenderBody(reply);
  const auto tokens = static_cast<int64_t>(reply.tokens.size());
  if (!SleepUntil(start + options_.ttft +
                  std::max<int64_t>(tokens - 1, 0) * options_.token_interval)) {
    return Outcome{503, false};
  }
  const std::string_view half = std::string_view(body).substr(0, body.size() / 2);
  switch (fault) {
    case Fault::kTruncated:
      // Well-framed HTTP, cut-off JSON.
      WriteAll(conn, HeaderBlock(200, "application/json", half.size(), headers));
      WriteAll(conn, half);
      return Outcome{200, false};
    case Fault::kReset:
      WriteAll(conn, HeaderBlock(200, "application/json", body.size(), headers));
      WriteAll(conn, half);
      return Outcome{200, false};
    case Fault::kStall:
      WriteAll(conn, HeaderBlock(200, "application/json", body.size(), headers));
      WriteAll(conn, half);
      StallUntilHangUp(conn);
      return Outcome{200, false};
    default:
      before_last_write();
      return Outcome{
          200, WriteAll(conn, HeaderBlock(200, "application/json", body.size(), headers) + body)};
  }
}

Server::Outcome Server::RespondStream(mg_connection* conn, const Reply& reply, Fault fault,
                                      std::string_view request_id, const Hook& before_last_write) {
  const Headers headers = RequestIdHeader(reply.dialect, request_id);
  const StreamScript script = RenderStream(reply);
  std::string opening = HeaderBlock(200, "text/event-stream; charset=utf-8", std::nullopt, headers);
  for (const auto& event : script.preamble) opening += Chunk(event);
  if (!WriteAll(conn, opening)) return Outcome{200, false};

  const size_t sent_tokens =
      InterruptsStream(fault) ? (script.tokens.size() + 1) / 2 : script.tokens.size();
  const auto first_token_at = steady_clock::now() + options_.ttft;
  for (size_t i = 0; i < sent_tokens; ++i) {
    if (!SleepUntil(first_token_at + static_cast<int64_t>(i) * options_.token_interval)) {
      return Outcome{200, false};
    }
    if (!WriteAll(conn, Chunk(script.tokens[i]))) return Outcome{200, false};
  }

  switch (fault) {
    case Fault::kStall:
      StallUntilHangUp(conn);
      return Outcome{200, false};
    case Fault::kReset: {
      // Announce a chunk, send half of it, and let civetweb close the connection:
      // the client sees broken chunked framing, not a clean end.
      const std::string& next =
          sent_tokens < script.tokens.size() ? script.tokens[sent_tokens] : script.epilogue.front();
      char size[20];
      std::snprintf(size, sizeof(size), "%zx\r\n", next.size());
      WriteAll(conn, std::string(size) + next.substr(0, next.size() / 2));
      return Outcome{200, false};
    }
    case Fault::kTruncated:
      WriteAll(conn, kLastChunk);
      return Outcome{200, false};
    case Fault::kMidstreamError:
      WriteAll(conn, Chunk(RenderMidstreamError(reply.dialect)) + std::string(kLastChunk));
      return Outcome{200, false};
    default:
      break;
  }
  std::string closing;
  for (const auto& event : script.epilogue) closing += Chunk(event);
  closing += kLastChunk;
  before_last_write();
  return Outcome{200, WriteAll(conn, closing)};
}

void Server::StallUntilHangUp(mg_connection* conn) {
  const int fd = FindClientSocket(*mg_get_request_info(conn));
  if (fd < 0) {
    Log(LogLevel::kWarn, "Client socket not found, stall lasts until shutdown");
  } else {
    Log(LogLevel::kInfo, "Stalling reply");
  }
  while (fd < 0 || !PeerHungUp(fd)) {
    if (!SleepUntil(steady_clock::now() + kPollInterval)) return;
  }
}

int Server::HandleModels(mg_connection* conn, std::string_view route) {
  ledger_.CountRequest(route);
  if (!Authorized(conn, Dialect::kOpenAi)) {
    ledger_.RecordFailed(route);
    return SendJson(conn, ErrorStatus(ErrorCase::kUnauthorized),
                    RenderErrorBody(Dialect::kOpenAi, ErrorCase::kUnauthorized));
  }
  ledger_.RecordServed(route);
  return SendJson(conn, 200, RenderModelsList(kModelIds, 1721172741));
}

int Server::HandleControlFault(mg_connection* conn) {
  auto bad_request = [&](std::string_view message) {
    return SendJson(conn, 400, RenderErrorBody(Dialect::kOpenAi, ErrorCase::kBadRequest, message));
  };
  auto body = ReadBody(conn, options_.max_body_bytes);
  if (!body) return bad_request("request body could not be read");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body->data(), body->size());
  if (doc.HasParseError() || !doc.IsObject()) return bad_request("body must be a JSON object");
  const auto name = doc.FindMember("fault");
  if (name == doc.MemberEnd() || !name->value.IsString()) {
    return bad_request("\"fault\" must be a string");
  }
  const auto fault = ParseFaultName({name->value.GetString(), name->value.GetStringLength()});
  if (!fault) return bad_request("unknown fault");
  FaultSpec spec{*fault, std::nullopt};
  const auto count = doc.FindMember("count");
  if (count != doc.MemberEnd() && !count->value.IsNull()) {
    if (!count->value.IsInt64() || count->value.GetInt64() < 1) {
      return bad_request("\"count\" must be a positive integer");
    }
    spec.count = count->value.GetInt64();
  }
  faults_.Set(spec);
  Log(LogLevel::kInfo, "Fault set",
      {{"fault", std::string(FaultName(spec.fault))},
       {"count", spec.count ? std::to_string(*spec.count) : "unlimited"}});
  return SendJson(conn, 200,
                  "{\"fault\":\"" + std::string(FaultName(spec.fault)) + "\",\"remaining\":" +
                      (spec.count ? std::to_string(*spec.count) : "null") + "}");
}

int Server::HandleControlReset(mg_connection* conn) {
  faults_.Reset();
  ledger_.Reset();
  pricer_.ResetSkews();
  Log(LogLevel::kInfo, "Faults, counters and price skews reset");
  return SendJson(conn, 200, "{\"ok\":true}");
}

int Server::HandleControlTopUp(mg_connection* conn) {
  auto body = ReadBody(conn, options_.max_body_bytes);
  rapidjson::Document doc;
  if (body) doc.Parse(body->data(), body->size());
  if (!body || doc.HasParseError() || !doc.IsObject() || !doc.HasMember("nano_usd") ||
      !doc["nano_usd"].IsInt64() || doc["nano_usd"].GetInt64() <= 0) {
    return SendJson(conn, 400,
                    RenderErrorBody(Dialect::kOpenAi, ErrorCase::kBadRequest,
                                    "body must be {\"nano_usd\": a positive integer}"));
  }
  topped_up_nano_usd_ += doc["nano_usd"].GetInt64();
  Log(LogLevel::kInfo, "Topped up", {{"quota_nano_usd", std::to_string(Quota())}});
  return SendJson(conn, 200, "{\"quota_nano_usd\":" + std::to_string(Quota()) + "}");
}

int Server::HandleControlStats(mg_connection* conn) {
  return SendJson(conn, 200,
                  RenderStatsJson(ledger_.Snapshot(), faults_.Current(), pricer_.Skews()));
}

int Server::HandleControlPriceSkew(mg_connection* conn) {
  auto bad_request = [&](std::string_view message) {
    return SendJson(conn, 400, RenderErrorBody(Dialect::kOpenAi, ErrorCase::kBadRequest, message));
  };
  auto body = ReadBody(conn, options_.max_body_bytes);
  if (!body) return bad_request("request body could not be read");
  // Numbers as text, so the factor is read exactly as written.
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(body->data(),
                                                                                    body->size());
  if (doc.HasParseError() || !doc.IsObject()) return bad_request("body must be a JSON object");
  const auto model = doc.FindMember("model");
  if (model == doc.MemberEnd() || !model->value.IsString() || model->value.GetStringLength() == 0) {
    return bad_request("\"model\" must be a non-empty string");
  }
  const auto factor_member = doc.FindMember("factor");
  if (factor_member == doc.MemberEnd() || !factor_member->value.IsString()) {
    return bad_request("\"factor\" must be a number");
  }
  const auto factor =
      ParseSkewFactor({factor_member->value.GetString(), factor_member->value.GetStringLength()});
  if (!factor) return bad_request(factor.error());
  const std::string model_name(model->value.GetString(), model->value.GetStringLength());
  pricer_.SetSkew(model_name, *factor);
  const std::string factor_text = DecimalText(*factor, 9, 1);
  Log(LogLevel::kInfo, "Price skew set", {{"model", model_name}, {"factor", factor_text}});
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("model");
  w.String(model_name.data(), static_cast<rapidjson::SizeType>(model_name.size()));
  w.Key("factor");
  w.RawValue(factor_text.data(), factor_text.size(), rapidjson::kNumberType);
  w.EndObject();
  return SendJson(conn, 200, std::string(buffer.GetString(), buffer.GetSize()));
}

std::chrono::system_clock::time_point Server::WallNow() const {
  return options_.wall_clock ? options_.wall_clock() : std::chrono::system_clock::now();
}

bool Server::BillingAuthorized(mg_connection* conn, bool admin, bool x_api_key) const {
  const std::string& key =
      admin && !options_.admin_key.empty() ? options_.admin_key : options_.api_key;
  if (key.empty()) return true;
  if (x_api_key) {
    const char* header = mg_get_header(conn, "x-api-key");
    return header != nullptr && ConstantTimeEquals(header, key);
  }
  constexpr std::string_view kBearer = "Bearer ";
  const char* header = mg_get_header(conn, "Authorization");
  if (header == nullptr) return false;
  const std::string_view value = header;
  return value.starts_with(kBearer) && ConstantTimeEquals(value.substr(kBearer.size()), key);
}

int Server::HandleBilling(mg_connection* conn, std::string_view route, BillingEndpoint endpoint) {
  ledger_.CountRequest(route);
  const bool anthropic =
      endpoint == BillingEndpoint::kAnthropicUsage || endpoint == BillingEndpoint::kAnthropicCosts;
  const bool admin = anthropic || endpoint == BillingEndpoint::kOpenAiUsage ||
                     endpoint == BillingEndpoint::kOpenAiCosts;
  const bool openrouter = endpoint == BillingEndpoint::kOpenRouterCredits ||
                          endpoint == BillingEndpoint::kOpenRouterKey;
  const Dialect dialect = anthropic ? Dialect::kAnthropic : Dialect::kOpenAi;
  const std::string request_id = NextId("req_fake_");

  auto reply = [&](int status, const std::string& body, std::string_view reason = {}) {
    if (status == 200) {
      ledger_.RecordServed(route);
    } else {
      ledger_.RecordFailed(route);
    }
    if (reason.empty()) {
      Log(LogLevel::kInfo, "Billing request",
          {{"route", std::string(route)}, {"status", std::to_string(status)}});
    } else {
      Log(LogLevel::kInfo, "Billing request",
          {{"route", std::string(route)},
           {"status", std::to_string(status)},
           {"reason", std::string(reason)}});
    }
    return SendJson(conn, status, body, RequestIdHeader(dialect, request_id));
  };
  auto fail = [&](ErrorCase error_case, std::string_view message) {
    const int status = ErrorStatus(error_case);
    return reply(status,
                 openrouter ? RenderOpenRouterError(status, message)
                            : RenderErrorBody(dialect, error_case, message,
                                              anthropic ? request_id : std::string()),
                 message);
  };

  if (!BillingAuthorized(conn, admin, anthropic)) {
    return fail(ErrorCase::kUnauthorized, anthropic    ? "invalid x-api-key"
                                          : openrouter ? "No auth credentials found"
                                                       : "Incorrect API key provided.");
  }
  if (anthropic && mg_get_header(conn, "anthropic-version") == nullptr) {
    return fail(ErrorCase::kBadRequest, "anthropic-version: header is required");
  }
  const mg_request_info* info = mg_get_request_info(conn);
  auto params = ParseQueryString(info->query_string != nullptr ? info->query_string : "");
  if (!params) return fail(ErrorCase::kBadRequest, params.error());

  const auto now = WallNow();
  const DayCounters reported = ledger_.Reported(steady_clock::now());
  const int64_t used = Sum(reported).cost.Total();
  switch (endpoint) {
    case BillingEndpoint::kOpenAiUsage:
    case BillingEndpoint::kOpenAiCosts:
    case BillingEndpoint::kAnthropicUsage:
    case BillingEndpoint::kAnthropicCosts: {
      const BillingReport report =
          endpoint == BillingEndpoint::kOpenAiUsage      ? BillingReport::kOpenAiUsage
          : endpoint == BillingEndpoint::kOpenAiCosts    ? BillingReport::kOpenAiCosts
          : endpoint == BillingEndpoint::kAnthropicUsage ? BillingReport::kAnthropicUsage
                                                         : BillingReport::kAnthropicCosts;
      const auto query = ParseReportQuery(report, *params, now);
      if (!query) return fail(ErrorCase::kBadRequest, query.error());
      return reply(200, RenderReport(*query, reported, options_.billing_page_size));
    }
    case BillingEndpoint::kDashboardSubscription:
      return reply(200, RenderDashboardSubscription(Quota()));
    case BillingEndpoint::kDashboardUsage:
      // start_date/end_date are ignored, as one-api and new-api ignore them.
      return reply(200, RenderDashboardUsage(used));
    case BillingEndpoint::kDeepSeekBalance:
      return reply(200, RenderDeepSeekBalance(Quota(), used, options_.cny_balance_nano));
    case BillingEndpoint::kOpenRouterCredits:
      return reply(200, RenderOpenRouterCredits(Quota(), used));
    case BillingEndpoint::kOpenRouterKey:
      return reply(200, RenderOpenRouterKey(MaskKey(options_.api_key), Quota(),
                                            SpendWindows(reported, pricing::UtcDay(now))));
  }
  return fail(ErrorCase::kNotFound, "");
}

}  // namespace llm_exporter::fake_vendor
