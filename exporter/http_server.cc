#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <crypt.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "base/log.h"
#include "exporter/gzip.h"

namespace llm_exporter::exporter {
namespace {

// Responses at least this large are followed by a malloc_trim().
constexpr size_t kTrimAfterBytes = 256 * 1024;

// Smaller responses are sent as they are: compressing them saves nothing.
constexpr size_t kMinGzipBytes = 1024;

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int buffer = 0, bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  // crypt_data is 32 KiB: too much for a server worker's stack.
  auto data = std::make_unique<crypt_data>();
  const char* result = crypt_r(password.c_str(), hash.c_str(), data.get());
  return result != nullptr && result[0] != '*' && ConstantTimeEqual(result, hash);
}

int LogMessage(const mg_connection*, const char* message) {
  LOG_DEBUG("HTTP server message", {"detail", message});
  return 1;
}

}  // namespace

std::string HttpRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::optional<std::string> HttpRequest::QueryParam(std::string_view name) const {
  // civetweb decodes (%XX and '+'); the value is never longer than the query.
  std::string value(query.size() + 1, '\0');
  const int length =
      mg_get_var(query.data(), query.size(), std::string(name).c_str(), value.data(), value.size());
  if (length < 0) return std::nullopt;  // absent (-1), or cannot happen (-2)
  value.resize(static_cast<size_t>(length));
  return value;
}

HttpResponse HttpResponse::Html(std::string body) {
  HttpResponse response;
  response.content_type = "text/html; charset=utf-8";
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

std::expected<ListenAddress, std::string> ParseListenAddress(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::unexpected("listen address \"" + std::string(text) +
                           "\" has no port (use host:port or :port)");
  }
  ListenAddress address;
  address.host = std::string(text.substr(0, colon));
  std::string_view port = text.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
  if (ec != std::errc() || ptr != port.data() + port.size() || address.port < 0 ||
      address.port > 65535) {
    return std::unexpected("listen address \"" + std::string(text) + "\" has an invalid port");
  }
  if (!address.host.empty() && address.host.front() == '[') {
    return std::unexpected("listen address \"" + std::string(text) +
                           "\": IPv6 listeners are not supported by this build");
  }
  return address;
}

void WriteResponse(mg_connection* conn, const HttpResponse& response) {
  mg_response_header_start(conn, response.status);
  mg_response_header_add(conn, "Content-Type", response.content_type.c_str(), -1);
  mg_response_header_add(conn, "Content-Length", std::to_string(response.body.size()).c_str(), -1);
  for (const auto& [name, value] : response.headers) {
    mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
  }
  mg_response_header_send(conn);
  const mg_request_info* info = mg_get_request_info(conn);
  if (info == nullptr || std::strcmp(info->request_method, "HEAD") != 0) {
    mg_write(conn, response.body.data(), response.body.size());
  }
}

