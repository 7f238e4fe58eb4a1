#pragma once

// What the proxy's integration tests share: the exporter's proxy address, a
// config with one vendor of each dialect, request bodies, and a raw client for
// what an HTTP library would hide (pipelining, hang-ups, pieces, 1xx).

#include <rapidjson/document.h>

#include <map>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace llm_exporter::testing {

std::string ProxyUrl(Exporter& exporter);

// A config with one OpenAI-style ("fo") and one Anthropic-style ("fa") vendor
// at `base`; `proxy_extra` goes into [proxy]; a `keys_file` turns on
// inject_key for the Anthropic route.
std::string ProxyConfig(const std::string& base, const std::string& proxy_extra = "",
                        const std::string& keys_file = "");

// integration_proxy_libcurl runs these cases once more with every vendor
// reached through libcurl: a proxy variable in the exporter's environment
// does that, and NO_PROXY keeps its traffic direct, on loopback.
extern const bool kThroughLibcurl;
extern const std::map<std::string, std::string> kEnv;
extern const std::vector<std::string> kJson;
extern const std::vector<std::string> kAnthropicHeaders;

std::string Chat(bool stream, bool include_usage, const std::string& prompt = "ping");
std::string Messages(bool stream, const std::string& prompt = "ping");

double ProxySeries(const std::string& scrape, const std::string& name,
                   std::map<std::string, std::string> labels);

// Stops the exporter as systemd would; it must exit 0 (under ASan, a leak or
// any error report makes the exit code non-zero).
void StopCleanly(Exporter& exporter);

rapidjson::Document Json(const std::string& text);

// A raw client: connects to the proxy (5 s receive timeout) and returns the socket.
int ConnectTo(const std::string& proxy_url);
// Sends all of `bytes` on `fd`.
void SendAll(int fd, const std::string& bytes);
// A raw client: sends `request`, reads until `marker` arrives, and returns the socket.
int OpenStream(const std::string& proxy_url, const std::string& request, const std::string& marker);
// Reads from `fd` until `marker` has arrived or the peer closes; all read.
std::string ReadUntil(int fd, const std::string& marker);
std::string PostRequest(const std::string& path, const std::string& body,
                        const std::vector<std::string>& headers);

}  // namespace llm_exporter::testing
