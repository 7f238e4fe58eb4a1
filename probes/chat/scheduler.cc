#include "probes/chat/scheduler.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "base/log.h"
#include "pricing/cost.h"
#include "wire/dialect.h"

namespace llm_exporter::probes {
namespace {

constexpr std::chrono::milliseconds kMaxPoll{1000};

}  // namespace

void ProbeBudget::SetDailyLimit(int64_t nano_usd, int64_t on_demand_nano_usd) {
  std::lock_guard lock(mutex_);
  limit_ = nano_usd;
  on_demand_limit_ = std::clamp<int64_t>(on_demand_nano_usd, 0, nano_usd);
}

int64_t ProbeBudget::LimitNanoUsd() const {
  std::lock_guard lock(mutex_);
  return limit_;
}

int64_t ProbeBudget::SpentLocked(std::chrono::sys_days day) const {
  return ledger_ != nullptr ? ledger_->SpendNanoUsd(day, "probe") : 0;
}

int64_t ProbeBudget::OnDemandSpentLocked(std::chrono::sys_days day) const {
  auto it = on_demand_spent_.find(day);
  return it == on_demand_spent_.end() ? 0 : it->second;
}

int64_t ProbeBudget::ScheduledRemainingLocked(std::chrono::sys_days day) const {
  // Scheduled runs' share, less what they spent (all probe spend but the
  // on-demand part) and hold.
  int64_t spent = pricing::SatAdd(SpentLocked(day), -OnDemandSpentLocked(day));
  return limit_ - on_demand_limit_ - pricing::SatAdd(spent, reserved_);
}

int64_t ProbeBudget::OnDemandRemainingLocked(std::chrono::sys_days day) const {
  int64_t own = on_demand_limit_ - pricing::SatAdd(OnDemandSpentLocked(day), on_demand_reserved_);
  // Never past the whole limit either, whoever spent it.
  int64_t whole =
      limit_ - pricing::SatAdd(pricing::SatAdd(SpentLocked(day), reserved_), on_demand_reserved_);
  return std::min(own, whole);
}

bool ProbeBudget::TryReserve(std::chrono::sys_days day, int64_t worst_case_nano_usd,
                             bool on_demand) {
  std::lock_guard lock(mutex_);
  int64_t left = on_demand ? OnDemandRemainingLocked(day) : ScheduledRemainingLocked(day);
  if (worst_case_nano_usd > left) return false;
  (on_demand ? on_demand_reserved_ : reserved_) += worst_case_nano_usd;
  return true;
}

void ProbeBudget::Release(std::chrono::sys_days day, int64_t worst_case_nano_usd,
                          int64_t charged_nano_usd, bool on_demand) {
  std::lock_guard lock(mutex_);
  (on_demand ? on_demand_reserved_ : reserved_) -= worst_case_nano_usd;
  if (on_demand) {
    int64_t& spent = on_demand_spent_[day];
    spent = pricing::SatAdd(spent, charged_nano_usd);
    while (on_demand_spent_.size() > 2) on_demand_spent_.erase(on_demand_spent_.begin());
  }
}

int64_t ProbeBudget::RemainingNanoUsd(std::chrono::sys_days day) const {
  std::lock_guard lock(mutex_);
  return std::max<int64_t>(0, ScheduledRemainingLocked(day));
}

int64_t ProbeBudget::OnDemandRemainingNanoUsd(std::chrono::sys_days day) const {
  std::lock_guard lock(mutex_);
  return std::max<int64_t>(0, OnDemandRemainingLocked(day));
}

ProbeScheduler::ProbeScheduler(Options options) : options_(options), budget_(options.ledger) {}

ProbeScheduler::~ProbeScheduler() { Stop(); }

void ProbeScheduler::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ProbeScheduler::Stop() {
  stop_ = true;
  driver_.Wake();
  if (thread_.joinable()) thread_.join();
}

void ProbeScheduler::Update(std::vector<ProbeSpec> specs,
                            std::shared_ptr<const pricing::PriceBook> prices,
                            int64_t budget_nano_usd, int64_t on_demand_budget_nano_usd) {
  budget_.SetDailyLimit(budget_nano_usd, on_demand_budget_nano_usd);
  {
    std::lock_guard lock(mutex_);
    prices_ = std::move(prices);
    specs_.clear();
    for (const auto& spec : specs) specs_[spec.probe.name] = spec;
    pending_ = Pending{std::move(specs)};
  }
  driver_.Wake();
}

std::shared_ptr<const pricing::PriceBook> ProbeScheduler::Prices() const {
  std::lock_guard lock(mutex_);
  return prices_;
}

void ProbeScheduler::Abandon(Target& target) {
  if (!target.run) return;
  driver_.Remove(target.run->easy());
  target.run.reset();
  // A run dropped by a reload may have reached the vendor: its worst case
  // stays booked, as for any run that ended without usage.
  auto now = options_.clock->Wall();
  if (options_.meter != nullptr) {
    options_.meter->Abandon(target.spec.vendor.name, target.spec.probe.model, "probe",
                            target.reserved_nano_usd, now);
  }
  budget_.Release(pricing::UtcDay(now), target.reserved_nano_usd, target.reserved_nano_usd, false);
  target.reserved_nano_usd = 0;
}

void ProbeScheduler::ApplyUpdate(std::vector<ProbeSpec> specs) {
  auto now = options_.clock->Monotonic();
  std::map<std::string, Target> next;
  for (auto& spec : specs) {
    std::string name = spec.probe.name;
    auto old = targets_.find(name);
    if (old != targets_.end() && old->second.fingerprint == spec.Fingerprint()) {
      // Same probe: keep its schedule and run, but take the new spec (a key
      // rotated through api_key_file keeps the fingerprint).
      next[name] = std::move(old->second);
      next[name].spec = std::move(spec);
      targets_.erase(old);
      continue;
    }
    Target target;
    target.fingerprint = spec.Fingerprint();
    auto interval = spec.probe.interval;
    if (old != targets_.end()) {
      // Changed: keep the phase, but never wait longer than the new interval.
      // A run in flight belongs to the old probe: it is abandoned (as on
      // removal, below) so that it is never booked under the new one.
      target.next_run = std::min(old->second.next_run, now + interval);
      Abandon(old->second);
      targets_.erase(old);
    } else {
      // The phase is a hash of the name against wall time, so restarts keep it.
      int64_t period = interval.count();
      int64_t offset = PhaseByName(name, period);
      int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            options_.clock->Wall().time_since_epoch())
                            .count();
      target.next_run =
          now + std::chrono::milliseconds(((offset - wall_ms % period) + period) % period);
    }
    target.spec = std::move(spec);
    next[name] = std::move(target);
  }
  // What is left was removed: abandon its run.
  for (auto& [name, target] : targets_) Abandon(target);
  targets_ = std::move(next);
}

