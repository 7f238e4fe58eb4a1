#pragma once

// The fake vendor's own price list and cost rule. It reads the same TOML price
// files as the exporter, but with its own small parser and arithmetic: an
// oracle must not share code with what it checks, so a bug in the exporter's
// pricing shows up as drift in the tests instead of being repeated here.
//
// It understands what the shipped price files use: [[price]] tables with
// table, model (with '*' and '?' globs), effective_from (YYYY-MM-DD), input,
// cached_input, cache_write (5-minute writes), cache_write_1h, output and the
// long_context_threshold / long_context_* tier, as decimal USD per million
// tokens. Defaults, as the exporter documents (pricing/price_file.h), within
// each tier: cached_input and cache_write default to input, cache_write_1h to
// cache_write (so to input when neither is given). Other keys are read and
// ignored (the fake vendor serves no separate reasoning tokens).

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llm_exporter::fake_vendor {

// Nano-USD per million tokens.
struct VendorPrices {
  int64_t input = 0, cached_input = 0, output = 0;
  int64_t cache_write_5m = 0, cache_write_1h = 0;
};

// One request's tokens as the vendor bills them: the kinds do not overlap
// (input without cached reads and cache writes).
struct RequestTokens {
  int64_t input = 0, cached_input = 0, output = 0;
  int64_t cache_write_5m = 0, cache_write_1h = 0;
};

struct PriceEntry {
  std::string table;
  std::string model;
  std::chrono::sys_days effective_from{};
  VendorPrices prices;
  std::optional<int64_t> long_context_threshold;  // context tokens above which...
  VendorPrices long_context;                      // ...these apply to the whole request
};

class PriceList {
 public:
  static std::expected<PriceList, std::string> Load(const std::string& path);
  bool HasTable(std::string_view table) const;
  // The entry in effect on `day` (the latest effective_from not after it) of
  // the model's exact name, else of the longest matching glob (the first
  // named among equals), else of the name without a date suffix.
  const PriceEntry* Find(std::string_view table, std::string_view model,
                         std::chrono::sys_days day) const;

  std::vector<PriceEntry> entries;

 private:
  const PriceEntry* InEffect(std::string_view table, std::string_view name,
                             std::chrono::sys_days day) const;
  const PriceEntry* FindName(std::string_view table, std::string_view model,
                             std::chrono::sys_days day) const;
};

// The prices for this request: the long-context tier when its context (input,
// cached input and cache writes) exceeds the threshold.
const VendorPrices& PricesFor(const PriceEntry& entry, const RequestTokens& tokens);
// Sum of tokens times price, divided by a million, rounded half to even.
int64_t RequestCostNanoUsd(const VendorPrices& prices, const RequestTokens& tokens);

}  // namespace llm_exporter::fake_vendor
