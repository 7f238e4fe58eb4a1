#include "tests/fake_vendor/wire_replies.h"

#include "tests/fake_vendor/json_writer.h"

namespace llm_exporter::fake_vendor {
namespace {

std::string Text(const Reply& reply) {
  std::string text;
  for (const auto& token : reply.tokens) text += token;
  return text;
}

std::string Finish(rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

// --- OpenAI ---------------------------------------------------------------

std::string_view OpenAiFinishReason(const Reply& reply) {
  return reply.stopped_by_max_tokens ? "length" : "stop";
}

void OpenAiUsage(JsonWriter& w, const ReplyUsage& usage) {
  w.StartObject();
  KeyInt(w, "prompt_tokens", usage.input_tokens);
  KeyInt(w, "completion_tokens", usage.output_tokens);
  KeyInt(w, "total_tokens", usage.input_tokens + usage.output_tokens);
  Key(w, "prompt_tokens_details");
  w.StartObject();
  KeyInt(w, "cached_tokens", usage.cached_input_tokens);
  KeyInt(w, "audio_tokens", 0);
  w.EndObject();
  Key(w, "completion_tokens_details");
  w.StartObject();
  KeyInt(w, "reasoning_tokens", 0);
  KeyInt(w, "audio_tokens", 0);
  KeyInt(w, "accepted_prediction_tokens", 0);
  KeyInt(w, "rejected_prediction_tokens", 0);
  w.EndObject();
  w.EndObject();
}

void OpenAiEnvelope(JsonWriter& w, const Reply& reply, std::string_view object) {
  KeyString(w, "id", reply.id);
  KeyString(w, "object", object);
  KeyInt(w, "created", reply.created_unix_seconds);
  KeyString(w, "model", reply.model);
  KeyString(w, "system_fingerprint", "fp_fake_vendor");
}

std::string OpenAiBody(const Reply& reply) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  OpenAiEnvelope(w, reply, "chat.completion");
  Key(w, "choices");
  w.StartArray();
  w.StartObject();
  KeyInt(w, "index", 0);
  Key(w, "message");
  w.StartObject();
  KeyString(w, "role", "assistant");
  KeyString(w, "content", Text(reply));
  KeyNull(w, "refusal");
  w.EndObject();
  KeyNull(w, "logprobs");
  KeyString(w, "finish_reason", OpenAiFinishReason(reply));
  w.EndObject();
  w.EndArray();
  if (reply.usage) {
    Key(w, "usage");
    OpenAiUsage(w, *reply.usage);
  }
  w.EndObject();
  return Finish(buffer);
}

// One chat.completion.chunk. `delta_role`/`delta_content` are omitted when null;
// `usage: null` appears on every chunk but the usage chunk when include_usage is on.
std::string OpenAiChunk(const Reply& reply, const std::string* delta_role,
                        const std::string* delta_content, std::string_view finish_reason) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  OpenAiEnvelope(w, reply, "chat.completion.chunk");
  Key(w, "choices");
  w.StartArray();
  w.StartObject();
  KeyInt(w, "index", 0);
  Key(w, "delta");
  w.StartObject();
  if (delta_role) KeyString(w, "role", *delta_role);
  if (delta_content) KeyString(w, "content", *delta_content);
  w.EndObject();
  KeyNull(w, "logprobs");
  if (finish_reason.empty()) {
    KeyNull(w, "finish_reason");
  } else {
    KeyString(w, "finish_reason", finish_reason);
  }
  w.EndObject();
  w.EndArray();
  if (reply.include_usage_chunk && reply.usage) KeyNull(w, "usage");
  w.EndObject();
  return SseData(Finish(buffer));
}

std::string OpenAiUsageChunk(const Reply& reply) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  OpenAiEnvelope(w, reply, "chat.completion.chunk");
  Key(w, "choices");
  w.StartArray();
  w.EndArray();
  Key(w, "usage");
  OpenAiUsage(w, *reply.usage);
  w.EndObject();
  return SseData(Finish(buffer));
}

StreamScript OpenAiStream(const Reply& reply) {
  StreamScript script;
  const std::string role = "assistant";
  const std::string empty;
  script.preamble.push_back(OpenAiChunk(reply, &role, &empty, {}));
  for (size_t i = 0; i < reply.tokens.size(); ++i) {
    const bool last = i + 1 == reply.tokens.size();
    script.tokens.push_back(
        OpenAiChunk(reply, nullptr, &reply.tokens[i], last ? OpenAiFinishReason(reply) : ""));
  }
  if (reply.include_usage_chunk && reply.usage) script.epilogue.push_back(OpenAiUsageChunk(reply));
  script.epilogue.push_back(SseData("[DONE]"));
  return script;
}

