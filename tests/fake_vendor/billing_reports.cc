#include "tests/fake_vendor/billing_reports.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "pricing/cost.h"
#include "tests/fake_vendor/decimal_text.h"
#include "tests/fake_vendor/json_writer.h"

namespace llm_exporter::fake_vendor {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

// Exact decimal text as a JSON number.
void KeyNumber(JsonWriter& w, std::string_view key, const std::string& text) {
  Key(w, key);
  w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
}

void KeyStringOrNull(JsonWriter& w, std::string_view key, bool present, std::string_view value) {
  if (present) {
    KeyString(w, key, value);
  } else {
    KeyNull(w, key);
  }
}

std::string Finish(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

int64_t UnixSeconds(sys_days day) {
  return std::chrono::duration_cast<std::chrono::seconds>(day.time_since_epoch()).count();
}

// --- query validation ------------------------------------------------------

struct ReportRules {
  std::string_view start_param;
  std::string_view end_param;
  bool rfc3339;
  bool finer_buckets_exist;  // 1h/1m are valid for the vendor (not implemented here)
  int64_t max_limit;
  std::vector<std::string_view> group_by;
  bool model_filter;
};

ReportRules RulesFor(BillingReport report) {
  switch (report) {
    case BillingReport::kOpenAiUsage:
      return {.start_param = "start_time",
              .end_param = "end_time",
              .rfc3339 = false,
              .finer_buckets_exist = true,
              .max_limit = 31,
              .group_by = {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier"},
              .model_filter = true};
    case BillingReport::kOpenAiCosts:
      return {.start_param = "start_time",
              .end_param = "end_time",
              .rfc3339 = false,
              .finer_buckets_exist = false,
              .max_limit = 180,
              .group_by = {"project_id", "line_item", "api_key_id"},
              .model_filter = false};
    case BillingReport::kAnthropicUsage:
      return {.start_param = "starting_at",
              .end_param = "ending_at",
              .rfc3339 = true,
              .finer_buckets_exist = true,
              .max_limit = 31,
              .group_by = {"api_key_id", "workspace_id", "model", "service_tier", "context_window",
                           "inference_geo", "speed", "account_id", "service_account_id"},
              .model_filter = true};
    case BillingReport::kAnthropicCosts:
      return {.start_param = "starting_at",
              .end_param = "ending_at",
              .rfc3339 = true,
              .finer_buckets_exist = false,
              .max_limit = 31,
              .group_by = {"workspace_id", "description"},
              .model_filter = false};
  }
  return {};
}

// Microseconds span years 0000-9999 (nanoseconds stop in 2262).
using Micros = std::chrono::sys_time<std::chrono::microseconds>;

std::expected<Micros, std::string> ParseTime(const ReportRules& rules, std::string_view name,
                                             const std::string& text) {
  if (rules.rfc3339) {
    if (auto time = ParseRfc3339(text)) return *time;
    return std::unexpected(std::string(name) + " must be an RFC 3339 date-time, got \"" + text +
                           "\"");
  }
  const auto seconds = ParseInteger(text);
  // Bounded so that the day arithmetic below cannot overflow.
  if (!seconds || *seconds < 0 || *seconds > 253'402'300'799) {
    return std::unexpected(std::string(name) + " must be unix seconds, got \"" + text + "\"");
  }
  return Micros(std::chrono::seconds(*seconds));
}

// --- rendering ---------------------------------------------------------------

using ModelRow = std::pair<std::string_view, const TokenCounters*>;

std::vector<ModelRow> DayRows(const ReportQuery& query, const DayCounters& days_map, sys_days day) {
  std::vector<ModelRow> rows;
  const auto it = days_map.find(pricing::FormatDay(day));
  if (it == days_map.end()) return rows;
  for (const auto& [model, counters] : it->second) {
    if (query.models.empty() || query.models.contains(model)) rows.emplace_back(model, &counters);
  }
  return rows;
}

TokenCounters SumRows(const std::vector<ModelRow>& rows) {
  TokenCounters sum;
  for (const auto& [model, counters] : rows) sum += *counters;
  return sum;
}

bool Grouped(const ReportQuery& query, std::string_view field) {
  return query.group_by.contains(field);
}

void OpenAiUsageResult(JsonWriter& w, const ReportQuery& query, const TokenCounters& counters,
                       std::string_view model, bool by_model) {
  w.StartObject();
  KeyString(w, "object", "organization.usage.completions.result");
  KeyInt(w, "input_tokens", counters.input_tokens);
  KeyInt(w, "output_tokens", counters.output_tokens);
  KeyInt(w, "input_cached_tokens", counters.cached_input_tokens);
  KeyInt(w, "input_audio_tokens", 0);
  KeyInt(w, "output_audio_tokens", 0);
  KeyInt(w, "num_model_requests", counters.requests);
  KeyNull(w, "project_id");
  KeyNull(w, "user_id");
  KeyNull(w, "api_key_id");
  KeyStringOrNull(w, "model", by_model, model);
  if (Grouped(query, "batch")) {
    KeyBool(w, "batch", false);
  } else {
    KeyNull(w, "batch");
  }
  KeyStringOrNull(w, "service_tier", Grouped(query, "service_tier"), "default");
  w.EndObject();
}

void OpenAiCostResult(JsonWriter& w, int64_t nano_usd, std::optional<std::string> line_item) {
  w.StartObject();
  KeyString(w, "object", "organization.costs.result");
  Key(w, "amount");
  w.StartObject();
  KeyNumber(w, "value", DollarsText(nano_usd, 1));
  KeyString(w, "currency", "usd");
  w.EndObject();
  KeyStringOrNull(w, "line_item", line_item.has_value(), line_item.value_or(""));
  KeyNull(w, "project_id");
  w.EndObject();
}

void AnthropicUsageResult(JsonWriter& w, const ReportQuery& query, const TokenCounters& counters,
                          std::string_view model, bool by_model) {
  w.StartObject();
  KeyInt(w, "uncached_input_tokens",
         counters.input_tokens - counters.cached_input_tokens - counters.cache_write_5m_tokens -
             counters.cache_write_1h_tokens);
  Key(w, "cache_creation");
  w.StartObject();
  KeyInt(w, "ephemeral_1h_input_tokens", counters.cache_write_1h_tokens);
  KeyInt(w, "ephemeral_5m_input_tokens", counters.cache_write_5m_tokens);
  w.EndObject();
  KeyInt(w, "cache_read_input_tokens", counters.cached_input_tokens);
  KeyInt(w, "output_tokens", counters.output_tokens);
  Key(w, "server_tool_use");
  w.StartObject();
  KeyInt(w, "web_search_requests", 0);
  w.EndObject();
  KeyNull(w, "api_key_id");
  KeyNull(w, "workspace_id");
  KeyStringOrNull(w, "model", by_model, model);
  KeyStringOrNull(w, "service_tier", Grouped(query, "service_tier"), "standard");
  KeyStringOrNull(w, "context_window", Grouped(query, "context_window"), "0-200k");
  KeyStringOrNull(w, "inference_geo", Grouped(query, "inference_geo"), "global");
  w.EndObject();
}

struct TokenKind {
  std::string_view openai_line;      // "MODEL, input"
  std::string_view anthropic_label;  // "MODEL Usage - Input Tokens"
  std::string_view token_type;
};

constexpr TokenKind kInputKind{"input", "Input Tokens", "uncached_input_tokens"};
constexpr TokenKind kCachedKind{"cached input", "Input Tokens, Cache Read",
                                "cache_read_input_tokens"};
constexpr TokenKind kWrite5mKind{"cache write 5m", "Input Tokens, Cache Write 5m",
                                 "cache_creation.ephemeral_5m_input_tokens"};
constexpr TokenKind kWrite1hKind{"cache write 1h", "Input Tokens, Cache Write 1h",
                                 "cache_creation.ephemeral_1h_input_tokens"};
constexpr TokenKind kOutputKind{"output", "Output Tokens", "output_tokens"};

// The token kinds of one model's day, with their cost: cached input and each
// cache write only where there were such tokens.
std::vector<std::pair<TokenKind, int64_t>> KindsOf(const TokenCounters& counters) {
  std::vector<std::pair<TokenKind, int64_t>> kinds = {{kInputKind, counters.cost.input}};
  auto add_if_used = [&](const TokenKind& kind, int64_t tokens, int64_t cost) {
    if (tokens > 0 || cost != 0) kinds.emplace_back(kind, cost);
  };
  add_if_used(kCachedKind, counters.cached_input_tokens, counters.cost.cached_input);
  add_if_used(kWrite5mKind, counters.cache_write_5m_tokens, counters.cost.cache_write_5m);
  add_if_used(kWrite1hKind, counters.cache_write_1h_tokens, counters.cost.cache_write_1h);
  kinds.emplace_back(kOutputKind, counters.cost.output);
  return kinds;
}

void AnthropicCostResult(JsonWriter& w, int64_t nano_usd, std::string_view model,
                         const TokenKind* kind) {
  w.StartObject();
  KeyString(w, "currency", "USD");
  KeyString(w, "amount", CentsText(nano_usd));
  KeyNull(w, "workspace_id");
  if (kind != nullptr) {
    KeyString(w, "description",
              std::string(model) + " Usage - " + std::string(kind->anthropic_label));
    KeyString(w, "cost_type", "tokens");
    KeyString(w, "context_window", "0-200k");
    KeyString(w, "model", model);
    KeyString(w, "service_tier", "standard");
    KeyString(w, "token_type", kind->token_type);
  } else {
    for (std::string_view field :
         {"description", "cost_type", "context_window", "model", "service_tier", "token_type"}) {
      KeyNull(w, field);
    }
  }
  w.EndObject();
}

void Results(JsonWriter& w, const ReportQuery& query, const std::vector<ModelRow>& rows) {
  w.StartArray();
  if (!rows.empty()) {
    switch (query.report) {
      case BillingReport::kOpenAiUsage:
      case BillingReport::kAnthropicUsage: {
        const bool anthropic = query.report == BillingReport::kAnthropicUsage;
        auto result = [&](const TokenCounters& counters, std::string_view model, bool by_model) {
          if (anthropic) {
            AnthropicUsageResult(w, query, counters, model, by_model);
          } else {
            OpenAiUsageResult(w, query, counters, model, by_model);
          }
        };
        if (Grouped(query, "model")) {
          for (const auto& [model, counters] : rows) result(*counters, model, true);
        } else {
          result(SumRows(rows), "", false);
        }
        break;
      }
      case BillingReport::kOpenAiCosts:
        if (Grouped(query, "line_item")) {
          for (const auto& [model, counters] : rows) {
            for (const auto& [kind, cost] : KindsOf(*counters)) {
              OpenAiCostResult(w, cost, std::string(model) + ", " + std::string(kind.openai_line));
            }
          }
        } else {
          OpenAiCostResult(w, SumRows(rows).cost.Total(), std::nullopt);
        }
        break;
      case BillingReport::kAnthropicCosts:
        if (Grouped(query, "description")) {
          for (const auto& [model, counters] : rows) {
            for (const auto& [kind, cost] : KindsOf(*counters)) {
              AnthropicCostResult(w, cost, model, &kind);
            }
          }
        } else {
          AnthropicCostResult(w, SumRows(rows).cost.Total(), "", nullptr);
        }
        break;
    }
  }
  w.EndArray();
}

}  // namespace

std::expected<ReportQuery, std::string> ParseReportQuery(
    BillingReport report, const QueryParams& params, std::chrono::system_clock::time_point now) {
  const ReportRules rules = RulesFor(report);
  ReportQuery query;
  query.report = report;

  const auto start_text = ParamValue(params, rules.start_param);
  if (!start_text) {
    return std::unexpected("Missing required parameter: '" + std::string(rules.start_param) + "'.");
  }
  const auto start = ParseTime(rules, rules.start_param, *start_text);
  if (!start) return std::unexpected(start.error());
  Micros end = std::chrono::floor<std::chrono::microseconds>(now);
  if (const auto end_text = ParamValue(params, rules.end_param)) {
    const auto parsed = ParseTime(rules, rules.end_param, *end_text);
    if (!parsed) return std::unexpected(parsed.error());
    if (*parsed <= *start) {
      return std::unexpected(std::string(rules.end_param) + " must be after " +
                             std::string(rules.start_param));
    }
    end = *parsed;
  }

  const std::string width = ParamValue(params, "bucket_width").value_or("1d");
  if (width != "1d") {
    if (rules.finer_buckets_exist && (width == "1h" || width == "1m")) {
      return std::unexpected("fake_vendor implements only bucket_width=1d, got \"" + width + "\"");
    }
    return std::unexpected("Invalid bucket_width \"" + width + "\": expected 1d");
  }

  if (const auto limit_text = ParamValue(params, "limit")) {
    const auto limit = ParseInteger(*limit_text);
    if (!limit || *limit < 1 || *limit > rules.max_limit) {
      return std::unexpected("limit must be an integer in 1.." + std::to_string(rules.max_limit) +
                             ", got \"" + *limit_text + "\"");
    }
    query.limit = *limit;
  }

  for (const std::string& field : ParamValues(params, "group_by")) {
    if (std::find(rules.group_by.begin(), rules.group_by.end(), field) == rules.group_by.end()) {
      return std::unexpected("Invalid group_by value \"" + field + "\"");
    }
    query.group_by.insert(field);
  }
  if (rules.model_filter) {
    for (std::string& model : ParamValues(params, "models")) query.models.insert(std::move(model));
  }

  query.first_day = std::chrono::floor<days>(*start);
  if (!rules.rfc3339 && *start != Micros(query.first_day)) {
    query.first_bucket_start =
        std::chrono::duration_cast<std::chrono::seconds>(start->time_since_epoch()).count();
  }
  const sys_days today = std::chrono::floor<days>(now);
  query.last_day = std::min(std::chrono::floor<days>(end - std::chrono::microseconds(1)), today);

  query.page_day = query.first_day;
  if (const auto page = ParamValue(params, "page")) {
    const auto day = DecodePageToken(*page);
    if (!day || *day < query.first_day || *day > query.last_day) {
      return std::unexpected("Invalid page cursor \"" + *page + "\" for this query");
    }
    query.page_day = *day;
  }
  return query;
}

std::string RenderReport(const ReportQuery& query, const DayCounters& days_map, int64_t page_size) {
  const bool openai =
      query.report == BillingReport::kOpenAiUsage || query.report == BillingReport::kOpenAiCosts;
  const int64_t per_page = std::max<int64_t>(1, std::min(query.limit, page_size));
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  if (openai) KeyString(w, "object", "page");
  Key(w, "data");
  w.StartArray();
  sys_days day = query.page_day;
  for (int64_t n = 0; n < per_page && day <= query.last_day; ++n, day += days(1)) {
    const sys_days next = day + days(1);
    w.StartObject();
    if (openai) {
      KeyString(w, "object", "bucket");
      KeyInt(w, "start_time",
             day == query.first_day && query.first_bucket_start ? *query.first_bucket_start
                                                                : UnixSeconds(day));
      KeyInt(w, "end_time", UnixSeconds(next));
    } else {
      KeyString(w, "starting_at", FormatRfc3339(std::chrono::sys_seconds(day)));
      KeyString(w, "ending_at", FormatRfc3339(std::chrono::sys_seconds(next)));
    }
    Key(w, "results");
    Results(w, query, DayRows(query, days_map, day));
    w.EndObject();
  }
  w.EndArray();
  const bool has_more = day <= query.last_day;
  KeyBool(w, "has_more", has_more);
  KeyStringOrNull(w, "next_page", has_more, has_more ? EncodePageToken(day) : "");
  w.EndObject();
  return Finish(buffer);
}

std::string RenderDashboardSubscription(int64_t quota_nano_usd) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  const std::string quota = DollarsText(quota_nano_usd, 1);
  w.StartObject();
  KeyString(w, "object", "billing_subscription");
  KeyBool(w, "has_payment_method", true);
  KeyNumber(w, "soft_limit_usd", quota);
  KeyNumber(w, "hard_limit_usd", quota);
  KeyNumber(w, "system_hard_limit_usd", quota);
  KeyInt(w, "access_until", 0);
  w.EndObject();
  return Finish(buffer);
}

std::string RenderDashboardUsage(int64_t used_nano_usd) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  KeyString(w, "object", "list");
  KeyNumber(w, "total_usage", CentsText(used_nano_usd, 1));
  w.EndObject();
  return Finish(buffer);
}

