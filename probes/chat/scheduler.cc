#include "probes/chat/scheduler.h"

#include <functional>
#include <utility>

#include "config/log.h"
#include "pricing/cost.h"

namespace llm_exporter::probes {
namespace {

constexpr std::chrono::milliseconds kMaxPoll{1000};

}  // namespace

void ProbeBudget::SetDailyLimit(int64_t nano_usd) {
  std::lock_guard lock(mutex_);
  limit_ = nano_usd;
}

int64_t ProbeBudget::LimitNanoUsd() const {
  std::lock_guard lock(mutex_);
  return limit_;
}

int64_t ProbeBudget::SpentLocked(std::chrono::sys_days day) const {
  int64_t spent = ledger_ != nullptr ? ledger_->SpendNanoUsd(day, "probe") : 0;
  auto it = unaccounted_.find(day);
  return spent + reserved_ + (it == unaccounted_.end() ? 0 : it->second);
}

bool ProbeBudget::TryReserve(std::chrono::sys_days day, int64_t worst_case_nano_usd) {
  std::lock_guard lock(mutex_);
  if (SpentLocked(day) + worst_case_nano_usd > limit_) return false;
  reserved_ += worst_case_nano_usd;
  return true;
}

void ProbeBudget::Release(std::chrono::sys_days day, int64_t worst_case_nano_usd,
                          bool charge_anyway) {
  std::lock_guard lock(mutex_);
  reserved_ -= worst_case_nano_usd;
  if (charge_anyway) unaccounted_[day] += worst_case_nano_usd;
  while (unaccounted_.size() > 2) unaccounted_.erase(unaccounted_.begin());
}

int64_t ProbeBudget::RemainingNanoUsd(std::chrono::sys_days day) const {
  std::lock_guard lock(mutex_);
  return std::max<int64_t>(0, limit_ - SpentLocked(day));
}

ProbeScheduler::ProbeScheduler(Options options) : options_(options), budget_(options.ledger) {
  multi_ = curl_multi_init();
}

ProbeScheduler::~ProbeScheduler() {
  Stop();
  curl_multi_cleanup(multi_);
}

void ProbeScheduler::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ProbeScheduler::Stop() {
  stop_ = true;
  curl_multi_wakeup(multi_);
  if (thread_.joinable()) thread_.join();
}

void ProbeScheduler::Update(std::vector<ProbeSpec> specs,
                            std::shared_ptr<const pricing::PriceBook> prices,
                            int64_t budget_nano_usd) {
  budget_.SetDailyLimit(budget_nano_usd);
  {
    std::lock_guard lock(mutex_);
    prices_ = std::move(prices);
    specs_.clear();
    for (const auto& spec : specs) specs_[spec.probe.name] = spec;
    pending_ = Pending{std::move(specs)};
  }
  curl_multi_wakeup(multi_);
}

std::shared_ptr<const pricing::PriceBook> ProbeScheduler::Prices() const {
  std::lock_guard lock(mutex_);
  return prices_;
}

void ProbeScheduler::Abandon(CURLM* multi, Target& target) {
  if (!target.run) return;
  curl_multi_remove_handle(multi, target.run->easy());
  target.run.reset();
  budget_.Release(pricing::UtcDay(options_.clock->Wall()), target.reserved_nano_usd, false);
  target.reserved_nano_usd = 0;
  if (options_.observer != nullptr) options_.observer->OnAbandoned(target.spec);
}

void ProbeScheduler::ApplyUpdate(CURLM* multi, std::vector<ProbeSpec> specs) {
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
      Abandon(multi, old->second);
      targets_.erase(old);
    } else {
      // The phase is a hash of the name against wall time, so restarts keep it.
      int64_t period = interval.count();
      int64_t offset =
          static_cast<int64_t>(std::hash<std::string>{}(name) % static_cast<size_t>(period));
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
  for (auto& [name, target] : targets_) Abandon(multi, target);
  targets_ = std::move(next);
}

std::optional<ProbeResult> ProbeScheduler::Reserve(const ProbeSpec& spec, int64_t& reserved) {
  reserved = 0;
  auto prices = Prices();
  auto wall = options_.clock->Wall();
  const pricing::PriceRow* row =
      prices ? prices->Find(spec.vendor.price_table, spec.probe.model, wall) : nullptr;
  if (row != nullptr) {
    pricing::Usage worst;
    worst.input = EstimateInputTokens(PromptWithNonce(spec.probe.prompt, NewNonce()));
    worst.output = spec.probe.max_tokens;
    int64_t worst_cost = pricing::CostNanoUsd(*row, worst);
    if (!budget_.TryReserve(pricing::UtcDay(wall), worst_cost)) {
      ProbeResult skipped;
      skipped.target = spec.probe.name;
      skipped.sent = false;
      skipped.stream = spec.probe.stream;
      skipped.failure = ProbeFailure::kBudgetExhausted;
      skipped.started_at = wall;
      skipped.message = "daily probe budget exhausted: the run's worst case would cost " +
                        pricing::NanoUsdToString(worst_cost) + " USD, " +
                        pricing::NanoUsdToString(budget_.RemainingNanoUsd(pricing::UtcDay(wall))) +
                        " USD left today";
      config::LogCapture capture;
      config::Log().Write(config::LogLevel::kDebug, __FILE__, __LINE__, "Probe skipped",
                          {{"target", spec.probe.name}, {"reason", "budget_exhausted"}}, &capture);
      skipped.log = capture.Lines();
      return skipped;
    }
    reserved = worst_cost;
  }
  return std::nullopt;
}

void ProbeScheduler::Complete(const ProbeSpec& spec, ProbeResult& result, int64_t reserved) {
  auto wall = options_.clock->Wall();
  auto day = pricing::UtcDay(result.started_at);
  if (result.sent && result.usage_present) {
    auto prices = Prices();
    const pricing::PriceRow* row =
        prices ? prices->Find(spec.vendor.price_table, spec.probe.model, result.started_at)
               : nullptr;
    if (row != nullptr) {
      result.priced = true;
      result.cost_nano_usd = pricing::CostNanoUsd(*row, result.usage);
    }
    if (options_.ledger != nullptr) {
      options_.ledger->Record(
          {day, spec.vendor.name, spec.probe.model, "probe", result.usage, result.cost_nano_usd});
    }
  }
  // A 2xx reply without usage may have been billed: its worst case stays
  // charged today. Anything else (no reply, an error status) cost nothing.
  bool maybe_billed = result.http_status >= 200 && result.http_status < 300;
  if (result.sent) {
    budget_.Release(pricing::UtcDay(wall), reserved, maybe_billed && !result.usage_present);
  }
  if (options_.observer != nullptr) options_.observer->OnResult(spec, result);
}

void ProbeScheduler::StartRun(CURLM* multi, Target& target,
                              std::chrono::steady_clock::time_point now) {
  double delay =
      std::chrono::duration<double>(options_.clock->Monotonic() - target.next_run).count();
  auto interval = target.spec.probe.interval;
  target.next_run += interval;
  if (target.next_run <= now) target.next_run = now + interval;  // no catch-up bursts

  int64_t reserved = 0;
  if (auto skipped = Reserve(target.spec, reserved)) {
    skipped->schedule_delay_seconds = delay;
    Complete(target.spec, *skipped, 0);
    return;
  }
  target.reserved_nano_usd = reserved;
  target.delay_seconds = delay;
  if (options_.observer != nullptr) options_.observer->OnStart(target.spec);
  target.run = std::make_unique<ChatProbeRun>(target.spec, *options_.clock, NewNonce());
  curl_multi_add_handle(multi, target.run->easy());
}

void ProbeScheduler::Loop() {
  CURLM* multi = multi_;
  while (!stop_) {
    std::optional<Pending> pending;
    {
      std::lock_guard lock(mutex_);
      pending.swap(pending_);
    }
    if (pending) ApplyUpdate(multi, std::move(pending->specs));

    auto now = options_.clock->Monotonic();
    for (auto& [name, target] : targets_) {
      if (!target.run && target.next_run <= now) StartRun(multi, target, now);
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      ChatProbeRun* run = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &run);
      CURLcode code = message->data.result;
      curl_multi_remove_handle(multi, message->easy_handle);
      for (auto& [name, target] : targets_) {
        if (target.run.get() != run) continue;
        ProbeResult result = run->Finish(code);
        result.schedule_delay_seconds = target.delay_seconds;
        if (result.retry_after_seconds) {
          // Bounded: a gateway sending milliseconds as seconds must not
          // silence a target for weeks.
          auto after = options_.clock->Monotonic() +
                       std::chrono::seconds(std::min<int64_t>(*result.retry_after_seconds, 3600));
          target.next_run = std::max(target.next_run, after);
        }
        Complete(target.spec, result, target.reserved_nano_usd);
        target.reserved_nano_usd = 0;
        target.run.reset();
        break;
      }
    }
    now = options_.clock->Monotonic();
    auto wait = kMaxPoll;
    for (const auto& [name, target] : targets_) {
      if (target.run) continue;
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(target.next_run - now);
      wait = std::min(wait, std::max(until, std::chrono::milliseconds(0)));
    }
    if (running > 0 || wait.count() > 0) {
      curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::max<int64_t>(wait.count(), 1)),
                      nullptr);
    }
  }
  for (auto& [name, target] : targets_) {
    if (target.run) {
      curl_multi_remove_handle(multi, target.run->easy());
      target.run.reset();
      if (options_.observer != nullptr) options_.observer->OnAbandoned(target.spec);
    }
  }
  targets_.clear();
}

