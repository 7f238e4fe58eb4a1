#pragma once

// Small helpers over RapidJSON's Writer for the fake vendor's replies and
// reports (its own code: nothing here is shared with the exporter).

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace llm_exporter::fake_vendor {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

inline void Key(JsonWriter& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

inline void String(JsonWriter& w, std::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

inline void KeyString(JsonWriter& w, std::string_view key, std::string_view value) {
  Key(w, key);
  String(w, value);
}

inline void KeyInt(JsonWriter& w, std::string_view key, int64_t value) {
  Key(w, key);
  w.Int64(value);
}

inline void KeyNull(JsonWriter& w, std::string_view key) {
  Key(w, key);
  w.Null();
}

inline void KeyBool(JsonWriter& w, std::string_view key, bool value) {
  Key(w, key);
  w.Bool(value);
}

}  // namespace llm_exporter::fake_vendor
