#pragma once

// How config and price-file errors name a TOML value's type ("expected a
// string, got an integer").

#include <toml++/toml.h>

#include <string>

namespace llm_exporter::base {

std::string TomlTypeName(toml::node_type type);

}  // namespace llm_exporter::base
