#include "wire/anthropic_messages.h"

#include <algorithm>
#include <utility>

#include "wire/error_body.h"
#include "wire/json_util.h"

namespace llm_exporter::wire {
namespace {

using namespace internal;  // this room's JSON helpers

enum class DeltaKind { kText, kThinking, kTool };

// Overwrites the fields of `usage` that `json` carries (non-null); returns
// whether output_tokens was among them.
std::expected<bool, std::string> ApplyUsage(const rapidjson::Value& json, pricing::Usage& usage) {
  if (!json.IsObject()) return std::unexpected("usage is not an object");
  pricing::Usage updated = usage;
  auto input = CountMember(json, "input_tokens");
  if (!input) return std::unexpected(input.error());
  if (*input) updated.input = **input;
  auto cache_read = CountMember(json, "cache_read_input_tokens");
  if (!cache_read) return std::unexpected(cache_read.error());
  if (*cache_read) updated.cached_input = **cache_read;

  std::optional<int64_t> write_5m;
  std::optional<int64_t> write_1h;
  const rapidjson::Value* breakdown = Member(json, "cache_creation");
  if (breakdown != nullptr && !breakdown->IsNull()) {
    if (!breakdown->IsObject()) return std::unexpected("cache_creation is not an object");
    auto five = CountMember(*breakdown, "ephemeral_5m_input_tokens");
    if (!five) return std::unexpected(five.error());
    auto hour = CountMember(*breakdown, "ephemeral_1h_input_tokens");
    if (!hour) return std::unexpected(hour.error());
    write_5m = *five;
    write_1h = *hour;
  }
  if (write_5m || write_1h) {
    updated.cache_write_5m = write_5m.value_or(0);
    updated.cache_write_1h = write_1h.value_or(0);
  } else {
    // Older models and gateways give only the total, which was 5-minute
    // caching before the 1-hour option existed.
    auto total = CountMember(json, "cache_creation_input_tokens");
    if (!total) return std::unexpected(total.error());
    // A later message_delta may repeat only the total; keep an earlier
    // breakdown that it agrees with.
    const bool agrees = updated.cache_write_5m <= **total &&
                        **total - updated.cache_write_5m == updated.cache_write_1h;
    if (*total && !agrees) {
      updated.cache_write_5m = **total;
      updated.cache_write_1h = 0;
    }
  }
  auto output = CountMember(json, "output_tokens");
  if (!output) return std::unexpected(output.error());
  if (*output) updated.output = **output;
  updated.reasoning = 0;
  usage = updated;
  return output->has_value();
}

}  // namespace

std::string BuildAnthropicRequest(const AnthropicRequest& request) {
  rapidjson::StringBuffer buffer;
  internal::JsonWriter writer(buffer);
  internal::StartRequest(writer, request.model);
  writer.Key("max_tokens");
  writer.Int64(request.max_tokens);
  internal::WriteUserMessage(writer, request.prompt);
  if (request.thinking_budget_tokens > 0) {
    writer.Key("thinking");
    writer.StartObject();
    writer.Key("type");
    writer.String("enabled");
    writer.Key("budget_tokens");
    writer.Int64(request.thinking_budget_tokens);
    writer.EndObject();
  }
  if (request.stream) {
    writer.Key("stream");
    writer.Bool(true);
  }
  return internal::EndRequest(writer, buffer);
}

std::expected<ChatReply, WireError> ParseAnthropicReply(std::string_view body) {
  auto parsed = internal::ParseReplyObject(body);
  if (!parsed) return std::unexpected(parsed.error());
  const rapidjson::Document& doc = *parsed;
  const rapidjson::Value* content = Member(doc, "content");
  if (content == nullptr || !content->IsArray()) {
    return std::unexpected(internal::InvalidResponse("reply has no content array"));
  }
  ChatReply reply;
  for (const rapidjson::Value& block : content->GetArray()) {
    const std::string_view type = internal::StringOrEmpty(block, "type");
    if (type == "text") {
      reply.content.append(internal::StringOrEmpty(block, "text"));
    } else if (type == "thinking") {
      reply.reasoning_content.append(internal::StringOrEmpty(block, "thinking"));
    }
  }
  reply.finish_reason =
      internal::ForLog(internal::StringOrEmpty(doc, "stop_reason"), kMaxFieldBytes);
  reply.model = internal::ForLog(internal::StringOrEmpty(doc, "model"), kMaxErrorMessageBytes);
  const rapidjson::Value* usage = Member(doc, "usage");
  if (usage != nullptr && !usage->IsNull()) {
    auto applied = ApplyUsage(*usage, reply.usage);
    if (!applied) return std::unexpected(internal::InvalidResponse(applied.error()));
    reply.usage_present = true;
  }
  return reply;
}

std::expected<pricing::Usage, std::string> AnthropicUsageFromJson(const rapidjson::Value& usage) {
  pricing::Usage result;
  auto applied = ApplyUsage(usage, result);
  if (!applied) return std::unexpected(applied.error());
  return result;
}

AnthropicStreamAccumulator::AnthropicStreamAccumulator(size_t max_text_bytes)
    : StreamAccumulatorBase(max_text_bytes) {}

bool AnthropicStreamAccumulator::OnDelta(std::string_view delta_type, std::string_view text) {
  if (text.empty()) return false;
  if (delta_type == "text_delta" || delta_type == "text") {
    ++summary_.content_deltas;
    AppendText(text);
  } else if (delta_type == "thinking_delta" || delta_type == "thinking") {
    ++summary_.reasoning_deltas;
  } else if (delta_type == "input_json_delta") {
    ++summary_.tool_deltas;
  } else {
    return false;
  }
  return true;
}

bool AnthropicStreamAccumulator::OnEvent(const SseEvent& event) {
  if (!event.has_data || summary_.terminated) return false;
  rapidjson::Document doc;
  if (auto parsed = internal::ParseJson(event.data, doc); !parsed) {
    ++summary_.invalid_events;
    Fail(internal::InvalidResponse("stream event: " + parsed.error()));
    return false;
  }
  const std::string_view type = StringMember(doc, "type").value_or(event.name);
  if (event.name == "error" || type == "error") {
    std::optional<WireError> error = internal::ErrorFromJson(doc);
    if (!error) {
      error = internal::InvalidResponse("error event without an error object");
      error->error_in_body = true;
    }
    Fail(internal::InBodyFailure(std::move(*error)));
    return false;
  }
  if (!doc.IsObject()) {
    ++summary_.invalid_events;
    Fail(internal::InvalidResponse("stream event is not an object"));
    return false;
  }
  const auto apply_usage = [&](const rapidjson::Value& holder) -> std::optional<bool> {
    const rapidjson::Value* usage = Member(holder, "usage");
    if (usage == nullptr || usage->IsNull()) return std::nullopt;
    auto applied = ApplyUsage(*usage, summary_.usage);
    if (!applied) {
      ++summary_.invalid_events;
      Fail(internal::InvalidResponse(applied.error()));
      return std::nullopt;
    }
    summary_.usage_seen = true;
    return *applied;
  };

  bool token = false;
  if (type == "message_start") {
    const rapidjson::Value* message = ObjectMember(doc, "message");
    if (message == nullptr) {
      ++summary_.invalid_events;
      Fail(internal::InvalidResponse("message_start without a message object"));
      return false;
    }
    summary_.model =
        internal::ForLog(internal::StringOrEmpty(*message, "model"), kMaxErrorMessageBytes);
    apply_usage(*message);
  } else if (type == "content_block_start") {
    if (const rapidjson::Value* block = ObjectMember(doc, "content_block")) {
      const std::string_view block_type = internal::StringOrEmpty(*block, "type");
      token = OnDelta(block_type,
                      internal::StringOrEmpty(*block, block_type == "text" ? "text" : "thinking"));
    }
  } else if (type == "content_block_delta") {
    if (const rapidjson::Value* delta = ObjectMember(doc, "delta")) {
      const std::string_view delta_type = internal::StringOrEmpty(*delta, "type");
      std::string_view text;
      if (delta_type == "text_delta") {
        text = internal::StringOrEmpty(*delta, "text");
      } else if (delta_type == "thinking_delta") {
        text = internal::StringOrEmpty(*delta, "thinking");
      } else if (delta_type == "input_json_delta") {
        text = internal::StringOrEmpty(*delta, "partial_json");
      }
      token = OnDelta(delta_type, text);
    }
  } else if (type == "message_delta") {
    if (const rapidjson::Value* delta = ObjectMember(doc, "delta")) {
      if (auto stop = StringMember(*delta, "stop_reason")) {
        summary_.finish_reason = internal::ForLog(*stop, kMaxFieldBytes);
      }
    }
    if (apply_usage(doc).value_or(false)) summary_.usage_complete = true;
  } else if (type == "message_stop") {
    summary_.terminated = true;
  }
  return MarkFirstToken(token);
}

std::optional<WireError> AnthropicStreamAccumulator::FinalError() const {
  return FinalErrorOr("stream ended without message_stop");
}

}  // namespace llm_exporter::wire
