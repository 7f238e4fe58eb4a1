#pragma once

// The proxy's client keys file (docs/configuration.md): the keys its clients
// present where a route injects the vendor's key, and the client names they
// stand for.

#include <string>
#include <vector>

#include "config/config.h"

namespace llm_exporter::config {

// Appends the file's keys to `out`; every problem found, as "path:line: ...".
std::vector<std::string> ParseClientKeys(const std::string& path, std::vector<ClientKey>& out);

}  // namespace llm_exporter::config