namespace {

// A run skipped before anything was sent (counted as budget_exhausted).
ProbeResult Skipped(const ProbeSpec& spec, std::chrono::system_clock::time_point wall,
                    bool on_demand, std::string message) {
  ProbeResult skipped;
  skipped.target = spec.probe.name;
  skipped.sent = false;
  skipped.on_demand = on_demand;
  skipped.stream = spec.probe.stream;
  skipped.failure = ProbeFailure::kBudgetExhausted;
  skipped.started_at = wall;
  skipped.message = std::move(message);
  base::LogCapture capture;
  base::Log().Write(base::LogLevel::kDebug, __FILE__, __LINE__, "Probe skipped",
                    {{"target", spec.probe.name}, {"reason", "budget_exhausted"}}, &capture);
  skipped.log = capture.Lines();
  return skipped;
}

}  // namespace

std::optional<ProbeResult> ProbeScheduler::Reserve(const ProbeSpec& spec, int64_t& reserved,
                                                   bool on_demand) {
  reserved = 0;
  auto prices = Prices();
  auto wall = options_.clock->Wall();
  const pricing::PriceRow* row =
      prices ? prices->Find(spec.vendor.price_table, spec.probe.model, wall) : nullptr;
  if (row == nullptr && !on_demand) return std::nullopt;  // unpriced: not held to the budget
  if (row == nullptr) {
    // The price went away (a reload) since RunNow looked: never run unbudgeted.
    return Skipped(spec, wall, true,
                   "no price for the model: an on-demand run cannot be held to the budget");
  }
  pricing::Usage worst;
  worst.input = EstimateInputTokens(PromptWithNonce(spec.probe.prompt, NewNonce()));
  worst.output = spec.probe.max_tokens;
  int64_t worst_cost = pricing::CostNanoUsd(*row, worst);
  auto day = pricing::UtcDay(wall);
  if (budget_.TryReserve(day, worst_cost, on_demand)) {
    reserved = worst_cost;
    return std::nullopt;
  }
  int64_t left = on_demand ? budget_.OnDemandRemainingNanoUsd(day) : budget_.RemainingNanoUsd(day);
  return Skipped(spec, wall, on_demand,
                 std::string("daily ") + (on_demand ? "on-demand " : "") +
                     "probe budget exhausted: the run's worst case would cost " +
                     pricing::NanoUsdToString(worst_cost) + " USD, " +
                     pricing::NanoUsdToString(left) + " USD left today");
}

