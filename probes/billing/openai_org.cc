// openai_org: the OpenAI Usage API (tokens per model) and Costs API (dollars
// per line item), with an organisation Admin key (docs/vendor-apis.md §1, §2).

#include <cctype>

#include "base/text.h"
#include "probes/billing/billing_json.h"
#include "probes/billing/staged_poll.h"

namespace llm_exporter::probes::billing::internal {
namespace {

constexpr std::string_view kUsagePath = "/v1/organization/usage/completions";
constexpr std::string_view kCostsPath = "/v1/organization/costs";
constexpr size_t kUsageStage = 0;

std::string UnixSeconds(std::chrono::sys_days day) {
  return std::to_string(std::chrono::sys_seconds{day}.time_since_epoch().count());
}

class OpenAiOrgPoll final : public ModelDayPoll {
 public:
  explicit OpenAiOrgPoll(const PollContext& context)
      : ModelDayPoll(context, Stages(context), BearerHeaders(context.key)) {}

 private:
  static std::vector<Stage> Stages(const PollContext& context) {
    const std::string start = UnixSeconds(context.WindowStart());
    const std::string end = UnixSeconds(context.WindowEnd());
    return {
        {std::string(kUsagePath), context.base_url + std::string(kUsagePath) +
                                      "?start_time=" + start + "&end_time=" + end +
                                      "&bucket_width=1d&group_by[]=model&limit=31"},
        {std::string(kCostsPath), context.base_url + std::string(kCostsPath) + "?start_time=" +
                                      start + "&bucket_width=1d&group_by[]=line_item&limit=31"},
    };
  }

  std::expected<std::optional<std::string>, std::string> OnPage(
      size_t stage, const rapidjson::Value& root) override {
    auto read =
        ForEachResult(root, "start_time", &UnixSecondsDay,
                      [this, stage](std::chrono::sys_days day, const rapidjson::Value& result) {
                        return stage == kUsageStage ? AddUsage(day, result) : AddCost(day, result);
                      });
    if (!read) return std::unexpected(read.error());
    // Paged until next_page is null or has_more is false.
    auto has_more = BoolMember(root, "has_more");
    if (!has_more) return std::unexpected(has_more.error());
    auto next_page = StringMember(root, "next_page");
    if (!next_page) return std::unexpected(next_page.error());
    if (has_more->value_or(true) && next_page->has_value() && !(*next_page)->empty()) {
      return std::string(**next_page);
    }
    return std::nullopt;
  }

  std::expected<void, std::string> AddUsage(std::chrono::sys_days day,
                                            const rapidjson::Value& result) {
    auto model = StringMember(result, "model");
    auto input = CountMember(result, "input_tokens", true);
    auto cached = CountMember(result, "input_cached_tokens", false);
    auto output = CountMember(result, "output_tokens", true);
    auto requests = CountMember(result, "num_model_requests", false);
    if (auto error = FirstError(model, input, cached, output, requests)) {
      return std::unexpected(*error);
    }
    // input_tokens includes the cached part; Usage::input is uncached only.
    const int64_t cached_tokens = cached->value_or(0);
    if (cached_tokens > **input) {
      return std::unexpected("field input_cached_tokens exceeds input_tokens");
    }
    pricing::Usage usage;
    usage.input = **input - cached_tokens;
    usage.cached_input = cached_tokens;
    usage.output = **output;
    if (!table_.AddTokens(day, model->value_or(""), usage, requests->value_or(0))) {
      return std::unexpected("token sums overflow");
    }
    return {};
  }

  std::expected<void, std::string> AddCost(std::chrono::sys_days day,
                                           const rapidjson::Value& result) {
    const rapidjson::Value* amount = Member(result, "amount");
    if (amount == nullptr || !amount->IsObject()) {
      return std::unexpected("field amount is not an object");
    }
    auto value = MoneyMember(*amount, "value", kDollarsToNano, true);
    if (!value) return std::unexpected(value.error());
    auto currency = StringMember(*amount, "currency");
    if (!currency) return std::unexpected(currency.error());
    if (*currency && !base::EqualsIgnoreCase(**currency, "usd")) {
      return std::unexpected("field amount.currency is not usd");
    }
    auto line_item = StringMember(result, "line_item");
    if (!line_item) return std::unexpected(line_item.error());
    if (!table_.AddCost(day, ModelFromLineItem(line_item->value_or("")), **value)) {
      return std::unexpected("cost sums overflow");
    }
    return {};
  }
};

}  // namespace

std::unique_ptr<BillingPoll> NewOpenAiOrgPoll(const PollContext& context) {
  return std::make_unique<OpenAiOrgPoll>(context);
}

}  // namespace llm_exporter::probes::billing::internal
