#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "base/decimal.h"
#include "base/regex.h"
#include "base/toml_names.h"
#include "config/client_keys.h"
#include "config/config.h"
#include "config/values.h"

namespace llm_exporter::config {
namespace {

namespace fs = std::filesystem;

// Every duration of the config is at most this: longer ones are typos, and
// steady-clock arithmetic in nanoseconds must never overflow.
constexpr Duration kMaxDuration = std::chrono::days(7);

// Whether `path` can be read as a regular file; never throws (a symlink loop or
// a permission error is an answer, not an exception).
std::optional<std::string> FileProblem(const std::string& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return "does not exist";
    return "cannot be accessed: " + ec.message();
  }
  if (fs::is_directory(status)) return "is a directory";
  if (!fs::exists(status)) return "does not exist";
  if (access(path.c_str(), R_OK) != 0) {
    return std::string("is not readable: ") + std::strerror(errno);
  }
  return std::nullopt;
}

// Collects diagnostics for one file.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void Add(const toml::source_region& where, std::string key, std::string message) {
    list_.push_back({file_, static_cast<int64_t>(where.begin.line),
                     static_cast<int64_t>(where.begin.column), std::move(key), std::move(message)});
  }
  const std::string& file() const { return file_; }
  std::vector<Diagnostic>& list() { return list_; }

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
};