std::expected<std::unique_ptr<HttpServer>, std::string> HttpServer::Start(
    Options options, std::map<std::string, Handler> routes) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->routes_ = std::move(routes);
  if (options.web && !options.web->cert_file.empty()) {
    // Debian bookworm's civetweb 1.15 loads OpenSSL 3 at run time and calls a
    // symbol that OpenSSL 3 no longer exports (SSL_get_peer_certificate) on
    // every TLS connection: the worker jumps to a null pointer. Refusing to
    // start beats crashing on the first scrape.
    return std::unexpected(
        "TLS (tls_server_config) is not available in this build: the system civetweb 1.15 "
        "crashes on TLS connections with OpenSSL 3; terminate TLS in front of llm_exporter "
        "(basic_auth_users works without TLS)");
  }

  std::vector<ListenAddress> addresses;
  std::string ports;
  for (const std::string& text : options.listen_addresses) {
    auto address = ParseListenAddress(text);
    if (!address) return std::unexpected(address.error());
    std::string host = address->host;
    if (!host.empty()) {
      // civetweb wants a numeric address; resolve names such as localhost.
      addrinfo hints{};
      hints.ai_family = AF_INET;
      addrinfo* result = nullptr;
      if (getaddrinfo(host.c_str(), nullptr, &hints, &result) != 0 || result == nullptr) {
        return std::unexpected("cannot resolve listen address host \"" + host + "\"");
      }
      char numeric[NI_MAXHOST];
      getnameinfo(result->ai_addr, result->ai_addrlen, numeric, sizeof numeric, nullptr, 0,
                  NI_NUMERICHOST);
      freeaddrinfo(result);
      host = numeric;
    }
    if (!ports.empty()) ports += ",";
    ports += (host.empty() ? "" : host + ":") + std::to_string(address->port);
    addresses.push_back(*address);
  }
  if (addresses.empty()) return std::unexpected("no listen address given");

  std::string threads = std::to_string(options.threads);
  std::vector<const char*> civet_options = {
      "listening_ports", ports.c_str(), "num_threads", threads.c_str(), "enable_keep_alive", "yes",
      // A client has this long to send each part of its request: idle or
      // half-sent connections cannot hold a worker for long.
      "request_timeout_ms", "5000",
      // Accepted connections waiting for a worker; beyond it the kernel's
      // listen backlog holds them.
      "connection_queue", "64"};
  civet_options.push_back(nullptr);

  mg_callbacks callbacks{};
  callbacks.log_message = LogMessage;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = civet_options.data();
  char error_text[256] = {0};
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof error_text};
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return std::unexpected("cannot start HTTP listener on " + ports + ": " + error_text);
  }
  server->options_ = std::move(options);
  mg_set_request_handler(server->context_, "/", &HttpServer::Dispatch, server.get());

  std::vector<mg_server_port> bound(addresses.size() + 4);
  int count = mg_get_server_ports(server->context_, static_cast<int>(bound.size()), bound.data());
  for (int i = 0; i < count && i < static_cast<int>(addresses.size()); ++i) {
    server->bound_.push_back(addresses[i].host + ":" + std::to_string(bound[i].port));
  }
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (context_ == nullptr) return;
  // civetweb's threads look at the stop flag only between connections or
  // every two seconds; connecting to our own listeners wakes them at once.
  std::atomic<bool> stopped{false};
  std::thread waker([this, &stopped] {
    while (!stopped) {
      for (const std::string& address : bound_) {
        auto colon = address.rfind(':');
        std::string host = address.substr(0, colon);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        sockaddr_in target{};
        target.sin_family = AF_INET;
        target.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
        if (host.empty() || host == "0.0.0.0" ||
            inet_pton(AF_INET, host.c_str(), &target.sin_addr) != 1) {
          target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
        connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target);
        close(fd);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  mg_stop(context_);
  stopped = true;
  waker.join();
  context_ = nullptr;
}

bool HttpServer::Authorized(const HttpRequest& request) {
  if (!options_.web || options_.web->basic_auth_users.empty()) return true;
  std::string header = request.Header("authorization");
  if (ToLower(header.substr(0, 6)) != "basic ") return false;
  auto decoded = Base64Decode(header.substr(6));
  if (!decoded) return false;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  std::string user = decoded->substr(0, colon);
  std::string password = decoded->substr(colon + 1);
  auto it = options_.web->basic_auth_users.find(user);
  if (it == options_.web->basic_auth_users.end()) {
    // Spend the same time as a real check so that user names cannot be probed.
    BcryptMatches(password, "$2b$10$/vWvAIFdwyLUgQDWbqpfi./A1tNVMOTRBvqx5JGLupytnzoiedFge");
    return false;
  }
  {
    std::lock_guard lock(auth_cache_mutex_);
    auto cached = auth_cache_.find(user);
    if (cached != auth_cache_.end() && ConstantTimeEqual(cached->second, password)) return true;
  }
  if (!BcryptMatches(password, it->second)) return false;
  std::lock_guard lock(auth_cache_mutex_);
  auth_cache_[user] = password;
  return true;
}

int HttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  request.connection = conn;
  request.method = info->request_method ? info->request_method : "";
  request.path = info->local_uri ? info->local_uri : "/";
  request.query = info->query_string ? info->query_string : "";
  for (int i = 0; i < info->num_headers; ++i) {
    request.headers[ToLower(info->http_headers[i].name)] = info->http_headers[i].value;
  }
  if (!self->Authorized(request)) {
    HttpResponse response = HttpResponse::Text(401, "Unauthorized\n");
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"llm_exporter\"");
    WriteResponse(conn, response);
    return 401;
  }
  auto route = self->routes_.find(request.path);
  if (route == self->routes_.end()) {
    WriteResponse(conn, HttpResponse::Text(404, "Not Found\n"));
    return 404;
  }
  if (info->content_length > self->options_.max_body_bytes) {
    WriteResponse(conn, HttpResponse::Text(413, "Request body too large\n"));
    return 413;
  }
  char buffer[16384];
  while (static_cast<int64_t>(request.body.size()) <= self->options_.max_body_bytes) {
    int n = mg_read(conn, buffer, sizeof buffer);
    if (n <= 0) break;
    request.body.append(buffer, static_cast<size_t>(n));
  }
  HttpResponse response;
  try {
    response = route->second(request);
  } catch (const std::exception& e) {
    LOG_ERROR("Request handler failed", {"path", request.path}, {"err", e.what()});
    response = HttpResponse::Text(500, "Internal error\n");
  }
  const size_t rendered_bytes = response.body.size();
  // Compressed when the client accepts it and it is worth it (Prometheus
  // asks for gzip on every scrape).
  if (response.body.size() >= kMinGzipBytes) {
    response.headers.emplace_back("Vary", "Accept-Encoding");
    if (AcceptsGzip(request.Header("accept-encoding"))) {
      if (auto compressed = Gzip(response.body)) {
        response.body = std::move(*compressed);
        response.headers.emplace_back("Content-Encoding", "gzip");
      }
    }
  }
  WriteResponse(conn, response);
  const int status = response.status;
  if (rendered_bytes >= kTrimAfterBytes) {
    // A page of hundreds of kilobytes was built from many small allocations
    // on this worker; give the freed pages back rather than let each worker's
    // share of the heap stay at its largest page (about 1 ms).
    response = HttpResponse{};
    malloc_trim(0);
  }
  return status;
}

}  // namespace llm_exporter::exporter
