#include "tests/fake_vendor/options.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdint>
#include <optional>

namespace llm_exporter::fake_vendor {
namespace {

std::optional<int64_t> ParseInt(std::string_view text, int64_t min, int64_t max) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

std::expected<void, std::string> ValidateListen(std::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return std::unexpected("--listen must be IPV4:PORT, got \"" + std::string(listen) + "\"");
  }
  const std::string host(listen.substr(0, colon));
  in_addr address{};
  if (inet_pton(AF_INET, host.c_str(), &address) != 1) {
    return std::unexpected("--listen host must be an IPv4 address, got \"" + host + "\"");
  }
  if (!ParseInt(listen.substr(colon + 1), 0, 65535)) {
    return std::unexpected("--listen port must be 0..65535, got \"" +
                           std::string(listen.substr(colon + 1)) + "\"");
  }
  return {};
}

constexpr int64_t kMaxMillis = 3'600'000;

}  // namespace

std::string_view UsageText() {
  return "usage: fake_vendor --listen IPV4:PORT [--port-file PATH] [--api-key KEY]\n"
         "                   [--ttft-ms N] [--token-ms N] [--slow-ms N] [--reply-tokens N]\n"
         "                   [--fault NAME[:COUNT]]\n"
         "Simulates OpenAI-compatible and Anthropic chat APIs for tests.\n"
         "  --listen        address to bind; port 0 picks a free port (default 127.0.0.1:0)\n"
         "  --port-file     write the bound port here (atomically) once listening\n"
         "  --api-key       required key (also FAKE_VENDOR_API_KEY); none: no auth\n"
         "  --ttft-ms       delay before the first content token (default 0)\n"
         "  --token-ms      delay between consecutive tokens (default 0)\n"
         "  --slow-ms       delay of the slow_first_byte fault (default 5000)\n"
         "  --reply-tokens  output tokens per reply, capped by max_tokens (default 8)\n"
         "  --fault         fault for the next COUNT chat requests (default: all)\n"
         "faults: none slow_first_byte stall reset truncated http_401 http_429 http_500\n"
         "        http_529 error_200 html midstream_error wrong_content no_usage\n";
}

std::string_view ListenHost(std::string_view listen) { return listen.substr(0, listen.rfind(':')); }

std::expected<CommandLine, std::string> ParseCommandLine(std::span<const std::string_view> args,
                                                         const char* env_api_key) {
  CommandLine command_line;
  if (env_api_key != nullptr) command_line.server.api_key = env_api_key;

  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    if (flag == "--help" || flag == "-h") {
      command_line.help = true;
      continue;
    }
    std::optional<std::string_view> inline_value;
    if (const size_t equals = flag.find('='); flag.starts_with("--") && equals != flag.npos) {
      inline_value = flag.substr(equals + 1);
      flag = flag.substr(0, equals);
    }
    auto value = [&]() -> std::expected<std::string_view, std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return std::unexpected(std::string(flag) + " needs a value");
      return args[++i];
    };
    auto millis = [&](std::chrono::milliseconds& out) -> std::expected<void, std::string> {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      const auto parsed = ParseInt(*text, 0, kMaxMillis);
      if (!parsed) {
        return std::unexpected(std::string(flag) + " must be an integer in 0.." +
                               std::to_string(kMaxMillis) + ", got \"" + std::string(*text) + "\"");
      }
      out = std::chrono::milliseconds(*parsed);
      return {};
    };

    std::expected<void, std::string> result;
    if (flag == "--listen") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      result = ValidateListen(*text);
      command_line.server.listen = std::string(*text);
    } else if (flag == "--port-file") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      if (text->empty()) return std::unexpected("--port-file must not be empty");
      command_line.port_file = std::string(*text);
    } else if (flag == "--api-key") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      if (text->empty()) return std::unexpected("--api-key must not be empty");
      command_line.server.api_key = std::string(*text);
    } else if (flag == "--ttft-ms") {
      result = millis(command_line.server.ttft);
    } else if (flag == "--token-ms") {
      result = millis(command_line.server.token_interval);
    } else if (flag == "--slow-ms") {
      result = millis(command_line.server.slow_first_byte);
    } else if (flag == "--reply-tokens") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      const auto parsed = ParseInt(*text, 1, 100'000);
      if (!parsed) {
        return std::unexpected("--reply-tokens must be an integer in 1..100000, got \"" +
                               std::string(*text) + "\"");
      }
      command_line.server.reply_tokens = *parsed;
    } else if (flag == "--fault") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      auto spec = ParseFaultSpec(*text);
      if (!spec) return std::unexpected("--fault: " + spec.error());
      command_line.server.fault = *spec;
    } else {
      return std::unexpected("unknown argument \"" + std::string(args[i]) + "\"");
    }
    if (!result) return std::unexpected(result.error());
  }
  return command_line;
}

}  // namespace llm_exporter::fake_vendor
