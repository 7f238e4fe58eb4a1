// The probe scheduler on an injected clock: a first run at its phase, none
// while the clock stands still, the next once the clock passes the interval.
// The vendor is a closed loopback port, so each run ends at once (connect).

#include "probes/chat/scheduler.h"

#include <boost/test/unit_test.hpp>
#include <mutex>
#include <thread>

#include "tests/unit/probes/fake_clock.h"

namespace llm_exporter::probes {
namespace {

using namespace std::chrono_literals;

class Recorder final : public ProbeObserver {
 public:
  void OnResult(const ProbeSpec&, const ProbeResult& result) override {
    std::lock_guard lock(mutex_);
    results_.push_back(result);
  }
  std::vector<ProbeResult> Results() const {
    std::lock_guard lock(mutex_);
    return results_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<ProbeResult> results_;
};

ProbeSpec ClosedPortSpec(const std::string& name, std::chrono::milliseconds interval) {
  ProbeSpec spec;
  spec.vendor.name = "acme";
  spec.vendor.api = config::WireApi::kOpenAi;
  spec.vendor.base_url = "http://127.0.0.1:1/v1";  // nothing listens on port 1
  spec.vendor.price_table = "acme";
  spec.probe.name = name;
  spec.probe.vendor = "acme";
  spec.probe.model = "m";
  spec.probe.interval = interval;
  spec.probe.timeout = 2s;
  spec.probe.prompt = "ping";
  spec.probe.max_tokens = 1;
  return spec;
}

// Polls `condition` for up to `deadline` of real time.
bool Within(std::chrono::milliseconds deadline, const std::function<bool()>& condition) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

BOOST_AUTO_TEST_SUITE(scheduler)

BOOST_AUTO_TEST_CASE(runs_follow_the_injected_clock) {
  testing::FakeClock clock;
  Recorder recorder;
  ProbeScheduler::Options options;
  options.clock = &clock;
  options.observer = &recorder;
  ProbeScheduler scheduler(options);
  const auto interval = std::chrono::milliseconds(60'000);
  const ProbeSpec spec = ClosedPortSpec("closed/m", interval);
  scheduler.Update({spec}, std::make_shared<const pricing::PriceBook>(), 0, 0);
  scheduler.Start();

  // The first run waits for its phase: a hash of the name against wall time.
  const int64_t wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.Wall().time_since_epoch())
          .count();
  const int64_t phase =
      ((PhaseByName(spec.probe.name, interval.count()) - wall_ms % interval.count()) +
       interval.count()) %
      interval.count();
  if (phase > 0) {
    BOOST_TEST(!Within(300ms, [&] { return !recorder.Results().empty(); }));
    clock.Set(std::chrono::milliseconds(phase));
  }
  BOOST_REQUIRE(Within(5s, [&] { return recorder.Results().size() == 1; }));
  const ProbeResult first = recorder.Results().front();
  BOOST_TEST((first.failure == ProbeFailure::kConnect));
  BOOST_TEST(first.sent);

  // The clock stands still: no second run, however long we wait for real.
  BOOST_TEST(!Within(1500ms, [&] { return recorder.Results().size() > 1; }));

  // One interval later on the clock: the next run (the driver looks at least
  // once a second).
  clock.Set(std::chrono::milliseconds(phase) + interval);
  BOOST_REQUIRE(Within(5s, [&] { return recorder.Results().size() == 2; }));
  BOOST_TEST(recorder.Results()[1].schedule_delay_seconds < 2.0);
  scheduler.Stop();
}

BOOST_AUTO_TEST_CASE(phase_by_name_is_stable_and_within_the_period) {
  for (const char* name : {"a", "openai/gpt-4.1", "anthropic/claude"}) {
    const int64_t phase = PhaseByName(name, 60'000);
    BOOST_TEST(phase >= 0);
    BOOST_TEST(phase < 60'000);
    BOOST_TEST(PhaseByName(name, 60'000) == phase);
  }
  BOOST_TEST(PhaseByName("x", 0) == 0);
  BOOST_TEST(CappedRetryAfter(10).count() == 10);
  BOOST_TEST(CappedRetryAfter(1'000'000).count() == 3600);
  BOOST_TEST(CappedRetryAfter(-5).count() == 0);
}

BOOST_AUTO_TEST_CASE(response_headers_keep_content_type_and_retry_after) {
  ResponseHeaders headers;
  auto feed = [&](std::string line) {
    BOOST_TEST(ResponseHeaders::OnHeader(line.data(), 1, line.size(), &headers) == line.size());
  };
  feed("HTTP/1.1 429 Too Many Requests\r\n");
  feed("Retry-After:  7 \r\n");
  feed("content-type: application/json\r\n");
  BOOST_TEST(headers.retry_after == "7");
  BOOST_TEST(headers.content_type == "application/json");
  feed("Retry-After: \r\n");  // only blanks: empty, not "\r\n"
  BOOST_TEST(headers.retry_after.empty());
  feed("HTTP/1.1 200 OK\r\n");  // a new response starts afresh
  BOOST_TEST(headers.content_type.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::probes
