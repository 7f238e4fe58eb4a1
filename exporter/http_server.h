#pragma once

// A small civetweb wrapper: requests are dispatched by exact path to handlers
// that return a whole response; a raw handler (the proxy) may write to the
// connection itself. Basic authentication and TLS come from the web config.

#include <atomic>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/web_config.h"

struct mg_connection;
struct mg_context;

namespace llm_exporter::exporter {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  mg_connection* connection = nullptr;

  std::string Header(const std::string& lower_name) const;
  std::optional<std::string> QueryParam(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Text(int status, std::string body);
  // 200 with an HTML page.
  static HttpResponse Html(std::string body);
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct ListenAddress {
  std::string host;  // empty: every interface
  int port = 0;
};
// Parses "host:port" or ":port" as node_exporter accepts them.
std::expected<ListenAddress, std::string> ParseListenAddress(std::string_view text);

class HttpServer {
 public:
  struct Options {
    std::vector<std::string> listen_addresses;
    std::optional<config::WebConfig> web;
    // Workers, each serving one connection at a time: more than a few
    // dozen idle or slow clients, plus /probe runs (bounded separately).
    int threads = 64;
    int64_t max_body_bytes = 1 << 20;
  };

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  static std::expected<std::unique_ptr<HttpServer>, std::string> Start(
      Options options, std::map<std::string, Handler> routes);

  // "host:port" for every listener, with the real port when 0 was asked for.
  std::vector<std::string> BoundAddresses() const { return bound_; }
  void Stop();

 private:
  HttpServer() = default;
  static int Dispatch(mg_connection* conn, void* self);
  bool Authorized(const HttpRequest& request);

  Options options_;
  std::map<std::string, Handler> routes_;
  mg_context* context_ = nullptr;
  std::vector<std::string> bound_;
  std::mutex auth_cache_mutex_;
  std::map<std::string, std::string> auth_cache_;  // user -> password verified against its hash
};

void WriteResponse(mg_connection* conn, const HttpResponse& response);

}  // namespace llm_exporter::exporter
