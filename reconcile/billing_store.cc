#include "reconcile/billing_store.h"

#include "base/log.h"
#include "meter/families.h"
#include "pricing/cost.h"
#include "reconcile/reconciliation.h"

namespace llm_exporter::reconcile {

using meter::NewFamily;
using meter::Sample;
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr probes::billing::PollErrorReason kReasons[] = {
    probes::billing::PollErrorReason::kTimeout,
    probes::billing::PollErrorReason::kConnect,
    probes::billing::PollErrorReason::kTls,
    probes::billing::PollErrorReason::kHttp4xx,
    probes::billing::PollErrorReason::kHttp429,
    probes::billing::PollErrorReason::kHttp5xx,
    probes::billing::PollErrorReason::kAuth,
    probes::billing::PollErrorReason::kInvalidResponse,
    probes::billing::PollErrorReason::kUnsupported,
    probes::billing::PollErrorReason::kPageCap};

}  // namespace

void BillingStore::SetVendors(const config::Config& config, const pricing::PriceBook& prices) {
  std::lock_guard lock(mutex_);
  ++version_;
  std::map<std::string, VendorBilling> next;
  known_.clear();
  for (const auto& vendor : config.vendors) {
    if (!vendor.billing || !vendor.billing->enabled) continue;
    known_[vendor.name] = meter::KnownModels(config, vendor, prices);
    auto old = vendors_.find(vendor.name);
    VendorBilling billing;
    if (old != vendors_.end() && old->second.billing_kind == vendor.billing->kind) {
      billing = std::move(old->second);
    }
    billing.kind = std::string(config::ToString(vendor.billing->kind));
    billing.billing_kind = vendor.billing->kind;
    for (auto reason : kReasons) {
      billing.failures.try_emplace(std::string(probes::billing::PollErrorReasonName(reason)), 0);
    }
    next[vendor.name] = std::move(billing);
  }
  vendors_ = std::move(next);
}

void BillingStore::OnPoll(const std::string& vendor,
                          const probes::billing::BillingSnapshot* snapshot,
                          const probes::billing::PollError* error) {
  if (snapshot != nullptr && error == nullptr) RecordCheckpoint(vendor, *snapshot);
  std::lock_guard lock(mutex_);
  ++version_;
  auto it = vendors_.find(vendor);
  if (it == vendors_.end()) return;
  VendorBilling& v = it->second;
  ++v.polls;
  if (error != nullptr) {
    if (v.up || v.last_error.empty()) {
      LOG_WARN("Billing poll failed", {"vendor", vendor},
               {"reason", std::string(probes::billing::PollErrorReasonName(error->reason))},
               {"err", error->message});
    }
    v.up = false;
    v.last_error = error->message;
    ++v.failures[std::string(probes::billing::PollErrorReasonName(error->reason))];
    return;
  }
  v.up = true;
  v.last_error.clear();
  v.last_success = snapshot->polled_at;
  v.snapshot = *snapshot;
  v.local_at_poll.clear();
  if (ledger_ != nullptr) {
    const auto today = pricing::UtcDay(snapshot->polled_at);
    for (auto day : {today, today - std::chrono::days(1)}) {
      auto& rows = v.local_at_poll[day];
      for (auto& row : ledger_->Day(day)) {
        if (row.vendor == vendor) rows.push_back(std::move(row));
      }
    }
  }
  v.days.clear();
  const auto& known = known_[vendor];
  for (const auto& d : snapshot->days) {
    VendorDay& day = v.days[{meter::ModelLabel(known, d.model), d.day}];
    if (d.cost_nano_usd) {
      day.cost_nano_usd = pricing::SatAdd(day.cost_nano_usd.value_or(0), *d.cost_nano_usd);
    }
    if (d.tokens) {
      if (!day.tokens) day.tokens = pricing::Usage{};
      *day.tokens += *d.tokens;
    }
    day.requests = pricing::SatAdd(day.requests, d.requests);
  }
}

// A totals-only vendor: a checkpoint of its lifetime spend and ours, now. The
// write happens outside the store's lock, so scrapes never wait for the disk.
void BillingStore::RecordCheckpoint(const std::string& vendor,
                                    const probes::billing::BillingSnapshot& snapshot) {
  const pricing::Ledger* ledger = nullptr;
  CheckpointStore* checkpoints = nullptr;
  std::optional<int64_t> spent;
  {
    std::lock_guard lock(mutex_);
    auto it = vendors_.find(vendor);
    if (it == vendors_.end()) return;
    ledger = ledger_;
    checkpoints = checkpoints_;
    spent = VendorSpent(it->second.billing_kind, snapshot);
  }
  if (!spent || ledger == nullptr || checkpoints == nullptr) return;
  Checkpoint checkpoint{snapshot.polled_at, *spent, ledger->LifetimeNanoUsd(vendor)};
  if (auto added = checkpoints->Add(vendor, checkpoint); !added) {
    LOG_ERROR("Cannot store a billing checkpoint", {"vendor", vendor}, {"err", added.error()});
  }
}

