#pragma once

// Command line of the fake_vendor binary:
//   fake_vendor --listen 127.0.0.1:0 [--port-file PATH] [--api-key KEY]
//               [--ttft-ms N] [--token-ms N] [--slow-ms N] [--reply-tokens N]
//               [--fault NAME[:COUNT]]
//               [--admin-key KEY] [--prices FILE] [--price-table NAME]
//               [--price-skew MODEL=FACTOR]... [--quota-usd USD] [--cny-balance CNY]
//               [--billing-page-size N] [--report-delay-ms N]
// Flags take `--flag value` or `--flag=value`. The API key and the admin key may
// also come from the environment (FAKE_VENDOR_API_KEY, FAKE_VENDOR_ADMIN_KEY);
// the flags win. Parsing is pure: errors come back as messages naming the flag
// at fault. The price file is only named here; main() loads it.

#include <expected>
#include <span>
#include <string>
#include <string_view>

#include "tests/fake_vendor/server.h"

namespace llm_exporter::fake_vendor {

inline constexpr std::string_view kApiKeyEnvironmentVariable = "FAKE_VENDOR_API_KEY";
inline constexpr std::string_view kAdminKeyEnvironmentVariable = "FAKE_VENDOR_ADMIN_KEY";

struct CommandLine {
  ServerOptions server;
  std::string port_file;    // empty: none
  std::string prices_file;  // empty: nothing is priced
  bool help = false;
};

// `args` excludes argv[0]; `env_api_key` and `env_admin_key` are the
// environment's keys or nullptr.
std::expected<CommandLine, std::string> ParseCommandLine(std::span<const std::string_view> args,
                                                         const char* env_api_key,
                                                         const char* env_admin_key = nullptr);

std::string_view UsageText();

// The host part of a validated --listen value.
std::string_view ListenHost(std::string_view listen);

}  // namespace llm_exporter::fake_vendor