// Reads the keys of one TOML table, remembering which were read so that the
// rest can be reported as unknown (strictness is the point: a misspelt key
// must not silently fall back to a default).
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, Diagnostics& diags)
      : table_(table), path_(std::move(path)), diags_(diags) {}

  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  const toml::source_region& Where(std::string_view key) const {
    if (const toml::node* node = table_.get(key)) return node->source();
    return table_.source();
  }
  void Error(std::string_view key, std::string message) {
    diags_.Add(Where(key), Path(key), std::move(message));
  }
  void TableError(std::string message) { diags_.Add(table_.source(), path_, std::move(message)); }

  const toml::node* Get(std::string_view key, bool required) {
    seen_.insert(std::string(key));
    const toml::node* node = table_.get(key);
    if (node == nullptr && required) {
      diags_.Add(table_.source(), Path(key), "missing required key");
    }
    return node;
  }

  template <typename T>
  std::optional<T> Typed(std::string_view key, bool required, toml::node_type want) {
    const toml::node* node = Get(key, required);
    if (node == nullptr) return std::nullopt;
    if (auto value = node->value_exact<T>()) return *value;
    Error(key,
          "expected " + base::TomlTypeName(want) + ", got " + base::TomlTypeName(node->type()));
    return std::nullopt;
  }

  std::optional<std::string> String(std::string_view key, bool required = false) {
    return Typed<std::string>(key, required, toml::node_type::string);
  }
  std::optional<bool> Bool(std::string_view key) {
    return Typed<bool>(key, false, toml::node_type::boolean);
  }
  std::optional<int64_t> Int(std::string_view key) {
    return Typed<int64_t>(key, false, toml::node_type::integer);
  }
  std::optional<int64_t> PositiveInt(std::string_view key) {
    auto value = Int(key);
    if (value && *value <= 0) {
      Error(key, "must be greater than 0, got " + std::to_string(*value));
      return std::nullopt;
    }
    return value;
  }
  std::optional<Duration> Dur(std::string_view key) {
    auto text = String(key);
    if (!text) return std::nullopt;
    auto value = ParseDuration(*text);
    if (!value || value->count() <= 0) {
      Error(key,
            "invalid duration \"" + *text + "\" (use e.g. \"500ms\", \"30s\", \"5m\", \"1h\")");
      return std::nullopt;
    }
    if (*value > kMaxDuration) {
      Error(key, "duration \"" + *text + "\" is too long (at most " + FormatDuration(kMaxDuration) +
                     ")");
      return std::nullopt;
    }
    return value;
  }
  // An integer in [min, max], with a clear error outside it.
  std::optional<int64_t> IntIn(std::string_view key, int64_t min, int64_t max) {
    auto value = Int(key);
    if (value && (*value < min || *value > max)) {
      Error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                     ", got " + std::to_string(*value));
      return std::nullopt;
    }
    return value;
  }
  // Dollars as a TOML float or integer, converted exactly to nano-USD.
  std::optional<int64_t> Dollars(std::string_view key) {
    const toml::node* node = Get(key, false);
    if (node == nullptr) return std::nullopt;
    std::optional<int64_t> nano;
    if (auto i = node->value_exact<int64_t>()) {
      nano = ParseDecimalNanoUsd(std::to_string(*i));
    } else if (auto d = node->value_exact<double>()) {
      nano = ParseDecimalNanoUsd(base::ShortestDecimal(*d));
    } else {
      Error(key, "expected a number, got " + base::TomlTypeName(node->type()));
      return std::nullopt;
    }
    if (!nano) {
      Error(key, "not a dollar amount with at most nine decimals");
    } else if (*nano < 0) {
      Error(key, "must not be negative");
      return std::nullopt;
    }
    return nano;
  }
  std::optional<std::string> OneOf(std::string_view key, bool required,
                                   const std::vector<std::string>& allowed) {
    auto value = String(key, required);
    if (!value) return std::nullopt;
    for (const auto& a : allowed) {
      if (*value == a) return value;
    }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    Error(key, "invalid value \"" + *value + "\" (expected one of: " + list + ")");
    return std::nullopt;
  }
  std::optional<std::vector<std::string>> StringArray(std::string_view key) {
    const toml::node* node = Get(key, false);
    if (node == nullptr) return std::nullopt;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      Error(key, "expected an array of strings, got " + base::TomlTypeName(node->type()));
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& item = *array->get(i);
      if (auto s = item.value_exact<std::string>()) {
        out.push_back(*s);
      } else {
        diags_.Add(item.source(), Path(key) + "[" + std::to_string(i) + "]",
                   "expected a string, got " + base::TomlTypeName(item.type()));
      }
    }
    return out;
  }
  const toml::table* Table(std::string_view key) {
    const toml::node* node = Get(key, false);
    if (node == nullptr) return nullptr;
    if (const toml::table* t = node->as_table()) return t;
    Error(key, "expected a table, got " + base::TomlTypeName(node->type()));
    return nullptr;
  }
  // [[key]] arrays of tables; each element's path is key[i].
  std::vector<std::pair<const toml::table*, std::string>> Tables(std::string_view key) {
    std::vector<std::pair<const toml::table*, std::string>> out;
    const toml::node* node = Get(key, false);
    if (node == nullptr) return out;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      Error(key, "expected an array of tables ([[" + Path(key) + "]]), got " +
                     base::TomlTypeName(node->type()));
      return out;
    }
    for (size_t i = 0; i < array->size(); ++i) {
      std::string path = Path(key) + "[" + std::to_string(i) + "]";
      if (const toml::table* t = array->get(i)->as_table()) {
        out.emplace_back(t, path);
      } else {
        diags_.Add(array->get(i)->source(), path,
                   "expected a table, got " + base::TomlTypeName(array->get(i)->type()));
      }
    }
    return out;
  }

  // Reports every key that no reader asked for.
  void Finish() {
    for (auto&& [key, node] : table_) {
      if (seen_.count(std::string(key.str())) == 0) {
        diags_.Add(key.source(), Path(key.str()), "unknown key");
      }
    }
  }

  Diagnostics& diags() { return diags_; }
  const std::string& path() const { return path_; }
  const toml::table& table() const { return table_; }

 private:
  const toml::table& table_;
  std::string path_;
  Diagnostics& diags_;
  std::set<std::string> seen_;
};

struct LoadContext {
  fs::path base_dir;
  const EnvLookup& env;
};

std::string ResolvePath(const LoadContext& ctx, const std::string& path) {
  fs::path p(path);
  if (p.is_absolute() || path.empty()) return path;
  return (ctx.base_dir / p).lexically_normal().string();
}

