#include "base/json.h"

#include <rapidjson/error/en.h>

namespace llm_exporter::base {

std::expected<void, std::string> ParseJson(std::string_view text, rapidjson::Document& doc,
                                           bool numbers_as_text) {
  // RapidJSON stops at a NUL byte, which would hide whatever follows it.
  if (text.find('\0') != std::string_view::npos) {
    return std::unexpected(std::string("invalid JSON: NUL byte"));
  }
  if (!WithinNestingDepth(text, kMaxJsonDepth)) {
    return std::unexpected("JSON nested deeper than " + std::to_string(kMaxJsonDepth));
  }
  // Iterative: hostile nesting cannot exhaust the stack either way.
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag;
  if (numbers_as_text) {
    doc.Parse<kFlags | rapidjson::kParseNumbersAsStringsFlag>(text.data(), text.size());
  } else {
    doc.Parse<kFlags>(text.data(), text.size());
  }
  if (doc.HasParseError()) {
    return std::unexpected(std::string("invalid JSON: ") +
                           rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                           std::to_string(doc.GetErrorOffset()));
  }
  return {};
}

bool WithinNestingDepth(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

const rapidjson::Value* Member(const rapidjson::Value& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  const rapidjson::Value key(rapidjson::StringRef(name.data(), name.size()));
  const auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return nullptr;
  return &it->value;
}

const rapidjson::Value* ObjectMember(const rapidjson::Value& object, std::string_view name) {
  const rapidjson::Value* value = Member(object, name);
  return value != nullptr && value->IsObject() ? value : nullptr;
}

bool IsNullOrAbsent(const rapidjson::Value& object, std::string_view name) {
  const rapidjson::Value* value = Member(object, name);
  return value == nullptr || value->IsNull();
}

}  // namespace llm_exporter::base
