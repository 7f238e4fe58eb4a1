#include "base/toml_names.h"

#include "base/enum_names.h"

namespace llm_exporter::base {

std::string TomlTypeName(toml::node_type type) {
  static constexpr std::array<std::string_view, 10> kNames = {
      "nothing", "a table",   "an array",     "a string",     "an integer",
      "a float", "a boolean", "a local date", "a local time", "a date-time"};
  return std::string(EnumName(type, kNames, "nothing"));
}

}  // namespace llm_exporter::base
