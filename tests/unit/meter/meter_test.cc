// The meter: what it books for each way a request can end, in the ledger and
// in the traffic series, and how vendor model names become bounded labels.
#define BOOST_TEST_MODULE unit_meter
#include "meter/meter.h"

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "meter/model_label.h"
#include "pricing/cost.h"

using namespace llm_exporter;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  Fixture() {
    dir = std::filesystem::temp_directory_path() /
          ("unit_meter_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    pricing::LedgerOptions options;
    options.state_dir = dir.string();
    ledger = std::move(*pricing::Ledger::Open(options));
    auto book = pricing::LoadPriceBook(
        {std::string(LLM_EXPORTER_SOURCE_DIR) + "/pricing/fake_prices.toml"}, "");
    BOOST_REQUIRE(book.has_value());
    prices = std::move(*book);
  }
  ~Fixture() {
    ledger.reset();
    std::filesystem::remove_all(dir);
  }

  meter::Exchange Exchange() const {
    meter::Exchange e;
    e.vendor = "acme";
    e.model = "fake-gpt";
    e.price_table = "fake";
    e.source = "probe";
    e.endpoint = "chat_completions";
    e.started_at = std::chrono::system_clock::now();
    e.http_status = 200;
    e.duration_seconds = 0.5;
    e.request_written = true;
    e.worst_case_nano_usd = 9'000;
    return e;
  }

  // The value of one traffic series, 0 when absent.
  double Value(const std::string& family, const std::map<std::string, std::string>& labels) {
    for (const auto& f : traffic.Collect()) {
      if (f.name != family) continue;
      for (const auto& m : f.metric) {
        bool match = true;
        for (const auto& [name, value] : labels) {
          bool found = false;
          for (const auto& l : m.label) found |= l.name == name && l.value == value;
          match &= found;
        }
        if (match) return f.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
      }
    }
    return 0;
  }

  static inline int counter = 0;
  std::filesystem::path dir;
  std::unique_ptr<pricing::Ledger> ledger;
  pricing::PriceBook prices;
  meter::TrafficMetrics traffic;
  meter::Meter meter{traffic, nullptr};
};

const std::map<std::string, std::string> kGpt = {{"vendor", "acme"}, {"model", "fake-gpt"}};

}  // namespace

BOOST_FIXTURE_TEST_CASE(usage_is_priced_booked_and_counted, Fixture) {
  meter::Meter booked(traffic, ledger.get());
  auto e = Exchange();
  e.usage_present = true;
  e.usage.input = 1000;
  e.usage.cached_input = 400;
  e.usage.output = 500;
  booked.Started("acme");
  BOOST_TEST(Value("llm_requests_in_flight", {{"vendor", "acme"}}) == 1);
  meter::Booking b = booked.Finish(e, &prices);
  // fake-gpt: $1.00 input, $0.25 cached input, $2.00 output per million.
  const int64_t expected = 1000 * 1000 + 400 * 250 + 500 * 2000;
  BOOST_TEST(b.cost_nano_usd.value_or(-1) == expected);
  BOOST_TEST(b.charged_nano_usd == expected);
  BOOST_TEST(!b.usage_missing_reason.has_value());
  BOOST_TEST(Value("llm_requests_in_flight", {{"vendor", "acme"}}) == 0);
  BOOST_TEST(Value("llm_cost_usd_total", kGpt) == expected / 1e9);
  BOOST_TEST(Value("llm_tokens_total", {{"model", "fake-gpt"}, {"type", "cached_input"}}) == 400);
  BOOST_REQUIRE(ledger->Flush());
  auto totals = ledger->Totals(pricing::UtcDay(e.started_at), "acme", "fake-gpt", "probe");
  BOOST_TEST(totals.cost_nano_usd == expected);
  BOOST_TEST(totals.tokens.output == 500);
}