std::string RenderDeepSeekBalance(int64_t quota_nano_usd, int64_t used_nano_usd,
                                  std::optional<int64_t> cny_balance_nano) {
  const int64_t usd = quota_nano_usd - used_nano_usd;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  auto entry = [&](std::string_view currency, int64_t total_nano) {
    w.StartObject();
    KeyString(w, "currency", currency);
    KeyString(w, "total_balance", DollarsText(total_nano, 2));
    KeyString(w, "granted_balance", "0.00");
    KeyString(w, "topped_up_balance", DollarsText(total_nano, 2));
    w.EndObject();
  };
  w.StartObject();
  KeyBool(w, "is_available", usd > 0 || cny_balance_nano.value_or(0) > 0);
  Key(w, "balance_infos");
  w.StartArray();
  entry("USD", usd);
  if (cny_balance_nano) entry("CNY", *cny_balance_nano);
  w.EndArray();
  w.EndObject();
  return Finish(buffer);
}

std::string RenderOpenRouterCredits(int64_t credits_nano_usd, int64_t used_nano_usd) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "data");
  w.StartObject();
  KeyNumber(w, "total_credits", DollarsText(credits_nano_usd, 1));
  KeyNumber(w, "total_usage", DollarsText(used_nano_usd, 1));
  w.EndObject();
  w.EndObject();
  return Finish(buffer);
}

