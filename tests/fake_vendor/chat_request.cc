#include "tests/fake_vendor/chat_request.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <utility>

namespace llm_exporter::fake_vendor {
namespace {

using rapidjson::Value;

// The longest text the markers can take: each of them once.
constexpr size_t kMarkersBytes =
    kCachedMarker.size() + kCacheWriteMarker.size() + kCacheWrite1hMarker.size();

struct MessageText {
  int64_t bytes = 0;
  std::string first_text;  // enough of the text to read the markers
};

// Text of a string content or of an array of parts/blocks with "type":"text".
std::expected<MessageText, std::string> ContentText(const Value& content, std::string_view where) {
  MessageText text;
  if (content.IsNull()) return text;
  if (content.IsString()) {
    text.bytes = content.GetStringLength();
    text.first_text.assign(content.GetString(),
                           std::min<size_t>(content.GetStringLength(), kMarkersBytes));
    return text;
  }
  if (!content.IsArray()) {
    return std::unexpected(std::string(where) + ".content must be a string or an array");
  }
  for (const Value& part : content.GetArray()) {
    if (!part.IsObject()) {
      return std::unexpected(std::string(where) + ".content parts must be objects");
    }
    const auto type = part.FindMember("type");
    if (type == part.MemberEnd() || !type->value.IsString()) {
      return std::unexpected(std::string(where) + ".content parts need a string \"type\"");
    }
    if (std::string_view(type->value.GetString(), type->value.GetStringLength()) != "text") {
      continue;
    }
    const auto part_text = part.FindMember("text");
    if (part_text == part.MemberEnd() || !part_text->value.IsString()) {
      return std::unexpected(std::string(where) + ": a text part needs a string \"text\"");
    }
    text.bytes += part_text->value.GetStringLength();
    if (text.first_text.size() < kMarkersBytes) {
      const size_t take = std::min<size_t>(part_text->value.GetStringLength(),
                                           kMarkersBytes - text.first_text.size());
      text.first_text.append(part_text->value.GetString(), take);
    }
  }
  return text;
}

std::expected<std::optional<int64_t>, std::string> PositiveInt(const Value& object,
                                                               const char* name) {
  const auto member = object.FindMember(name);
  if (member == object.MemberEnd() || member->value.IsNull()) return std::nullopt;
  if (!member->value.IsInt64() || member->value.GetInt64() < 1) {
    return std::unexpected(std::string(name) + " must be a positive integer");
  }
  return member->value.GetInt64();
}

std::expected<bool, std::string> OptionalBool(const Value& object, const char* name) {
  const auto member = object.FindMember(name);
  if (member == object.MemberEnd() || member->value.IsNull()) return false;
  if (!member->value.IsBool()) return std::unexpected(std::string(name) + " must be a boolean");
  return member->value.GetBool();
}

}  // namespace

PromptMarkers ReadPromptMarkers(std::string_view text) {
  PromptMarkers markers;
  const std::pair<std::string_view, bool*> known[] = {
      {kCachedMarker, &markers.cached},
      {kCacheWriteMarker, &markers.cache_write_5m},
      {kCacheWrite1hMarker, &markers.cache_write_1h}};
  bool more = true;
  while (more) {
    more = false;
    for (const auto& [marker, seen] : known) {
      if (!*seen && text.starts_with(marker)) {
        *seen = true;
        text.remove_prefix(marker.size());
        more = true;
      }
    }
  }
  return markers;
}

int64_t InputTokensFor(int64_t content_bytes, int64_t messages) {
  return (content_bytes + 3) / 4 + 4 * messages;
}

int64_t OutputTokensFor(const ChatRequest& request, int64_t reply_tokens) {
  return request.max_tokens ? std::min(*request.max_tokens, reply_tokens) : reply_tokens;
}

std::expected<ChatRequest, std::string> ParseChatRequest(std::string_view body, Dialect dialect) {
  rapidjson::Document doc;
  // Iterative parsing: a hostile body of nested brackets must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    return std::unexpected(std::string("request body is not valid JSON: ") +
                           rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                           std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) return std::unexpected("request body must be a JSON object");

  ChatRequest request;
  const auto model = doc.FindMember("model");
  if (model == doc.MemberEnd() || !model->value.IsString() || model->value.GetStringLength() == 0) {
    return std::unexpected("model: a non-empty string is required");
  }
  request.model.assign(model->value.GetString(), model->value.GetStringLength());

  const auto messages = doc.FindMember("messages");
  if (messages == doc.MemberEnd() || !messages->value.IsArray() ||
      messages->value.GetArray().Empty()) {
    return std::unexpected("messages: a non-empty array is required");
  }
  int64_t content_bytes = 0;
  int64_t message_count = 0;
  PromptMarkers markers;
  for (const Value& message : messages->value.GetArray()) {
    const std::string where = "messages[" + std::to_string(message_count) + "]";
    if (!message.IsObject()) return std::unexpected(where + " must be an object");
    const auto role = message.FindMember("role");
    if (role == message.MemberEnd() || !role->value.IsString()) {
      return std::unexpected(where + ".role must be a string");
    }
    const auto content = message.FindMember("content");
    if (content == message.MemberEnd()) {
      if (dialect == Dialect::kAnthropic) return std::unexpected(where + ".content is required");
    } else {
      auto text = ContentText(content->value, where);
      if (!text) return std::unexpected(text.error());
      content_bytes += text->bytes;
      if (message_count == 0) markers = ReadPromptMarkers(text->first_text);
    }
    ++message_count;
  }

  if (dialect == Dialect::kAnthropic) {
    const auto system = doc.FindMember("system");
    if (system != doc.MemberEnd() && !system->value.IsNull()) {
      auto text = ContentText(system->value, "system");
      if (!text) return std::unexpected(text.error());
      content_bytes += text->bytes;
      ++message_count;
    }
  }

  auto stream = OptionalBool(doc, "stream");
  if (!stream) return std::unexpected(stream.error());
  request.stream = *stream;

  if (dialect == Dialect::kOpenAi) {
    const auto options = doc.FindMember("stream_options");
    if (options != doc.MemberEnd() && !options->value.IsNull()) {
      if (!options->value.IsObject()) return std::unexpected("stream_options must be an object");
      auto include_usage = OptionalBool(options->value, "include_usage");
      if (!include_usage) return std::unexpected("stream_options." + include_usage.error());
      request.include_usage = *include_usage;
    }
    // Newer models take max_completion_tokens; it wins when both are given.
    auto max_completion = PositiveInt(doc, "max_completion_tokens");
    if (!max_completion) return std::unexpected(max_completion.error());
    auto max_tokens = PositiveInt(doc, "max_tokens");
    if (!max_tokens) return std::unexpected(max_tokens.error());
    request.max_tokens = *max_completion ? *max_completion : *max_tokens;
  } else {
    auto max_tokens = PositiveInt(doc, "max_tokens");
    if (!max_tokens) return std::unexpected(max_tokens.error());
    if (!*max_tokens) return std::unexpected("max_tokens: Field required");
    request.max_tokens = *max_tokens;
  }

  request.input_tokens = InputTokensFor(content_bytes, message_count);
  request.cached_input_tokens = markers.cached ? request.input_tokens / 2 : 0;
  // OpenAI reports no cache writes: there the write markers are plain text.
  if (dialect == Dialect::kAnthropic) {
    request.cache_write_5m_tokens = markers.cache_write_5m ? request.input_tokens / 4 : 0;
    request.cache_write_1h_tokens = markers.cache_write_1h ? request.input_tokens / 4 : 0;
  }
  return request;
}

}  // namespace llm_exporter::fake_vendor
