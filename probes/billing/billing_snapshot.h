#pragma once

// What one billing poll learned from a vendor, in our units: money as exact
// nano-USD (or nano-units of the named currency for balances), tokens as
// pricing::Usage, days as UTC days. Produced by the pollers in this folder,
// consumed by the exporter (llm_billing_* series) and the reconciliation.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pricing/usage.h"

namespace llm_exporter::probes::billing {

// One model's figures for one UTC day, as the vendor reports them. `model` is
// the vendor's own name (e.g. "gpt-4o-mini-2024-07-18"); mapping it onto a
// configured model is the consumer's job.
struct ModelDay {
  std::chrono::sys_days day;
  std::string model;
  std::optional<int64_t> cost_nano_usd;  // from the cost endpoint, if any
  std::optional<pricing::Usage> tokens;  // from the usage endpoint, if any
  int64_t requests = 0;                  // where the vendor reports them
};

struct Balance {
  std::string currency;    // upper case: "USD", "CNY"
  int64_t total_nano = 0;  // nano-units of `currency`
};

struct BillingSnapshot {
  std::chrono::system_clock::time_point polled_at;
  std::vector<ModelDay> days;             // openai_org, anthropic_admin
  std::vector<Balance> balances;          // deepseek_balance, openrouter (USD credits left)
  std::optional<int64_t> limit_nano_usd;  // openai_dashboard hard limit, openrouter key limit
  std::optional<int64_t> used_nano_usd;   // openai_dashboard lifetime usage, openrouter usage
  std::optional<bool> available;          // deepseek is_available
};

}  // namespace llm_exporter::probes::billing
