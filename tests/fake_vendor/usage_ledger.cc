#include "tests/fake_vendor/usage_ledger.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "tests/fake_vendor/decimal_text.h"

namespace llm_exporter::fake_vendor {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(JsonWriter& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void RawNumber(JsonWriter& w, const std::string& text) {
  w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
}

void WriteCounters(JsonWriter& w, const TokenCounters& counters) {
  w.StartObject();
  Key(w, "requests");
  w.Int64(counters.requests);
  Key(w, "input_tokens");
  w.Int64(counters.input_tokens);
  Key(w, "cached_input_tokens");
  w.Int64(counters.cached_input_tokens);
  Key(w, "output_tokens");
  w.Int64(counters.output_tokens);
  Key(w, "cache_write_5m_tokens");
  w.Int64(counters.cache_write_5m_tokens);
  Key(w, "cache_write_1h_tokens");
  w.Int64(counters.cache_write_1h_tokens);
  Key(w, "cost_nano_usd");
  w.Int64(counters.cost.Total());
  Key(w, "cost_usd");
  RawNumber(w, DollarsText(counters.cost.Total(), 1));
  Key(w, "unpriced_requests");
  w.Int64(counters.unpriced_requests);
  w.EndObject();
}

void WriteModels(JsonWriter& w, const ModelCounters& models) {
  w.StartObject();
  for (const auto& [model, counters] : models) {
    Key(w, model);
    WriteCounters(w, counters);
  }
  w.EndObject();
}

RouteCounters& Route(LedgerSnapshot& data, std::string_view route) {
  auto it = data.routes.find(route);
  if (it == data.routes.end()) it = data.routes.emplace(std::string(route), RouteCounters{}).first;
  return it->second;
}

void Add(DayCounters& days, std::string_view day, std::string_view model,
         const TokenCounters& usage) {
  auto day_it = days.find(day);
  if (day_it == days.end()) day_it = days.emplace(std::string(day), ModelCounters{}).first;
  auto model_it = day_it->second.find(model);
  if (model_it == day_it->second.end()) {
    model_it = day_it->second.emplace(std::string(model), TokenCounters{}).first;
  }
  model_it->second += usage;
}

}  // namespace

CostSplit& CostSplit::operator+=(const CostSplit& other) {
  input += other.input;
  cached_input += other.cached_input;
  output += other.output;
  cache_write_5m += other.cache_write_5m;
  cache_write_1h += other.cache_write_1h;
  return *this;
}

TokenCounters& TokenCounters::operator+=(const TokenCounters& other) {
  requests += other.requests;
  input_tokens += other.input_tokens;
  cached_input_tokens += other.cached_input_tokens;
  output_tokens += other.output_tokens;
  cache_write_5m_tokens += other.cache_write_5m_tokens;
  cache_write_1h_tokens += other.cache_write_1h_tokens;
  cost += other.cost;
  unpriced_requests += other.unpriced_requests;
  return *this;
}

TokenCounters Sum(const DayCounters& days) {
  TokenCounters totals;
  for (const auto& [day, models] : days) {
    for (const auto& [model, counters] : models) totals += counters;
  }
  return totals;
}

TokenCounters LedgerSnapshot::Totals() const { return Sum(days); }

ModelCounters LedgerSnapshot::PerModel() const {
  ModelCounters per_model;
  for (const auto& [day, models] : days) {
    for (const auto& [model, counters] : models) per_model[model] += counters;
  }
  return per_model;
}

UsageLedger::UsageLedger(std::chrono::milliseconds report_delay) : report_delay_(report_delay) {}

void UsageLedger::CountRequest(std::string_view route) {
  std::lock_guard lock(mutex_);
  ++Route(data_, route).requests;
}

void UsageLedger::RecordServed(std::string_view day, std::string_view model, std::string_view route,
                               const TokenCounters& usage,
                               std::chrono::steady_clock::time_point served_at) {
  TokenCounters served = usage;
  served.requests = 1;
  std::lock_guard lock(mutex_);
  ++Route(data_, route).served;
  Add(data_.days, day, model, served);
  pending_.push_back({served_at, std::string(day), std::string(model), served});
  // Folding here too keeps pending_ bounded by the delay window.
  FoldReported(served_at);
}

void UsageLedger::RecordServed(std::string_view route) {
  std::lock_guard lock(mutex_);
  ++Route(data_, route).served;
}

void UsageLedger::RecordFailed(std::string_view route) {
  std::lock_guard lock(mutex_);
  ++Route(data_, route).failed;
}

void UsageLedger::Reset() {
  std::lock_guard lock(mutex_);
  data_ = LedgerSnapshot{};
  reported_.clear();
  pending_.clear();
}

LedgerSnapshot UsageLedger::Snapshot() const {
  std::lock_guard lock(mutex_);
  return data_;
}

DayCounters UsageLedger::Reported(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  FoldReported(now);
  return reported_;
}

void UsageLedger::FoldReported(std::chrono::steady_clock::time_point now) {
  // Handlers stamp served_at before taking the lock, so pending_ is only
  // roughly in time order: test every entry.
  const auto due = [&](const Pending& entry) { return entry.served_at + report_delay_ <= now; };
  for (const Pending& entry : pending_) {
    if (due(entry)) Add(reported_, entry.day, entry.model, entry.usage);
  }
  std::erase_if(pending_, due);
}

std::string UtcDay(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02d", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday);
  return buffer;
}

std::string RenderStatsJson(const LedgerSnapshot& snapshot, const FaultSpec& active_fault,
                            const SkewMap& price_skews) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Key(w, "totals");
  WriteCounters(w, snapshot.Totals());
  Key(w, "models");
  WriteModels(w, snapshot.PerModel());
  Key(w, "routes");
  w.StartObject();
  for (const auto& [route, counters] : snapshot.routes) {
    Key(w, route);
    w.StartObject();
    Key(w, "requests");
    w.Int64(counters.requests);
    Key(w, "served");
    w.Int64(counters.served);
    Key(w, "failed");
    w.Int64(counters.failed);
    w.EndObject();
  }
  w.EndObject();
  Key(w, "days");
  w.StartObject();
  for (const auto& [day, models] : snapshot.days) {
    Key(w, day);
    WriteModels(w, models);
  }
  w.EndObject();
  Key(w, "fault");
  w.StartObject();
  Key(w, "name");
  const std::string_view name = FaultName(active_fault.fault);
  w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  Key(w, "remaining");
  if (active_fault.count) {
    w.Int64(*active_fault.count);
  } else {
    w.Null();
  }
  w.EndObject();
  Key(w, "price_skews");
  w.StartObject();
  for (const auto& [model, factor] : price_skews) {
    Key(w, model);
    RawNumber(w, DecimalText(factor, 9, 1));
  }
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace llm_exporter::fake_vendor
