#include "wire/openai_chat.h"

#include <algorithm>
#include <utility>

#include "wire/error_body.h"
#include "wire/json_util.h"

namespace llm_exporter::wire {
namespace {

using namespace internal;  // this room's JSON helpers

// A *_details member: absent/null gives nullptr, an object gives it, any other
// type is an error.
std::expected<const rapidjson::Value*, std::string> DetailsMember(const rapidjson::Value& usage,
                                                                  std::string_view name) {
  const rapidjson::Value* value = Member(usage, name);
  if (value == nullptr || value->IsNull()) return nullptr;
  if (!value->IsObject()) return std::unexpected(std::string(name) + " is not an object");
  return value;
}

// The first of `names` present (non-null) in `object`, or 0.
std::expected<int64_t, std::string> FirstCount(const rapidjson::Value* object,
                                               std::initializer_list<std::string_view> names) {
  if (object == nullptr) return 0;
  for (const std::string_view name : names) {
    auto count = CountMember(*object, name);
    if (!count) return std::unexpected(count.error());
    if (*count) return **count;
  }
  return 0;
}

}  // namespace

std::expected<pricing::Usage, std::string> OpenAiUsageFromJson(const rapidjson::Value& usage) {
  if (!usage.IsObject()) return std::unexpected("usage is not an object");
  auto prompt = FirstCount(&usage, {"prompt_tokens", "input_tokens"});
  if (!prompt) return std::unexpected(prompt.error());
  auto completion = FirstCount(&usage, {"completion_tokens", "output_tokens"});
  if (!completion) return std::unexpected(completion.error());

  auto prompt_details = DetailsMember(usage, "prompt_tokens_details");
  if (!prompt_details) return std::unexpected(prompt_details.error());
  if (*prompt_details == nullptr) {
    prompt_details = DetailsMember(usage, "input_tokens_details");
    if (!prompt_details) return std::unexpected(prompt_details.error());
  }
  auto completion_details = DetailsMember(usage, "completion_tokens_details");
  if (!completion_details) return std::unexpected(completion_details.error());
  if (*completion_details == nullptr) {
    completion_details = DetailsMember(usage, "output_tokens_details");
    if (!completion_details) return std::unexpected(completion_details.error());
  }

  std::optional<int64_t> cached;
  if (*prompt_details != nullptr) {
    auto count = CountMember(**prompt_details, "cached_tokens");
    if (!count) return std::unexpected(count.error());
    cached = *count;
  }
  if (!cached) {
    // DeepSeek reports cache hits beside prompt_tokens instead.
    auto count = CountMember(usage, "prompt_cache_hit_tokens");
    if (!count) return std::unexpected(count.error());
    cached = *count;
  }
  auto reasoning = FirstCount(*completion_details, {"reasoning_tokens"});
  if (!reasoning) return std::unexpected(reasoning.error());

  const int64_t cached_tokens = cached.value_or(0);
  if (cached_tokens > *prompt) {
    return std::unexpected("cached_tokens " + std::to_string(cached_tokens) +
                           " exceed prompt_tokens " + std::to_string(*prompt));
  }
  if (*reasoning > *completion) {
    return std::unexpected("reasoning_tokens " + std::to_string(*reasoning) +
                           " exceed completion_tokens " + std::to_string(*completion));
  }
  pricing::Usage result;
  result.input = *prompt - cached_tokens;
  result.cached_input = cached_tokens;
  result.output = *completion;
  result.reasoning = *reasoning;
  return result;
}

namespace {

// message.content: a string, null, or (some gateways) an array of text parts.
std::expected<std::string, std::string> ContentText(const rapidjson::Value& message) {
  const rapidjson::Value* content = Member(message, "content");
  if (content == nullptr || content->IsNull()) return std::string();
  if (content->IsString()) return std::string(content->GetString(), content->GetStringLength());
  if (!content->IsArray()) return std::unexpected("message.content has an unexpected type");
  std::string text;
  for (const rapidjson::Value& part : content->GetArray()) {
    if (auto part_text = StringMember(part, "text")) text.append(*part_text);
  }
  return text;
}

}  // namespace

std::string BuildOpenAiChatRequest(const OpenAiChatRequest& request) {
  rapidjson::StringBuffer buffer;
  internal::JsonWriter writer(buffer);
  internal::StartRequest(writer, request.model);
  internal::WriteUserMessage(writer, request.prompt);
  writer.Key(request.use_max_completion_tokens ? "max_completion_tokens" : "max_tokens");
  writer.Int64(request.max_tokens);
  if (!request.reasoning_effort.empty()) {
    writer.Key("reasoning_effort");
    internal::WriteString(writer, request.reasoning_effort);
  }
  if (request.stream) {
    writer.Key("stream");
    writer.Bool(true);
    writer.Key("stream_options");
    writer.StartObject();
    writer.Key("include_usage");
    writer.Bool(true);
    writer.EndObject();
  }
  return internal::EndRequest(writer, buffer);
}

std::expected<ChatReply, WireError> ParseOpenAiChatReply(std::string_view body) {
  auto parsed = internal::ParseReplyObject(body);
  if (!parsed) return std::unexpected(parsed.error());
  const rapidjson::Document& doc = *parsed;
  const rapidjson::Value* choices = Member(doc, "choices");
  if (choices == nullptr || !choices->IsArray() || choices->Empty()) {
    return std::unexpected(internal::InvalidResponse("reply has no choices"));
  }
  const rapidjson::Value* message = ObjectMember((*choices)[0], "message");
  if (message == nullptr) {
    return std::unexpected(internal::InvalidResponse("choices[0] has no message object"));
  }
  ChatReply reply;
  auto content = ContentText(*message);
  if (!content) return std::unexpected(internal::InvalidResponse(content.error()));
  reply.content = std::move(*content);
  reply.reasoning_content = internal::StringOrEmpty(*message, "reasoning_content");
  if (reply.reasoning_content.empty())
    reply.reasoning_content = internal::StringOrEmpty(*message, "reasoning");
  reply.finish_reason =
      internal::ForLog(internal::StringOrEmpty((*choices)[0], "finish_reason"), kMaxFieldBytes);
  reply.model = internal::ForLog(internal::StringOrEmpty(doc, "model"), kMaxErrorMessageBytes);
  const rapidjson::Value* usage = Member(doc, "usage");
  if (usage != nullptr && !usage->IsNull()) {
    auto parsed_usage = OpenAiUsageFromJson(*usage);
    if (!parsed_usage) return std::unexpected(internal::InvalidResponse(parsed_usage.error()));
    reply.usage = *parsed_usage;
    reply.usage_present = true;
  }
  return reply;
}

std::expected<std::optional<pricing::Usage>, WireError> ExtractOpenAiUsage(std::string_view body) {
  auto parsed = internal::ParseReplyObject(body);
  if (!parsed) return std::unexpected(parsed.error());
  const rapidjson::Document& doc = *parsed;
  const rapidjson::Value* usage = Member(doc, "usage");
  if (usage == nullptr || usage->IsNull()) return std::nullopt;
  auto parsed_usage = OpenAiUsageFromJson(*usage);
  if (!parsed_usage) return std::unexpected(internal::InvalidResponse(parsed_usage.error()));
  return *parsed_usage;
}

bool IsUsageOnlyChunk(std::string_view data) {
  rapidjson::Document doc;
  if (!internal::ParseJson(data, doc)) return false;
  const rapidjson::Value* choices = Member(doc, "choices");
  return choices != nullptr && choices->IsArray() && choices->Empty() &&
         ObjectMember(doc, "usage") != nullptr;
}

std::optional<std::string> WithoutNullUsage(std::string_view event) {
  const size_t open = event.find('{');
  if (open == std::string_view::npos) return std::nullopt;
  int depth = 0;
  bool in_string = false;
  for (size_t i = open; i < event.size(); ++i) {
    const char c = event[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return std::nullopt;
    } else if (c == '"') {
      if (depth == 1 && event.substr(i).starts_with("\"usage\"")) {
        size_t end = i + 7;
        while (end < event.size() && event[end] == ' ') ++end;
        if (end >= event.size() || event[end] != ':') return std::nullopt;
        ++end;
        while (end < event.size() && event[end] == ' ') ++end;
        if (!event.substr(end).starts_with("null")) return std::nullopt;
        end += 4;
        // Take the comma that joins it to a neighbour: before it, else after it.
        size_t begin = i;
        size_t before = begin;
        while (before > open && (event[before - 1] == ' ')) --before;
        if (before > open && event[before - 1] == ',') {
          begin = before - 1;
        } else if (end < event.size() && event[end] == ',') {
          ++end;
        } else {
          return std::nullopt;
        }
        std::string out(event.substr(0, begin));
        out.append(event.substr(end));
        return out;
      }
      in_string = true;
    }
  }
  return std::nullopt;
}

void OpenAiUsageTaker::TakeUsage(const rapidjson::Value* usage) {
  if (usage == nullptr || usage->IsNull()) return;
  if (auto parsed_usage = OpenAiUsageFromJson(*usage)) {
    summary_.usage = *parsed_usage;
    summary_.usage_seen = true;
    summary_.usage_complete = true;
  } else {
    ++summary_.invalid_events;
    Fail(internal::InvalidResponse(parsed_usage.error()));
  }
}

OpenAiStreamAccumulator::OpenAiStreamAccumulator(size_t max_text_bytes)
    : OpenAiUsageTaker(max_text_bytes) {}

bool OpenAiStreamAccumulator::OnEvent(const SseEvent& event) {
  if (!event.has_data || summary_.terminated) return false;
  const std::string_view data = internal::TrimWhitespace(event.data);
  if (data == "[DONE]") {
    summary_.terminated = true;
    return false;
  }
  rapidjson::Document doc;
  if (auto parsed = internal::ParseJson(data, doc); !parsed) {
    ++summary_.invalid_events;
    Fail(internal::InvalidResponse("stream event: " + parsed.error()));
    return false;
  }
  if (auto error = internal::ErrorFromJson(doc)) {
    Fail(internal::InBodyFailure(std::move(*error)));
    return false;
  }
  if (event.name == "error") {
    WireError error = internal::InvalidResponse("error event without an error object");
    error.error_in_body = true;
    Fail(std::move(error));
    return false;
  }
  if (!doc.IsObject()) {
    ++summary_.invalid_events;
    Fail(internal::InvalidResponse("stream event is not an object"));
    return false;
  }
  if (summary_.model.empty()) {
    summary_.model = internal::ForLog(internal::StringOrEmpty(doc, "model"), kMaxErrorMessageBytes);
  }
  TakeUsage(Member(doc, "usage"));
  bool token = false;
  const rapidjson::Value* choices = Member(doc, "choices");
  if (choices == nullptr || !choices->IsArray()) return false;
  for (const rapidjson::Value& choice : choices->GetArray()) {
    if (!choice.IsObject()) continue;
    const rapidjson::Value* index = Member(choice, "index");
    const bool first_choice = index == nullptr || !index->IsInt64() || index->GetInt64() == 0;
    std::string_view text;
    if (const rapidjson::Value* delta = ObjectMember(choice, "delta")) {
      text = internal::StringOrEmpty(*delta, "content");
      if (!internal::StringOrEmpty(*delta, "reasoning_content").empty() ||
          !internal::StringOrEmpty(*delta, "reasoning").empty()) {
        ++summary_.reasoning_deltas;
        token = true;
      }
      const rapidjson::Value* tool_calls = Member(*delta, "tool_calls");
      if (tool_calls != nullptr && tool_calls->IsArray() && !tool_calls->Empty()) {
        ++summary_.tool_deltas;
        token = true;
      }
    } else {
      text = internal::StringOrEmpty(choice, "text");
    }
    if (!text.empty()) {
      ++summary_.content_deltas;
      token = true;
      if (first_choice) {
        AppendText(text);
      }
    }
    if (auto finish = StringMember(choice, "finish_reason"); finish && first_choice) {
      summary_.finish_reason = internal::ForLog(*finish, kMaxFieldBytes);
    }
  }
  return MarkFirstToken(token);
}

std::optional<WireError> OpenAiStreamAccumulator::FinalError() const {
  return FinalErrorOr("stream ended without data: [DONE]");
}

bool OpenAiResponsesAccumulator::OnEvent(const SseEvent& event) {
  if (!event.has_data || summary_.terminated) return false;
  rapidjson::Document doc;
  if (auto parsed = internal::ParseJson(internal::TrimWhitespace(event.data), doc); !parsed) {
    ++summary_.invalid_events;
    Fail(internal::InvalidResponse("stream event: " + parsed.error()));
    return false;
  }
  if (!doc.IsObject()) {
    ++summary_.invalid_events;
    Fail(internal::InvalidResponse("stream event is not an object"));
    return false;
  }
  const std::string_view type = internal::StringOrEmpty(doc, "type");
  if (type == "error" || event.name == "error") {
    WireError error = internal::ErrorFromJson(doc).value_or(
        internal::InvalidResponse(std::string(internal::StringOrEmpty(doc, "message"))));
    Fail(internal::InBodyFailure(std::move(error)));
    return false;
  }
  if (type == "response.completed" || type == "response.incomplete" || type == "response.failed") {
    summary_.terminated = true;
    const rapidjson::Value* response = ObjectMember(doc, "response");
    TakeUsage(response != nullptr ? Member(*response, "usage") : nullptr);
    return false;
  }
  if (!type.ends_with(".delta")) return false;
  if (internal::StringOrEmpty(doc, "delta").empty()) return false;
  if (type.find("reasoning") != std::string_view::npos) {
    ++summary_.reasoning_deltas;
  } else if (type.find("arguments") != std::string_view::npos) {
    ++summary_.tool_deltas;
  } else {
    ++summary_.content_deltas;
  }
  return MarkFirstToken(true);
}

std::optional<WireError> OpenAiResponsesAccumulator::FinalError() const {
  return FinalErrorOr("stream ended without response.completed");
}

}  // namespace llm_exporter::wire