// --- Anthropic ------------------------------------------------------------

std::string_view AnthropicStopReason(const Reply& reply) {
  return reply.stopped_by_max_tokens ? "max_tokens" : "end_turn";
}

// Anthropic's input_tokens excludes cache reads and cache writes;
// cache_creation_input_tokens is the total of the cache_creation breakdown.
// The plain body and message_start carry the same input and cache fields.
void AnthropicUsage(JsonWriter& w, const ReplyUsage& usage, int64_t output_tokens, bool full) {
  const int64_t writes = usage.cache_write_5m_tokens + usage.cache_write_1h_tokens;
  w.StartObject();
  KeyInt(w, "input_tokens", usage.input_tokens - usage.cached_input_tokens - writes);
  KeyInt(w, "cache_creation_input_tokens", writes);
  KeyInt(w, "cache_read_input_tokens", usage.cached_input_tokens);
  Key(w, "cache_creation");
  w.StartObject();
  KeyInt(w, "ephemeral_5m_input_tokens", usage.cache_write_5m_tokens);
  KeyInt(w, "ephemeral_1h_input_tokens", usage.cache_write_1h_tokens);
  w.EndObject();
  KeyInt(w, "output_tokens", output_tokens);
  if (full) KeyString(w, "service_tier", "standard");
  w.EndObject();
}

// The message object of a plain reply (`complete`) or of message_start.
void AnthropicMessage(JsonWriter& w, const Reply& reply, bool complete) {
  w.StartObject();
  KeyString(w, "id", reply.id);
  KeyString(w, "type", "message");
  KeyString(w, "role", "assistant");
  KeyString(w, "model", reply.model);
  Key(w, "content");
  w.StartArray();
  if (complete) {
    w.StartObject();
    KeyString(w, "type", "text");
    KeyString(w, "text", Text(reply));
    w.EndObject();
  }
  w.EndArray();
  if (complete) {
    KeyString(w, "stop_reason", AnthropicStopReason(reply));
  } else {
    KeyNull(w, "stop_reason");
  }
  KeyNull(w, "stop_sequence");
  if (reply.usage) {
    Key(w, "usage");
    // message_start reports an initial output count of 1, as the real API does;
    // the cumulative total arrives in message_delta.
    AnthropicUsage(w, *reply.usage, complete ? reply.usage->output_tokens : 1, complete);
  }
  w.EndObject();
}

std::string AnthropicBody(const Reply& reply) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  AnthropicMessage(w, reply, /*complete=*/true);
  return Finish(buffer);
}

template <typename Fill>
std::string AnthropicEvent(std::string_view type, Fill fill) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  KeyString(w, "type", type);
  fill(w);
  w.EndObject();
  return SseEvent(type, Finish(buffer));
}

StreamScript AnthropicStream(const Reply& reply) {
  StreamScript script;
  script.preamble.push_back(AnthropicEvent("message_start", [&](JsonWriter& w) {
    Key(w, "message");
    AnthropicMessage(w, reply, /*complete=*/false);
  }));
  script.preamble.push_back(AnthropicEvent("content_block_start", [](JsonWriter& w) {
    KeyInt(w, "index", 0);
    Key(w, "content_block");
    w.StartObject();
    KeyString(w, "type", "text");
    KeyString(w, "text", "");
    w.EndObject();
  }));
  script.preamble.push_back(AnthropicEvent("ping", [](JsonWriter&) {}));
  for (const auto& token : reply.tokens) {
    script.tokens.push_back(AnthropicEvent("content_block_delta", [&](JsonWriter& w) {
      KeyInt(w, "index", 0);
      Key(w, "delta");
      w.StartObject();
      KeyString(w, "type", "text_delta");
      KeyString(w, "text", token);
      w.EndObject();
    }));
  }
  script.epilogue.push_back(
      AnthropicEvent("content_block_stop", [](JsonWriter& w) { KeyInt(w, "index", 0); }));
  script.epilogue.push_back(AnthropicEvent("message_delta", [&](JsonWriter& w) {
    Key(w, "delta");
    w.StartObject();
    KeyString(w, "stop_reason", AnthropicStopReason(reply));
    KeyNull(w, "stop_sequence");
    w.EndObject();
    if (reply.usage) {
      Key(w, "usage");
      w.StartObject();
      KeyInt(w, "output_tokens", reply.usage->output_tokens);
      w.EndObject();
    }
  }));
  script.epilogue.push_back(AnthropicEvent("message_stop", [](JsonWriter&) {}));
  return script;
}

// --- Errors ---------------------------------------------------------------

