#include "exporter/flags.h"

#include "base/log.h"
#include "exporter/version.h"

namespace llm_exporter::exporter {

std::string VersionText() {
  return std::string("llm_exporter, version ") + kVersion + " (revision: " + kRevision + ")\n";
}

std::string Usage() {
  return R"(usage: llm_exporter [<flags>]

A Prometheus exporter for LLM APIs: synthetic probes, billing, pricing and reconciliation.

Flags:
  --config.file="llm_exporter.toml"  Configuration file (TOML).
  --web.listen-address=:10027 ...    Address to listen on for the web interface and telemetry;
                                     repeat for several.
  --web.telemetry-path="/metrics"    Path under which to expose metrics.
  --web.config.file=""               TOML file with TLS and basic-auth settings.
  --web.enable-lifecycle             Enable reloading through HTTP (POST /-/reload); SIGHUP
                                     always reloads.
  --proxy.listen-address=ADDR ...    Address of the in-path LLM API proxy; repeat for several
                                     (off when not given).
  --state.dir="./data"               Directory for the ledger and other durable state.
  --log.level=info                   One of: debug, info, warn, error.
  --log.format=logfmt                One of: logfmt, json.
  --config.check                     Validate the configuration and price tables, print every
                                     error, and exit 0 (valid) or 1 (invalid).
  --version                          Show the version and exit.
  -h, --help                         Show this help and exit.
)";
}

std::expected<Flags, std::string> ParseFlags(const std::vector<std::string>& args) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h" || arg == "--help") {
      flags.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) return std::unexpected("unexpected argument \"" + arg + "\"");
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "config.check" || name == "version" || name == "web.enable-lifecycle") {
      if (has_value) return std::unexpected("flag --" + name + " takes no value");
      (name == "version"        ? flags.version
       : name == "config.check" ? flags.config_check
                                : flags.enable_lifecycle) = true;
      continue;
    }
    std::string* target = nullptr;
    if (name == "config.file")
      target = &flags.config_file;
    else if (name == "web.telemetry-path")
      target = &flags.telemetry_path;
    else if (name == "web.config.file")
      target = &flags.web_config_file;
    else if (name == "state.dir")
      target = &flags.state_dir;
    else if (name == "log.level")
      target = &flags.log_level;
    else if (name == "log.format")
      target = &flags.log_format;
    else if (name != "web.listen-address" && name != "proxy.listen-address")
      return std::unexpected("unknown flag --" + name);
    if (!has_value) {
      if (i + 1 >= args.size()) return std::unexpected("flag --" + name + " needs a value");
      value = args[++i];
    }
    if (target == nullptr) {
      (name == "web.listen-address" ? flags.listen_addresses : flags.proxy_listen_addresses)
          .push_back(value);
    } else {
      *target = value;
    }
  }
  if (flags.listen_addresses.empty()) flags.listen_addresses.push_back(":10027");
  if (!base::ParseLogLevel(flags.log_level)) {
    return std::unexpected("invalid --log.level \"" + flags.log_level +
                           "\" (expected debug, info, warn or error)");
  }
  if (!base::ParseLogFormat(flags.log_format)) {
    return std::unexpected("invalid --log.format \"" + flags.log_format +
                           "\" (expected logfmt or json)");
  }
  if (flags.telemetry_path.empty() || flags.telemetry_path.front() != '/') {
    return std::unexpected("--web.telemetry-path must start with /");
  }
  return flags;
}

}  // namespace llm_exporter::exporter
