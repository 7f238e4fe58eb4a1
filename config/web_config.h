#pragma once

// --web.config.file: TLS and basic authentication for the exporter listener,
// with the semantics of Prometheus exporter-toolkit's web config, in TOML:
//
//   [tls_server_config]
//   cert_file = "server.crt"
//   key_file = "server.key"
//
//   [basic_auth_users]
//   alice = "$2y$10$..."   # bcrypt hash, e.g. from `htpasswd -nBC 10 alice`

#include <expected>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"

namespace llm_exporter::config {

struct WebConfig {
  std::string cert_file;  // empty: plain HTTP
  std::string key_file;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
};

std::expected<WebConfig, std::vector<Diagnostic>> LoadWebConfigFile(const std::string& path);

}  // namespace llm_exporter::config
