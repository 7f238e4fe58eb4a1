#include "pricing/litellm.h"

#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>

#include "pricing/price_book.h"
#include "pricing/price_file.h"
#include "test_support.h"

namespace llm_exporter::pricing {
namespace {

using testing::LiteLlmJsonPath;
using testing::PricingDir;
using testing::ReadText;

constexpr int64_t kNano = 1'000'000'000;

std::chrono::system_clock::time_point Now() { return std::chrono::system_clock::now(); }

struct NamedModel {
  std::string table;
  std::string model;
  Prices prices;
  std::optional<LongContextTier> long_context;
};

BOOST_AUTO_TEST_SUITE(litellm)

BOOST_AUTO_TEST_CASE(every_chat_model_of_the_litellm_file_loads) {
  const std::string json = ReadText(LiteLlmJsonPath());
  BOOST_REQUIRE_MESSAGE(!json.empty(), "missing " << LiteLlmJsonPath());
  const auto book = LoadPriceBook({}, LiteLlmJsonPath());
  BOOST_REQUIRE_MESSAGE(book.has_value(), (book ? "" : book.error().front()));

  rapidjson::Document document;
  document.Parse(json.c_str());
  BOOST_REQUIRE(document.IsObject());
  int chat_models = 0;
  for (auto it = document.MemberBegin(); it != document.MemberEnd(); ++it) {
    const auto& entry = it->value;
    if (!entry.HasMember("mode") || std::string_view(entry["mode"].GetString()) != "chat") continue;
    ++chat_models;
    const std::string key = it->name.GetString();
    const std::string table = LiteLlmTable(entry["litellm_provider"].GetString());
    BOOST_TEST_CONTEXT(key) {
      const PriceRow* row = book->Find(table, key, Now());
      BOOST_REQUIRE(row != nullptr);
      BOOST_TEST(row->origin == "litellm:" + key);
    }
  }
  BOOST_TEST(chat_models == 166);
}

BOOST_AUTO_TEST_CASE(named_models_match_the_json) {
  const auto book = LoadPriceBook({}, LiteLlmJsonPath());
  BOOST_REQUIRE(book.has_value());
  const NamedModel models[] = {
      {"openai",
       "gpt-4.1",
       {.input = 2 * kNano,
        .cached_input = 500'000'000,
        .cache_write_5m = 2 * kNano,  // no cache write price in the JSON: input
        .cache_write_1h = 2 * kNano,
        .output = 8 * kNano,
        .reasoning = 8 * kNano},
       std::nullopt},
      {"anthropic",
       "claude-sonnet-4-5",
       {.input = 3 * kNano,
        .cached_input = 300'000'000,
        .cache_write_5m = 3'750'000'000,
        .cache_write_1h = 6 * kNano,
        .output = 15 * kNano,
        .reasoning = 15 * kNano},
       LongContextTier{200'000,
                       {.input = 6 * kNano,
                        .cached_input = 600'000'000,
                        .cache_write_5m = 7'500'000'000,
                        .cache_write_1h = 12 * kNano,
                        .output = 22'500'000'000,
                        .reasoning = 22'500'000'000}}},
      {"google",
       "gemini-2.5-pro",
       {.input = 1'250'000'000,
        .cached_input = 125'000'000,
        .cache_write_5m = 1'250'000'000,
        .cache_write_1h = 1'250'000'000,
        .output = 10 * kNano,
        .reasoning = 10 * kNano},
       LongContextTier{200'000,
                       {.input = 2'500'000'000,
                        .cached_input = 250'000'000,
                        .cache_write_5m = 250'000'000,
                        .cache_write_1h = 1'250'000'000,
                        .output = 15 * kNano,
                        .reasoning = 15 * kNano}}},
      {"google",
       "gemini-2.5-flash",
       {.input = 300'000'000,
        .cached_input = 30'000'000,
        .cache_write_5m = 300'000'000,
        .cache_write_1h = 300'000'000,
        .output = 2'500'000'000,
        .reasoning = 2'500'000'000},
       std::nullopt},
      {"deepseek",
       "deepseek-chat",
       {.input = 280'000'000,
        .cached_input = 28'000'000,
        .cache_write_5m = 280'000'000,
        .cache_write_1h = 280'000'000,
        .output = 420'000'000,
        .reasoning = 420'000'000},
       std::nullopt},
      {"openai",
       "gpt-5-nano",
       {.input = 50'000'000,
        .cached_input = 5'000'000,
        .cache_write_5m = 50'000'000,
        .cache_write_1h = 50'000'000,
        .output = 400'000'000,
        .reasoning = 400'000'000},
       std::nullopt},
  };
  for (const NamedModel& want : models) {
    BOOST_TEST_CONTEXT(want.table << "/" << want.model) {
      const PriceRow* row = book->Find(want.table, want.model, Now());
      BOOST_REQUIRE(row != nullptr);
      BOOST_TEST((row->prices == want.prices));
      BOOST_TEST((row->long_context == want.long_context));
      BOOST_TEST((row->effective_from == std::chrono::sys_days{}));
    }
  }
}

BOOST_AUTO_TEST_CASE(our_toml_overrides_litellm) {
  const std::string toml = R"([[price]]
table = "openai"
model = "gpt-4.1"
effective_from = 2025-04-14
input = 9.99
output = 8.00
)";
  auto toml_rows = ParsePriceFiles({PriceFileText{"override.toml", toml}});
  auto litellm_rows = ParseLiteLlmPrices(ReadText(LiteLlmJsonPath()), "litellm.json");
  BOOST_REQUIRE(toml_rows.has_value());
  BOOST_REQUIRE(litellm_rows.has_value());
  const PriceBook book(std::move(*toml_rows), std::move(*litellm_rows));
  BOOST_TEST(book.Find("openai", "gpt-4.1", Now())->prices.input == 9'990'000'000);
  BOOST_TEST(book.Find("openai", "gpt-4.1", Now())->origin == "override.toml:1");
  // LiteLLM's exact snapshot row still beats the fallback to our base row.
  BOOST_TEST(book.Find("openai", "gpt-4.1-2025-04-14", Now())->origin ==
             "litellm:gpt-4.1-2025-04-14");
  BOOST_TEST(book.Find("openai", "gpt-4.1-mini", Now())->origin == "litellm:gpt-4.1-mini");
}

BOOST_AUTO_TEST_CASE(shipped_prices_load_with_litellm) {
  const auto book = LoadPriceBook(
      {PricingDir() + "/prices.toml", PricingDir() + "/fake_prices.toml"}, LiteLlmJsonPath());
  BOOST_REQUIRE_MESSAGE(book.has_value(), (book ? "" : book.error().front()));
  BOOST_TEST(book->Find("anthropic", "claude-sonnet-4-5", Now())->origin.starts_with(PricingDir()));
  BOOST_TEST(book->Find("anthropic", "claude-opus-4-5", Now())->origin ==
             "litellm:claude-opus-4-5");
}

BOOST_AUTO_TEST_CASE(maps_providers_and_strips_prefixes) {
  const std::string json = R"({
    "vertex_ai/gemini-x": {"litellm_provider": "vertex_ai-language-models", "mode": "chat",
                           "input_cost_per_token": 2e-06, "output_cost_per_token": 4e-06},
    "gemini/gemini-x": {"litellm_provider": "gemini", "mode": "chat",
                        "input_cost_per_token": 1e-06, "output_cost_per_token": 3e-06},
    "deepseek/deepseek-chat": {"litellm_provider": "deepseek", "mode": "chat",
                               "input_cost_per_token": 2.8e-07, "output_cost_per_token": 4.2e-07},
    "openrouter/anthropic/claude-x": {"litellm_provider": "openrouter",
                                      "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                                      "some_new_field": {"nested": [1, 2, 3]}},
    "gpt-5.4": {"litellm_provider": "openai", "mode": "chat",
                "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1.5e-05,
                "input_cost_per_token_above_272k_tokens": 5e-06,
                "output_cost_per_token_above_272k_tokens": 2.25e-05,
                "input_cost_per_token_priority": "ignored: not a field we read"},
    "o3-pro": {"litellm_provider": "openai", "mode": "responses",
               "input_cost_per_token": 2e-05, "output_cost_per_token": 8e-05},
    "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding",
                               "input_cost_per_token": "not checked: not a chat model"},
    "free-thing": {"litellm_provider": "openai", "mode": "chat", "output_cost_per_token": 0.0},
    "sample_spec": {"litellm_provider": "one of https://docs.litellm.ai/docs/providers",
                    "mode": "one of: chat, embedding, completion"}
  })";
  const auto rows = ParseLiteLlmPrices(json, "map.json");
  BOOST_REQUIRE_MESSAGE(rows.has_value(), (rows ? "" : rows.error().front()));
  const PriceBook book({}, *rows);
  BOOST_TEST(rows->size() == 5u);  // gemini-x once, deepseek, openrouter, gpt-5.4, o3-pro
  BOOST_TEST(book.Find("google", "gemini-x", Now())->prices.input == kNano);  // gemini wins
  BOOST_TEST(book.Find("google", "gemini-x", Now())->origin == "litellm:gemini/gemini-x");
  BOOST_TEST(book.Find("deepseek", "deepseek-chat", Now())->prices.output == 420'000'000);
  BOOST_TEST(book.Find("openrouter", "anthropic/claude-x", Now()) != nullptr);
  const PriceRow* gpt = book.Find("openai", "gpt-5.4", Now());
  BOOST_REQUIRE(gpt->long_context.has_value());
  BOOST_TEST(gpt->long_context->threshold == 272'000);
  BOOST_TEST(gpt->long_context->prices.input == 5 * kNano);
  BOOST_TEST(gpt->long_context->prices.output == 22'500'000'000);
  BOOST_TEST(gpt->long_context->prices.cached_input == 2'500'000'000);  // absent: base
  BOOST_TEST(book.Find("openai", "o3-pro", Now())->prices.output == 80 * kNano);
  BOOST_TEST(book.Find("openai", "text-embedding-3-small", Now()) == nullptr);
  BOOST_TEST(book.Find("openai", "free-thing", Now()) == nullptr);
}

BOOST_AUTO_TEST_CASE(malformed_files_are_clear_errors) {
  struct Case {
    std::string json;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"<html>rate limited</html>", {"x.json: not valid JSON at offset 0: Invalid value."}},
      {"[1, 2]", {"x.json: expected a JSON object of models, got an array"}},
      {R"({"m": 5})", {"x.json: model \"m\": expected an object, got a number"}},
      {R"({"m": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": "1e-06",
                 "output_cost_per_token": 2e-06},
           "n": {"litellm_provider": "openai", "input_cost_per_token": 1e-06,
                 "output_cost_per_token": -2e-06,
                 "cache_read_input_token_cost": null}})",
       {"x.json: model \"m\": input_cost_per_token: expected a number, got a string",
        "x.json: model \"n\": output_cost_per_token: must not be negative, got -2e-06",
        "x.json: model \"n\": cache_read_input_token_cost: expected a number, got null"}},
      {R"({"m": {"litellm_provider": 7, "mode": "chat", "input_cost_per_token": 1e-06,
                 "output_cost_per_token": 2e-06}})",
       {"x.json: model \"m\": litellm_provider: expected a string, got a number"}},
      {R"({"m": {"mode": ["chat"]}})",
       {"x.json: model \"m\": mode: expected a string, got an array"}},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.json) {
      const auto rows = ParseLiteLlmPrices(c.json, "x.json");
      BOOST_REQUIRE(!rows.has_value());
      BOOST_TEST(rows.error() == c.want, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace llm_exporter::pricing
