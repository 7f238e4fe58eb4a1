#pragma once

// Token usage of one request, as the vendor billed it. Shared by the wire
// parsers (which fill it from replies), the cost arithmetic and the ledger.
// The fields partition the billed tokens except `reasoning`, which is the part
// of `output` that was reasoning: a subset, never extra.

#include <array>
#include <cstdint>
#include <limits>

namespace llm_exporter::pricing {

// Sums of money and tokens saturate instead of wrapping: a counter that
// overflowed would go backwards (and re-open a budget). Inputs are bounded far
// below this (one reply's tokens are capped), so saturation is a last line.
constexpr int64_t SatAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

struct Usage {
  int64_t input = 0;  // uncached input tokens (excludes cached reads and cache writes)
  int64_t cached_input = 0;
  int64_t cache_write_5m = 0;
  int64_t cache_write_1h = 0;
  int64_t output = 0;     // ALL output tokens, as billed (includes reasoning)
  int64_t reasoning = 0;  // the part of output that was reasoning (a subset, not extra)

  Usage& operator+=(const Usage& other) {
    input = SatAdd(input, other.input);
    cached_input = SatAdd(cached_input, other.cached_input);
    cache_write_5m = SatAdd(cache_write_5m, other.cache_write_5m);
    cache_write_1h = SatAdd(cache_write_1h, other.cache_write_1h);
    output = SatAdd(output, other.output);
    reasoning = SatAdd(reasoning, other.reasoning);
    return *this;
  }
  friend bool operator==(const Usage&, const Usage&) = default;
};

// Token counts under their `type` label values (docs/metrics.md): cache
// writes of both lifetimes as one "cache_write". Reasoning is a part of
// output; the billed types are the first four.
struct TypedCount {
  const char* type;
  int64_t count;
};
inline std::array<TypedCount, 5> CountsByType(const Usage& u) {
  return {{{"input", u.input},
           {"cached_input", u.cached_input},
           {"cache_write", SatAdd(u.cache_write_5m, u.cache_write_1h)},
           {"output", u.output},
           {"reasoning", u.reasoning}}};
}
inline constexpr size_t kBilledTypes = 4;  // CountsByType's types vendors report

}  // namespace llm_exporter::pricing
