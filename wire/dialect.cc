#include "wire/dialect.h"

namespace llm_exporter::wire {
namespace {

std::vector<std::string> OpenAiHeaders(std::string_view key) {
  if (key.empty()) return {};
  return {"Authorization: Bearer " + std::string(key)};
}

std::vector<std::string> AnthropicHeaders(std::string_view key) {
  std::vector<std::string> headers = {"anthropic-version: " + std::string(kAnthropicVersion)};
  if (!key.empty()) headers.push_back("x-api-key: " + std::string(key));
  return headers;
}

constexpr Dialect kOpenAi{config::WireApi::kOpenAi, "/chat/completions", "chat_completions"};
constexpr Dialect kAnthropic{config::WireApi::kAnthropic, "/v1/messages", "messages"};

}  // namespace

StreamAccumulator::StreamAccumulator(config::WireApi api)
    : impl_(api == config::WireApi::kAnthropic
                ? decltype(impl_)(std::in_place_type<AnthropicStreamAccumulator>)
                : decltype(impl_)(std::in_place_type<OpenAiStreamAccumulator>)) {}

StreamAccumulator::StreamAccumulator(StreamKind kind, size_t max_text_bytes)
    : impl_(kind == StreamKind::kAnthropic
                ? decltype(impl_)(std::in_place_type<AnthropicStreamAccumulator>, max_text_bytes)
            : kind == StreamKind::kOpenAiResponses
                ? decltype(impl_)(std::in_place_type<OpenAiResponsesAccumulator>)
                : decltype(impl_)(std::in_place_type<OpenAiStreamAccumulator>, max_text_bytes)) {}

bool StreamAccumulator::OnEvent(const SseEvent& event) {
  return std::visit([&](auto& a) { return a.OnEvent(event); }, impl_);
}

const StreamSummary& StreamAccumulator::summary() const {
  return std::visit([](const auto& a) -> const StreamSummary& { return a.summary(); }, impl_);
}

std::optional<WireError> StreamAccumulator::FinalError() const {
  return std::visit([](const auto& a) { return a.FinalError(); }, impl_);
}

std::vector<std::string> Dialect::Headers(std::string_view key) const {
  return api == config::WireApi::kAnthropic ? AnthropicHeaders(key) : OpenAiHeaders(key);
}

std::string Dialect::BuildChatRequest(const ChatRequest& r) const {
  if (api == config::WireApi::kAnthropic) {
    AnthropicRequest request;
    request.model = r.model;
    request.prompt = r.prompt;
    request.max_tokens = r.max_tokens;
    request.stream = r.stream;
    return BuildAnthropicRequest(request);
  }
  OpenAiChatRequest request;
  request.model = r.model;
  request.prompt = r.prompt;
  request.max_tokens = r.max_tokens;
  request.stream = r.stream;
  request.reasoning_effort = r.reasoning_effort;
  // Reasoning models take max_completion_tokens; gateways take max_tokens.
  request.use_max_completion_tokens = !r.reasoning_effort.empty();
  return BuildOpenAiChatRequest(request);
}

std::expected<ChatReply, WireError> Dialect::ParseReply(std::string_view body) const {
  return api == config::WireApi::kAnthropic ? ParseAnthropicReply(body)
                                            : ParseOpenAiChatReply(body);
}

const Dialect& DialectFor(config::WireApi api) {
  return api == config::WireApi::kAnthropic ? kAnthropic : kOpenAi;
}

}  // namespace llm_exporter::wire
