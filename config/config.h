#pragma once

// The loaded, validated configuration. A Config is immutable once built: the
// daemon shares it as std::shared_ptr<const Config> and a reload builds a new
// one aside, swapping it in only when it is valid.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "base/secret.h"

namespace llm_exporter::config {

using Duration = std::chrono::milliseconds;

using base::Secret;

enum class WireApi { kOpenAi, kAnthropic };
enum class BillingKind {
  kOpenAiOrg,
  kAnthropicAdmin,
  kOpenAiDashboard,
  kDeepSeekBalance,
  kOpenRouter
};
std::string_view ToString(WireApi api);
std::string_view ToString(BillingKind kind);

// How requests reach a vendor: TLS settings and an egress proxy, used by the
// probes, the billing polls and the proxy's upstream alike.
struct TransportConfig {
  std::string proxy_url;  // empty: the usual HTTPS_PROXY / NO_PROXY variables apply
  std::string ca_file;    // PEM bundle to trust instead of the system's
  std::string cert_file;  // client certificate for mutual TLS (with key_file)
  std::string key_file;
  std::string server_name;  // name to verify (and send as SNI) instead of the URL's host
  bool insecure_skip_verify = false;
  friend bool operator==(const TransportConfig&, const TransportConfig&) = default;
};

struct BillingConfig {
  bool enabled = true;  // false on all but one exporter of a fleet sharing a vendor
  BillingKind kind = BillingKind::kOpenAiDashboard;
  Duration interval = std::chrono::minutes(15);
  Secret api_key;             // defaults to the vendor's key
  std::string base_url;       // empty: the kind's default
  TransportConfig transport;  // the vendor's
};

struct VendorConfig {
  std::string name;
  WireApi api = WireApi::kOpenAi;
  std::string base_url;
  Secret api_key;
  std::string price_table;  // defaults to name
  TransportConfig transport;
  std::optional<BillingConfig> billing;
};

struct ProbeConfig {
  std::string name;  // default "<vendor>/<model>"
  std::string vendor;
  std::string model;
  bool stream = false;
  Duration interval{};
  Duration timeout{};
  std::string prompt;
  int64_t max_tokens = 0;
  std::string expect;  // regex; "(?i)" prefix means case-insensitive; empty: no check
  std::string reasoning_effort;
};

struct PricingConfig {
  std::vector<std::string> files;  // resolved against the config file's folder
  std::string litellm_json;        // empty: none
};

struct ProxyRoute {
  std::string model;  // glob on the request's model
  std::string vendor;
  bool inject_key = false;
};

// One line of the client keys file: a client's name (the `client` label of
// llm_client_cost_usd_total) and the key it presents to the proxy.
struct ClientKey {
  std::string name;
  Secret key;
};

// The most client keys one file may hold: `client` is a label.
inline constexpr size_t kMaxClientKeys = 1000;
// Client names are at most this long and keys at least this long: a key
// written where its name belongs is refused, never exported as a label.
inline constexpr size_t kMaxClientNameBytes = 32;
inline constexpr size_t kMinClientKeyBytes = 16;

struct ProxyConfig {
  int64_t max_body_bytes = 10 * 1024 * 1024;
  std::string client_keys_file;
  std::vector<ClientKey> client_keys;  // read from client_keys_file at load
  std::vector<ProxyRoute> routes;
  // Upstream timeouts: connecting, the reply's first byte after the request
  // was sent, the gap between two reads of a reply, and the whole request.
  Duration connect_timeout = std::chrono::seconds(10);
  Duration first_byte_timeout = std::chrono::minutes(10);
  Duration idle_timeout = std::chrono::minutes(5);
  Duration total_timeout = std::chrono::minutes(30);
};

// The largest max_tokens a probe may ask for (its worst case is reserved
// against the budget before every run).
inline constexpr int64_t kMaxProbeMaxTokens = 1'000'000;

struct ExporterConfig {
  int64_t probe_budget_nano_usd = 1'000'000'000;
  // The part of the budget that /probe may spend; scheduled runs get the rest.
  // nullopt: a tenth of the budget.
  std::optional<int64_t> on_demand_budget_nano_usd;
  int64_t max_concurrent_on_demand_probes = 4;
  Duration default_probe_interval = std::chrono::seconds(60);
  Duration default_probe_timeout = std::chrono::seconds(20);
  int64_t ledger_retention_days = 400;
};

struct Config {
  std::string file;
  ExporterConfig exporter;
  std::vector<VendorConfig> vendors;
  std::vector<ProbeConfig> probes;
  PricingConfig pricing;
  ProxyConfig proxy;

  const VendorConfig* FindVendor(std::string_view name) const;
  const ProbeConfig* FindProbe(std::string_view name) const;
};

// One problem found in a config file, printed as "file:line:col: key.path: message".
struct Diagnostic {
  std::string file;
  int64_t line = 0;
  int64_t column = 0;
  std::string key;
  std::string message;
  std::string ToString() const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> ProcessEnv(const std::string& name);

// Loads and validates a config file. Every problem is reported, not just the first.
std::expected<Config, std::vector<Diagnostic>> LoadConfigFile(const std::string& path,
                                                              const EnvLookup& env = ProcessEnv);
// Same, for text already in memory; `file` names it in diagnostics and relative
// paths resolve against its folder.
std::expected<Config, std::vector<Diagnostic>> LoadConfigString(std::string_view text,
                                                                const std::string& file,
                                                                const EnvLookup& env = ProcessEnv);

}  // namespace llm_exporter::config
