#pragma once

// Command-line flags (docs/configuration.md), parsed kingpin-style: --name=value or
// --name value; --web.listen-address and --proxy.listen-address may repeat.

#include <expected>
#include <string>
#include <vector>

namespace llm_exporter::exporter {

struct Flags {
  std::string config_file = "llm_exporter.toml";
  std::vector<std::string> listen_addresses;  // default {":10027"}
  std::string telemetry_path = "/metrics";
  std::string web_config_file;
  std::vector<std::string> proxy_listen_addresses;  // empty: the proxy is off
  std::string state_dir = "./data";
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool config_check = false;
  bool enable_lifecycle = false;  // POST /-/reload (SIGHUP always works)
  bool version = false;
  bool help = false;
};

std::expected<Flags, std::string> ParseFlags(const std::vector<std::string>& args);
std::string Usage();
std::string VersionText();

}  // namespace llm_exporter::exporter