std::optional<ProbeResult> ProbeScheduler::RunNow(const std::string& name,
                                                  std::chrono::milliseconds timeout) {
  ProbeSpec spec;
  {
    std::lock_guard lock(mutex_);
    auto it = specs_.find(name);
    if (it == specs_.end()) return std::nullopt;
    spec = it->second;
  }
  int64_t reserved = 0;
  if (auto skipped = Reserve(spec, reserved)) {
    skipped->on_demand = true;
    Complete(spec, *skipped, 0);
    return skipped;
  }
  if (options_.observer != nullptr) options_.observer->OnStart(spec);
  ChatProbeRun run(spec, *options_.clock, NewNonce());
  run.SetTimeout(std::min(timeout, spec.probe.timeout));
  CURLM* multi = curl_multi_init();
  curl_multi_add_handle(multi, run.easy());
  CURLcode code = CURLE_ABORTED_BY_CALLBACK;
  bool done = false;
  while (!done && !stop_) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg == CURLMSG_DONE) {
        code = message->data.result;
        done = true;
      }
    }
    if (!done) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  curl_multi_remove_handle(multi, run.easy());
  curl_multi_cleanup(multi);
  ProbeResult result = run.Finish(code);
  result.on_demand = true;
  Complete(spec, result, reserved);
  return result;
}

}  // namespace llm_exporter::probes
