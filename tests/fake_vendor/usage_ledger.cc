#include "tests/fake_vendor/usage_ledger.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <ctime>

namespace llm_exporter::fake_vendor {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(JsonWriter& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
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

}  // namespace

TokenCounters& TokenCounters::operator+=(const TokenCounters& other) {
  requests += other.requests;
  input_tokens += other.input_tokens;
  cached_input_tokens += other.cached_input_tokens;
  output_tokens += other.output_tokens;
  return *this;
}

TokenCounters LedgerSnapshot::Totals() const {
  TokenCounters totals;
  for (const auto& [day, models] : days) {
    for (const auto& [model, counters] : models) totals += counters;
  }
  return totals;
}

ModelCounters LedgerSnapshot::PerModel() const {
  ModelCounters per_model;
  for (const auto& [day, models] : days) {
    for (const auto& [model, counters] : models) per_model[model] += counters;
  }
  return per_model;
}

void UsageLedger::CountRequest(std::string_view route) {
  std::lock_guard lock(mutex_);
  ++Route(data_, route).requests;
}

void UsageLedger::RecordServed(std::string_view day, std::string_view model, std::string_view route,
                               const TokenCounters& usage) {
  std::lock_guard lock(mutex_);
  ++Route(data_, route).served;
  auto day_it = data_.days.find(day);
  if (day_it == data_.days.end())
    day_it = data_.days.emplace(std::string(day), ModelCounters{}).first;
  auto model_it = day_it->second.find(model);
  if (model_it == day_it->second.end()) {
    model_it = day_it->second.emplace(std::string(model), TokenCounters{}).first;
  }
  TokenCounters served = usage;
  served.requests = 1;
  model_it->second += served;
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
}

LedgerSnapshot UsageLedger::Snapshot() const {
  std::lock_guard lock(mutex_);
  return data_;
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

std::string RenderStatsJson(const LedgerSnapshot& snapshot, const FaultSpec& active_fault) {
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
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace llm_exporter::fake_vendor
