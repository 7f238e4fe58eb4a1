#include "wire/request_body.h"

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstddef>

#include "wire/json_util.h"

namespace llm_exporter::wire {
namespace {

using internal::Member;
using internal::ObjectMember;

constexpr std::string_view kStreamOptions = "stream_options";
constexpr std::string_view kIncludeUsage = "include_usage";

enum class ValueKind { kAbsent, kNull, kTrue, kFalse, kObject, kOther };

struct Span {
  size_t begin = 0;
  size_t end = 0;
};

// SAX pass that records where stream_options and include_usage sit in the
// original text, so AddIncludeUsage can edit bytes instead of re-serializing.
class Locator : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Locator> {
 public:
  explicit Locator(const rapidjson::MemoryStream& stream) : stream_(stream) {}

  bool Null() { return Literal(ValueKind::kNull, 4); }
  bool Bool(bool value) {
    return value ? Literal(ValueKind::kTrue, 4) : Literal(ValueKind::kFalse, 5);
  }
  bool Default() {
    Value(ValueKind::kOther, Span{});
    return true;
  }
  bool StartObject() {
    if (depth_ == 0) {
      root_is_object_ = true;
      root_open_ = Position();
    } else if (AtStreamOptions()) {
      Value(ValueKind::kObject, Span{});
      in_stream_options_ = true;
      options_open_ = Position();
    } else {
      Value(ValueKind::kOther, Span{});
    }
    ++depth_;
    return true;
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    const std::string_view key(text, length);
    if (depth_ == 1) {
      top_key_is_options_ = key == kStreamOptions;
      if (top_key_is_options_ && ++options_count_ > 1) duplicate_ = true;
    } else if (depth_ == 2 && in_stream_options_) {
      options_key_is_usage_ = key == kIncludeUsage;
      if (options_key_is_usage_ && ++usage_count_ > 1) duplicate_ = true;
    }
    return true;
  }
  bool EndObject(rapidjson::SizeType member_count) {
    --depth_;
    if (depth_ == 0) root_members_ = member_count;
    if (depth_ == 1 && in_stream_options_) {
      in_stream_options_ = false;
      options_members_ = member_count;
    }
    if (depth_ == 1) top_key_is_options_ = false;
    return true;
  }
  bool StartArray() {
    Value(ValueKind::kOther, Span{});
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }

  bool root_is_object_ = false;
  bool duplicate_ = false;
  size_t root_open_ = 0;
  size_t root_members_ = 0;
  ValueKind options_kind_ = ValueKind::kAbsent;
  Span options_span_;
  size_t options_open_ = 0;
  size_t options_members_ = 0;
  ValueKind usage_kind_ = ValueKind::kAbsent;
  Span usage_span_;

 private:
  size_t Position() const { return stream_.Tell(); }
  bool AtStreamOptions() const { return depth_ == 1 && top_key_is_options_; }
  bool AtIncludeUsage() const { return depth_ == 2 && in_stream_options_ && options_key_is_usage_; }

  // RapidJSON reports a literal after consuming it, so its span ends here.
  bool Literal(ValueKind kind, size_t length) {
    const size_t end = Position();
    Value(kind, Span{end - length, end});
    return true;
  }
  void Value(ValueKind kind, Span span) {
    if (AtStreamOptions()) {
      options_kind_ = kind;
      options_span_ = span;
    } else if (AtIncludeUsage()) {
      usage_kind_ = kind;
      usage_span_ = span;
    }
  }

  const rapidjson::MemoryStream& stream_;
  int depth_ = 0;
  bool top_key_is_options_ = false;
  bool in_stream_options_ = false;
  bool options_key_is_usage_ = false;
  int options_count_ = 0;
  int usage_count_ = 0;
};

// SAX pass for InspectRequestBody: the top-level facts only, with no tree
// built (a request's messages can be long). A key counts at its first
// occurrence, as a tree's lookup finds it; nesting is bounded as
// base::ParseJson bounds it.
class Inspector : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Inspector> {
 public:
  enum Slot {
    kModel,
    kStream,
    kOptions,
    kMaxTokens,
    kMaxCompletionTokens,
    kMaxOutputTokens,
    kNone
  };

  bool Default() { return Scalar(); }
  bool Bool(bool value) {
    if (At(kStream)) stream_ = value;
    if (AtIncludeUsage()) include_usage_ = value;
    return Scalar();
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    if (At(kModel)) model_.assign(text, length);
    return Scalar();
  }
  bool Int(int value) { return Count(value); }
  bool Uint(unsigned value) { return Count(value); }
  bool Int64(int64_t value) { return Count(value); }
  bool Uint64(uint64_t value) {
    return value <= static_cast<uint64_t>(INT64_MAX) ? Count(static_cast<int64_t>(value))
                                                     : Scalar();
  }
  bool StartObject() {
    if (depth_ == 0) root_is_object_ = true;
    if (At(kOptions)) in_options_ = true;
    return Open();
  }
  bool StartArray() { return Open(); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool EndArray(rapidjson::SizeType) { return Close(); }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    const std::string_view key(text, length);
    if (depth_ == 1) {
      slot_ = kNone;
      static constexpr std::string_view kNames[] = {"model",
                                                    "stream",
                                                    kStreamOptions,
                                                    "max_tokens",
                                                    "max_completion_tokens",
                                                    "max_output_tokens"};
      for (int i = 0; i < kNone; ++i) {
        if (key == kNames[i] && !seen_[i]) {
          seen_[i] = true;
          slot_ = static_cast<Slot>(i);
        }
      }
    } else if (depth_ == 2 && in_options_) {
      usage_key_ = key == kIncludeUsage && !usage_seen_;
      usage_seen_ = usage_seen_ || usage_key_;
    }
    return true;
  }

