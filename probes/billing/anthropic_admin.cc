// anthropic_admin: the Anthropic Admin API usage report (tokens per model) and
// cost report (cents per description), with an Admin key (docs/vendor-apis.md §3).
// Results without a model (web search, code execution, ungrouped rows) are
// kept under model "".

#include "probes/billing/billing_json.h"
#include "probes/billing/staged_poll.h"
#include "wire/anthropic_messages.h"

namespace llm_exporter::probes::billing::internal {
namespace {

constexpr std::string_view kUsagePath = "/v1/organizations/usage_report/messages";
constexpr std::string_view kCostPath = "/v1/organizations/cost_report";
constexpr size_t kUsageStage = 0;

class AnthropicAdminPoll final : public ModelDayPoll {
 public:
  explicit AnthropicAdminPoll(const PollContext& context)
      : ModelDayPoll(context, Stages(context), Headers(context.key)) {}

 private:
  static std::vector<Stage> Stages(const PollContext& context) {
    const std::string window = "?starting_at=" + FormatRfc3339(context.WindowStart()) +
                               "&ending_at=" + FormatRfc3339(context.WindowEnd());
    return {
        {std::string(kUsagePath), context.base_url + std::string(kUsagePath) + window +
                                      "&bucket_width=1d&group_by[]=model&limit=31"},
        {std::string(kCostPath),
         context.base_url + std::string(kCostPath) + window + "&group_by[]=description&limit=31"},
    };
  }

  static std::vector<std::string> Headers(const config::Secret& key) {
    std::vector<std::string> headers = {"Accept: application/json"};
    if (!key.Empty()) headers.push_back("x-api-key: " + key.Reveal());
    headers.push_back("anthropic-version: " + std::string(wire::kAnthropicVersion));
    return headers;
  }

  std::expected<std::optional<std::string>, std::string> OnPage(
      size_t stage, const rapidjson::Value& root) override {
    auto read =
        ForEachResult(root, "starting_at", &Rfc3339Day,
                      [this, stage](std::chrono::sys_days day, const rapidjson::Value& result) {
                        return stage == kUsageStage ? AddUsage(day, result) : AddCost(day, result);
                      });
    if (!read) return std::unexpected(read.error());
    // data, has_more and next_page are all required; paged until has_more is false.
    auto has_more = BoolMember(root, "has_more");
    if (!has_more) return std::unexpected(has_more.error());
    if (!*has_more) return std::unexpected("field has_more is missing");
    if (!**has_more) return std::nullopt;
    auto next_page = StringMember(root, "next_page");
    if (!next_page) return std::unexpected(next_page.error());
    if (!*next_page || (*next_page)->empty()) {
      return std::unexpected("has_more is true but next_page is missing");
    }
    return std::string(**next_page);
  }

  std::expected<void, std::string> AddUsage(std::chrono::sys_days day,
                                            const rapidjson::Value& result) {
    auto model = StringMember(result, "model");
    auto uncached = CountMember(result, "uncached_input_tokens", true);
    auto cache_read = CountMember(result, "cache_read_input_tokens", false);
    auto output = CountMember(result, "output_tokens", true);
    if (auto error = FirstError(model, uncached, cache_read, output)) {
      return std::unexpected(*error);
    }
    pricing::Usage usage;
    usage.input = **uncached;
    usage.cached_input = cache_read->value_or(0);
    usage.output = **output;
    if (const rapidjson::Value* creation = Member(result, "cache_creation");
        creation != nullptr && !creation->IsNull()) {
      if (!creation->IsObject()) return std::unexpected("field cache_creation is not an object");
      auto write_5m = CountMember(*creation, "ephemeral_5m_input_tokens", false);
      auto write_1h = CountMember(*creation, "ephemeral_1h_input_tokens", false);
      if (auto error = FirstError(write_5m, write_1h)) return std::unexpected(*error);
      usage.cache_write_5m = write_5m->value_or(0);
      usage.cache_write_1h = write_1h->value_or(0);
    }
    // The usage report has no request counts.
    if (!table_.AddTokens(day, model->value_or(""), usage, 0)) {
      return std::unexpected("token sums overflow");
    }
    return {};
  }

  std::expected<void, std::string> AddCost(std::chrono::sys_days day,
                                           const rapidjson::Value& result) {
    auto model = StringMember(result, "model");
    auto currency = StringMember(result, "currency");
    auto amount = MoneyMember(result, "amount", kCentsToNano, true);
    if (auto error = FirstError(model, currency, amount)) return std::unexpected(*error);
    if (*currency && **currency != "USD") return std::unexpected("field currency is not USD");
    if (!table_.AddCost(day, model->value_or(""), **amount)) {
      return std::unexpected("cost sums overflow");
    }
    return {};
  }
};

}  // namespace

std::unique_ptr<BillingPoll> NewAnthropicAdminPoll(const PollContext& context) {
  return std::make_unique<AnthropicAdminPoll>(context);
}

}  // namespace llm_exporter::probes::billing::internal