void BillingStore::SetLedger(const pricing::Ledger* ledger, CheckpointStore* checkpoints) {
  std::lock_guard lock(mutex_);
  ledger_ = ledger;
  checkpoints_ = checkpoints;
}

std::map<std::string, VendorBilling> BillingStore::Snapshot() const {
  std::lock_guard lock(mutex_);
  return vendors_;
}

std::vector<MetricFamily> BillingStore::Collect(std::chrono::system_clock::time_point now) const {
  std::lock_guard lock(mutex_);
  MetricFamily up =
      NewFamily("llm_billing_up", "Whether the last billing poll succeeded.", MetricType::Gauge);
  MetricFamily last =
      NewFamily("llm_billing_last_success_timestamp_seconds",
                "When the last successful billing poll finished.", MetricType::Gauge);
  MetricFamily polls = NewFamily("llm_billing_polls_total", "Billing polls.", MetricType::Counter);
  MetricFamily failures = NewFamily("llm_billing_poll_failures_total",
                                    "Failed billing polls by reason.", MetricType::Counter);
  MetricFamily cost = NewFamily("llm_billing_cost_usd",
                                "Cost the vendor reports for the current UTC day or month to date.",
                                MetricType::Gauge);
  MetricFamily tokens = NewFamily("llm_billing_tokens",
                                  "Tokens the vendor reports for the current UTC day or month to "
                                  "date.",
                                  MetricType::Gauge);
  MetricFamily balance =
      NewFamily("llm_billing_balance", "Balance the vendor reports, in the named currency.",
                MetricType::Gauge);
  MetricFamily limit =
      NewFamily("llm_billing_limit_usd", "Spending limit the vendor reports.", MetricType::Gauge);
  MetricFamily used = NewFamily("llm_billing_used_usd",
                                "Usage the vendor reports against the limit (gateways: lifetime).",
                                MetricType::Gauge);
  auto today = pricing::UtcDay(now);
  auto ymd = std::chrono::year_month_day(today);
  auto month_start = std::chrono::sys_days(ymd.year() / ymd.month() / 1);
  for (const auto& [vendor, v] : vendors_) {
    up.metric.push_back(Sample(v.up ? 1 : 0, {{"vendor", vendor}}));
    if (v.last_success) {
      last.metric.push_back(
          Sample(std::chrono::duration<double>(v.last_success->time_since_epoch()).count(),
                 {{"vendor", vendor}}));
    }
    polls.metric.push_back(Sample(static_cast<double>(v.polls), {{"vendor", vendor}}));
    for (const auto& [reason, n] : v.failures) {
      failures.metric.push_back(
          Sample(static_cast<double>(n), {{"reason", reason}, {"vendor", vendor}}));
    }
    // Per model and period, summed exactly before becoming floats.
    std::map<std::pair<std::string, std::string>,
             std::pair<std::optional<int64_t>, std::optional<pricing::Usage>>>
        periods;
    for (const auto& [key, day] : v.days) {
      const auto& [model, date] = key;
      for (const char* period : {"day", "month"}) {
        bool in = std::string_view(period) == "day" ? date == today
                                                    : date >= month_start && date <= today;
        if (!in) continue;
        auto& [c, t] = periods[{model, period}];
        if (day.cost_nano_usd) c = pricing::SatAdd(c.value_or(0), *day.cost_nano_usd);
        if (day.tokens) {
          if (!t) t = pricing::Usage{};
          *t += *day.tokens;
        }
      }
    }
    for (const auto& [key, figures] : periods) {
      const auto& [model, period] = key;
      const auto& [c, t] = figures;
      if (c) {
        cost.metric.push_back(Sample(pricing::NanoToUsd(*c),
                                     {{"model", model}, {"period", period}, {"vendor", vendor}}));
      }
      if (t) {
        const auto counts = pricing::CountsByType(*t);
        for (size_t i = 0; i < pricing::kBilledTypes; ++i) {
          const auto [type, value] = counts[i];
          tokens.metric.push_back(
              Sample(static_cast<double>(value),
                     {{"model", model}, {"period", period}, {"type", type}, {"vendor", vendor}}));
        }
      }
    }
    if (v.snapshot) {
      for (const auto& b : v.snapshot->balances) {
        balance.metric.push_back(Sample(static_cast<double>(b.total_nano) / 1e9,
                                        {{"currency", b.currency}, {"vendor", vendor}}));
      }
      if (v.snapshot->limit_nano_usd) {
        limit.metric.push_back(
            Sample(pricing::NanoToUsd(*v.snapshot->limit_nano_usd), {{"vendor", vendor}}));
      }
      if (v.snapshot->used_nano_usd) {
        used.metric.push_back(
            Sample(pricing::NanoToUsd(*v.snapshot->used_nano_usd), {{"vendor", vendor}}));
      }
    }
  }
  return {up, last, polls, failures, cost, tokens, balance, limit, used};
}

}  // namespace llm_exporter::reconcile
