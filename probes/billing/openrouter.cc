// openrouter: account credits and the calling key's limit and usage
// (docs/vendor-apis.md §6). /credits may want a management key: a 401/403 there is
// not a failure, the poll carries on with /key alone and takes the balance
// from the key's limit_remaining (when it has a limit).

#include "probes/billing/billing_json.h"
#include "probes/billing/staged_poll.h"

namespace llm_exporter::probes::billing::internal {
namespace {

constexpr std::string_view kCreditsPath = "/api/v1/credits";
constexpr std::string_view kKeyPath = "/api/v1/key";
constexpr size_t kCreditsStage = 0;

class OpenRouterPoll final : public StagedPoll {
 public:
  explicit OpenRouterPoll(const PollContext& context)
      : StagedPoll(context,
                   {{std::string(kCreditsPath), context.base_url + std::string(kCreditsPath),
                     /*optional_on_auth_error=*/true},
                    {std::string(kKeyPath), context.base_url + std::string(kKeyPath)}},
                   BearerHeaders(context.key)) {}

 private:
  std::expected<std::optional<std::string>, std::string> OnPage(
      size_t stage, const rapidjson::Value& root) override {
    const rapidjson::Value* data = Member(root, "data");
    if (data == nullptr || !data->IsObject()) return std::unexpected("field data is not an object");
    if (stage == kCreditsStage) {
      auto credits = MoneyMember(*data, "total_credits", kDollarsToNano, true);
      auto usage = MoneyMember(*data, "total_usage", kDollarsToNano, true);
      if (auto error = FirstError(credits, usage)) return std::unexpected(*error);
      int64_t balance = 0;
      if (__builtin_sub_overflow(**credits, **usage, &balance)) {
        return std::unexpected("credits overflow");
      }
      credits_balance_ = balance;
    } else {
      auto limit = MoneyMember(*data, "limit", kDollarsToNano, false);
      auto remaining = MoneyMember(*data, "limit_remaining", kDollarsToNano, false);
      auto usage = MoneyMember(*data, "usage", kDollarsToNano, true);
      if (auto error = FirstError(limit, remaining, usage)) return std::unexpected(*error);
      limit_ = *limit;
      limit_remaining_ = *remaining;
      usage_ = **usage;
    }
    return std::nullopt;
  }

  BillingSnapshot Build() const override {
    BillingSnapshot snapshot;
    snapshot.limit_nano_usd = limit_;
    snapshot.used_nano_usd = usage_;
    if (credits_balance_) {
      snapshot.balances.push_back({"USD", *credits_balance_});
    } else if (limit_remaining_) {
      snapshot.balances.push_back({"USD", *limit_remaining_});
    }
    return snapshot;
  }

  std::optional<int64_t> credits_balance_;  // unset when /credits was refused
  std::optional<int64_t> limit_;
  std::optional<int64_t> limit_remaining_;
  int64_t usage_ = 0;
};

}  // namespace

std::unique_ptr<BillingPoll> NewOpenRouterPoll(const PollContext& context) {
  return std::make_unique<OpenRouterPoll>(context);
}

}  // namespace llm_exporter::probes::billing::internal
