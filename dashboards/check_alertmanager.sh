#!/usr/bin/env bash
# Validates dashboards/alertmanager.yml and checks where its routing tree sends
# each llm_exporter alert.
#   check_alertmanager.sh [AMTOOL]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
amtool="${1:-amtool}"
config="$here/alertmanager.yml"

"$amtool" check-config "$config"

failures=0
# expect RECEIVERS LABEL=VALUE...
expect() {
  local want="$1"
  shift
  local got
  got="$("$amtool" config routes test --config.file="$config" "$@" 2>/dev/null || true)"
  if [ "$got" != "$want" ]; then
    echo "FAIL: $* -> '$got', want '$want'"
    failures=$((failures + 1))
  else
    echo "ok: $* -> $got"
  fi
}
expect llm-pager alertname=LLMModelDown severity=critical vendor=openai model=gpt-4.1
expect llm-pager alertname=LLMExporterDown severity=critical instance=e1:10027
expect llm-pager,llm-finance alertname=LLMSpendSpike severity=critical vendor=openai
expect llm-finance alertname=LLMCostDrift severity=warning vendor=openai
expect llm-finance alertname=LLMUnpricedTraffic severity=info vendor=openai
expect llm-finance alertname=LLMBillingPollFailing severity=warning vendor=openai
expect llm-ops alertname=LLMHighTTFT severity=warning vendor=openai
expect llm-ops alertname=LLMProbeBudgetExhausted severity=warning instance=e1:10027
expect llm-ops alertname=LLMProbeStale severity=warning instance=e1:10027
expect llm-ops alertname=LLMExporterConfigReloadFailed severity=warning instance=e1:10027
expect llm-pager alertname=LLMAvailabilityBudgetBurnFast severity=critical vendor=openai model=gpt-4.1
expect llm-ops alertname=LLMAvailabilityBudgetBurnSlow severity=warning vendor=openai model=gpt-4.1
expect llm-pager alertname=LLMLatencyBudgetBurnFast severity=critical vendor=openai model=gpt-4.1
expect llm-ops alertname=LLMLatencyBudgetBurnSlow severity=warning vendor=openai model=gpt-4.1
expect llm-ops alertname=LLMRateLimited severity=warning vendor=openai model=gpt-4.1
expect llm-finance alertname=LLMDailySpendHigh severity=warning vendor=openai
expect llm-finance alertname=LLMMonthlyBudgetExceeded severity=warning vendor=openai
expect llm-pager,llm-finance alertname=LLMBalanceRunningOut severity=critical vendor=deepseek currency=USD
expect llm-finance alertname=LLMUsageMissing severity=warning vendor=openai model=gpt-4.1 source=proxy
expect null alertname=SomethingElse severity=info
[ "$failures" = 0 ]
