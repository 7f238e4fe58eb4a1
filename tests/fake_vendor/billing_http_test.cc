// The fake vendor over HTTP: billing reports that sum to the traffic it served.

#include "tests/fake_vendor/http_test_support.h"

namespace llm_exporter::fake_vendor::testing {
namespace {

BOOST_AUTO_TEST_SUITE(billing)

const std::string kPricesFile = LLM_EXPORTER_SOURCE_DIR "/pricing/fake_prices.toml";
const std::string kApiKey = "sk-test-fake-0123456789";
const std::string kAdminKey = "sk-admin-fake-9876543210";
const std::vector<std::string> kApiAuth = {"Authorization: Bearer " + kApiKey};
const std::vector<std::string> kOpenAiAdmin = {"Authorization: Bearer " + kAdminKey};
const std::vector<std::string> kAnthropicAdmin = {"x-api-key: " + kAdminKey,
                                                  "anthropic-version: 2023-06-01"};

std::vector<std::string> BillingArgs(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--prices", kPricesFile,   "--api-key",
                                   kApiKey,    "--admin-key", kAdminKey};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Numbers stay text, so money is compared exactly.
rapidjson::Document JsonExact(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(text.data(), text.size());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject(), "not a JSON object: " << text);
  return doc;
}

int64_t IntOf(const rapidjson::Value& value) { return std::stoll(Str(value)); }

// Exact nano-units of decimal money text; scale 9 for dollars, 7 for cents.
int64_t NanoOf(const rapidjson::Value& value, int scale) {
  const std::string text = Str(value);
  BOOST_TEST(text.find_first_of("eE") == std::string::npos, "not plain decimal: " << text);
  const auto nano = base::ScaleDecimal(text, scale, base::Rounding::kExact, int64_t{1} << 62);
  BOOST_REQUIRE_MESSAGE(nano, "not exact decimal money: " << text);
  return *nano;
}

// What the exporter computes for one reply: CostNanoUsd on the fake table
// (`input` is every prompt token, cache reads and writes included).
int64_t ExpectedCost(std::string_view model, int64_t input, int64_t cached, int64_t output,
                     int64_t skew = kUnitSkew, int64_t write_5m = 0, int64_t write_1h = 0) {
  static const pricing::PriceBook book = [] {
    auto loaded = pricing::LoadPriceBook({kPricesFile}, "");
    BOOST_REQUIRE(loaded);
    return std::move(*loaded);
  }();
  const pricing::PriceRow* row = book.Find("fake", model, std::chrono::system_clock::now());
  BOOST_REQUIRE(row != nullptr);
  return ApplySkew(pricing::CostNanoUsd(*row, {.input = input - cached - write_5m - write_1h,
                                               .cached_input = cached,
                                               .cache_write_5m = write_5m,
                                               .cache_write_1h = write_1h,
                                               .output = output}),
                   skew);
}

struct Served {
  int64_t requests = 0;
  int64_t input = 0;  // cache reads and writes included
  int64_t cached = 0;
  int64_t output = 0;
  int64_t write_5m = 0;
  int64_t write_1h = 0;
  int64_t cost = 0;
};

// Sample traffic over both chat dialects; returns what a vendor must bill per model.
std::map<std::string, Served> ServeSampleTraffic(const FakeVendorProcess& vendor) {
  std::map<std::string, Served> served;
  auto add = [&](const std::string& model, int64_t input, int64_t cached, int64_t output,
                 bool priced = true, int64_t write_5m = 0, int64_t write_1h = 0) {
    Served& s = served[model];
    ++s.requests;
    s.input += input;
    s.cached += cached;
    s.output += output;
    s.write_5m += write_5m;
    s.write_1h += write_1h;
    if (priced) s.cost += ExpectedCost(model, input, cached, output, kUnitSkew, write_5m, write_1h);
  };
  BOOST_REQUIRE(Post(vendor, "/v1/chat/completions",
                     OpenAiBody("ping", 3, false, false, "fake-gpt"), kApiAuth)
                    .status == 200);
  add("fake-gpt", kPingInputTokens, 0, 3);
  const HttpResult stream =
      Post(vendor, "/v1/chat/completions", OpenAiBody("[cached] ping!!", 0, true, true, "fake-gpt"),
           kApiAuth);
  BOOST_REQUIRE(stream.status == 200);
  add("fake-gpt", InputTokensFor(15, 1), InputTokensFor(15, 1) / 2, 8);
  BOOST_REQUIRE(
      Post(vendor, "/v1/messages", AnthropicBody("ping", 16, false, "fake-claude"), kApiAuth)
          .status == 200);
  add("fake-claude", kPingInputTokens, 0, 8);
  BOOST_REQUIRE(Post(vendor, "/v1/messages",
                     AnthropicBody("[cached] hello there", 2, true, "fake-claude"), kApiAuth)
                    .status == 200);
  add("fake-claude", InputTokensFor(20, 1), InputTokensFor(20, 1) / 2, 2);
  // Cache writes: billed at their prices on Anthropic; on OpenAI the markers are plain text.
  const std::string writes = "[cache-write][cache-write-1h] a prompt worth caching";
  const int64_t writes_input = InputTokensFor(static_cast<int64_t>(writes.size()), 1);
  BOOST_REQUIRE(
      Post(vendor, "/v1/messages", AnthropicBody(writes, 3, false, "fake-claude"), kApiAuth)
          .status == 200);
  add("fake-claude", writes_input, 0, 3, true, writes_input / 4, writes_input / 4);
  BOOST_REQUIRE(Post(vendor, "/v1/messages",
                     AnthropicBody("[cached][cache-write] streamed", 1, true, "fake-claude"),
                     kApiAuth)
                    .status == 200);
  add("fake-claude", InputTokensFor(30, 1), InputTokensFor(30, 1) / 2, 1, true,
      InputTokensFor(30, 1) / 4, 0);
  BOOST_REQUIRE(Post(vendor, "/v1/chat/completions",
                     OpenAiBody(writes, 3, false, false, "fake-gpt"), kApiAuth)
                    .status == 200);
  add("fake-gpt", writes_input, 0, 3);
  BOOST_REQUIRE(Post(vendor, "/v1/chat/completions", OpenAiBody("ping"), kApiAuth).status == 200);
  add("gpt-4o-mini", kPingInputTokens, 0, 8, /*priced=*/false);
  // Failed replies are not billed.
  SetFault(vendor, R"({"fault":"http_500","count":1})");
  BOOST_REQUIRE(Post(vendor, "/v1/chat/completions",
                     OpenAiBody("ping", 3, false, false, "fake-gpt"), kApiAuth)
                    .status == 500);
  return served;
}

int64_t TotalCost(const std::map<std::string, Served>& served) {
  int64_t total = 0;
  for (const auto& [model, s] : served) total += s.cost;
  return total;
}

// GETs a report and follows next_page until has_more is false.
std::vector<rapidjson::Document> FetchAllPages(const FakeVendorProcess& vendor,
                                               const std::string& path_and_query,
                                               const std::vector<std::string>& headers) {
  std::vector<rapidjson::Document> pages;
  std::string page;
  for (int guard = 0; guard < 100; ++guard) {
    const HttpResult result =
        Get(vendor, path_and_query + (page.empty() ? "" : "&page=" + page), headers);
    BOOST_REQUIRE_MESSAGE(result.status == 200, result.body);
    BOOST_TEST(result.headers.at("content-type") == "application/json");
    pages.push_back(JsonExact(result.body));
    const auto& doc = pages.back();
    BOOST_REQUIRE(doc["has_more"].IsBool());
    if (!doc["has_more"].GetBool()) {
      BOOST_TEST(doc["next_page"].IsNull());
      return pages;
    }
    page = Str(doc["next_page"]);
    BOOST_TEST(page.starts_with("page_"));
  }
  BOOST_FAIL("pagination did not end");
  return pages;
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Day buckets from the UTC day of `start` through today.
int64_t DaysThroughToday(int64_t start) { return UnixNow() / 86400 - start / 86400 + 1; }

BOOST_AUTO_TEST_CASE(openai_org_usage_and_costs_sum_to_what_was_served) {
  auto vendor = StartVendor(BillingArgs());
  const auto served = ServeSampleTraffic(*vendor);
  const int64_t start = UnixNow() - 4 * 86400 - 1234;  // unaligned
  const int64_t buckets = DaysThroughToday(start);

  for (const std::string group_by :
       {"group_by[]=model", "group_by=model", "group_by%5B%5D=model"}) {
    BOOST_TEST_CONTEXT(group_by) {
      const auto pages = FetchAllPages(
          *vendor,
          "/v1/organization/usage/completions?bucket_width=1d&start_time=" + std::to_string(start) +
              "&" + group_by,
          kOpenAiAdmin);
      BOOST_TEST(static_cast<int64_t>(pages.size()) == (buckets + 1) / 2);  // 2 buckets a page
      std::map<std::string, Served> reported;
      int64_t bucket_count = 0;
      for (const auto& page : pages) {
        BOOST_TEST(Str(page["object"]) == "page");
        for (const auto& bucket : page["data"].GetArray()) {
          BOOST_TEST(Str(bucket["object"]) == "bucket");
          BOOST_TEST(IntOf(bucket["start_time"]) ==
                     (bucket_count == 0 ? start : (start / 86400 + bucket_count) * 86400));
          BOOST_TEST(IntOf(bucket["end_time"]) == (start / 86400 + bucket_count + 1) * 86400);
          ++bucket_count;
          for (const auto& result : bucket["results"].GetArray()) {
            BOOST_TEST(Str(result["object"]) == "organization.usage.completions.result");
            BOOST_TEST(IntOf(result["input_audio_tokens"]) == 0);
            BOOST_TEST(IntOf(result["output_audio_tokens"]) == 0);
            BOOST_TEST(result["project_id"].IsNull());
            BOOST_TEST(result["api_key_id"].IsNull());
            Served& r = reported[Str(result["model"])];
            r.requests += IntOf(result["num_model_requests"]);
            r.input += IntOf(result["input_tokens"]);
            r.cached += IntOf(result["input_cached_tokens"]);
            r.output += IntOf(result["output_tokens"]);
          }
        }
      }
      BOOST_TEST(bucket_count == buckets);
      BOOST_TEST_REQUIRE(reported.size() == served.size());
      for (const auto& [model, s] : served) {
        BOOST_TEST_CONTEXT(model) {
          BOOST_TEST(reported[model].requests == s.requests);
          BOOST_TEST(reported[model].input == s.input);  // cached included
          BOOST_TEST(reported[model].cached == s.cached);
          BOOST_TEST(reported[model].output == s.output);
        }
      }
    }
  }

  const auto pages = FetchAllPages(*vendor,
                                   "/v1/organization/costs?bucket_width=1d&limit=180&start_time=" +
                                       std::to_string(start) + "&group_by[]=line_item",
                                   kOpenAiAdmin);
  BOOST_TEST(static_cast<int64_t>(pages.size()) == (buckets + 1) / 2);
  std::map<std::string, int64_t> cost;
  std::set<std::string> line_items;
  for (const auto& page : pages) {
    for (const auto& bucket : page["data"].GetArray()) {
      for (const auto& result : bucket["results"].GetArray()) {
        BOOST_TEST(Str(result["object"]) == "organization.costs.result");
        BOOST_TEST(Str(result["amount"]["currency"]) == "usd");
        const std::string item = Str(result["line_item"]);
        line_items.insert(item);
        cost[item.substr(0, item.find(','))] += NanoOf(result["amount"]["value"], 9);
      }
    }
  }
  const std::set<std::string> expected_items = {
      "fake-claude, input",          "fake-claude, cached input", "fake-claude, cache write 5m",
      "fake-claude, cache write 1h", "fake-claude, output",       "fake-gpt, input",
      "fake-gpt, cached input",      "fake-gpt, output",          "gpt-4o-mini, input",
      "gpt-4o-mini, output"};
  BOOST_TEST(line_items == expected_items, boost::test_tools::per_element());
  for (const auto& [model, s] : served) BOOST_TEST(cost[model] == s.cost, model);

  // Ungrouped: one result per day holding the day's total.
  int64_t total = 0;
  for (const auto& page : FetchAllPages(
           *vendor, "/v1/organization/costs?start_time=" + std::to_string(start), kOpenAiAdmin)) {
    for (const auto& bucket : page["data"].GetArray()) {
      BOOST_TEST(bucket["results"].Size() <= 1u);
      for (const auto& result : bucket["results"].GetArray()) {
        BOOST_TEST(result["line_item"].IsNull());
        total += NanoOf(result["amount"]["value"], 9);
      }
    }
  }
  BOOST_TEST(total == TotalCost(served));
  BOOST_TEST(total > 0);

  // The stats agree.
  const auto stats = Stats(*vendor);
  BOOST_TEST(stats["totals"]["cost_nano_usd"].GetInt64() == TotalCost(served));
  BOOST_TEST(stats["models"]["fake-gpt"]["cost_nano_usd"].GetInt64() == served.at("fake-gpt").cost);
  for (const auto& [model, s] : served) {
    BOOST_TEST_CONTEXT(model) {
      const auto& counters = stats["models"][model.c_str()];
      BOOST_TEST(counters["cost_nano_usd"].GetInt64() == s.cost);
      BOOST_TEST(counters["input_tokens"].GetInt64() == s.input);
      BOOST_TEST(counters["cache_write_5m_tokens"].GetInt64() == s.write_5m);
      BOOST_TEST(counters["cache_write_1h_tokens"].GetInt64() == s.write_1h);
    }
  }
  BOOST_TEST(served.at("fake-claude").write_1h > 0);
  BOOST_TEST(served.at("fake-gpt").write_5m == 0);
  BOOST_TEST(stats["models"]["gpt-4o-mini"]["unpriced_requests"].GetInt64() == 1);
  BOOST_TEST(stats["routes"]["/v1/organization/costs"]["served"].GetInt64() >= 2);
}

BOOST_AUTO_TEST_CASE(anthropic_usage_and_cost_reports_sum_to_what_was_served) {
  auto vendor = StartVendor(BillingArgs({"--billing-page-size", "1"}));
  const auto served = ServeSampleTraffic(*vendor);
  const int64_t start = UnixNow() - 2 * 86400;
  const std::string starting_at =
      FormatRfc3339(std::chrono::sys_seconds(std::chrono::seconds(start)));
  const int64_t buckets = DaysThroughToday(start);

  const auto usage =
      FetchAllPages(*vendor,
                    "/v1/organizations/usage_report/messages?starting_at=" + starting_at +
                        "&bucket_width=1d&group_by[]=model&limit=31",
                    kAnthropicAdmin);
  BOOST_TEST(static_cast<int64_t>(usage.size()) == buckets);  // one bucket a page
  std::map<std::string, Served> reported;
  for (const auto& page : usage) {
    BOOST_TEST(!page.HasMember("object"));
    BOOST_TEST_REQUIRE(page["data"].Size() == 1u);
    const auto& bucket = page["data"][0];
    BOOST_TEST(Str(bucket["starting_at"]).ends_with("T00:00:00Z"));
    BOOST_TEST(Str(bucket["ending_at"]).ends_with("T00:00:00Z"));
    for (const auto& result : bucket["results"].GetArray()) {
      Served& r = reported[Str(result["model"])];
      r.input += IntOf(result["uncached_input_tokens"]) + IntOf(result["cache_read_input_tokens"]) +
                 IntOf(result["cache_creation"]["ephemeral_5m_input_tokens"]) +
                 IntOf(result["cache_creation"]["ephemeral_1h_input_tokens"]);
      r.cached += IntOf(result["cache_read_input_tokens"]);
      r.write_5m += IntOf(result["cache_creation"]["ephemeral_5m_input_tokens"]);
      r.write_1h += IntOf(result["cache_creation"]["ephemeral_1h_input_tokens"]);
      r.output += IntOf(result["output_tokens"]);
      BOOST_TEST(result["workspace_id"].IsNull());
    }
  }
  BOOST_TEST(Str(usage.front()["data"][0]["starting_at"]) ==
             FormatRfc3339(std::chrono::sys_seconds(std::chrono::seconds(start / 86400 * 86400))));
  for (const auto& [model, s] : served) {
    BOOST_TEST(reported[model].input == s.input, model);
    BOOST_TEST(reported[model].cached == s.cached, model);
    BOOST_TEST(reported[model].write_5m == s.write_5m, model);
    BOOST_TEST(reported[model].write_1h == s.write_1h, model);
    BOOST_TEST(reported[model].output == s.output, model);
  }

  const auto costs = FetchAllPages(
      *vendor,
      "/v1/organizations/cost_report?starting_at=" + starting_at + "&group_by[]=description",
      kAnthropicAdmin);
  std::map<std::string, int64_t> cost;
  std::set<std::string> token_types;
  for (const auto& page : costs) {
    for (const auto& result : page["data"][0]["results"].GetArray()) {
      BOOST_TEST(Str(result["currency"]) == "USD");
      BOOST_TEST(Str(result["cost_type"]) == "tokens");
      BOOST_TEST(Str(result["description"]).find(" Usage - ") != std::string::npos);
      token_types.insert(Str(result["token_type"]));
      cost[Str(result["model"])] += NanoOf(result["amount"], 7);  // cents
    }
  }
  const std::set<std::string> expected_types = {"uncached_input_tokens", "cache_read_input_tokens",
                                                "cache_creation.ephemeral_5m_input_tokens",
                                                "cache_creation.ephemeral_1h_input_tokens",
                                                "output_tokens"};
  BOOST_TEST(token_types == expected_types, boost::test_tools::per_element());
  for (const auto& [model, s] : served) BOOST_TEST(cost[model] == s.cost, model);

  int64_t total = 0;
  for (const auto& page : FetchAllPages(
           *vendor, "/v1/organizations/cost_report?starting_at=" + starting_at, kAnthropicAdmin)) {
    for (const auto& result : page["data"][0]["results"].GetArray()) {
      BOOST_TEST(result["description"].IsNull());
      total += NanoOf(result["amount"], 7);
    }
  }
  BOOST_TEST(total == TotalCost(served));
}

BOOST_AUTO_TEST_CASE(balances_and_gateway_dashboard) {
  auto vendor = StartVendor(BillingArgs({"--quota-usd", "10", "--cny-balance", "7.5"}));
  const int64_t total = TotalCost(ServeSampleTraffic(*vendor));
  const int64_t quota = 10'000'000'000;

  for (const char* path :
       {"/v1/dashboard/billing/subscription", "/dashboard/billing/subscription"}) {
    const HttpResult result = Get(*vendor, path, kApiAuth);
    BOOST_TEST_REQUIRE(result.status == 200);
    BOOST_TEST(result.body ==
               R"({"object":"billing_subscription","has_payment_method":true,)"
               R"("soft_limit_usd":10.0,"hard_limit_usd":10.0,"system_hard_limit_usd":10.0,)"
               R"("access_until":0})");
  }
  const HttpResult usage = Get(*vendor, "/v1/dashboard/billing/usage", kApiAuth);
  BOOST_TEST_REQUIRE(usage.status == 200);
  const auto usage_doc = JsonExact(usage.body);
  BOOST_TEST(Str(usage_doc["object"]) == "list");
  BOOST_TEST(NanoOf(usage_doc["total_usage"], 7) == total);  // cents
  // start_date/end_date are ignored, as by one-api and new-api.
  BOOST_TEST(
      Get(*vendor, "/dashboard/billing/usage?start_date=2000-01-01&end_date=2000-01-02", kApiAuth)
          .body == usage.body);

  const HttpResult balance = Get(*vendor, "/user/balance", kApiAuth);
  BOOST_TEST_REQUIRE(balance.status == 200);
  const auto balance_doc = JsonExact(balance.body);
  BOOST_TEST(balance_doc["is_available"].GetBool());
  const auto& infos = balance_doc["balance_infos"];
  BOOST_TEST_REQUIRE(infos.Size() == 2u);
  BOOST_TEST(Str(infos[0]["currency"]) == "USD");
  BOOST_TEST(Str(infos[0]["total_balance"]) == DollarsText(quota - total, 2));
  BOOST_TEST(NanoOf(infos[0]["total_balance"], 9) == quota - total);
  BOOST_TEST(Str(infos[0]["granted_balance"]) == "0.00");
  BOOST_TEST(Str(infos[0]["topped_up_balance"]) == Str(infos[0]["total_balance"]));
  BOOST_TEST(Str(infos[1]["currency"]) == "CNY");
  BOOST_TEST(Str(infos[1]["total_balance"]) == "7.50");

  const auto credits = JsonExact(Get(*vendor, "/api/v1/credits", kApiAuth).body);
  BOOST_TEST(NanoOf(credits["data"]["total_credits"], 9) == quota);
  BOOST_TEST(NanoOf(credits["data"]["total_usage"], 9) == total);

  for (const char* path : {"/api/v1/key", "/api/v1/auth/key"}) {
    const HttpResult key = Get(*vendor, path, kApiAuth);
    BOOST_TEST_REQUIRE(key.status == 200);
    BOOST_TEST(key.body.find(kApiKey) == std::string::npos);
    const auto doc = JsonExact(key.body);
    const auto& data = doc["data"];
    BOOST_TEST(Str(data["label"]) == "sk-test-fak...789");
    BOOST_TEST(NanoOf(data["limit"], 9) == quota);
    BOOST_TEST(NanoOf(data["limit_remaining"], 9) == quota - total);
    BOOST_TEST(NanoOf(data["usage"], 9) == total);
    BOOST_TEST(NanoOf(data["usage_daily"], 9) <= total);
    BOOST_TEST(NanoOf(data["usage_monthly"], 9) >= NanoOf(data["usage_daily"], 9));
    BOOST_TEST(data["limit_reset"].IsNull());
    BOOST_TEST(!data["is_free_tier"].GetBool());
  }
}

BOOST_AUTO_TEST_CASE(admin_routes_want_the_admin_key_others_the_api_key) {
  auto vendor = StartVendor(BillingArgs());
  const std::string openai_usage =
      "/v1/organization/usage/completions?start_time=" + std::to_string(UnixNow() - 86400);
  const std::string openai_costs =
      "/v1/organization/costs?start_time=" + std::to_string(UnixNow() - 86400);
  for (const std::string& path : {openai_usage, openai_costs}) {
    BOOST_TEST_CONTEXT(path) {
      const HttpResult none = Get(*vendor, path);
      BOOST_TEST(none.status == 401);
      BOOST_TEST(Str(Json(none.body)["error"]["code"]) == "invalid_api_key");
      BOOST_TEST(Get(*vendor, path, kApiAuth).status == 401);  // a normal key is refused
      BOOST_TEST(Get(*vendor, path, {"x-api-key: " + kAdminKey}).status == 401);
      BOOST_TEST(Get(*vendor, path, kOpenAiAdmin).status == 200);
    }
  }

  const std::string today =
      FormatRfc3339(std::chrono::sys_seconds(std::chrono::seconds(UnixNow())));
  for (const std::string path : {"/v1/organizations/usage_report/messages?starting_at=",
                                 "/v1/organizations/cost_report?starting_at="}) {
    BOOST_TEST_CONTEXT(path) {
      const HttpResult normal =
          Get(*vendor, path + today, {"x-api-key: " + kApiKey, "anthropic-version: 2023-06-01"});
      BOOST_TEST(normal.status == 401);
      const auto doc = Json(normal.body);
      BOOST_TEST(Str(doc["type"]) == "error");
      BOOST_TEST(Str(doc["error"]["type"]) == "authentication_error");
      BOOST_TEST(normal.headers.count("request-id") == 1u);
      BOOST_TEST(Get(*vendor, path + today,
                     {"Authorization: Bearer " + kAdminKey, "anthropic-version: 2023-06-01"})
                     .status == 401);
      const HttpResult no_version = Get(*vendor, path + today, {"x-api-key: " + kAdminKey});
      BOOST_TEST(no_version.status == 400);
      BOOST_TEST(Str(Json(no_version.body)["error"]["type"]) == "invalid_request_error");
      BOOST_TEST(Get(*vendor, path + today, kAnthropicAdmin).status == 200);
    }
  }

  for (const char* path : {"/v1/dashboard/billing/subscription", "/dashboard/billing/usage",
                           "/user/balance", "/api/v1/credits", "/api/v1/key"}) {
    BOOST_TEST_CONTEXT(path) {
      BOOST_TEST(Get(*vendor, path).status == 401);
      BOOST_TEST(Get(*vendor, path, kOpenAiAdmin).status == 401);
      BOOST_TEST(Get(*vendor, path, kApiAuth).status == 200);
    }
  }
  const HttpResult openrouter = Get(*vendor, "/api/v1/credits");
  BOOST_TEST(Json(openrouter.body)["error"]["code"].GetInt() == 401);

  const HttpResult post = Post(*vendor, "/v1/organization/costs", "{}", kOpenAiAdmin);
  BOOST_TEST(post.status == 405);
  BOOST_TEST(post.headers.at("allow") == "GET");
  const auto stats = Stats(*vendor);
  const auto& routes = stats["routes"];
  BOOST_TEST(routes["/v1/organization/costs"]["requests"].GetInt64() == 4);
  BOOST_TEST(routes["/v1/organization/costs"]["served"].GetInt64() == 1);
  BOOST_TEST(routes["/v1/organization/costs"]["failed"].GetInt64() == 3);
  BOOST_TEST(vendor->Stderr().find(kAdminKey) == std::string::npos);
  BOOST_TEST(vendor->Stderr().find(kApiKey) == std::string::npos);
  BOOST_TEST(vendor->Stdout().find(kAdminKey) == std::string::npos);

  // Without an admin key the admin routes take the API key; the key may come
  // from the environment.
  auto api_only = StartVendor({"--api-key", kApiKey});
  BOOST_TEST(Get(*api_only, openai_costs, kApiAuth).status == 200);
  BOOST_TEST(Get(*api_only, openai_costs, kOpenAiAdmin).status == 401);
  auto from_env = StartVendor({"--api-key", kApiKey}, {{"FAKE_VENDOR_ADMIN_KEY", kAdminKey}});
  BOOST_TEST(Get(*from_env, openai_costs, kOpenAiAdmin).status == 200);
  BOOST_TEST(Get(*from_env, openai_costs, kApiAuth).status == 401);
  BOOST_TEST(from_env->Stderr().find(kAdminKey) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_report_queries_get_400_in_the_vendor_format) {
  auto vendor = StartVendor(BillingArgs());
  const std::string start = "start_time=" + std::to_string(UnixNow() - 86400);
  const std::vector<std::pair<std::string, std::string>> openai = {
      {"/v1/organization/usage/completions", "Missing required parameter: 'start_time'."},
      {"/v1/organization/usage/completions?" + start + "&bucket_width=1h", "bucket_width=1d"},
      {"/v1/organization/costs?" + start + "&limit=0", "limit"},
      {"/v1/organization/costs?" + start + "&group_by[]=model", "group_by"},
      {"/v1/organization/costs?" + start + "&page=page_bogus", "page"},
  };
  for (const auto& [path, message] : openai) {
    BOOST_TEST_CONTEXT(path) {
      const HttpResult result = Get(*vendor, path, kOpenAiAdmin);
      BOOST_TEST(result.status == 400);
      const auto doc = Json(result.body);
      BOOST_TEST(Str(doc["error"]["type"]) == "invalid_request_error");
      BOOST_TEST(Str(doc["error"]["message"]).find(message) != std::string::npos);
    }
  }
  const HttpResult anthropic =
      Get(*vendor, "/v1/organizations/cost_report?starting_at=yesterday", kAnthropicAdmin);
  BOOST_TEST(anthropic.status == 400);
  const auto doc = Json(anthropic.body);
  BOOST_TEST(Str(doc["type"]) == "error");
  BOOST_TEST(Str(doc["error"]["message"]).find("RFC 3339") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(price_skew_from_the_command_line_and_at_run_time) {
  auto vendor = StartVendor(BillingArgs({"--price-skew", "fake-gpt=1.5"}));
  const int64_t plain = ExpectedCost("fake-gpt", kPingInputTokens, 0, 3);
  const std::string ping = OpenAiBody("ping", 3, false, false, "fake-gpt");
  BOOST_REQUIRE(Post(*vendor, "/v1/chat/completions", ping, kApiAuth).status == 200);

  const HttpResult set =
      Post(*vendor, "/control/price_skew", R"({"model":"fake-gpt","factor":0.333333333})");
  BOOST_TEST_REQUIRE(set.status == 200, set.body);
  BOOST_TEST(set.body == R"({"model":"fake-gpt","factor":0.333333333})");
  BOOST_TEST(
      Post(*vendor, "/control/price_skew", R"({"model":"fake-claude","factor":"2"})").status ==
      200);
  BOOST_REQUIRE(Post(*vendor, "/v1/chat/completions", ping, kApiAuth).status == 200);
  BOOST_REQUIRE(
      Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, false, "fake-claude"), kApiAuth)
          .status == 200);

  const int64_t gpt = ApplySkew(plain, 1'500'000'000) + ApplySkew(plain, 333'333'333);
  const int64_t claude = ExpectedCost("fake-claude", kPingInputTokens, 0, 8, 2 * kUnitSkew);
  BOOST_TEST(gpt == ExpectedCost("fake-gpt", kPingInputTokens, 0, 3, 1'500'000'000) +
                        ExpectedCost("fake-gpt", kPingInputTokens, 0, 3, 333'333'333));
  const auto stats = Stats(*vendor);
  BOOST_TEST(stats["models"]["fake-gpt"]["cost_nano_usd"].GetInt64() == gpt);
  BOOST_TEST(stats["models"]["fake-claude"]["cost_nano_usd"].GetInt64() == claude);
  BOOST_TEST(Get(*vendor, "/control/stats")
                 .body.find(R"("price_skews":{"fake-claude":2.0,"fake-gpt":0.333333333})") !=
             std::string::npos);

  int64_t reported = 0;
  for (const auto& page : FetchAllPages(*vendor,
                                        "/v1/organization/costs?group_by[]=line_item&start_time=" +
                                            std::to_string(UnixNow() - 86400),
                                        kOpenAiAdmin)) {
    for (const auto& bucket : page["data"].GetArray()) {
      for (const auto& result : bucket["results"].GetArray()) {
        if (Str(result["line_item"]).starts_with("fake-gpt,")) {
          reported += NanoOf(result["amount"]["value"], 9);
        }
      }
    }
  }
  BOOST_TEST(reported == gpt);

  for (const char* bad : {R"({"model":"fake-gpt","factor":-1})", R"({"model":"fake-gpt"})",
                          R"({"factor":2})", R"({"model":"fake-gpt","factor":"x"})", "nope"}) {
    BOOST_TEST(Post(*vendor, "/control/price_skew", bad).status == 400, bad);
  }
  // Reset clears counters and run-time skews; the command line's stay.
  BOOST_TEST(Post(*vendor, "/control/reset", "").status == 200);
  BOOST_TEST(Get(*vendor, "/control/stats").body.find(R"("price_skews":{"fake-gpt":1.5})") !=
             std::string::npos);
  BOOST_TEST(Stats(*vendor)["totals"]["cost_nano_usd"].GetInt64() == 0);
  BOOST_TEST(
      NanoOf(JsonExact(Get(*vendor, "/v1/dashboard/billing/usage", kApiAuth).body)["total_usage"],
             7) == 0);
}

BOOST_AUTO_TEST_CASE(reports_lag_by_the_report_delay) {
  auto vendor = StartVendor(BillingArgs({"--report-delay-ms", "1500"}));
  const std::string costs =
      "/v1/organization/costs?start_time=" + std::to_string(UnixNow() - 86400) + "&limit=2";
  const auto started = std::chrono::steady_clock::now();
  BOOST_REQUIRE(Post(*vendor, "/v1/chat/completions",
                     OpenAiBody("ping", 3, false, false, "fake-gpt"), kApiAuth)
                    .status == 200);
  const int64_t expected = ExpectedCost("fake-gpt", kPingInputTokens, 0, 3);

  auto reported_cost = [&] {
    int64_t total = 0;
    const auto doc = JsonExact(Get(*vendor, costs, kOpenAiAdmin).body);
    for (const auto& bucket : doc["data"].GetArray()) {
      for (const auto& result : bucket["results"].GetArray()) {
        total += NanoOf(result["amount"]["value"], 9);
      }
    }
    return total;
  };
  // Served and counted at once, reported later.
  BOOST_TEST(Stats(*vendor)["totals"]["cost_nano_usd"].GetInt64() == expected);
  BOOST_TEST(reported_cost() == 0);
  BOOST_TEST(
      NanoOf(JsonExact(Get(*vendor, "/dashboard/billing/usage", kApiAuth).body)["total_usage"],
             7) == 0);
  BOOST_TEST(PollUntil([&] { return reported_cost() == expected; }, milliseconds(5000)));
  const auto waited =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
  BOOST_TEST(waited.count() >= 1500);
  BOOST_TEST(
      NanoOf(JsonExact(Get(*vendor, "/dashboard/billing/usage", kApiAuth).body)["total_usage"],
             7) == expected);
}

BOOST_AUTO_TEST_CASE(without_prices_replies_are_unpriced_but_tokens_reported) {
  auto vendor = StartVendor();
  BOOST_REQUIRE(
      Post(*vendor, "/v1/chat/completions", OpenAiBody("ping", 3, false, false, "fake-gpt"))
          .status == 200);
  const auto stats = Stats(*vendor);
  BOOST_TEST(stats["totals"]["unpriced_requests"].GetInt64() == 1);
  BOOST_TEST(stats["totals"]["cost_nano_usd"].GetInt64() == 0);
  const auto doc = JsonExact(Get(*vendor, "/v1/organization/usage/completions?limit=1&start_time=" +
                                              std::to_string(UnixNow()))
                                 .body);
  BOOST_TEST_REQUIRE(doc["data"][0]["results"].Size() == 1u);
  BOOST_TEST(IntOf(doc["data"][0]["results"][0]["output_tokens"]) == 3);
}

BOOST_AUTO_TEST_CASE(bad_price_files_exit_two) {
  auto missing = FakeVendorProcess::Spawn({"--prices", "/nonexistent/prices.toml"});
  BOOST_REQUIRE(missing);
  BOOST_TEST((*missing)->WaitExit(milliseconds(5000)).value_or(-1) == 2);
  auto no_table = FakeVendorProcess::Spawn({"--prices", kPricesFile, "--price-table", "nope"});
  BOOST_REQUIRE(no_table);
  BOOST_TEST((*no_table)->WaitExit(milliseconds(5000)).value_or(-1) == 2);
  BOOST_TEST((*no_table)->Stderr().find("--price-table") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(process)

BOOST_AUTO_TEST_CASE(prints_one_listening_line_matching_the_port_file) {
  auto vendor = StartVendor();
  BOOST_TEST(PollUntil([&] { return !vendor->Stdout().empty(); }, milliseconds(2000)));
  BOOST_TEST(vendor->Stdout() ==
             "fake_vendor listening on 127.0.0.1:" + std::to_string(vendor->port()) + "\n");
  BOOST_TEST(vendor->StopWith(SIGTERM, milliseconds(1000)).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_while_streaming_exits_zero_within_a_second) {
  auto vendor = StartVendor({"--fault", "stall", "--token-ms", "10"});
  HttpResult stalled;
  std::thread client([&] {
    stalled = Post(*vendor, "/v1/messages", AnthropicBody("ping", 16, true), {}, 10'000);
  });
  const bool streaming =
      PollUntil([&] { return vendor->Stderr().find("Stalling reply") != std::string::npos; },
                milliseconds(5000));
  const auto started = std::chrono::steady_clock::now();
  const auto exit_code = vendor->StopWith(SIGTERM, milliseconds(1000));
  const double stop_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  client.join();
  BOOST_TEST(streaming);
  BOOST_TEST(exit_code.value_or(-1) == 0);
  BOOST_TEST(stop_ms < 1000);
  BOOST_TEST(stalled.code != CURLE_OPERATION_TIMEDOUT);
  BOOST_TEST(CountEvents(ParseSse(stalled.pieces), "content_block_delta") == 4);
}

BOOST_AUTO_TEST_CASE(sigint_exits_zero) {
  auto vendor = StartVendor({"--slow-ms", "60000", "--fault", "slow_first_byte"});
  std::thread client([&] { Post(*vendor, "/v1/chat/completions", OpenAiBody("ping"), {}, 5000); });
  BOOST_TEST(PollUntil(
      [&] {
        const auto stats = Get(*vendor, "/control/stats");
        return stats.body.find(R"("/v1/chat/completions":{"requests":1)") != std::string::npos;
      },
      milliseconds(5000)));
  BOOST_TEST(vendor->StopWith(SIGINT, milliseconds(1000)).value_or(-1) == 0);
  client.join();
}

BOOST_AUTO_TEST_CASE(bad_arguments_exit_two) {
  auto process = FakeVendorProcess::Spawn({"--reply-tokens", "0"});
  BOOST_REQUIRE(process);
  BOOST_TEST((*process)->WaitExit(milliseconds(5000)).value_or(-1) == 2);
  BOOST_TEST((*process)->Stderr().find("--reply-tokens") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(busy_port_exits_one) {
  auto vendor = StartVendor();
  auto second =
      FakeVendorProcess::Spawn({"--listen", "127.0.0.1:" + std::to_string(vendor->port())});
  BOOST_REQUIRE(second);
  BOOST_TEST((*second)->WaitExit(milliseconds(5000)).value_or(-1) == 1);
  BOOST_TEST((*second)->Stdout().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::fake_vendor::testing
