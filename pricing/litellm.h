#pragma once

// Import of LiteLLM's model_prices_and_context_window.json price map.
//
// Only text-generation entries are read: `mode` "chat", "responses" (OpenAI
// models served only through /v1/responses) or no mode. Entries without both
// input_cost_per_token and output_cost_per_token are skipped (they cannot be
// priced per token); unknown fields are ignored. Per-token prices become exact
// nano-USD per million tokens through the shortest decimal text of the double
// (2e-06 -> "2e-06" -> 2.00 USD per million), rounded half to even only if a
// price were finer than 1e-15 USD per token.
//
// Mapping: litellm_provider openai -> table "openai", anthropic -> "anthropic",
// gemini and vertex_ai-language-models -> "google", deepseek -> "deepseek",
// any other provider keeps its name. A key's leading "provider/" segment is
// stripped when the provider name starts with it ("gemini/gemini-2.5-flash" ->
// "gemini-2.5-flash"). If two keys land on the same table and model, a
// "gemini" entry beats a "vertex_ai-language-models" one, otherwise the first
// in the file wins.
//
// Fields: input_cost_per_token, output_cost_per_token,
// cache_read_input_token_cost (default: input), cache_creation_input_token_cost
// (5-minute write; default: input), cache_creation_input_token_cost_above_1hr
// (default: the 5-minute price), output_cost_per_reasoning_token (default:
// output), and one long-context tier from the *_above_<N>k_tokens variants of
// those (threshold N * 1000, the smallest N if several; a variant that is
// absent takes the base price, as in LiteLLM). Rows are in effect from
// 1970-01-01: the file carries no dates.
//
// A malformed file (not JSON, not an object of objects, a price of the wrong
// type or negative) is an error naming the model key.

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "pricing/price_row.h"

namespace llm_exporter::pricing {

std::expected<std::vector<PriceRow>, std::vector<std::string>> ParseLiteLlmPrices(
    std::string_view json, const std::string& file);

// Our table name for a litellm_provider value.
std::string LiteLlmTable(std::string_view provider);

}  // namespace llm_exporter::pricing
