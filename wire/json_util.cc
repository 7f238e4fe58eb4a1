#include "wire/json_util.h"

#include <rapidjson/error/en.h>

#include <cmath>
#include <string>

namespace llm_exporter::wire::internal {
namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '*';
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Vendors echo (usually masked) keys in messages such as "Incorrect API key
// provided: sk-abc***xyz"; even masked, they do not belong in our logs.
std::string RedactKeys(std::string_view text) {
  constexpr size_t kMinKeyLength = 10;
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const bool key_start = text.substr(i, 3) == "sk-" || text.substr(i, 3) == "sk_";
    if (key_start && (i == 0 || !IsAlnum(text[i - 1]))) {
      size_t end = i;
      while (end < text.size() && IsKeyChar(text[end])) ++end;
      if (end - i >= kMinKeyLength) {
        out += "<secret>";
        i = end;
        continue;
      }
    }
    out += text[i];
    ++i;
  }
  return out;
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

std::optional<std::string_view> StringMember(const rapidjson::Value& object,
                                             std::string_view name) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || !value->IsString()) return std::nullopt;
  return std::string_view(value->GetString(), value->GetStringLength());
}

std::expected<std::optional<int64_t>, std::string> CountMember(const rapidjson::Value& object,
                                                               std::string_view name) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || value->IsNull()) return std::nullopt;
  const auto invalid = [&] {
    return std::unexpected("token count " + std::string(name) + " is not a non-negative integer");
  };
  if (value->IsInt64()) {
    const int64_t count = value->GetInt64();
    if (count < 0 || count > kMaxTokenCount) return invalid();
    return count;
  }
  if (value->IsDouble()) {
    const double count = value->GetDouble();
    if (!std::isfinite(count) || count < 0 || count > static_cast<double>(kMaxTokenCount) ||
        std::floor(count) != count) {
      return invalid();
    }
    return static_cast<int64_t>(count);
  }
  return invalid();
}

std::string ForLog(std::string_view text, size_t max_bytes) {
  // Only a window past the cut matters; it is wide enough to recognise a key
  // that straddles the cut.
  constexpr size_t kKeyWindow = 64;
  const std::string redacted = RedactKeys(text.substr(0, max_bytes + kKeyWindow));
  std::string out;
  out.reserve(std::min(redacted.size(), max_bytes) + 3);
  size_t i = 0;
  while (i < redacted.size()) {
    const size_t length = Utf8SequenceLength(redacted, i);
    const size_t emitted = length == 0 ? 1 : length;
    if (out.size() + emitted > max_bytes) break;
    if (length == 0) {
      out += '?';
    } else if (length == 1) {
      const unsigned char c = static_cast<unsigned char>(redacted[i]);
      out += (c < 0x20 || c == 0x7F) ? ' ' : redacted[i];
    } else {
      out.append(redacted, i, length);
    }
    i += emitted;
  }
  if (i < redacted.size() || text.size() > max_bytes + kKeyWindow) out += "...";
  return out;
}

std::string_view TrimWhitespace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

void WriteString(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void StartRequest(JsonWriter& writer, std::string_view model) {
  writer.StartObject();
  writer.Key("model");
  WriteString(writer, model);
}

std::string EndRequest(JsonWriter& writer, const rapidjson::StringBuffer& buffer) {
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string_view StringOrEmpty(const rapidjson::Value& object, std::string_view name) {
  return StringMember(object, name).value_or(std::string_view());
}

void WriteUserMessage(JsonWriter& writer, std::string_view prompt) {
  writer.Key("messages");
  writer.StartArray();
  writer.StartObject();
  writer.Key("role");
  writer.String("user");
  writer.Key("content");
  WriteString(writer, prompt);
  writer.EndObject();
  writer.EndArray();
}

}  // namespace llm_exporter::wire::internal
