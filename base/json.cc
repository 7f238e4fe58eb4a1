#include "base/json.h"

#include <rapidjson/error/en.h>

#include <array>
#include <cstdint>
#include <cstring>

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

namespace {

// ParseSimpleObject's reader: each method reads one value at p_ into `out`
// and returns false on anything outside the subset.
class SimpleReader {
 public:
  SimpleReader(std::string_view text, rapidjson::MemoryPoolAllocator<>& allocator)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        allocator_(allocator) {}

  size_t pos() const { return static_cast<size_t>(p_ - begin_); }

  bool Object(rapidjson::Value& out, int depth) {
    if (depth > kSimpleObjectDepth || !Take('{')) return false;
    out.SetObject();
    SkipSpace();
    if (Take('}')) return true;
    while (true) {
      SkipSpace();
      std::string_view key;
      if (!String(key)) return false;
      SkipSpace();
      if (!Take(':')) return false;
      SkipSpace();
      rapidjson::Value value;
      if (!Value(value, depth)) return false;
      out.AddMember(rapidjson::StringRef(key.data(), key.size()), value, allocator_);
      SkipSpace();
      if (Take('}')) return true;
      if (!Take(',')) return false;
    }
  }

 private:
  bool Value(rapidjson::Value& out, int depth) {
    if (p_ == end_) return false;
    const char c = *p_;
    if (c == '{') return Object(out, depth + 1);
    if (c == '"') {
      std::string_view text;
      if (!String(text)) return false;
      out.SetString(rapidjson::StringRef(text.data(), text.size()));
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return Number(out);
    if (Word("null")) return true;  // out is null already
    if (Word("true")) return out.SetBool(true), true;
    if (Word("false")) return out.SetBool(false), true;
    return false;
  }

  bool String(std::string_view& out) {
    if (!Take('"')) return false;
    const char* const begin = p_;
    const char* c = begin;
    // Eight bytes at a time while none of them ends the string or leaves the
    // subset, then byte by byte.
    constexpr uint64_t kOnes = 0x0101010101010101u;
    constexpr uint64_t kHighs = 0x8080808080808080u;
    const auto has_byte = [](uint64_t word, uint8_t byte) {
      const uint64_t x = word ^ (kOnes * byte);
      return (x - kOnes) & ~x & kHighs;
    };
    while (end_ - c >= 8) {
      uint64_t word;
      std::memcpy(&word, c, sizeof word);
      const uint64_t stop = ((word - kOnes * 0x20) & ~word & kHighs) | (word & kHighs) |
                            has_byte(word, '"') | has_byte(word, '\\') | has_byte(word, 0x7F);
      if (stop != 0) break;
      c += 8;
    }
    while (c != end_ && kPlain[static_cast<unsigned char>(*c)]) ++c;
    if (c == end_ || *c != '"') return false;
    out = std::string_view(begin, static_cast<size_t>(c - begin));
    p_ = c + 1;
    return true;
  }

  // The bytes a string of the subset is made of: printable ASCII but the
  // quote and the backslash.
  static constexpr std::array<bool, 256> kPlain = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c <= 0x7E; ++c) plain[c] = c != '"' && c != '\\';
    return plain;
  }();

  // As RapidJSON's reader hands an integer to its document: unsigned when
  // not negative, and the narrowest of 32 and 64 bits.
  bool Number(rapidjson::Value& out) {
    const bool minus = Take('-');
    const char* const begin = p_;
    uint64_t value = 0;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      value = value * 10 + static_cast<uint64_t>(*p_ - '0');
      ++p_;
    }
    const ptrdiff_t digits = p_ - begin;
    if (digits == 0 || digits > 18 || (digits > 1 && *begin == '0')) return false;
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    if (!minus) {
      if (value <= 0xFFFFFFFFu) {
        out.SetUint(static_cast<unsigned>(value));
      } else {
        out.SetUint64(value);
      }
    } else if (value <= 0x80000000u) {
      out.SetInt(static_cast<int>(-static_cast<int64_t>(value)));
    } else {
      out.SetInt64(-static_cast<int64_t>(value));
    }
    return true;
  }

  bool Word(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  bool Take(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  void SkipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  rapidjson::MemoryPoolAllocator<>& allocator_;
};

}  // namespace

std::optional<size_t> ParseSimpleObject(std::string_view text, rapidjson::Value& out,
                                        rapidjson::MemoryPoolAllocator<>& allocator) {
  SimpleReader reader(text, allocator);
  if (!reader.Object(out, 1)) {
    out.SetNull();  // not half an object
    return std::nullopt;
  }
  return reader.pos();
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
