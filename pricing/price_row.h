#pragma once

// One row of a price table: the prices of one model (or model glob) in one
// table from one date on. Prices are integer nano-USD per million tokens
// (USD 2.00 per million = 2'000'000'000), exact, with every optional price
// already resolved to the price it defaults to (see price_file.h).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace llm_exporter::pricing {

// Nano-USD per million tokens, one per token type of Usage.
struct Prices {
  int64_t input = 0;
  int64_t cached_input = 0;
  int64_t cache_write_5m = 0;
  int64_t cache_write_1h = 0;
  int64_t output = 0;
  int64_t reasoning = 0;
  friend bool operator==(const Prices&, const Prices&) = default;
};

// Above `threshold` input tokens (input + cached_input + cache writes) the
// whole request is priced at `prices`.
struct LongContextTier {
  int64_t threshold = 0;
  Prices prices;
  friend bool operator==(const LongContextTier&, const LongContextTier&) = default;
};

struct PriceRow {
  std::string table;
  std::string model;  // exact name, or a glob with '*' and '?'
  std::chrono::sys_days effective_from;
  Prices prices;
  std::optional<LongContextTier> long_context;
  std::string source;  // free text, usually the vendor's pricing URL
  std::string origin;  // where the row was defined: "file:line" or "litellm:KEY"
};

// Display only (metrics, status page): nano-USD (or nano-USD per million
// tokens) as a double of USD. Never add these up.
inline double NanoToUsd(int64_t nano) { return static_cast<double>(nano) / 1e9; }

}  // namespace llm_exporter::pricing