namespace {

// How a run ended, for the meter's "billed without usage" rule.
meter::Ending EndingOf(const ProbeResult& result) {
  switch (result.failure) {
    case ProbeFailure::kTimeout:
      return meter::Ending::kTimeout;
    case ProbeFailure::kConnect:
    case ProbeFailure::kTls:
      return meter::Ending::kUpstreamReset;
    default:
      return meter::Ending::kComplete;
  }
}

}  // namespace

void ProbeScheduler::Complete(const ProbeSpec& spec, ProbeResult& result, int64_t reserved,
                              bool stopped_by_us) {
  if (result.sent && options_.meter != nullptr) {
    meter::Exchange exchange;
    exchange.vendor = spec.vendor.name;
    exchange.model = spec.probe.model;
    exchange.price_table = spec.vendor.price_table;
    exchange.source = "probe";
    exchange.endpoint = std::string(wire::DialectFor(spec.vendor.api).endpoint);
    exchange.started_at = result.started_at;
    exchange.http_status = result.http_status;
    exchange.duration_seconds = result.timings.total;
    exchange.ttft_seconds = result.timings.first_token;
    exchange.output_tokens_per_second = result.output_tokens_per_second;
    exchange.request_written = result.request_written;
    exchange.usage_present = result.usage_present;
    exchange.usage = result.usage;
    exchange.ending = stopped_by_us ? meter::Ending::kClientAbort : EndingOf(result);
    exchange.worst_case_nano_usd = reserved;
    auto prices = Prices();
    meter::Booking booking = options_.meter->Finish(exchange, prices.get());
    result.cost_nano_usd = booking.cost_nano_usd;
    result.usage_missing_reason = booking.usage_missing_reason;
    result.estimated_cost_nano_usd = booking.estimated_cost_nano_usd;
    budget_.Release(pricing::UtcDay(result.started_at), reserved, booking.charged_nano_usd,
                    result.on_demand);
  } else if (result.sent) {
    budget_.Release(pricing::UtcDay(result.started_at), reserved, 0, result.on_demand);
  }
  if (options_.observer != nullptr) options_.observer->OnResult(spec, result);
}

void ProbeScheduler::StartRun(Target& target, std::chrono::steady_clock::time_point now) {
  double delay =
      std::chrono::duration<double>(options_.clock->Monotonic() - target.next_run).count();
  auto interval = target.spec.probe.interval;
  target.next_run += interval;
  if (target.next_run <= now) target.next_run = now + interval;  // no catch-up bursts

  int64_t reserved = 0;
  if (auto skipped = Reserve(target.spec, reserved, false)) {
    skipped->schedule_delay_seconds = delay;
    Complete(target.spec, *skipped, 0);
    return;
  }
  target.reserved_nano_usd = reserved;
  target.delay_seconds = delay;
  if (options_.meter != nullptr) options_.meter->Started(target.spec.vendor.name);
  target.run = std::make_unique<ChatProbeRun>(target.spec, *options_.clock, NewNonce());
  if (!driver_.Add(target.run->easy())) {
    // Never sent: finished at once (libcurl's failure), so the target is not stuck.
    ProbeResult result = target.run->Finish(CURLE_FAILED_INIT);
    result.schedule_delay_seconds = delay;
    Complete(target.spec, result, target.reserved_nano_usd);
    target.reserved_nano_usd = 0;
    target.run.reset();
  }
}

