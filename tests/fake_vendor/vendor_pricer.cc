#include "tests/fake_vendor/vendor_pricer.h"

#include <algorithm>
#include <array>

#include "tests/fake_vendor/decimal_text.h"

namespace llm_exporter::fake_vendor {
namespace {

using Int128 = __int128;

Int128 RoundHalfEven(Int128 numerator, Int128 denominator) {
  Int128 quotient = numerator / denominator;
  const Int128 remainder = numerator % denominator;
  if (remainder * 2 > denominator || (remainder * 2 == denominator && quotient % 2 == 1)) {
    ++quotient;
  }
  return quotient;
}

}  // namespace

std::expected<int64_t, std::string> ParseSkewFactor(std::string_view text) {
  const auto factor = ParseDecimalText(text, 9);
  if (!factor || *factor < 0 || *factor > kMaxSkew) {
    return std::unexpected(
        "price skew factor must be a decimal in 0..1000 with at most 9 "
        "fraction digits, got \"" +
        std::string(text) + "\"");
  }
  return *factor;
}

std::expected<std::pair<std::string, int64_t>, std::string> ParseSkewAssignment(
    std::string_view text) {
  const size_t equals = text.rfind('=');
  if (equals == std::string_view::npos || equals == 0) {
    return std::unexpected("price skew must be MODEL=FACTOR, got \"" + std::string(text) + "\"");
  }
  auto factor = ParseSkewFactor(text.substr(equals + 1));
  if (!factor) return std::unexpected(factor.error());
  return std::pair{std::string(text.substr(0, equals)), *factor};
}

int64_t ApplySkew(int64_t nano_usd, int64_t factor) {
  if (factor == kUnitSkew) return nano_usd;
  return static_cast<int64_t>(RoundHalfEven(Int128{nano_usd} * factor, kUnitSkew));
}

CostSplit SplitCost(const VendorPrices& prices, const RequestTokens& tokens, int64_t factor,
                    int64_t total) {
  // The kinds, in CostSplit's order: input, cached input, output, 5m and 1h writes.
  constexpr size_t kKinds = 5;
  const std::array<std::pair<int64_t, int64_t>, kKinds> kinds = {{
      {tokens.input, prices.input},
      {tokens.cached_input, prices.cached_input},
      {tokens.output, prices.output},
      {tokens.cache_write_5m, prices.cache_write_5m},
      {tokens.cache_write_1h, prices.cache_write_1h},
  }};
  // Exact shares in units of 10^-15 nano-USD: tokens * (nano-USD per million) * factor.
  constexpr Int128 kUnit = Int128{1'000'000} * kUnitSkew;
  std::array<int64_t, kKinds> parts{};
  std::array<Int128, kKinds> remainders{};
  int64_t left = total;
  for (size_t i = 0; i < kKinds; ++i) {
    const Int128 exact = Int128{std::max<int64_t>(kinds[i].first, 0)} * kinds[i].second * factor;
    parts[i] = static_cast<int64_t>(exact / kUnit);
    remainders[i] = exact % kUnit;
    left -= parts[i];
  }
  // Largest remainders first; ties go to the later kind in a reply's order
  // (input, cached input, cache writes 5m then 1h, output): output first.
  std::array<size_t, kKinds> order = {2, 4, 3, 1, 0};
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainders[a] > remainders[b]; });
  for (size_t i : order) {
    if (left <= 0 || remainders[i] == 0) break;
    ++parts[i];
    --left;
  }
  // Only a skew's rounding gets here; the largest parts absorb it.
  std::array<size_t, kKinds> by_size = {2, 0, 1, 3, 4};
  std::stable_sort(by_size.begin(), by_size.end(),
                   [&](size_t a, size_t b) { return parts[a] > parts[b]; });
  if (left > 0) parts[by_size[0]] += left;
  for (size_t i : by_size) {
    if (left >= 0) break;
    const int64_t take = std::min(parts[i], -left);
    parts[i] -= take;
    left += take;
  }
  return CostSplit{.input = parts[0],
                   .cached_input = parts[1],
                   .output = parts[2],
                   .cache_write_5m = parts[3],
                   .cache_write_1h = parts[4]};
}

VendorPricer::VendorPricer(std::shared_ptr<const PriceList> book, std::string table,
                           SkewMap initial_skews)
    : book_(std::move(book)),
      table_(std::move(table)),
      initial_skews_(std::move(initial_skews)),
      skews_(initial_skews_) {}

std::optional<CostSplit> VendorPricer::Price(std::string_view model, const TokenCounters& tokens,
                                             std::chrono::system_clock::time_point at) const {
  if (!book_) return std::nullopt;
  const PriceEntry* entry = book_->Find(table_, model, std::chrono::floor<std::chrono::days>(at));
  if (entry == nullptr) return std::nullopt;
  const RequestTokens request{
      .input = std::max<int64_t>(tokens.input_tokens - tokens.cached_input_tokens -
                                     tokens.cache_write_5m_tokens - tokens.cache_write_1h_tokens,
                                 0),
      .cached_input = tokens.cached_input_tokens,
      .output = tokens.output_tokens,
      .cache_write_5m = tokens.cache_write_5m_tokens,
      .cache_write_1h = tokens.cache_write_1h_tokens};
  int64_t factor = kUnitSkew;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = skews_.find(model); it != skews_.end()) factor = it->second;
  }
  const VendorPrices& prices = PricesFor(*entry, request);
  const int64_t total = ApplySkew(RequestCostNanoUsd(prices, request), factor);
  return SplitCost(prices, request, factor, total);
}

void VendorPricer::SetSkew(std::string_view model, int64_t factor) {
  std::lock_guard lock(mutex_);
  if (factor == kUnitSkew) {
    if (const auto it = skews_.find(model); it != skews_.end()) skews_.erase(it);
  } else {
    skews_.insert_or_assign(std::string(model), factor);
  }
}

void VendorPricer::ResetSkews() {
  std::lock_guard lock(mutex_);
  skews_ = initial_skews_;
}

SkewMap VendorPricer::Skews() const {
  std::lock_guard lock(mutex_);
  return skews_;
}

}  // namespace llm_exporter::fake_vendor
