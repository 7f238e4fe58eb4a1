// Every billing poll kind driven purely: recorded replies from
// testdata/billing/ go into OnResponse, the URLs NextRequest asks for are
// checked parameter by parameter, and the snapshot is checked to the nano-USD.

#include "probes/billing/billing_poll.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/unit/probes/print_optional.h"
#include "tests/unit/wire/testdata.h"

namespace llm_exporter::probes::billing {
namespace {

using namespace std::chrono_literals;
using config::BillingKind;
using std::chrono::sys_days;
using std::chrono::system_clock;

constexpr std::string_view kKey = "sk-admin-test-0123456789abcdef";

// 2024-11-02T15:30:00Z: the window is 2024-10-31 .. 2024-11-02 (OpenAI examples).
const system_clock::time_point kOpenAiNow = sys_days{2024y / 11 / 2} + 15h + 30min;
// 2025-08-02T10:00:00Z: the window is 2025-07-31 .. 2025-08-02 (Anthropic examples).
const system_clock::time_point kAnthropicNow = sys_days{2025y / 8 / 2} + 10h;

std::unique_ptr<BillingPoll> MakePoll(BillingKind kind, system_clock::time_point now,
                                      const std::string& base_url = "", int page_cap = 20,
                                      std::string_view key = kKey) {
  auto poll = NewBillingPoll(kind, base_url, config::Secret("env TEST_KEY", std::string(key)), now,
                             page_cap);
  BOOST_REQUIRE_MESSAGE(poll.has_value(), "NewBillingPoll failed");
  return std::move(*poll);
}

std::string NextUrl(BillingPoll& poll) {
  std::optional<HttpGet> get = poll.NextRequest();
  BOOST_REQUIRE_MESSAGE(get.has_value(), "expected another request");
  return get->url;
}

void Reply(BillingPoll& poll, std::string_view file, long status = 200) {
  auto replied = poll.OnResponse(status, testing::ReadTestdata("billing/" + std::string(file)), "");
  BOOST_REQUIRE_MESSAGE(replied.has_value(),
                        file << ": " << (replied ? "" : replied.error().message));
}

PollError ReplyFails(BillingPoll& poll, std::string_view body, long status = 200,
                     std::string_view retry_after = "") {
  auto replied = poll.OnResponse(status, body, retry_after);
  BOOST_REQUIRE_MESSAGE(!replied.has_value(), "expected the reply to fail");
  // A failed poll is over and reports nothing.
  BOOST_TEST(!poll.NextRequest().has_value());
  BOOST_TEST(poll.Result().days.empty());
  BOOST_TEST(poll.Result().balances.empty());
  BOOST_TEST(!poll.Result().limit_nano_usd.has_value());
  BOOST_TEST(replied.error().message.find(kKey) == std::string::npos);
  return replied.error();
}

PollError ReplyFileFails(BillingPoll& poll, std::string_view file, long status = 200,
                         std::string_view retry_after = "") {
  return ReplyFails(poll, testing::ReadTestdata("billing/" + std::string(file)), status,
                    retry_after);
}

std::string_view Reason(const PollError& error) { return PollErrorReasonName(error.reason); }

void ExpectDone(BillingPoll& poll) { BOOST_TEST(!poll.NextRequest().has_value()); }

const ModelDay* Find(const BillingSnapshot& snapshot, sys_days day, std::string_view model) {
  for (const ModelDay& row : snapshot.days) {
    if (row.day == day && row.model == model) return &row;
  }
  BOOST_ERROR("no row for " << model);
  return nullptr;
}

pricing::Usage Tokens(int64_t input, int64_t cached, int64_t write_5m, int64_t write_1h,
                      int64_t output) {
  return {.input = input,
          .cached_input = cached,
          .cache_write_5m = write_5m,
          .cache_write_1h = write_1h,
          .output = output};
}

// ---------------------------------------------------------------- openai_org

const std::string kOpenAiUsageUrl =
    "https://api.openai.com/v1/organization/usage/completions?start_time=1730332800"
    "&end_time=1730592000&bucket_width=1d&group_by[]=model&limit=31";
const std::string kOpenAiCostsUrl =
    "https://api.openai.com/v1/organization/costs?start_time=1730332800&bucket_width=1d"
    "&group_by[]=line_item&limit=31";

BOOST_AUTO_TEST_SUITE(billing_openai_org)

BOOST_AUTO_TEST_CASE(requests_the_trailing_window_with_the_admin_key) {
  auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
  std::optional<HttpGet> get = poll->NextRequest();
  BOOST_REQUIRE(get.has_value());
  BOOST_TEST(get->url == kOpenAiUsageUrl);
  const std::vector<std::string> headers = {"Accept: application/json",
                                            "Authorization: Bearer " + std::string(kKey)};
  BOOST_TEST(get->headers == headers, boost::test_tools::per_element());
  // Asking again does not advance the poll.
  BOOST_TEST(NextUrl(*poll) == kOpenAiUsageUrl);
}

BOOST_AUTO_TEST_CASE(pages_usage_and_costs_and_merges_them_per_model_and_day) {
  auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
  BOOST_TEST(NextUrl(*poll) == kOpenAiUsageUrl);
  Reply(*poll, "openai_usage_doc.json");  // has_more, cursor ends in '='
  BOOST_TEST(NextUrl(*poll) == kOpenAiUsageUrl + "&page=page_AAAAAGdGxdEiJdKOAAAAAGcqsYA%3D");
  Reply(*poll, "openai_usage_page2.json");  // `result`, null model, empty bucket
  BOOST_TEST(NextUrl(*poll) == kOpenAiCostsUrl);
  Reply(*poll, "openai_costs_page1.json");
  BOOST_TEST(NextUrl(*poll) == kOpenAiCostsUrl + "&page=page_Mj%2B%2FAB%3D%3D");
  Reply(*poll, "openai_costs_page2.json");
  BOOST_TEST(NextUrl(*poll) == kOpenAiCostsUrl + "&page=page_3");
  Reply(*poll, "openai_costs_page3.json");
  ExpectDone(*poll);

  const BillingSnapshot snapshot = poll->Result();
  BOOST_TEST((snapshot.polled_at == kOpenAiNow));
  BOOST_TEST(snapshot.days.size() == 6u);
  const sys_days nov1{2024y / 11 / 1};
  const sys_days nov2{2024y / 11 / 2};

  // input_tokens includes the cached part: 5000-4000 + 300-100 uncached.
  const ModelDay* mini = Find(snapshot, nov1, "gpt-4o-mini-2024-07-18");
  BOOST_REQUIRE(mini != nullptr);
  BOOST_TEST((mini->tokens == Tokens(1200, 4100, 0, 0, 1040)));
  BOOST_TEST(mini->requests == 7);
  // 0.1 + 0.2 + 0.0000000015 (1.5 nano, half to even: 2) dollars, exactly.
  BOOST_TEST(mini->cost_nano_usd == 300'000'002);

  const ModelDay* ungrouped = Find(snapshot, nov1, "");
  BOOST_REQUIRE(ungrouped != nullptr);
  BOOST_TEST((ungrouped->tokens == Tokens(10, 0, 0, 0, 1)));
  BOOST_TEST(!ungrouped->cost_nano_usd.has_value());

  const ModelDay* gpt41 = Find(snapshot, nov2, "gpt-4.1-2025-04-14");
  BOOST_REQUIRE(gpt41 != nullptr);
  BOOST_TEST((gpt41->tokens == Tokens(1200, 0, 0, 0, 700)));  // input_cached_tokens null
  BOOST_TEST(gpt41->requests == 3);
  BOOST_TEST(gpt41->cost_nano_usd == 2'000'000);  // 2e-3 dollars

  const ModelDay* images = Find(snapshot, nov2, "Image models");
  BOOST_REQUIRE(images != nullptr);
  BOOST_TEST(images->cost_nano_usd == 1'234'567'890);  // 1.23456789012 dollars
  BOOST_TEST(!images->tokens.has_value());

  const ModelDay* mini_nov2 = Find(snapshot, nov2, "gpt-4o-mini-2024-07-18");
  BOOST_REQUIRE(mini_nov2 != nullptr);
  BOOST_TEST(mini_nov2->cost_nano_usd == 2);  // 2.5 nano, half to even

  const ModelDay* null_line_item = Find(snapshot, nov2, "");
  BOOST_REQUIRE(null_line_item != nullptr);
  BOOST_TEST(null_line_item->cost_nano_usd == 0);

  // Sorted by day, then model.
  for (size_t i = 1; i < snapshot.days.size(); ++i) {
    const ModelDay& a = snapshot.days[i - 1];
    const ModelDay& b = snapshot.days[i];
    BOOST_TEST((a.day < b.day || (a.day == b.day && a.model < b.model)));
  }
}

BOOST_AUTO_TEST_CASE(documented_examples_verbatim) {
  auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
  Reply(*poll, "openai_usage_doc.json");
  Reply(*poll, "openai_usage_page2.json");
  Reply(*poll, "openai_costs_doc.json");
  ExpectDone(*poll);
  const BillingSnapshot snapshot = poll->Result();
  const ModelDay* row = Find(snapshot, sys_days{2024y / 11 / 1}, "gpt-4o-2024-08-06");
  BOOST_REQUIRE(row != nullptr);
  BOOST_TEST(row->cost_nano_usd == 60'000'000);  // 0.06 dollars, not cents
}

BOOST_AUTO_TEST_CASE(unaligned_first_bucket_counts_for_its_utc_day) {
  const system_clock::time_point now = sys_days{2025y / 1 / 13} + 1h;
  auto poll = MakePoll(BillingKind::kOpenAiOrg, now);
  // The window starts on the 1st of the month (month to date).
  BOOST_TEST(NextUrl(*poll) ==
             "https://api.openai.com/v1/organization/usage/completions?start_time=1735689600"
             "&end_time=1736812800&bucket_width=1d&group_by[]=model&limit=31");
  Reply(*poll, "openai_usage_unaligned.json");
  Reply(*poll, "openai_costs_doc.json");
  ExpectDone(*poll);
  const BillingSnapshot snapshot = poll->Result();
  const ModelDay* first = Find(snapshot, sys_days{2025y / 1 / 11}, "gpt-4o-2024-08-06");
  const ModelDay* second = Find(snapshot, sys_days{2025y / 1 / 12}, "gpt-4o-2024-08-06");
  BOOST_REQUIRE(first != nullptr);
  BOOST_REQUIRE(second != nullptr);
  BOOST_TEST((first->tokens == Tokens(20, 0, 0, 0, 5)));
  BOOST_TEST((second->tokens == Tokens(32, 8, 0, 0, 6)));
}

BOOST_AUTO_TEST_CASE(invalid_replies) {
  for (const char* file : {"openai_usage_cached_exceeds.json", "openai_usage_missing_output.json",
                           "openai_usage_no_data.json", "openai_usage_no_results.json"}) {
    BOOST_TEST_CONTEXT(file) {
      auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
      const PollError error = ReplyFileFails(*poll, file);
      BOOST_TEST(Reason(error) == "invalid_response");
      BOOST_TEST(error.message.starts_with("/v1/organization/usage/completions: "));
    }
  }
  for (const char* file : {"openai_costs_bad_amount.json", "openai_costs_eur.json"}) {
    BOOST_TEST_CONTEXT(file) {
      auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
      Reply(*poll, "openai_usage_unaligned.json");
      const PollError error = ReplyFileFails(*poll, file);
      BOOST_TEST(Reason(error) == "invalid_response");
      BOOST_TEST(error.message.starts_with("/v1/organization/costs: "));
    }
  }
}

BOOST_AUTO_TEST_CASE(page_cap_discards_the_poll) {
  auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow, "", /*page_cap=*/2);
  Reply(*poll, "openai_usage_doc.json");
  const PollError error = ReplyFileFails(*poll, "openai_usage_doc.json");
  BOOST_TEST(Reason(error) == "page_cap");
  BOOST_TEST(error.message == "/v1/organization/usage/completions: more than 2 pages");
}

BOOST_AUTO_TEST_CASE(base_url_forms) {
  for (const char* base : {"https://gw.example", "https://gw.example/", "https://gw.example/v1",
                           "https://gw.example/v1/"}) {
    BOOST_TEST_CONTEXT(base) {
      auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow, base);
      BOOST_TEST(
          NextUrl(*poll).starts_with("https://gw.example/v1/organization/usage/completions?"));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------- anthropic_admin

const std::string kAnthropicUsageUrl =
    "https://api.anthropic.com/v1/organizations/usage_report/messages"
    "?starting_at=2025-07-31T00:00:00Z&ending_at=2025-08-03T00:00:00Z&bucket_width=1d"
    "&group_by[]=model&limit=31";
const std::string kAnthropicCostUrl =
    "https://api.anthropic.com/v1/organizations/cost_report"
    "?starting_at=2025-07-31T00:00:00Z&ending_at=2025-08-03T00:00:00Z"
    "&group_by[]=description&limit=31";

BOOST_AUTO_TEST_SUITE(billing_anthropic_admin)

BOOST_AUTO_TEST_CASE(sends_the_admin_key_and_version) {
  auto poll = MakePoll(BillingKind::kAnthropicAdmin, kAnthropicNow);
  std::optional<HttpGet> get = poll->NextRequest();
  BOOST_REQUIRE(get.has_value());
  BOOST_TEST(get->url == kAnthropicUsageUrl);
  const std::vector<std::string> headers = {"Accept: application/json",
                                            "x-api-key: " + std::string(kKey),
                                            "anthropic-version: 2023-06-01"};
  BOOST_TEST(get->headers == headers, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(pages_usage_and_cost_reports) {
  auto poll = MakePoll(BillingKind::kAnthropicAdmin, kAnthropicNow);
  BOOST_TEST(NextUrl(*poll) == kAnthropicUsageUrl);
  Reply(*poll, "anthropic_usage_doc.json");
  BOOST_TEST(NextUrl(*poll) == kAnthropicUsageUrl + "&page=page_MjAyNS0wNS0xNFQwMDowMDowMFo%3D");
  Reply(*poll, "anthropic_usage_page2.json");
  BOOST_TEST(NextUrl(*poll) == kAnthropicCostUrl);
  Reply(*poll, "anthropic_cost_doc.json");
  BOOST_TEST(NextUrl(*poll) == kAnthropicCostUrl + "&page=page_MjAyNS0wNS0xNFQwMDowMDowMFo%3D");
  Reply(*poll, "anthropic_cost_page2.json");
  ExpectDone(*poll);

  const BillingSnapshot snapshot = poll->Result();
  BOOST_TEST(snapshot.days.size() == 4u);
  const sys_days aug1{2025y / 8 / 1};
  const sys_days aug2{2025y / 8 / 2};

  const ModelDay* sonnet = Find(snapshot, aug1, "claude-sonnet-4-20250514");
  BOOST_REQUIRE(sonnet != nullptr);
  // uncached 1500+100, cache read 200, writes 5m 500 / 1h 1000, output 500+20.
  BOOST_TEST((sonnet->tokens == Tokens(1600, 200, 500, 1000, 520)));
  BOOST_TEST(sonnet->requests == 0);
  // Cents: 123.78912 + 750 + 0.00000005 (0.5 nano, half to even: 0).
  BOOST_TEST(sonnet->cost_nano_usd == 1'237'891'200 + 7'500'000'000);

  // Web search and code execution have no model.
  const ModelDay* no_model = Find(snapshot, aug1, "");
  BOOST_REQUIRE(no_model != nullptr);
  BOOST_TEST(no_model->cost_nano_usd == 1'000'000'000 + 25'000'000);
  BOOST_TEST(!no_model->tokens.has_value());

  const ModelDay* haiku = Find(snapshot, aug2, "claude-3-5-haiku-20241022");
  BOOST_REQUIRE(haiku != nullptr);
  BOOST_TEST((haiku->tokens == Tokens(7, 11, 3, 0, 13)));
  BOOST_TEST(haiku->cost_nano_usd == 1'234'568);  // 0.123456789 cents

  const ModelDay* no_model_aug2 = Find(snapshot, aug2, "");
  BOOST_REQUIRE(no_model_aug2 != nullptr);
  BOOST_TEST((no_model_aug2->tokens == Tokens(1, 0, 0, 0, 2)));
  BOOST_TEST(!no_model_aug2->cost_nano_usd.has_value());
}

BOOST_AUTO_TEST_CASE(cost_example_is_cents_not_dollars) {
  auto poll = MakePoll(BillingKind::kAnthropicAdmin, kAnthropicNow, "", 20);
  Reply(*poll, "anthropic_usage_page2.json");
  Reply(*poll, "anthropic_cost_doc.json");
  Reply(*poll, "anthropic_cost_page2.json");
  const BillingSnapshot snapshot = poll->Result();
  const ModelDay* sonnet = Find(snapshot, sys_days{2025y / 8 / 1}, "claude-sonnet-4-20250514");
  BOOST_REQUIRE(sonnet != nullptr);
  // "123.78912" cents is $1.2378912, not $123.78912.
  BOOST_TEST(*sonnet->cost_nano_usd - 7'500'000'000 == 1'237'891'200);
}

BOOST_AUTO_TEST_CASE(invalid_replies) {
  for (const char* file :
       {"anthropic_cost_no_has_more.json", "anthropic_cost_more_without_page.json",
        "anthropic_cost_eur.json", "anthropic_cost_bad_start.json"}) {
    BOOST_TEST_CONTEXT(file) {
      auto poll = MakePoll(BillingKind::kAnthropicAdmin, kAnthropicNow);
      Reply(*poll, "anthropic_usage_page2.json");
      const PollError error = ReplyFileFails(*poll, file);
      BOOST_TEST(Reason(error) == "invalid_response");
      BOOST_TEST(error.message.starts_with("/v1/organizations/cost_report: "));
    }
  }
}

BOOST_AUTO_TEST_CASE(error_replies) {
  auto poll = MakePoll(BillingKind::kAnthropicAdmin, kAnthropicNow);
  PollError error = ReplyFileFails(*poll, "anthropic_error_auth.json", 401);
  BOOST_TEST(Reason(error) == "auth");
  BOOST_TEST(error.message ==
             "/v1/organizations/usage_report/messages: HTTP 401: invalid x-api-key");

  poll = MakePoll(BillingKind::kAnthropicAdmin, kAnthropicNow);
  error = ReplyFileFails(*poll, "anthropic_error_rate_limit.json", 429, "17");
  BOOST_TEST(Reason(error) == "http_429");
  BOOST_TEST(error.retry_after_seconds == 17);

  poll = MakePoll(BillingKind::kAnthropicAdmin, kAnthropicNow);
  error = ReplyFileFails(*poll, "anthropic_error_api.json", 500);
  BOOST_TEST(Reason(error) == "http_5xx");
  BOOST_TEST(!error.retry_after_seconds.has_value());

  poll = MakePoll(BillingKind::kAnthropicAdmin, kAnthropicNow);
  error = ReplyFileFails(*poll, "anthropic_error_api.json", 529);
  BOOST_TEST(Reason(error) == "http_5xx");

  poll = MakePoll(BillingKind::kAnthropicAdmin, kAnthropicNow);
  error = ReplyFileFails(*poll, "anthropic_error_not_found.json", 404);
  BOOST_TEST(Reason(error) == "unsupported");
}

BOOST_AUTO_TEST_SUITE_END()

// --------------------------------------------------------- openai_dashboard

BOOST_AUTO_TEST_SUITE(billing_openai_dashboard)

BOOST_AUTO_TEST_CASE(needs_a_base_url) {
  auto poll = NewBillingPoll(BillingKind::kOpenAiDashboard, "", config::Secret("env K", "sk-x"),
                             kAnthropicNow);
  BOOST_REQUIRE(!poll.has_value());
  BOOST_TEST(Reason(poll.error()) == "unsupported");
  BOOST_TEST(!DefaultBillingBaseUrl(BillingKind::kOpenAiDashboard).has_value());
}

BOOST_AUTO_TEST_CASE(reads_limit_in_dollars_and_usage_in_cents) {
  auto poll =
      MakePoll(BillingKind::kOpenAiDashboard, kAnthropicNow, "https://api.holysheep.ai/v1/");
  std::optional<HttpGet> get = poll->NextRequest();
  BOOST_REQUIRE(get.has_value());
  BOOST_TEST(get->url == "https://api.holysheep.ai/v1/dashboard/billing/subscription");
  const std::vector<std::string> headers = {"Accept: application/json",
                                            "Authorization: Bearer " + std::string(kKey)};
  BOOST_TEST(get->headers == headers, boost::test_tools::per_element());
  Reply(*poll, "dashboard_subscription_doc.json");
  BOOST_TEST(NextUrl(*poll) ==
             "https://api.holysheep.ai/v1/dashboard/billing/usage?start_date=2025-08-01"
             "&end_date=2025-08-02");
  Reply(*poll, "dashboard_usage.json");
  ExpectDone(*poll);
  const BillingSnapshot snapshot = poll->Result();
  BOOST_TEST(snapshot.limit_nano_usd == 25'000'000'000);  // $25
  BOOST_TEST(snapshot.used_nano_usd == 12'345'678'000);   // 1234.5678 cents = $12.345678
  BOOST_TEST(snapshot.days.empty());
  BOOST_TEST(snapshot.balances.empty());
}

BOOST_AUTO_TEST_CASE(unlimited_token) {
  auto poll = MakePoll(BillingKind::kOpenAiDashboard, kAnthropicNow, "http://127.0.0.1:3000");
  Reply(*poll, "dashboard_subscription_unlimited.json");
  Reply(*poll, "dashboard_usage_zero.json");
  ExpectDone(*poll);
  BOOST_TEST(poll->Result().limit_nano_usd == 100'000'000'000'000'000);
  BOOST_TEST(poll->Result().used_nano_usd == 0);
}

BOOST_AUTO_TEST_CASE(http_200_error_bodies_fail) {
  auto poll = MakePoll(BillingKind::kOpenAiDashboard, kAnthropicNow, "https://gw.example");
  PollError error = ReplyFileFails(*poll, "dashboard_200_error.json");
  BOOST_TEST(Reason(error) == "invalid_response");
  BOOST_TEST(error.message.starts_with(
      "/v1/dashboard/billing/subscription: error object in an HTTP 200 reply: "));

  poll = MakePoll(BillingKind::kOpenAiDashboard, kAnthropicNow, "https://gw.example");
  Reply(*poll, "dashboard_subscription_doc.json");
  error = ReplyFileFails(*poll, "dashboard_200_error_auth.json");
  BOOST_TEST(Reason(error) == "auth");
  BOOST_TEST(error.message.starts_with("/v1/dashboard/billing/usage: "));
}

BOOST_AUTO_TEST_CASE(html_instead_of_json_is_unsupported) {
  auto poll = MakePoll(BillingKind::kOpenAiDashboard, kAnthropicNow, "https://gw.example");
  PollError error = ReplyFileFails(*poll, "dashboard_html.html");
  BOOST_TEST(Reason(error) == "unsupported");
  BOOST_TEST(error.message == "/v1/dashboard/billing/subscription: HTML where JSON was expected");
  // An HTML error page on a 5xx is the 5xx.
  poll = MakePoll(BillingKind::kOpenAiDashboard, kAnthropicNow, "https://gw.example");
  error = ReplyFileFails(*poll, "../html_502.html", 502);
  BOOST_TEST(Reason(error) == "http_5xx");
  BOOST_TEST(error.message ==
             "/v1/dashboard/billing/subscription: HTTP 502: HTML body: 502 Bad Gateway");
  poll = MakePoll(BillingKind::kOpenAiDashboard, kAnthropicNow, "https://gw.example");
  error = ReplyFileFails(*poll, "dashboard_html.html", 404);
  BOOST_TEST(Reason(error) == "unsupported");
}

BOOST_AUTO_TEST_CASE(missing_limit) {
  auto poll = MakePoll(BillingKind::kOpenAiDashboard, kAnthropicNow, "https://gw.example");
  const PollError error = ReplyFileFails(*poll, "dashboard_subscription_no_limit.json");
  BOOST_TEST(Reason(error) == "invalid_response");
  BOOST_TEST(error.message ==
             "/v1/dashboard/billing/subscription: field hard_limit_usd is missing");
}

BOOST_AUTO_TEST_CASE(keyless_gateway_sends_no_auth) {
  auto poll =
      MakePoll(BillingKind::kOpenAiDashboard, kAnthropicNow, "http://127.0.0.1:3000", 20, "");
  std::optional<HttpGet> get = poll->NextRequest();
  BOOST_REQUIRE(get.has_value());
  const std::vector<std::string> headers = {"Accept: application/json"};
  BOOST_TEST(get->headers == headers, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// --------------------------------------------------------- deepseek_balance

BOOST_AUTO_TEST_SUITE(billing_deepseek_balance)

BOOST_AUTO_TEST_CASE(documented_example) {
  auto poll = MakePoll(BillingKind::kDeepSeekBalance, kAnthropicNow);
  std::optional<HttpGet> get = poll->NextRequest();
  BOOST_REQUIRE(get.has_value());
  BOOST_TEST(get->url == "https://api.deepseek.com/user/balance");
  BOOST_TEST(get->headers.back() == "Authorization: Bearer " + std::string(kKey));
  Reply(*poll, "deepseek_balance_doc.json");
  ExpectDone(*poll);
  const BillingSnapshot snapshot = poll->Result();
  BOOST_TEST(snapshot.available == true);
  BOOST_REQUIRE(snapshot.balances.size() == 1u);
  BOOST_TEST(snapshot.balances[0].currency == "CNY");
  BOOST_TEST(snapshot.balances[0].total_nano == 110'000'000'000);
}

BOOST_AUTO_TEST_CASE(several_currencies) {
  auto poll = MakePoll(BillingKind::kDeepSeekBalance, kAnthropicNow, "https://api.deepseek.com/v1");
  BOOST_TEST(NextUrl(*poll) == "https://api.deepseek.com/user/balance");
  Reply(*poll, "deepseek_balance_multi.json");
  const BillingSnapshot snapshot = poll->Result();
  BOOST_TEST(snapshot.available == false);
  BOOST_REQUIRE(snapshot.balances.size() == 2u);
  BOOST_TEST(snapshot.balances[0].currency == "CNY");
  BOOST_TEST(snapshot.balances[0].total_nano == 500'000'000);  // "cny" -1.5 and CNY 2
  BOOST_TEST(snapshot.balances[1].currency == "USD");
  BOOST_TEST(snapshot.balances[1].total_nano == 123'456'789);
}

BOOST_AUTO_TEST_CASE(no_balances) {
  auto poll = MakePoll(BillingKind::kDeepSeekBalance, kAnthropicNow);
  Reply(*poll, "deepseek_balance_empty.json");
  BOOST_TEST(poll->Result().balances.empty());
  BOOST_TEST(poll->Result().available == false);
}

BOOST_AUTO_TEST_CASE(invalid_replies) {
  for (const char* file : {"deepseek_balance_bad_amount.json", "deepseek_balance_bad_currency.json",
                           "deepseek_balance_no_available.json"}) {
    BOOST_TEST_CONTEXT(file) {
      auto poll = MakePoll(BillingKind::kDeepSeekBalance, kAnthropicNow);
      BOOST_TEST(Reason(ReplyFileFails(*poll, file)) == "invalid_response");
    }
  }
  auto poll = MakePoll(BillingKind::kDeepSeekBalance, kAnthropicNow);
  const PollError error = ReplyFileFails(*poll, "deepseek_error_auth.json", 401);
  BOOST_TEST(Reason(error) == "auth");
  BOOST_TEST(error.message.starts_with("/user/balance: HTTP 401: Authentication Fails"));
}

BOOST_AUTO_TEST_SUITE_END()

// --------------------------------------------------------------- openrouter

BOOST_AUTO_TEST_SUITE(billing_openrouter)

BOOST_AUTO_TEST_CASE(credits_and_key) {
  auto poll = MakePoll(BillingKind::kOpenRouter, kAnthropicNow);
  BOOST_TEST(NextUrl(*poll) == "https://openrouter.ai/api/v1/credits");
  Reply(*poll, "openrouter_credits_doc.json");
  BOOST_TEST(NextUrl(*poll) == "https://openrouter.ai/api/v1/key");
  Reply(*poll, "openrouter_key_doc.json");
  ExpectDone(*poll);
  const BillingSnapshot snapshot = poll->Result();
  BOOST_REQUIRE(snapshot.balances.size() == 1u);
  BOOST_TEST(snapshot.balances[0].currency == "USD");
  BOOST_TEST(snapshot.balances[0].total_nano == 74'750'000'000);  // 100.5 - 25.75
  BOOST_TEST(snapshot.limit_nano_usd == 100'000'000'000);
  BOOST_TEST(snapshot.used_nano_usd == 25'500'000'000);
}

BOOST_AUTO_TEST_CASE(refused_credits_fall_back_to_the_key) {
  for (long status : {401L, 403L}) {
    BOOST_TEST_CONTEXT(status) {
      auto poll = MakePoll(BillingKind::kOpenRouter, kAnthropicNow, "https://openrouter.ai/api/v1");
      BOOST_TEST(NextUrl(*poll) == "https://openrouter.ai/api/v1/credits");
      Reply(*poll, "openrouter_error_management_key.json", status);
      BOOST_TEST(NextUrl(*poll) == "https://openrouter.ai/api/v1/key");
      Reply(*poll, "openrouter_key_doc.json");
      ExpectDone(*poll);
      const BillingSnapshot snapshot = poll->Result();
      BOOST_REQUIRE(snapshot.balances.size() == 1u);
      BOOST_TEST(snapshot.balances[0].total_nano == 74'500'000'000);  // limit_remaining
      BOOST_TEST(snapshot.limit_nano_usd == 100'000'000'000);
    }
  }
}

BOOST_AUTO_TEST_CASE(unlimited_key_without_credits) {
  auto poll = MakePoll(BillingKind::kOpenRouter, kAnthropicNow);
  Reply(*poll, "openrouter_error_management_key.json", 403);
  Reply(*poll, "openrouter_key_unlimited.json");
  const BillingSnapshot snapshot = poll->Result();
  BOOST_TEST(snapshot.balances.empty());
  BOOST_TEST(!snapshot.limit_nano_usd.has_value());
  BOOST_TEST(snapshot.used_nano_usd == 123'456'789);  // 0.123456789012 rounded to the nano
}

BOOST_AUTO_TEST_CASE(other_failures_fail_the_poll) {
  auto poll = MakePoll(BillingKind::kOpenRouter, kAnthropicNow);
  PollError error = ReplyFileFails(*poll, "../html_502.html", 502);
  BOOST_TEST(Reason(error) == "http_5xx");
  BOOST_TEST(error.message.starts_with("/api/v1/credits: "));

  // The key endpoint is not optional.
  poll = MakePoll(BillingKind::kOpenRouter, kAnthropicNow);
  Reply(*poll, "openrouter_credits_doc.json");
  error = ReplyFileFails(*poll, "openrouter_error_no_auth.json", 401);
  BOOST_TEST(Reason(error) == "auth");
  BOOST_TEST(error.message == "/api/v1/key: HTTP 401: No auth credentials found");

  poll = MakePoll(BillingKind::kOpenRouter, kAnthropicNow);
  Reply(*poll, "openrouter_credits_doc.json");
  error = ReplyFileFails(*poll, "openrouter_key_no_usage.json");
  BOOST_TEST(Reason(error) == "invalid_response");
  BOOST_TEST(error.message == "/api/v1/key: field usage is missing");
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------- classification, all kinds

BOOST_AUTO_TEST_SUITE(billing_reply_classification)

BOOST_AUTO_TEST_CASE(status_classes) {
  struct Case {
    long status;
    std::string_view file;
    std::string_view reason;
  };
  const Case cases[] = {
      {401, "openai_error_admin_key.json", "auth"},
      {403, "openai_error_admin_key.json", "auth"},
      {400, "openai_error_rate_limit.json", "http_4xx"},
      {429, "openai_error_rate_limit.json", "http_429"},
      {500, "anthropic_error_api.json", "http_5xx"},
      {503, "../html_502.html", "http_5xx"},
      {404, "openai_error_rate_limit.json", "unsupported"},
      {302, "dashboard_html.html", "invalid_response"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.status << " " << c.file) {
      auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
      BOOST_TEST(Reason(ReplyFileFails(*poll, c.file, c.status)) == c.reason);
    }
  }
}

BOOST_AUTO_TEST_CASE(auth_error_never_echoes_a_key) {
  auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
  const PollError error = ReplyFileFails(*poll, "openai_error_admin_key.json", 401);
  BOOST_TEST(error.message.find("sk-proj-abcdefghijklmnop1234") == std::string::npos);
  BOOST_TEST(error.message.find("<secret>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(retry_after_seconds_or_date) {
  auto poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
  PollError error = ReplyFileFails(*poll, "openai_error_rate_limit.json", 429, "30");
  BOOST_TEST(error.retry_after_seconds == 30);
  BOOST_TEST(error.message ==
             "/v1/organization/usage/completions: HTTP 429: "
             "Rate limit reached for requests");

  poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
  error =
      ReplyFileFails(*poll, "openai_error_rate_limit.json", 429, "Sat, 02 Nov 2024 15:31:00 GMT");
  BOOST_TEST(error.retry_after_seconds == 60);

  poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
  error = ReplyFileFails(*poll, "../html_502.html", 503, "120");
  BOOST_TEST(Reason(error) == "http_5xx");
  BOOST_TEST(error.retry_after_seconds == 120);

  poll = MakePoll(BillingKind::kOpenAiOrg, kOpenAiNow);
  error = ReplyFileFails(*poll, "openai_error_rate_limit.json", 429, "soon");
  BOOST_TEST(!error.retry_after_seconds.has_value());
}

BOOST_AUTO_TEST_CASE(unreadable_bodies) {
  for (std::string_view body :
       {std::string_view(""), std::string_view("OK"), std::string_view("[]"),
        std::string_view("{\"data\":"), std::string_view("\"text\"")}) {
    BOOST_TEST_CONTEXT(body) {
      auto poll = MakePoll(BillingKind::kDeepSeekBalance, kAnthropicNow);
      BOOST_TEST(Reason(ReplyFails(*poll, body)) == "invalid_response");
    }
  }
}

BOOST_AUTO_TEST_CASE(reply_after_the_end_is_an_error) {
  auto poll = MakePoll(BillingKind::kDeepSeekBalance, kAnthropicNow);
  Reply(*poll, "deepseek_balance_doc.json");
  ExpectDone(*poll);
  const auto replied = poll->OnResponse(200, "{}", "");
  BOOST_TEST(!replied.has_value());
}

BOOST_AUTO_TEST_CASE(default_base_urls_and_reason_names) {
  BOOST_TEST(*DefaultBillingBaseUrl(BillingKind::kOpenAiOrg) == "https://api.openai.com");
  BOOST_TEST(*DefaultBillingBaseUrl(BillingKind::kAnthropicAdmin) == "https://api.anthropic.com");
  BOOST_TEST(*DefaultBillingBaseUrl(BillingKind::kDeepSeekBalance) == "https://api.deepseek.com");
  BOOST_TEST(*DefaultBillingBaseUrl(BillingKind::kOpenRouter) == "https://openrouter.ai");
  BOOST_TEST(PollErrorReasonName(PollErrorReason::kTimeout) == "timeout");
  BOOST_TEST(PollErrorReasonName(PollErrorReason::kUnsupported) == "unsupported");
  BOOST_TEST(PollErrorReasonName(PollErrorReason::kPageCap) == "page_cap");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::probes::billing