void ProbeScheduler::Loop() {
  TransferDriver::Hooks hooks;
  hooks.start_due = [this] {
    std::optional<Pending> pending;
    {
      std::lock_guard lock(mutex_);
      pending.swap(pending_);
    }
    if (pending) ApplyUpdate(std::move(pending->specs));
    const auto now = options_.clock->Monotonic();
    for (auto& [name, target] : targets_) {
      if (!target.run && target.next_run <= now) StartRun(target, now);
    }
  };
  hooks.done = [this](CURL* easy, CURLcode code) {
    for (auto& [name, target] : targets_) {
      if (!target.run || target.run->easy() != easy) continue;
      ProbeResult result = target.run->Finish(code);
      result.schedule_delay_seconds = target.delay_seconds;
      if (result.retry_after_seconds) {
        target.next_run =
            std::max(target.next_run,
                     options_.clock->Monotonic() + CappedRetryAfter(*result.retry_after_seconds));
      }
      Complete(target.spec, result, target.reserved_nano_usd);
      target.reserved_nano_usd = 0;
      target.run.reset();
      return;
    }
  };
  hooks.next_due = [this]() -> std::optional<TransferDriver::Clock::time_point> {
    // The scheduler's clock may be a test's: the wait is computed on it and
    // handed to the driver as a steady-clock instant.
    const auto now = options_.clock->Monotonic();
    std::optional<std::chrono::steady_clock::duration> soonest;
    for (const auto& [name, target] : targets_) {
      if (target.run) continue;
      const auto until = std::max(target.next_run - now, std::chrono::steady_clock::duration(0));
      if (!soonest || until < *soonest) soonest = until;
    }
    if (!soonest) return std::nullopt;
    return TransferDriver::Clock::now() + *soonest;
  };
  driver_.Run(stop_, hooks, kMaxPoll);
  // Runs still in flight at shutdown are booked like any abandoned run.
  for (auto& [name, target] : targets_) Abandon(target);
  targets_.clear();
}

void ProbeScheduler::SetMaxConcurrentRunNow(int64_t max) {
  std::lock_guard lock(mutex_);
  max_run_now_ = max;
}

std::expected<ProbeResult, ProbeScheduler::RunNowError> ProbeScheduler::RunNow(
    const std::string& name, std::chrono::milliseconds timeout) {
  ProbeSpec spec;
  {
    std::lock_guard lock(mutex_);
    auto it = specs_.find(name);
    if (it == specs_.end()) return std::unexpected(RunNowError{400, "Unknown target"});
    spec = it->second;
    if (!prices_ ||
        !prices_->Find(spec.vendor.price_table, spec.probe.model, options_.clock->Wall())) {
      return std::unexpected(
          RunNowError{403,
                      "Target has no price for its model: on-demand runs need one, so that "
                      "the probe budget can hold them"});
    }
    if (run_now_in_flight_ >= max_run_now_) {
      return std::unexpected(RunNowError{429, "Too many on-demand probes at once"});
    }
    ++run_now_in_flight_;
  }
  struct Slot {
    ProbeScheduler* self;
    ~Slot() {
      std::lock_guard lock(self->mutex_);
      --self->run_now_in_flight_;
    }
  } slot{this};

  int64_t reserved = 0;
  if (auto skipped = Reserve(spec, reserved, true)) {
    Complete(spec, *skipped, 0);
    return *skipped;
  }
  if (options_.meter != nullptr) options_.meter->Started(spec.vendor.name);
  ChatProbeRun run(spec, *options_.clock, NewNonce());
  run.SetTimeout(std::min(std::max(timeout, kMinOnDemandTimeout), spec.probe.timeout));
  const CURLcode code = TransferDriver::RunOne(run.easy(), stop_);
  ProbeResult result = run.Finish(code);
  result.on_demand = true;
  Complete(spec, result, reserved, code == CURLE_ABORTED_BY_CALLBACK && stop_);
  return result;
}

}  // namespace llm_exporter::probes
