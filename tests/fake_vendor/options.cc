#include "tests/fake_vendor/options.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdint>
#include <optional>

#include "tests/fake_vendor/decimal_text.h"
#include "tests/fake_vendor/vendor_pricer.h"

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
constexpr int64_t kMaxMoneyNano = 1'000'000'000 * int64_t{1'000'000'000};  // 10^9 units

std::optional<int64_t> ParseMoney(std::string_view text) {
  const auto nano = ParseDecimalText(text, 9);
  if (!nano || *nano < 0 || *nano > kMaxMoneyNano) return std::nullopt;
  return *nano;
}

}  // namespace

std::string_view UsageText() {
  return "usage: fake_vendor --listen IPV4:PORT [--port-file PATH] [--api-key KEY]\n"
         "                   [--ttft-ms N] [--token-ms N] [--slow-ms N] [--reply-tokens N]\n"
         "                   [--fault NAME[:COUNT]] [--admin-key KEY] [--prices FILE]\n"
         "                   [--price-table NAME] [--price-skew MODEL=FACTOR]...\n"
         "                   [--quota-usd USD] [--cny-balance CNY] [--billing-page-size N]\n"
         "                   [--report-delay-ms N] [--threads N] [--max-body-bytes N] "
         "[--keep-alive]\n"
         "Simulates OpenAI-compatible and Anthropic chat APIs and vendor billing\n"
         "endpoints for tests.\n"
         "  --listen        address to bind; port 0 picks a free port (default 127.0.0.1:0)\n"
         "  --port-file     write the bound port here (atomically) once listening\n"
         "  --api-key       required key (also FAKE_VENDOR_API_KEY); none: no auth\n"
         "  --ttft-ms       delay before the first content token (default 0)\n"
         "  --token-ms      delay between consecutive tokens (default 0)\n"
         "  --slow-ms       delay of the slow_first_byte fault (default 5000)\n"
         "  --reply-tokens  output tokens per reply, capped by max_tokens (default 8)\n"
         "  --fault         fault for the next COUNT chat requests (default: all)\n"
         "  --admin-key     key of the org usage/cost endpoints (also FAKE_VENDOR_ADMIN_KEY);\n"
         "                  none: they take --api-key\n"
         "  --prices        price TOML file; served replies are priced from it\n"
         "  --price-table   table of --prices to use (default fake)\n"
         "  --price-skew    multiply MODEL's cost by FACTOR (repeatable)\n"
         "  --quota-usd     credit/limit of the balance endpoints (default 25)\n"
         "  --cny-balance   add a CNY entry with this balance to /user/balance\n"
         "  --threads       connections served at once (default 64; benchmarks want more)\n"
         "  --max-body-bytes  larger request bodies get 413 (default 1048576)\n"
         "  --keep-alive    keep connections open between requests (default: one request each)\n"
         "  --billing-page-size  day buckets per report page at most (default 2)\n"
         "  --report-delay-ms    billing shows replies served at least N ms ago (default 0)\n"
         "faults: none slow_first_byte stall reset truncated http_401 http_429 http_500\n"
         "        http_529 error_200 html midstream_error wrong_content no_usage\n"
         "        huge_usage echo_key_401\n";
}

std::string_view ListenHost(std::string_view listen) { return listen.substr(0, listen.rfind(':')); }

std::expected<CommandLine, std::string> ParseCommandLine(std::span<const std::string_view> args,
                                                         const char* env_api_key,
                                                         const char* env_admin_key) {
  CommandLine command_line;
  if (env_api_key != nullptr) command_line.server.api_key = env_api_key;
  if (env_admin_key != nullptr) command_line.server.admin_key = env_admin_key;
  bool price_table_given = false;

  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    if (flag == "--help" || flag == "-h") {
      command_line.help = true;
      continue;
    }
    if (flag == "--keep-alive") {
      command_line.server.keep_alive = true;
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
    auto integer = [&](int64_t low, int64_t high) -> std::expected<int64_t, std::string> {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      const auto parsed = ParseInt(*text, low, high);
      if (!parsed) {
        return std::unexpected(std::string(flag) + " must be an integer in " + std::to_string(low) +
                               ".." + std::to_string(high) + ", got \"" + std::string(*text) +
                               "\"");
      }
      return *parsed;
    };
    auto millis = [&](std::chrono::milliseconds& out) -> std::expected<void, std::string> {
      auto parsed = integer(0, kMaxMillis);
      if (!parsed) return std::unexpected(parsed.error());
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
      auto parsed = integer(1, 100'000);
      if (!parsed) return std::unexpected(parsed.error());
      command_line.server.reply_tokens = *parsed;
    } else if (flag == "--threads") {
      auto parsed = integer(1, 20'000);
      if (!parsed) return std::unexpected(parsed.error());
      command_line.server.threads = *parsed;
    } else if (flag == "--max-body-bytes") {
      auto parsed = integer(1, int64_t{1} << 30);
      if (!parsed) return std::unexpected(parsed.error());
      command_line.server.max_body_bytes = static_cast<size_t>(*parsed);
    } else if (flag == "--fault") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      auto spec = ParseFaultSpec(*text);
      if (!spec) return std::unexpected("--fault: " + spec.error());
      command_line.server.fault = *spec;
    } else if (flag == "--admin-key") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      if (text->empty()) return std::unexpected("--admin-key must not be empty");
      command_line.server.admin_key = std::string(*text);
    } else if (flag == "--prices") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      if (text->empty()) return std::unexpected("--prices must not be empty");
      command_line.prices_file = std::string(*text);
    } else if (flag == "--price-table") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      if (text->empty()) return std::unexpected("--price-table must not be empty");
      command_line.server.price_table = std::string(*text);
      price_table_given = true;
    } else if (flag == "--price-skew") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      auto skew = ParseSkewAssignment(*text);
      if (!skew) return std::unexpected("--price-skew: " + skew.error());
      command_line.server.price_skews.insert_or_assign(skew->first, skew->second);
    } else if (flag == "--quota-usd" || flag == "--cny-balance") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      const auto nano = ParseMoney(*text);
      if (!nano) {
        return std::unexpected(std::string(flag) +
                               " must be a non-negative decimal with at most 9 fraction "
                               "digits, got \"" +
                               std::string(*text) + "\"");
      }
      if (flag == "--quota-usd") {
        command_line.server.quota_nano_usd = *nano;
      } else {
        command_line.server.cny_balance_nano = *nano;
      }
    } else if (flag == "--billing-page-size") {
      auto text = value();
      if (!text) return std::unexpected(text.error());
      const auto parsed = ParseInt(*text, 1, 1000);
      if (!parsed) {
        return std::unexpected("--billing-page-size must be an integer in 1..1000, got \"" +
                               std::string(*text) + "\"");
      }
      command_line.server.billing_page_size = *parsed;
    } else if (flag == "--report-delay-ms") {
      result = millis(command_line.server.report_delay);
    } else {
      return std::unexpected("unknown argument \"" + std::string(args[i]) + "\"");
    }
    if (!result) return std::unexpected(result.error());
  }
  if (price_table_given && command_line.prices_file.empty()) {
    return std::unexpected("--price-table needs --prices");
  }
  return command_line;
}

}  // namespace llm_exporter::fake_vendor
