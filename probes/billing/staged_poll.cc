#include "probes/billing/staged_poll.h"

#include <utility>

#include "probes/billing/billing_json.h"
#include "wire/wire_error.h"

namespace llm_exporter::probes::billing::internal {
namespace {

// A wire classification as a poll error: never "none".
PollErrorReason ErrorReason(wire::FailureReason reason) {
  const Failure failure = FromWire(reason);
  return failure == Failure::kNone ? Failure::kInvalidResponse : failure;
}

bool LooksLikeHtml(std::string_view body) {
  const size_t first = body.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && body[first] == '<';
}

}  // namespace

StagedPoll::StagedPoll(const PollContext& context, std::vector<Stage> stages,
                       std::vector<std::string> headers)
    : context_(context), stages_(std::move(stages)), headers_(std::move(headers)) {}

std::optional<HttpGet> StagedPoll::NextRequest() {
  if (failed_ || stage_ >= stages_.size()) return std::nullopt;
  HttpGet get{stages_[stage_].url, headers_};
  if (cursor_) {
    get.url += get.url.find('?') == std::string::npos ? "?page=" : "&page=";
    get.url += PercentEncode(*cursor_);
  }
  return get;
}

std::expected<void, PollError> StagedPoll::OnResponse(long status, std::string_view body,
                                                      std::string_view retry_after) {
  if (failed_ || stage_ >= stages_.size()) {
    return Fail(Error(PollErrorReason::kInvalidResponse, "reply without a request"));
  }
  const std::string status_text = "HTTP " + std::to_string(status);
  if (status == 404) {
    return Fail(Error(PollErrorReason::kUnsupported, status_text + ": no such endpoint here"));
  }
  const wire::WireError wire_error = wire::ClassifyHttpReply(static_cast<int>(status), body);
  if (status < 200 || status > 299) {
    if (stages_[stage_].optional_on_auth_error && (status == 401 || status == 403)) {
      OnStageSkipped(stage_);
      return NextStage();
    }
    const bool plain = wire_error.message.empty() || wire_error.message == status_text;
    PollError error = Error(ErrorReason(wire_error.reason),
                            plain ? status_text : status_text + ": " + wire_error.message);
    if (!retry_after.empty()) {
      error.retry_after_seconds = wire::ParseRetryAfterSeconds(retry_after, context_.now);
    }
    return Fail(std::move(error));
  }
  if (LooksLikeHtml(body)) {
    return Fail(Error(PollErrorReason::kUnsupported, "HTML where JSON was expected"));
  }
  if (wire_error.reason != wire::FailureReason::kNone) {
    return Fail(Error(ErrorReason(wire_error.reason),
                      wire_error.error_in_body
                          ? "error object in an " + status_text + " reply: " + wire_error.message
                          : wire_error.message));
  }
  rapidjson::Document doc;
  if (auto parsed = ParseJsonKeepingNumbers(body, doc); !parsed) {
    return Fail(Error(PollErrorReason::kInvalidResponse, parsed.error()));
  }
  if (!doc.IsObject()) return Fail(Error(PollErrorReason::kInvalidResponse, "not a JSON object"));
  auto next = OnPage(stage_, doc);
  if (!next) return Fail(Error(PollErrorReason::kInvalidResponse, next.error()));
  ++pages_;
  if (!*next) return NextStage();
  if (pages_ >= context_.page_cap) {
    return Fail(Error(PollErrorReason::kPageCap,
                      "more than " + std::to_string(context_.page_cap) + " pages"));
  }
  cursor_ = std::move(*next);
  return {};
}

BillingSnapshot StagedPoll::Result() const {
  BillingSnapshot snapshot;
  if (!failed_ && stage_ >= stages_.size()) snapshot = Build();
  snapshot.polled_at = context_.now;
  return snapshot;
}

std::expected<void, PollError> StagedPoll::Fail(PollError error) {
  failed_ = true;
  return std::unexpected(std::move(error));
}

PollError StagedPoll::Error(PollErrorReason reason, std::string_view detail) const {
  PollError error;
  error.reason = reason;
  error.message = stage_ < stages_.size() ? stages_[stage_].path + ": " + std::string(detail)
                                          : std::string(detail);
  return error;
}

std::expected<void, PollError> StagedPoll::NextStage() {
  ++stage_;
  pages_ = 0;
  cursor_.reset();
  return {};
}

std::vector<std::string> BearerHeaders(const config::Secret& key) {
  std::vector<std::string> headers = {"Accept: application/json"};
  if (!key.Empty()) headers.push_back("Authorization: Bearer " + key.Reveal());
  return headers;
}

ModelDay& ModelDayTable::At(std::chrono::sys_days day, std::string_view model) {
  auto [it, added] = rows_.try_emplace({day, std::string(model)});
  if (added) {
    it->second.day = day;
    it->second.model = std::string(model);
  }
  return it->second;
}

bool ModelDayTable::AddTokens(std::chrono::sys_days day, std::string_view model,
                              const pricing::Usage& usage, int64_t requests) {
  ModelDay& row = At(day, model);
  pricing::Usage tokens = row.tokens.value_or(pricing::Usage{});
  int64_t total_requests = row.requests;
  if (!AddChecked(tokens, usage) || !AddChecked(total_requests, requests)) return false;
  row.tokens = tokens;
  row.requests = total_requests;
  return true;
}

bool ModelDayTable::AddCost(std::chrono::sys_days day, std::string_view model, int64_t nano_usd) {
  ModelDay& row = At(day, model);
  int64_t cost = row.cost_nano_usd.value_or(0);
  if (!AddChecked(cost, nano_usd)) return false;
  row.cost_nano_usd = cost;
  return true;
}

std::vector<ModelDay> ModelDayTable::Rows() const {
  std::vector<ModelDay> rows;
  rows.reserve(rows_.size());
  for (const auto& [key, row] : rows_) rows.push_back(row);
  return rows;
}

std::expected<void, std::string> ForEachResult(
    const rapidjson::Value& root, std::string_view day_field, DayReader read_day,
    const std::function<std::expected<void, std::string>(std::chrono::sys_days,
                                                         const rapidjson::Value&)>& on_result) {
  const rapidjson::Value* data = Member(root, "data");
  if (data == nullptr || !data->IsArray()) return std::unexpected("field data is not an array");
  for (const rapidjson::Value& bucket : data->GetArray()) {
    if (!bucket.IsObject()) return std::unexpected("a bucket is not an object");
    const rapidjson::Value* start = Member(bucket, day_field);
    const std::optional<std::chrono::sys_days> day =
        start != nullptr && start->IsString()
            ? read_day(std::string_view(start->GetString(), start->GetStringLength()))
            : std::nullopt;
    if (!day) return std::unexpected("bucket field " + std::string(day_field) + " is invalid");
    const rapidjson::Value* results = Member(bucket, "results");
    if (results == nullptr || !results->IsArray()) results = Member(bucket, "result");
    if (results == nullptr || !results->IsArray()) {
      return std::unexpected("a bucket has no results array");
    }
    for (const rapidjson::Value& result : results->GetArray()) {
      if (!result.IsObject()) return std::unexpected("a result is not an object");
      if (auto done = on_result(*day, result); !done) return done;
    }
  }
  return {};
}

}  // namespace llm_exporter::probes::billing::internal
