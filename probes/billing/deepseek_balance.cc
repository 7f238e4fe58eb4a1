// deepseek_balance: DeepSeek's point-in-time balance, one entry per currency
// with amounts as strings (docs/vendor-apis.md §5).

#include <map>

#include "probes/billing/billing_json.h"
#include "probes/billing/staged_poll.h"

namespace llm_exporter::probes::billing::internal {
namespace {

constexpr std::string_view kBalancePath = "/user/balance";
constexpr int kUnitsToNano = 9;

// The currency becomes a label value: only ISO 4217-shaped codes pass.
std::optional<std::string> CurrencyCode(std::string_view text) {
  if (text.size() != 3) return std::nullopt;
  std::string code;
  for (char c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return std::nullopt;
    code += c;
  }
  return code;
}

class DeepSeekBalancePoll final : public StagedPoll {
 public:
  explicit DeepSeekBalancePoll(const PollContext& context)
      : StagedPoll(context,
                   {{std::string(kBalancePath), context.base_url + std::string(kBalancePath)}},
                   BearerHeaders(context.key)) {}

 private:
  std::expected<std::optional<std::string>, std::string> OnPage(
      size_t, const rapidjson::Value& root) override {
    auto available = BoolMember(root, "is_available");
    if (!available) return std::unexpected(available.error());
    if (!*available) return std::unexpected("field is_available is missing");
    available_ = **available;
    const rapidjson::Value* infos = Member(root, "balance_infos");
    if (infos == nullptr || !infos->IsArray()) {
      return std::unexpected("field balance_infos is not an array");
    }
    for (const rapidjson::Value& info : infos->GetArray()) {
      if (!info.IsObject()) return std::unexpected("a balance_infos entry is not an object");
      auto currency = StringMember(info, "currency");
      auto total = MoneyMember(info, "total_balance", kUnitsToNano, true);
      if (auto error = FirstError(currency, total)) return std::unexpected(*error);
      const std::optional<std::string> code = *currency ? CurrencyCode(**currency) : std::nullopt;
      if (!code) return std::unexpected("field currency is not a currency code");
      if (!AddChecked(totals_[*code], **total)) return std::unexpected("balance sums overflow");
    }
    return std::nullopt;
  }

  BillingSnapshot Build() const override {
    BillingSnapshot snapshot;
    snapshot.available = available_;
    for (const auto& [currency, total] : totals_) snapshot.balances.push_back({currency, total});
    return snapshot;
  }

  bool available_ = false;
  std::map<std::string, int64_t> totals_;  // by currency
};

}  // namespace

std::unique_ptr<BillingPoll> NewDeepSeekBalancePoll(const PollContext& context) {
  return std::make_unique<DeepSeekBalancePoll>(context);
}

}  // namespace llm_exporter::probes::billing::internal
