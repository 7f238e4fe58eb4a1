#pragma once

// Price files: TOML, one [[price]] table per row, prices in USD per million
// tokens (decimal text, parsed exactly; at most 9 decimals, at most 1000000).
//
//   [[price]]
//   table = "openai"             # required
//   model = "gpt-4.1"            # required; exact, or a glob with '*' and '?'
//   effective_from = 2025-04-14  # required; TOML local date, a UTC day
//   input = 2.00                 # required
//   output = 8.00                # required
//   cached_input = 0.50          # default: input
//   cache_write = 0.0            # 5-minute cache write; default: input
//   cache_write_1h = 0.0         # default: cache_write
//   reasoning = 8.00             # default: output
//   long_context_threshold = 200000   # tier above N input tokens, with
//   long_context_input = ...          # long_context_<price> for every price
//   long_context_output = ...         # above (input and output required,
//                                     # the others default as above within the tier)
//   source = "https://..."       # free text
//
// Validation is strict and reports every problem at once, each as
// "file:line:col: price[INDEX].key: message" (INDEX counts from 0 within a
// file); a TOML syntax error is "file:line:col: message". Two rows with the
// same table, model and effective_from (across all files) are an error on the
// second one.

#include <expected>
#include <string>
#include <vector>

#include "pricing/price_row.h"

namespace llm_exporter::pricing {

struct PriceFileText {
  std::string name;  // used in messages and PriceRow::origin
  std::string text;
};

std::expected<std::vector<PriceRow>, std::vector<std::string>> ParsePriceFiles(
    const std::vector<PriceFileText>& files);

// The largest price accepted anywhere, in nano-USD per million tokens (USD
// 1,000,000 per million tokens); it keeps cost arithmetic far from overflow.
inline constexpr int64_t kMaxPriceNano = 1'000'000'000'000'000;

}  // namespace llm_exporter::pricing
