#pragma once

// Exact request cost in integer nano-USD.
//
// Rounding rule (the only place money is rounded): the exact cost of a request
// is the sum over token types of tokens * price, with prices in nano-USD per
// million tokens, computed in 128-bit integers. That sum is divided by one
// million ONCE per request and rounded half to even to whole nano-USD. Token
// types are never rounded separately, and nothing is ever a float. So a request
// whose exact cost is 0.5 nano-USD costs 0, 1.5 costs 2, 2.5 costs 2, and
// 0.500001 costs 1.
//
// Token arithmetic: input, cached_input and the cache writes are priced at
// their own prices; output - reasoning at the output price and reasoning at the
// reasoning price (which defaults to the output price). Negative counts are
// taken as 0 and reasoning is capped at output, so a malformed usage never
// yields a negative cost. The long-context tier applies to the whole request
// when input + cached_input + cache_write_5m + cache_write_1h exceeds its
// threshold. A result beyond int64 saturates (it cannot happen with prices
// that pass validation and realistic token counts).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/utc_day.h"
#include "pricing/price_row.h"
#include "pricing/usage.h"

namespace llm_exporter::pricing {

int64_t CostNanoUsd(const PriceRow& row, const Usage& usage);

// UTC days (base/utc_day.h), as every room counts them.
using base::FormatDay;
using base::ParseDay;
using base::UtcDay;

// Exact decimal USD text of a nano-USD amount: trailing zeros trimmed down to
// `min_fraction_digits` decimals ("0.01", "12.5", "3"; with 2: "3.00").
std::string NanoUsdToString(int64_t nano_usd, int min_fraction_digits = 0);

}  // namespace llm_exporter::pricing