KeySpend SpendWindows(const DayCounters& days_map, sys_days today) {
  const std::chrono::year_month_day date(today);
  const sys_days month_start(date.year() / date.month() / 1);
  const sys_days week_start =
      today - days(std::chrono::weekday(today).iso_encoding() - 1);  // Monday
  KeySpend spend;
  for (const auto& [day_text, models] : days_map) {
    const auto day = pricing::ParseDay(day_text);
    int64_t cost = 0;
    for (const auto& [model, counters] : models) cost += counters.cost.Total();
    spend.total += cost;
    if (!day || *day > today) continue;
    if (*day == today) spend.daily += cost;
    if (*day >= week_start) spend.weekly += cost;
    if (*day >= month_start) spend.monthly += cost;
  }
  return spend;
}

std::string RenderOpenRouterKey(std::string_view label, int64_t limit_nano_usd,
                                const KeySpend& spend) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "data");
  w.StartObject();
  KeyString(w, "label", label);
  KeyNumber(w, "limit", DollarsText(limit_nano_usd, 1));
  KeyNumber(w, "limit_remaining", DollarsText(limit_nano_usd - spend.total, 1));
  KeyNull(w, "limit_reset");
  KeyNumber(w, "usage", DollarsText(spend.total, 1));
  KeyNumber(w, "usage_daily", DollarsText(spend.daily, 1));
  KeyNumber(w, "usage_weekly", DollarsText(spend.weekly, 1));
  KeyNumber(w, "usage_monthly", DollarsText(spend.monthly, 1));
  for (std::string_view field :
       {"byok_usage", "byok_usage_daily", "byok_usage_weekly", "byok_usage_monthly"}) {
    KeyNumber(w, field, "0.0");
  }
  KeyBool(w, "is_free_tier", false);
  KeyBool(w, "is_management_key", false);
  KeyBool(w, "is_provisioning_key", false);
  KeyBool(w, "include_byok_in_limit", false);
  KeyNull(w, "expires_at");
  KeyNull(w, "creator_user_id");
  Key(w, "rate_limit");
  w.StartObject();
  KeyInt(w, "requests", 1000);
  KeyString(w, "interval", "1h");
  KeyString(w, "note", "This field is deprecated and safe to ignore.");
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return Finish(buffer);
}

std::string RenderOpenRouterError(int code, std::string_view message) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "error");
  w.StartObject();
  KeyInt(w, "code", code);
  KeyString(w, "message", message);
  w.EndObject();
  w.EndObject();
  return Finish(buffer);
}

std::string MaskKey(std::string_view key) {
  if (key.size() < 16) return "fake_vendor key";
  return std::string(key.substr(0, 11)) + "..." + std::string(key.substr(key.size() - 3));
}

}  // namespace llm_exporter::fake_vendor