// Reads `<prefix>_env` / `<prefix>_file`, and rejects an inline `<prefix>`.
std::optional<Secret> ReadSecret(TableReader& reader, const LoadContext& ctx,
                                 const std::string& prefix) {
  if (reader.Get(prefix, false) != nullptr) {
    reader.Error(prefix,
                 "inline secrets are not allowed: put the key in an environment variable "
                 "and set " +
                     prefix + "_env, or in a file and set " + prefix + "_file");
  }
  auto env_name = reader.String(prefix + "_env");
  auto file_name = reader.String(prefix + "_file");
  if (env_name && file_name) {
    reader.Error(prefix + "_file", prefix + "_env and " + prefix + "_file are mutually exclusive");
    return std::nullopt;
  }
  if (env_name) {
    auto value = ctx.env(*env_name);
    if (!value) {
      reader.Error(prefix + "_env", "environment variable \"" + *env_name + "\" is not set");
      return std::nullopt;
    }
    if (value->empty()) {
      reader.Error(prefix + "_env", "environment variable \"" + *env_name + "\" is empty");
      return std::nullopt;
    }
    return Secret("env " + *env_name, *value);
  }
  if (file_name) {
    std::string path = ResolvePath(ctx, *file_name);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      reader.Error(prefix + "_file",
                   "cannot read secret file \"" + path + "\": " + std::strerror(errno));
      return std::nullopt;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string value = buffer.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ' ||
                              value.back() == '\t')) {
      value.pop_back();
    }
    if (value.empty()) {
      reader.Error(prefix + "_file", "secret file \"" + path + "\" is empty");
      return std::nullopt;
    }
    return Secret("file " + path, value);
  }
  return Secret();
}

void CheckBaseUrl(TableReader& reader, const std::string& key, const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    // The URL is not echoed: it might carry credentials.
    reader.Error(key, "must start with http:// or https://");
    return;
  }
  // Credentials in the URL would be printed wherever the URL is (status page,
  // debug output, logs): keys belong in *_env or *_file.
  std::string_view rest = std::string_view(url).substr(url.find("//") + 2);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    reader.Error(key,
                 "credentials in the URL are not allowed (they would be shown on the status "
                 "page and in logs): put the key in api_key_env or api_key_file");
  }
}