struct ErrorShape {
  int status;
  std::string_view openai_type;
  std::string_view openai_code;  // empty = null
  std::string_view anthropic_type;
  std::string_view message;
};

ErrorShape ShapeOf(ErrorCase error_case) {
  switch (error_case) {
    case ErrorCase::kBadRequest:
      return {400, "invalid_request_error", "", "invalid_request_error", "Invalid request."};
    case ErrorCase::kUnauthorized:
      return {401, "invalid_request_error", "invalid_api_key", "authentication_error",
              "Incorrect API key provided."};
    case ErrorCase::kNotFound:
      return {404, "invalid_request_error", "", "not_found_error", "Not found."};
    case ErrorCase::kMethodNotAllowed:
      return {405, "invalid_request_error", "", "invalid_request_error", "Method not allowed."};
    case ErrorCase::kPayloadTooLarge:
      return {413, "invalid_request_error", "", "request_too_large",
              "Request exceeds the maximum allowed number of bytes."};
    case ErrorCase::kRateLimited:
      return {429, "requests", "rate_limit_exceeded", "rate_limit_error",
              "Rate limit reached for requests. Please try again in 7s."};
    case ErrorCase::kServerError:
      return {500, "server_error", "", "api_error",
              "The server had an error while processing your request."};
    case ErrorCase::kOverloaded:
      return {529, "server_error", "overloaded", "overloaded_error", "Overloaded"};
    case ErrorCase::kUpstreamError:
      return {200, "upstream_error", "", "api_error",
              "upstream error: do request failed (fake_vendor error_200 fault)"};
  }
  return {500, "server_error", "", "api_error", "Internal error."};
}

}  // namespace

std::vector<std::string> ReplyTokens(std::string_view word, int64_t count) {
  std::vector<std::string> tokens;
  for (int64_t i = 0; i < count; ++i) {
    tokens.push_back(i == 0 ? std::string(word) : " " + std::string(word));
  }
  return tokens;
}

std::string RenderBody(const Reply& reply) {
  return reply.dialect == Dialect::kOpenAi ? OpenAiBody(reply) : AnthropicBody(reply);
}

StreamScript RenderStream(const Reply& reply) {
  return reply.dialect == Dialect::kOpenAi ? OpenAiStream(reply) : AnthropicStream(reply);
}

std::string SseData(std::string_view json) {
  std::string event = "data: ";
  event.append(json);
  event.append("\n\n");
  return event;
}

std::string SseEvent(std::string_view name, std::string_view json) {
  std::string event = "event: ";
  event.append(name);
  event.append("\ndata: ");
  event.append(json);
  event.append("\n\n");
  return event;
}

int ErrorStatus(ErrorCase error_case) { return ShapeOf(error_case).status; }

std::string RenderErrorBody(Dialect dialect, ErrorCase error_case, std::string_view message,
                            std::string_view request_id) {
  const ErrorShape shape = ShapeOf(error_case);
  if (message.empty()) message = shape.message;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  if (dialect == Dialect::kOpenAi) {
    Key(w, "error");
    w.StartObject();
    KeyString(w, "message", message);
    KeyString(w, "type", shape.openai_type);
    KeyNull(w, "param");
    if (shape.openai_code.empty()) {
      KeyNull(w, "code");
    } else {
      KeyString(w, "code", shape.openai_code);
    }
    w.EndObject();
  } else {
    KeyString(w, "type", "error");
    Key(w, "error");
    w.StartObject();
    KeyString(w, "type", shape.anthropic_type);
    KeyString(w, "message", message);
    w.EndObject();
    if (!request_id.empty()) KeyString(w, "request_id", request_id);
  }
  w.EndObject();
  return Finish(buffer);
}

std::string RenderMidstreamError(Dialect dialect) {
  const std::string body = RenderErrorBody(dialect, ErrorCase::kOverloaded);
  return dialect == Dialect::kOpenAi ? SseData(body) : SseEvent("error", body);
}

std::string RenderModelsList(std::span<const std::string_view> model_ids, int64_t created) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  KeyString(w, "object", "list");
  Key(w, "data");
  w.StartArray();
  for (const auto& id : model_ids) {
    w.StartObject();
    KeyString(w, "id", id);
    KeyString(w, "object", "model");
    KeyInt(w, "created", created);
    KeyString(w, "owned_by", "fake_vendor");
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Finish(buffer);
}

std::string RenderHtmlPage() {
  return "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
         "<body><h1>502 Bad Gateway</h1><p>The upstream is temporarily unavailable. "
         "Please try again later.</p><hr><center>fake_vendor</center></body></html>\n";
}

}  // namespace llm_exporter::fake_vendor
