#include "proxy/endpoints.h"

#include <array>

namespace llm_exporter::proxy {
namespace {

using config::WireApi;
using wire::StreamKind;

constexpr std::array<EndpointInfo, 7> kEndpoints = {{
    {Endpoint::kChatCompletions, "/v1/chat/completions", "POST", "chat_completions",
     WireApi::kOpenAi, StreamKind::kOpenAiChat, true, true},
    {Endpoint::kCompletions, "/v1/completions", "POST", "completions", WireApi::kOpenAi,
     StreamKind::kOpenAiChat, true, true},
    {Endpoint::kEmbeddings, "/v1/embeddings", "POST", "embeddings", WireApi::kOpenAi,
     StreamKind::kOpenAiChat, true, false},
    {Endpoint::kResponses, "/v1/responses", "POST", "responses", WireApi::kOpenAi,
     StreamKind::kOpenAiResponses, true, false},
    {Endpoint::kMessages, "/v1/messages", "POST", "messages", WireApi::kAnthropic,
     StreamKind::kAnthropic, true, false},
    {Endpoint::kCountTokens, "/v1/messages/count_tokens", "POST", "count_tokens",
     WireApi::kAnthropic, StreamKind::kAnthropic, false, false},
    {Endpoint::kModels, "/v1/models", "GET", "models", WireApi::kOpenAi, StreamKind::kOpenAiChat,
     false, false},
}};

}  // namespace

const EndpointInfo* FindEndpoint(std::string_view path) {
  for (const EndpointInfo& info : kEndpoints) {
    if (info.path == path) return &info;
  }
  return nullptr;
}

std::string UpstreamUrl(const config::VendorConfig& vendor, std::string_view target) {
  std::string_view base = vendor.base_url;
  while (base.ends_with('/')) base.remove_suffix(1);
  if (vendor.api == WireApi::kOpenAi && target.starts_with("/v1/")) target.remove_prefix(3);
  return std::string(base) + std::string(target);
}

WireApi DialectOfPath(std::string_view path) {
  return path == "/v1/messages" || path.starts_with("/v1/messages/") ? WireApi::kAnthropic
                                                                     : WireApi::kOpenAi;
}

}  // namespace llm_exporter::proxy
