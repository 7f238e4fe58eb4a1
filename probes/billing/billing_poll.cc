#include "probes/billing/billing_poll.h"

#include "base/enum_names.h"
#include "probes/billing/staged_poll.h"

namespace llm_exporter::probes::billing {
namespace {

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string NormaliseBaseUrl(config::BillingKind kind, std::string_view url) {
  const auto trim_slashes = [&url] {
    while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  };
  trim_slashes();
  // Every kind's paths carry their own version prefix; accept the chat base URL
  // ("https://api.openai.com/v1", "https://openrouter.ai/api/v1") as well.
  if (EndsWith(url, "/v1")) {
    url.remove_suffix(3);
    if (kind == config::BillingKind::kOpenRouter && EndsWith(url, "/api")) url.remove_suffix(4);
  }
  trim_slashes();
  return std::string(url);
}

}  // namespace

std::optional<std::string_view> DefaultBillingBaseUrl(config::BillingKind kind) {
  // By BillingKind; a gateway's dashboard has no default (its base_url is required).
  static constexpr std::array<std::string_view, 5> kUrls = {
      "https://api.openai.com", "https://api.anthropic.com", "", "https://api.deepseek.com",
      "https://openrouter.ai"};
  std::string_view url = base::EnumName(kind, kUrls, "");
  if (url.empty()) return std::nullopt;
  return url;
}

std::expected<std::unique_ptr<BillingPoll>, PollError> NewBillingPoll(
    config::BillingKind kind, const std::string& base_url, const config::Secret& key,
    std::chrono::system_clock::time_point now, int page_cap) {
  internal::PollContext context;
  if (!base_url.empty()) {
    context.base_url = NormaliseBaseUrl(kind, base_url);
  } else if (auto fallback = DefaultBillingBaseUrl(kind)) {
    context.base_url = std::string(*fallback);
  } else {
    return std::unexpected(PollError{
        PollErrorReason::kUnsupported,
        std::string(config::ToString(kind)) + " needs vendor.billing.base_url (it has no default)",
        std::nullopt});
  }
  context.key = key;
  context.now = now;
  context.page_cap = std::max(page_cap, 1);
  switch (kind) {
    case config::BillingKind::kOpenAiOrg:
      return internal::NewOpenAiOrgPoll(context);
    case config::BillingKind::kAnthropicAdmin:
      return internal::NewAnthropicAdminPoll(context);
    case config::BillingKind::kOpenAiDashboard:
      return internal::NewOpenAiDashboardPoll(context);
    case config::BillingKind::kDeepSeekBalance:
      return internal::NewDeepSeekBalancePoll(context);
    case config::BillingKind::kOpenRouter:
      return internal::NewOpenRouterPoll(context);
  }
  return std::unexpected(PollError{PollErrorReason::kUnsupported, "unknown billing kind", {}});
}

}  // namespace llm_exporter::probes::billing
