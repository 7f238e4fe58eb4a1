#pragma once

// The names of a closed enum as a table in the enum's order: one line per
// value instead of a switch statement per enum, and one place to read them.

#include <array>
#include <cstddef>
#include <string_view>

namespace llm_exporter::base {

template <typename Enum, size_t N>
constexpr std::string_view EnumName(Enum value, const std::array<std::string_view, N>& names,
                                    std::string_view fallback) {
  const auto index = static_cast<size_t>(value);
  return index < N ? names[index] : fallback;
}

}  // namespace llm_exporter::base
