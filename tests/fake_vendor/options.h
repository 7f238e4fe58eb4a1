#pragma once

// Command line of the fake_vendor binary:
//   fake_vendor --listen 127.0.0.1:0 [--port-file PATH] [--api-key KEY]
//               [--ttft-ms N] [--token-ms N] [--slow-ms N] [--reply-tokens N]
//               [--fault NAME[:COUNT]]
// Flags take `--flag value` or `--flag=value`. The API key may also come from the
// environment (FAKE_VENDOR_API_KEY); the flag wins. Parsing is pure: errors come
// back as messages naming the flag at fault.

#include <expected>
#include <span>
#include <string>
#include <string_view>

#include "tests/fake_vendor/server.h"

namespace llm_exporter::fake_vendor {

inline constexpr std::string_view kApiKeyEnvironmentVariable = "FAKE_VENDOR_API_KEY";

struct CommandLine {
  ServerOptions server;
  std::string port_file;  // empty: none
  bool help = false;
};

// `args` excludes argv[0]; `env_api_key` is the environment's key or nullptr.
std::expected<CommandLine, std::string> ParseCommandLine(std::span<const std::string_view> args,
                                                         const char* env_api_key);

std::string_view UsageText();

// The host part of a validated --listen value.
std::string_view ListenHost(std::string_view listen);

}  // namespace llm_exporter::fake_vendor
