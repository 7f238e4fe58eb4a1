#pragma once

// Internal to probes/billing: the machinery every poll kind shares. A poll is
// a fixed list of GET endpoints ("stages") read in order, each possibly paged
// by a cursor; StagedPoll owns the order, the paging, the page cap and the
// classification of replies, and a kind only reads successful JSON pages and
// builds the snapshot.

#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "pricing/usage.h"
#include "probes/billing/billing_poll.h"
#include "probes/billing/billing_snapshot.h"

namespace llm_exporter::probes::billing::internal {

struct PollContext {
  std::string base_url;  // normalised: no trailing "/" or "/v1"
  config::Secret key;
  std::chrono::system_clock::time_point now;
  int page_cap = 20;

  std::chrono::sys_days Today() const { return std::chrono::floor<std::chrono::days>(now); }
  // The trailing window: [today - 2 days, today + 1 day), widened back to the
  // 1st of the month so that month-to-date figures come from the same poll.
  std::chrono::sys_days WindowStart() const {
    auto ymd = std::chrono::year_month_day(Today());
    return std::min(Today() - std::chrono::days{2},
                    std::chrono::sys_days(ymd.year() / ymd.month() / 1));
  }
  std::chrono::sys_days WindowEnd() const { return Today() + std::chrono::days{1}; }
};

class StagedPoll : public BillingPoll {
 public:
  std::optional<HttpGet> NextRequest() override;
  std::expected<void, PollError> OnResponse(long status, std::string_view body,
                                            std::string_view retry_after) override;
  BillingSnapshot Result() const override;

 protected:
  struct Stage {
    std::string path;  // for messages: "/v1/organization/costs"
    std::string url;   // without the page parameter
    // A 401/403 skips this stage instead of failing the poll (an optional
    // endpoint that needs more rights than the key may have).
    bool optional_on_auth_error = false;
  };

  StagedPoll(const PollContext& context, std::vector<Stage> stages,
             std::vector<std::string> headers);

  // One successful JSON reply of stage `stage`: the cursor of the next page,
  // nullopt when the stage is complete, or an error message.
  virtual std::expected<std::optional<std::string>, std::string> OnPage(
      size_t stage, const rapidjson::Value& root) = 0;
  // The stage was skipped (optional_on_auth_error).
  virtual void OnStageSkipped(size_t /*stage*/) {}
  // The snapshot after every stage succeeded (polled_at is set by the caller).
  virtual BillingSnapshot Build() const = 0;

  const PollContext& context() const { return context_; }

 private:
  std::expected<void, PollError> Fail(PollError error);
  PollError Error(PollErrorReason reason, std::string_view detail) const;
  std::expected<void, PollError> NextStage();

  PollContext context_;
  std::vector<Stage> stages_;
  std::vector<std::string> headers_;
  size_t stage_ = 0;
  int pages_ = 0;  // pages of the current stage read so far
  std::optional<std::string> cursor_;
  bool failed_ = false;
};

// "Accept: application/json" and "Authorization: Bearer <key>" (none for an
// empty key).
std::vector<std::string> BearerHeaders(const config::Secret& key);

// ModelDay rows keyed by (day, model) while pages are read.
class ModelDayTable {
 public:
  // False (and nothing added) if a sum would overflow.
  bool AddTokens(std::chrono::sys_days day, std::string_view model, const pricing::Usage& usage,
                 int64_t requests);
  bool AddCost(std::chrono::sys_days day, std::string_view model, int64_t nano_usd);
  // Sorted by day, then model.
  std::vector<ModelDay> Rows() const;

 private:
  ModelDay& At(std::chrono::sys_days day, std::string_view model);
  std::map<std::pair<std::chrono::sys_days, std::string>, ModelDay> rows_;
};

// Reads a page's `data` array of buckets: each bucket's UTC day (from
// `day_field`, read by `read_day`) and its results array (`results`, or
// `result` as the OpenAPI schemas name it), handed to `on_result`.
using DayReader = std::optional<std::chrono::sys_days> (*)(std::string_view);
std::expected<void, std::string> ForEachResult(
    const rapidjson::Value& root, std::string_view day_field, DayReader read_day,
    const std::function<std::expected<void, std::string>(std::chrono::sys_days,
                                                         const rapidjson::Value&)>& on_result);

// The kinds (one file each).
std::unique_ptr<BillingPoll> NewOpenAiOrgPoll(const PollContext& context);
std::unique_ptr<BillingPoll> NewAnthropicAdminPoll(const PollContext& context);
std::unique_ptr<BillingPoll> NewOpenAiDashboardPoll(const PollContext& context);
std::unique_ptr<BillingPoll> NewDeepSeekBalancePoll(const PollContext& context);
std::unique_ptr<BillingPoll> NewOpenRouterPoll(const PollContext& context);

// A staged poll whose result is per (day, model) figures: the vendors that
// report usage and cost per model (openai_org, anthropic_admin).
class ModelDayPoll : public StagedPoll {
 protected:
  using StagedPoll::StagedPoll;
  BillingSnapshot Build() const override {
    BillingSnapshot snapshot;
    snapshot.days = table_.Rows();
    return snapshot;
  }
  ModelDayTable table_;
};

}  // namespace llm_exporter::probes::billing::internal