  RequestInfo Info() {
    RequestInfo info;
    info.model = std::move(model_);
    info.stream = stream_;
    info.include_usage = include_usage_;
    for (int64_t cap : caps_) {
      if (cap > 0) {
        info.max_tokens = std::min<int64_t>(cap, internal::kMaxTokenCount);
        break;
      }
    }
    return info;
  }
  bool root_is_object_ = false;

 private:
  bool At(Slot slot) const { return depth_ == 1 && slot_ == slot; }
  bool AtIncludeUsage() const { return depth_ == 2 && in_options_ && usage_key_; }
  bool Count(int64_t value) {
    if (depth_ == 1 && slot_ >= kMaxTokens && slot_ < kNone) caps_[slot_ - kMaxTokens] = value;
    return Scalar();
  }
  bool Scalar() {
    if (depth_ == 1) slot_ = kNone;
    if (depth_ == 2) usage_key_ = false;
    return true;
  }
  bool Open() {
    Scalar();
    return ++depth_ <= internal::kMaxJsonDepth;
  }
  bool Close() {
    if (--depth_ == 1) in_options_ = false;
    return Scalar();
  }

  int depth_ = 0;
  Slot slot_ = kNone;
  bool seen_[kNone] = {};
  std::string model_;
  bool stream_ = false;
  bool in_options_ = false;
  bool usage_key_ = false;
  bool usage_seen_ = false;
  bool include_usage_ = false;
  int64_t caps_[3] = {};
};

std::string Insert(std::string_view body, size_t at, std::string_view text) {
  std::string out;
  out.reserve(body.size() + text.size());
  out.append(body.substr(0, at));
  out.append(text);
  out.append(body.substr(at));
  return out;
}

std::string Replace(std::string_view body, Span span, std::string_view text) {
  std::string out;
  out.reserve(body.size() + text.size());
  out.append(body.substr(0, span.begin));
  out.append(text);
  out.append(body.substr(span.end));
  return out;
}

}  // namespace

std::optional<RequestInfo> InspectRequestBody(std::string_view body) {
  // RapidJSON would stop at a NUL byte and hide whatever follows it.
  if (body.find('\0') != std::string_view::npos) return std::nullopt;
  rapidjson::MemoryStream memory(body.data(), body.size());
  // As a document parse reads it: a UTF-8 byte order mark is skipped.
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
  Inspector inspector;
  rapidjson::Reader reader;
  // Recursive parsing (faster than the iterative kind): the inspector stops it
  // past kMaxJsonDepth, so hostile nesting cannot exhaust the stack.
  if (reader.Parse<rapidjson::kParseDefaultFlags>(stream, inspector).IsError() ||
      !inspector.root_is_object_) {
    return std::nullopt;
  }
  return inspector.Info();
}

std::optional<std::string> ModelFromRequestBody(std::string_view body) {
  rapidjson::Document doc;
  if (!internal::ParseJson(body, doc)) return std::nullopt;
  auto model = internal::StringMember(doc, "model");
  if (!model) return std::nullopt;
  return std::string(*model);
}

bool StreamRequested(std::string_view body) {
  const std::optional<RequestInfo> info = InspectRequestBody(body);
  return info && info->stream;
}

bool IncludeUsageRequested(std::string_view body) {
  const std::optional<RequestInfo> info = InspectRequestBody(body);
  return info && info->include_usage;
}

std::expected<std::string, std::string> AddIncludeUsage(std::string_view body) {
  if (body.find('\0') != std::string_view::npos) {
    return std::unexpected("request body contains a NUL byte");
  }
  if (!internal::WithinNestingDepth(body, internal::kMaxJsonDepth)) {
    return std::unexpected("request body nests too deeply");
  }
  rapidjson::MemoryStream memory(body.data(), body.size());
  // A byte order mark is skipped; the locator's offsets stay the body's own.
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
  Locator locator(memory);
  rapidjson::Reader reader;
  if (reader.Parse<rapidjson::kParseDefaultFlags>(stream, locator).IsError()) {
    return std::unexpected("request body is not valid JSON");
  }
  if (!locator.root_is_object_) return std::unexpected("request body is not a JSON object");
  if (locator.duplicate_) return std::unexpected("duplicate stream_options or include_usage");
  switch (locator.options_kind_) {
    case ValueKind::kAbsent:
      return Insert(body, locator.root_open_,
                    locator.root_members_ > 0 ? R"("stream_options":{"include_usage":true},)"
                                              : R"("stream_options":{"include_usage":true})");
    case ValueKind::kNull:
      return Replace(body, locator.options_span_, R"({"include_usage":true})");
    case ValueKind::kObject:
      break;
    default:
      return std::unexpected("stream_options is not an object");
  }
  switch (locator.usage_kind_) {
    case ValueKind::kAbsent:
      return Insert(
          body, locator.options_open_,
          locator.options_members_ > 0 ? R"("include_usage":true,)" : R"("include_usage":true)");
    case ValueKind::kTrue:
      return std::string(body);
    case ValueKind::kFalse:
    case ValueKind::kNull:
      return Replace(body, locator.usage_span_, "true");
    default:
      return std::unexpected("stream_options.include_usage is not a boolean");
  }
}

}  // namespace llm_exporter::wire
