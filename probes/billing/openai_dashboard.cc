// openai_dashboard: the legacy OpenAI dashboard billing endpoints as one-api
// and new-api gateways serve them (docs/vendor-apis.md §4). hard_limit_usd is in
// the gateway's display unit (USD by default); total_usage is CENTS of the
// lifetime usage, whatever start_date/end_date say (the gateways ignore them).

#include "probes/billing/billing_json.h"
#include "probes/billing/staged_poll.h"

namespace llm_exporter::probes::billing::internal {
namespace {

constexpr std::string_view kSubscriptionPath = "/v1/dashboard/billing/subscription";
constexpr std::string_view kUsagePath = "/v1/dashboard/billing/usage";
constexpr size_t kSubscriptionStage = 0;

class OpenAiDashboardPoll final : public StagedPoll {
 public:
  explicit OpenAiDashboardPoll(const PollContext& context)
      : StagedPoll(context, Stages(context), BearerHeaders(context.key)) {}

 private:
  static std::vector<Stage> Stages(const PollContext& context) {
    // As new-api queries its own upstreams: this month so far.
    const std::chrono::year_month_day today{context.Today()};
    const std::chrono::sys_days month_start{today.year() / today.month() / 1};
    return {
        {std::string(kSubscriptionPath), context.base_url + std::string(kSubscriptionPath)},
        {std::string(kUsagePath), context.base_url + std::string(kUsagePath) +
                                      "?start_date=" + FormatDay(month_start) +
                                      "&end_date=" + FormatDay(context.Today())},
    };
  }

  std::expected<std::optional<std::string>, std::string> OnPage(
      size_t stage, const rapidjson::Value& root) override {
    if (stage == kSubscriptionStage) {
      auto limit = MoneyMember(root, "hard_limit_usd", kDollarsToNano, true);
      if (!limit) return std::unexpected(limit.error());
      limit_nano_usd_ = **limit;
    } else {
      auto used = MoneyMember(root, "total_usage", kCentsToNano, true);
      if (!used) return std::unexpected(used.error());
      used_nano_usd_ = **used;
    }
    return std::nullopt;
  }

  BillingSnapshot Build() const override {
    BillingSnapshot snapshot;
    snapshot.limit_nano_usd = limit_nano_usd_;
    snapshot.used_nano_usd = used_nano_usd_;
    return snapshot;
  }

  int64_t limit_nano_usd_ = 0;
  int64_t used_nano_usd_ = 0;
};

}  // namespace

std::unique_ptr<BillingPoll> NewOpenAiDashboardPoll(const PollContext& context) {
  return std::make_unique<OpenAiDashboardPoll>(context);
}

}  // namespace llm_exporter::probes::billing::internal