void ReadExporter(TableReader& reader, ExporterConfig& out) {
  if (auto v = reader.Dollars("probe_budget_usd_per_day")) out.probe_budget_nano_usd = *v;
  if (auto v = reader.Dur("default_probe_interval")) out.default_probe_interval = *v;
  if (auto v = reader.Dur("default_probe_timeout")) out.default_probe_timeout = *v;
  if (auto v = reader.IntIn("ledger_retention_days", 1, 36'500)) out.ledger_retention_days = *v;
  if (auto v = reader.Dollars("on_demand_probe_budget_usd_per_day")) {
    out.on_demand_budget_nano_usd = *v;
  }
  if (auto v = reader.IntIn("max_concurrent_on_demand_probes", 1, 64)) {
    out.max_concurrent_on_demand_probes = *v;
  }
  if (out.on_demand_budget_nano_usd && *out.on_demand_budget_nano_usd > out.probe_budget_nano_usd) {
    reader.Error("on_demand_probe_budget_usd_per_day",
                 "must not exceed probe_budget_usd_per_day (it is a part of it)");
  }
  reader.Finish();
}

const std::vector<std::string> kBillingKinds = {"openai_org", "anthropic_admin", "openai_dashboard",
                                                "deepseek_balance", "openrouter"};

std::optional<BillingConfig> ReadBilling(TableReader& reader, const LoadContext& ctx,
                                         const Secret& vendor_key, const std::string& vendor_url) {
  BillingConfig billing;
  bool ok = true;
  if (auto v = reader.Bool("enabled")) billing.enabled = *v;
  if (auto kind = reader.OneOf("kind", true, kBillingKinds)) {
    for (size_t i = 0; i < kBillingKinds.size(); ++i) {
      if (*kind == kBillingKinds[i]) billing.kind = static_cast<BillingKind>(i);
    }
  } else {
    ok = false;
  }
  if (auto v = reader.Dur("interval")) billing.interval = *v;
  if (auto secret = ReadSecret(reader, ctx, "api_key")) {
    billing.api_key = secret->Empty() ? vendor_key : *secret;
  }
  if (auto url = reader.String("base_url")) {
    CheckBaseUrl(reader, "base_url", *url);
    billing.base_url = *url;
  } else {
    // The pollers drop a trailing /v1 (and OpenRouter's /api/v1), so the
    // chat base URL names the billing host too.
    billing.base_url = vendor_url;
  }
  reader.Finish();
  if (!ok) return std::nullopt;
  return billing;
}

// [vendor.tls] and vendor.proxy_url.
void ReadTransport(TableReader& reader, const LoadContext& ctx, TransportConfig& out) {
  if (auto url = reader.String("proxy_url"); url && !url->empty()) {
    const bool scheme_ok = url->rfind("http://", 0) == 0 || url->rfind("https://", 0) == 0 ||
                           url->rfind("socks5://", 0) == 0 || url->rfind("socks5h://", 0) == 0;
    std::string_view rest = *url;
    if (auto at = rest.find("://"); at != std::string_view::npos) rest.remove_prefix(at + 3);
    if (!scheme_ok) {
      reader.Error("proxy_url", "must start with http://, https://, socks5:// or socks5h://");
    } else if (rest.substr(0, rest.find_first_of("/?#")).find('@') != std::string_view::npos) {
      reader.Error("proxy_url",
                   "credentials in the URL are not allowed (they would be shown in logs)");
    } else {
      out.proxy_url = *url;
    }
  }
  const toml::table* tls = reader.Table("tls");
  if (tls == nullptr) return;
  TableReader r(*tls, reader.Path("tls"), reader.diags());
  auto file = [&](std::string_view key, std::string& into) {
    auto value = r.String(key);
    if (!value || value->empty()) return;
    into = ResolvePath(ctx, *value);
    if (auto problem = FileProblem(into)) r.Error(key, "file \"" + into + "\" " + *problem);
  };
  file("ca_file", out.ca_file);
  file("cert_file", out.cert_file);
  file("key_file", out.key_file);
  if (out.cert_file.empty() != out.key_file.empty()) {
    r.Error(out.cert_file.empty() ? "key_file" : "cert_file",
            "cert_file and key_file go together (mutual TLS needs both)");
  }
  out.server_name = r.String("server_name").value_or("");
  out.insecure_skip_verify = r.Bool("insecure_skip_verify").value_or(false);
  r.Finish();
}

void ReadVendor(TableReader& reader, const LoadContext& ctx, Config& config) {
  VendorConfig vendor;
  vendor.name = reader.String("name", true).value_or("");
  if (auto api = reader.OneOf("api", true, {"openai", "anthropic"})) {
    vendor.api = *api == "openai" ? WireApi::kOpenAi : WireApi::kAnthropic;
  }
  if (auto url = reader.String("base_url", true)) {
    CheckBaseUrl(reader, "base_url", *url);
    while (!url->empty() && url->back() == '/') url->pop_back();
    vendor.base_url = *url;
  }
  if (auto secret = ReadSecret(reader, ctx, "api_key")) vendor.api_key = *secret;
  vendor.price_table = reader.String("price_table").value_or(vendor.name);
  ReadTransport(reader, ctx, vendor.transport);
  if (const toml::table* billing = reader.Table("billing")) {
    TableReader billing_reader(*billing, reader.Path("billing"), reader.diags());
    vendor.billing = ReadBilling(billing_reader, ctx, vendor.api_key, vendor.base_url);
    if (vendor.billing) vendor.billing->transport = vendor.transport;
  }
  if (!vendor.name.empty()) {
    for (const auto& other : config.vendors) {
      if (other.name == vendor.name) {
        reader.Error("name", "duplicate vendor name \"" + vendor.name + "\"");
      }
    }
  }
  reader.Finish();
  config.vendors.push_back(std::move(vendor));
}

std::optional<std::string> CheckRegex(const std::string& pattern) {
  auto re = base::CompilePattern(pattern);
  if (!re) return re.error();
  return std::nullopt;
}

void ReadProbe(TableReader& reader, Config& config) {
  ProbeConfig probe;
  probe.vendor = reader.String("vendor", true).value_or("");
  probe.model = reader.String("model", true).value_or("");
  probe.name = reader.String("name").value_or(probe.vendor + "/" + probe.model);
  probe.stream = reader.Bool("stream").value_or(false);
  probe.interval = reader.Dur("interval").value_or(config.exporter.default_probe_interval);
  // Without its own timeout a probe waits at most its interval (as Prometheus
  // does with scrape_timeout): only an explicit timeout above it is an error.
  std::optional<Duration> timeout = reader.Dur("timeout");
  probe.timeout = timeout.value_or(std::min(config.exporter.default_probe_timeout, probe.interval));
  probe.prompt = reader.String("prompt").value_or("Reply with the single word: pong");
  probe.reasoning_effort =
      reader.OneOf("reasoning_effort", false, {"minimal", "low", "medium", "high"}).value_or("");
  // A reasoning model spends tokens thinking before it answers: 16 would end
  // most runs before the first visible token.
  probe.max_tokens = reader.IntIn("max_tokens", 1, kMaxProbeMaxTokens)
                         .value_or(probe.reasoning_effort.empty() ? 16 : 2048);
  if (auto expect = reader.String("expect")) {
    if (auto error = CheckRegex(*expect)) {
      reader.Error("expect", "invalid regular expression \"" + *expect + "\": " + *error);
    }
    probe.expect = *expect;
  }
  if (timeout && probe.timeout > probe.interval) {
    reader.Error("timeout", "timeout (" + FormatDuration(probe.timeout) +
                                ") must not exceed interval (" + FormatDuration(probe.interval) +
                                ")");
  }
  if (!probe.vendor.empty() && config.FindVendor(probe.vendor) == nullptr) {
    reader.Error("vendor", "unknown vendor \"" + probe.vendor + "\"");
  }
  for (const auto& other : config.probes) {
    if (other.name == probe.name && !probe.vendor.empty() && !probe.model.empty()) {
      reader.Error(reader.table().get("name") ? "name" : "model",
                   "duplicate probe name \"" + probe.name + "\"");
    }
  }
  reader.Finish();
  config.probes.push_back(std::move(probe));
}

void ReadPricing(TableReader& reader, const LoadContext& ctx, PricingConfig& out) {
  if (auto files = reader.StringArray("files")) {
    for (const auto& f : *files) {
      std::string path = ResolvePath(ctx, f);
      if (auto problem = FileProblem(path)) {
        reader.Error("files", "price file \"" + path + "\" " + *problem);
      }
      out.files.push_back(path);
    }
  }
  if (auto litellm = reader.String("litellm_json"); litellm && !litellm->empty()) {
    out.litellm_json = ResolvePath(ctx, *litellm);
    if (auto problem = FileProblem(out.litellm_json)) {
      reader.Error("litellm_json", "file \"" + out.litellm_json + "\" " + *problem);
    }
  }
  reader.Finish();
}

void ReadProxy(TableReader& reader, const LoadContext& ctx, Config& config) {
  ProxyConfig& proxy = config.proxy;
  if (auto v = reader.IntIn("max_body_bytes", 1, int64_t{1} << 30)) proxy.max_body_bytes = *v;
  if (auto v = reader.Dur("connect_timeout")) proxy.connect_timeout = *v;
  if (auto v = reader.Dur("first_byte_timeout")) proxy.first_byte_timeout = *v;
  if (auto v = reader.Dur("idle_timeout")) proxy.idle_timeout = *v;
  if (auto v = reader.Dur("total_timeout")) proxy.total_timeout = *v;
  if (auto v = reader.String("client_keys_file")) proxy.client_keys_file = ResolvePath(ctx, *v);
  bool any_inject = false;
  const toml::source_region* first_inject = nullptr;
  std::string first_inject_path;
  for (auto& [table, path] : reader.Tables("route")) {
    TableReader route_reader(*table, path, reader.diags());
    ProxyRoute route;
    route.model = route_reader.String("model", true).value_or("");
    route.vendor = route_reader.String("vendor", true).value_or("");
    route.inject_key = route_reader.Bool("inject_key").value_or(false);
    if (!route.vendor.empty() && config.FindVendor(route.vendor) == nullptr) {
      route_reader.Error("vendor", "unknown vendor \"" + route.vendor + "\"");
    }
    if (route.inject_key && !any_inject) {
      any_inject = true;
      first_inject = &route_reader.Where("inject_key");
      first_inject_path = route_reader.Path("inject_key");
    }
    route_reader.Finish();
    proxy.routes.push_back(std::move(route));
  }
  if (any_inject && proxy.client_keys_file.empty()) {
    reader.diags().Add(*first_inject, first_inject_path,
                       "proxy.client_keys_file is required when a route injects a vendor key");
  } else if (!proxy.client_keys_file.empty()) {
    if (auto problem = FileProblem(proxy.client_keys_file)) {
      reader.Error("client_keys_file", "file \"" + proxy.client_keys_file + "\" " + *problem);
    } else {
      for (std::string& problem : ParseClientKeys(proxy.client_keys_file, proxy.client_keys)) {
        reader.Error("client_keys_file", std::move(problem));
      }
    }
  }
  reader.Finish();
}

}  // namespace

std::string_view ToString(WireApi api) { return api == WireApi::kOpenAi ? "openai" : "anthropic"; }

std::string_view ToString(BillingKind kind) { return kBillingKinds[static_cast<size_t>(kind)]; }

const VendorConfig* Config::FindVendor(std::string_view name) const {
  for (const auto& v : vendors) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const ProbeConfig* Config::FindProbe(std::string_view name) const {
  for (const auto& p : probes) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string Diagnostic::ToString() const {
  std::string out = file + ":";
  if (line > 0) out += std::to_string(line) + ":" + std::to_string(column) + ":";
  out += " ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::expected<Config, std::vector<Diagnostic>> LoadConfigString(std::string_view text,
                                                                const std::string& file,
                                                                const EnvLookup& env) {
  Diagnostics diags(file);
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    diags.Add(e.source(), "", std::string(e.description()));
    return std::unexpected(std::move(diags.list()));
  }
  LoadContext ctx{fs::path(file).parent_path(), env};
  Config config;
  config.file = file;
  TableReader reader(root, "", diags);
  if (const toml::table* t = reader.Table("exporter")) {
    TableReader r(*t, "exporter", diags);
    ReadExporter(r, config.exporter);
  }
  for (auto& [table, path] : reader.Tables("vendor")) {
    TableReader r(*table, path, diags);
    ReadVendor(r, ctx, config);
  }
  for (auto& [table, path] : reader.Tables("probe")) {
    TableReader r(*table, path, diags);
    ReadProbe(r, config);
  }
  if (const toml::table* t = reader.Table("pricing")) {
    TableReader r(*t, "pricing", diags);
    ReadPricing(r, ctx, config.pricing);
  }
  if (const toml::table* t = reader.Table("proxy")) {
    TableReader r(*t, "proxy", diags);
    ReadProxy(r, ctx, config);
  }
  reader.Finish();
  if (!diags.list().empty()) {
    std::stable_sort(diags.list().begin(), diags.list().end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    return std::unexpected(std::move(diags.list()));
  }
  return config;
}

std::expected<Config, std::vector<Diagnostic>> LoadConfigFile(const std::string& path,
                                                              const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(std::vector<Diagnostic>{
        {path, 0, 0, "", std::string("cannot read config file: ") + std::strerror(errno)}});
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return LoadConfigString(buffer.str(), path, env);
}

}  // namespace llm_exporter::config

#include "config/web_config.h"

namespace llm_exporter::config {

std::expected<WebConfig, std::vector<Diagnostic>> LoadWebConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(std::vector<Diagnostic>{
        {path, 0, 0, "", std::string("cannot read web config file: ") + std::strerror(errno)}});
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  Diagnostics diags(path);
  toml::table root;
  try {
    root = toml::parse(buffer.str(), path);
  } catch (const toml::parse_error& e) {
    diags.Add(e.source(), "", std::string(e.description()));
    return std::unexpected(std::move(diags.list()));
  }
  LoadContext ctx{fs::path(path).parent_path(), ProcessEnv};
  WebConfig web;
  TableReader reader(root, "", diags);
  if (const toml::table* tls = reader.Table("tls_server_config")) {
    TableReader r(*tls, "tls_server_config", diags);
    auto cert = r.String("cert_file", true);
    auto key = r.String("key_file", true);
    if (cert) web.cert_file = ResolvePath(ctx, *cert);
    if (key) web.key_file = ResolvePath(ctx, *key);
    if (auto problem = cert ? FileProblem(web.cert_file) : std::nullopt) {
      r.Error("cert_file", "file \"" + web.cert_file + "\" " + *problem);
    }
    if (auto problem = key ? FileProblem(web.key_file) : std::nullopt) {
      r.Error("key_file", "file \"" + web.key_file + "\" " + *problem);
    }
    r.Finish();
  }
  if (const toml::table* users = reader.Table("basic_auth_users")) {
    for (auto&& [user, node] : *users) {
      std::string key_path = "basic_auth_users." + std::string(user.str());
      auto hash = node.value_exact<std::string>();
      if (!hash) {
        diags.Add(node.source(), key_path,
                  "expected a string, got " + base::TomlTypeName(node.type()));
      } else if (hash->rfind("$2", 0) != 0) {
        diags.Add(node.source(), key_path,
                  "not a bcrypt hash (it must start with $2a$, $2b$ or $2y$)");
      } else {
        web.basic_auth_users[std::string(user.str())] = *hash;
      }
    }
  }
  reader.Finish();
  if (!diags.list().empty()) return std::unexpected(std::move(diags.list()));
  return web;
}

}  // namespace llm_exporter::config