BOOST_FIXTURE_TEST_CASE(billed_without_usage_books_the_worst_case, Fixture) {
  meter::Meter booked(traffic, ledger.get());
  for (auto [ending, status, reason] : {std::tuple{meter::Ending::kTimeout, 0L, "timeout"},
                                        {meter::Ending::kUpstreamReset, 0L, "upstream_reset"},
                                        {meter::Ending::kClientAbort, 200L, "client_abort"},
                                        {meter::Ending::kComplete, 200L, "not_reported"}}) {
    auto e = Exchange();
    e.ending = ending;
    e.http_status = status;
    booked.Started("acme");
    meter::Booking b = booked.Finish(e, &prices);
    BOOST_TEST(b.usage_missing_reason.value_or("") == reason);
    BOOST_TEST(b.estimated_cost_nano_usd == 9'000);
    BOOST_TEST(b.charged_nano_usd == 9'000);
    BOOST_TEST(!b.cost_nano_usd.has_value());
    BOOST_TEST(Value("llm_usage_missing_total",
                     {{"model", "fake-gpt"}, {"source", "probe"}, {"reason", reason}}) == 1);
  }
  BOOST_TEST(Value("llm_cost_estimated_usd_total", kGpt) == 4 * 9'000 / 1e9);
  BOOST_REQUIRE(ledger->Flush());
  auto totals = ledger->Totals(pricing::UtcDay(std::chrono::system_clock::now()), "acme",
                               "fake-gpt", "probe");
  BOOST_TEST(totals.usage_missing_requests == 4);
  BOOST_TEST(totals.estimated_cost_nano_usd == 36'000);
}

BOOST_FIXTURE_TEST_CASE(nothing_is_billed_that_cannot_have_been, Fixture) {
  auto error = Exchange();
  error.http_status = 500;  // vendors do not bill errors
  BOOST_TEST(!meter::UsageMissingReason(error).has_value());
  auto unsent = Exchange();
  unsent.request_written = false;
  unsent.http_status = 0;
  unsent.ending = meter::Ending::kUpstreamReset;
  BOOST_TEST(!meter::UsageMissingReason(unsent).has_value());
  meter::Booking b = meter.Finish(error, &prices);
  BOOST_TEST(b.charged_nano_usd == 0);
  BOOST_TEST(Value("llm_requests_total", {{"code", "500"}}) == 1);
}

BOOST_FIXTURE_TEST_CASE(unpriced_usage_costs_nothing_and_is_counted, Fixture) {
  auto e = Exchange();
  e.model = "mystery";
  e.usage_present = true;
  e.usage.input = 10;
  meter::Booking b = meter.Finish(e, &prices);
  BOOST_TEST(!b.cost_nano_usd.has_value());
  BOOST_TEST(b.charged_nano_usd == 0);
  BOOST_TEST(Value("llm_unpriced_requests_total", {{"model", "mystery"}}) == 1);
}

BOOST_FIXTURE_TEST_CASE(an_abandoned_request_is_a_client_abort_at_its_worst_case, Fixture) {
  meter::Meter booked(traffic, ledger.get());
  booked.Started("acme");
  booked.Abandon("acme", "fake-gpt", "probe", 7'000, std::chrono::system_clock::now());
  BOOST_TEST(Value("llm_requests_in_flight", {{"vendor", "acme"}}) == 0);
  BOOST_TEST(Value("llm_usage_missing_total", {{"reason", "client_abort"}}) == 1);
  BOOST_REQUIRE(ledger->Flush());
  BOOST_TEST(
      ledger->Totals(pricing::UtcDay(std::chrono::system_clock::now()), "acme", "fake-gpt", "probe")
          .estimated_cost_nano_usd == 7'000);
}

BOOST_AUTO_TEST_CASE(vendor_model_names_become_bounded_labels) {
  const std::set<std::string> known = {"gpt-4.1", "claude-sonnet-4-5"};
  BOOST_TEST(meter::ModelLabel(known, "gpt-4.1") == "gpt-4.1");
  BOOST_TEST(meter::ModelLabel(known, "gpt-4.1-2025-04-14") == "gpt-4.1");
  BOOST_TEST(meter::ModelLabel(known, "claude-sonnet-4-5-20250929") == "claude-sonnet-4-5");
  BOOST_TEST(meter::ModelLabel(known, "gpt-5-ultra-from-a-client") == "other");
}

// A reload drops a vendor and a second brings it back while a request to it
// is in flight: the gauge ends at 0, never -1.
BOOST_FIXTURE_TEST_CASE(in_flight_survives_a_vendor_removed_and_restored, Fixture) {
  traffic.RetainVendors({"acme"});
  meter.Started("acme");
  traffic.RetainVendors({"other"});
  traffic.RetainVendors({"acme"});
  traffic.Touch("acme", "fake-gpt", "probe");
  BOOST_TEST(Value("llm_requests_in_flight", {{"vendor", "acme"}}) == 1);
  meter.Finish(Exchange(), &prices);
  BOOST_TEST(Value("llm_requests_in_flight", {{"vendor", "acme"}}) == 0);
  // Removed for good: its count drains and the series goes.
  meter.Started("acme");
  traffic.RetainVendors({"other"});
  meter.Finish(Exchange(), &prices);
  bool rendered = false;
  for (const auto& f : traffic.Collect()) {
    if (f.name != "llm_requests_in_flight") continue;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) rendered |= l.value == "acme";
    }
  }
  BOOST_TEST(!rendered);
}
