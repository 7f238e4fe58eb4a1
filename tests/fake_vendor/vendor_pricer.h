#pragma once

// How the fake vendor charges for what it serves. Each served chat reply is
// priced at serve time, per request, with the fake vendor's own price list and
// cost rule (price_list.h, not the exporter's code) from one price table, then
// multiplied by its model's price skew, so tests can make the vendor's figures differ from the
// exporter's on purpose. A skew is an exact decimal factor (kept as
// factor * 10^9) applied to the request's integer nano-USD and rounded half to
// even: cost = RoundHalfEven(RequestCostNanoUsd(prices, tokens) * factor).
//
// Line-item reports need the cost split by token kind; SplitCost splits the
// request's cost so that the parts always add up to it exactly.
//
// Thread-safe: skews change at run time (POST /control/price_skew) while
// handlers price replies.

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "tests/fake_vendor/price_list.h"
#include "tests/fake_vendor/usage_ledger.h"

namespace llm_exporter::fake_vendor {

inline constexpr int64_t kUnitSkew = 1'000'000'000;  // factor 1
inline constexpr int64_t kMaxSkew = 1000 * kUnitSkew;

// "1.5" -> 1'500'000'000. Decimal text with at most 9 fraction digits, 0..1000.
std::expected<int64_t, std::string> ParseSkewFactor(std::string_view text);
// "MODEL=FACTOR" (the model may itself contain '=': the last one splits).
std::expected<std::pair<std::string, int64_t>, std::string> ParseSkewAssignment(
    std::string_view text);

// RoundHalfEven(nano_usd * factor / 10^9).
int64_t ApplySkew(int64_t nano_usd, int64_t factor);

// Splits `total` (the request's skewed cost) over the token kinds of `usage`
// (input, cached input, output, 5-minute and 1-hour cache writes): each part is
// its exact share at `prices` times `factor`, rounded down, and the remaining
// nano-USD go to the parts with the largest remainders. Should the skew's own
// rounding leave more (or less) than that, the largest part takes the
// difference (never going below zero). Reasoning tokens count as output.
CostSplit SplitCost(const VendorPrices& prices, const RequestTokens& tokens, int64_t factor,
                    int64_t total);

class VendorPricer {
 public:
  // `book` may be null: then nothing is priced.
  VendorPricer(std::shared_ptr<const PriceList> book, std::string table, SkewMap initial_skews);

  // The charge for one served reply (`tokens` as the ledger counts them: input
  // includes cached reads and cache writes). nullopt when no price row applies
  // (the reply is unpriced).
  std::optional<CostSplit> Price(std::string_view model, const TokenCounters& tokens,
                                 std::chrono::system_clock::time_point at) const;

  // Applies to replies served from now on; factor kUnitSkew removes the skew.
  void SetSkew(std::string_view model, int64_t factor);
  // Back to the command line's skews.
  void ResetSkews();
  SkewMap Skews() const;

 private:
  const std::shared_ptr<const PriceList> book_;
  const std::string table_;
  const SkewMap initial_skews_;
  mutable std::mutex mutex_;
  SkewMap skews_;  // guarded by mutex_
};

}  // namespace llm_exporter::fake_vendor
