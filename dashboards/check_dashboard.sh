#!/usr/bin/env bash
# Checks dashboards/grafana/llm_exporter.json and dashboards/rules against a
# real scrape: starts the fake vendor (chat and billing endpoints) and the
# exporter with every billing kind enabled, an unpriced model and one reply
# without usage, so that every metric family the exporter has shows up, then
# runs check_dashboard.py (which polls /metrics until all the names it needs
# are there, or its deadline passes). With Prometheus (the third argument, or
# `prometheus` on the PATH), it also runs a real Prometheus that scrapes the
# exporter every second with the rule file loaded, and every panel query and
# variable must return data from it (except the few listed below that show
# only failures).
#   check_dashboard.sh LLM_EXPORTER FAKE_VENDOR [PROMETHEUS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=dashboards/lib.sh
source "$here/lib.sh"  # root, binaries_from_args, new_run_dir
binaries_from_args "usage: check_dashboard.sh LLM_EXPORTER FAKE_VENDOR [PROMETHEUS]" "$@"
prometheus="${3:-$(command -v prometheus || true)}"

new_run_dir llm_dash_check

# $1 = deadline in tenths of a second, rest = a command that succeeds when ready.
wait_for() {
  local tenths="$1"
  shift
  for _ in $(seq "$tenths"); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

export DASH_VENDOR_KEY="sk-dash-$RANDOM$RANDOM"
export DASH_ADMIN_KEY="sk-admin-$RANDOM$RANDOM"
"$fake_vendor" --listen 127.0.0.1:0 --port-file "$run/vendor.port" --api-key "$DASH_VENDOR_KEY" \
  --admin-key "$DASH_ADMIN_KEY" --prices "$root/pricing/fake_prices.toml" --cny-balance 12.5 \
  --ttft-ms 20 --token-ms 2 >"$run/fake_vendor.log" 2>&1 &
pids+=($!)
wait_for 100 test -s "$run/vendor.port" || { echo "fake_vendor did not start"; cat "$run/fake_vendor.log"; exit 1; }
vendor="http://127.0.0.1:$(cat "$run/vendor.port")"

# One vendor per billing kind, all served by the fake vendor. Probes run every
# second; "fake-unpriced" has no price row, so it produces unpriced requests.
cat >"$run/check.toml" <<EOF
[exporter]
probe_budget_usd_per_day = 1.00
default_probe_interval = "1s"
default_probe_timeout = "1s"

[[vendor]]
name = "fake-openai"
api = "openai"
base_url = "$vendor/v1"
api_key_env = "DASH_VENDOR_KEY"
price_table = "fake"
  [vendor.billing]
  kind = "openai_org"
  interval = "1s"
  base_url = "$vendor"
  api_key_env = "DASH_ADMIN_KEY"

[[vendor]]
name = "fake-anthropic"
api = "anthropic"
base_url = "$vendor"
api_key_env = "DASH_VENDOR_KEY"
price_table = "fake"
  [vendor.billing]
  kind = "anthropic_admin"
  interval = "1s"
  base_url = "$vendor"
  api_key_env = "DASH_ADMIN_KEY"

[[vendor]]
name = "fake-dashboard"
api = "openai"
base_url = "$vendor/v1"
api_key_env = "DASH_VENDOR_KEY"
price_table = "fake"
  [vendor.billing]
  kind = "openai_dashboard"
  interval = "1s"
  base_url = "$vendor"

[[vendor]]
name = "fake-deepseek"
api = "openai"
base_url = "$vendor/v1"
api_key_env = "DASH_VENDOR_KEY"
price_table = "fake"
  [vendor.billing]
  kind = "deepseek_balance"
  interval = "1s"
  base_url = "$vendor"

[[vendor]]
name = "fake-openrouter"
api = "openai"
base_url = "$vendor/v1"
api_key_env = "DASH_VENDOR_KEY"
price_table = "fake"
  [vendor.billing]
  kind = "openrouter"
  interval = "1s"
  base_url = "$vendor"

[[probe]]
vendor = "fake-openai"
model = "fake-gpt"
stream = true

[[probe]]
vendor = "fake-anthropic"
model = "fake-claude"
stream = true

[[probe]]
vendor = "fake-dashboard"
model = "fake-unpriced"

[pricing]
files = ["$root/pricing/fake_prices.toml"]

[proxy]
client_keys_file = "$run/client_keys"
  [[proxy.route]]
  model = "fake-gpt*"
  vendor = "fake-openai"
  inject_key = true
EOF
echo "dash-client sk-dash-client-$RANDOM$RANDOM" >"$run/client_keys"

"$exporter" --config.file="$run/check.toml" --web.listen-address=127.0.0.1:0 \
  --proxy.listen-address=127.0.0.1:0 --state.dir="$run/state" --log.level=debug 2>"$run/exporter.log" &
pids+=($!)
listening() { grep -q 'msg="Listening on"' "$run/exporter.log"; }
wait_for 100 listening || { echo "exporter did not start"; cat "$run/exporter.log"; exit 1; }
address="$(sed -n 's/.*msg="Listening on" address=\([^ ]*\).*/\1/p' "$run/exporter.log" | head -1)"

proxy="$(sed -n 's/.*msg="Proxy listening on" address=\([^ ]*\).*/\1/p' "$run/exporter.log" | head -1)"

# Traffic through the proxy for its panels, until the check ends: a proxied
# stream of a client key, and a request for a model nothing routes (404).
client_key="$(cut -d' ' -f2 "$run/client_keys")"
(
  while true; do
    curl -fsS --noproxy '*' -H "Authorization: Bearer $client_key" -H 'Content-Type: application/json' \
      -d '{"model":"fake-gpt","stream":true,"messages":[{"role":"user","content":"dashboards"}]}' \
      "http://$proxy/v1/chat/completions" >/dev/null 2>&1 || true
    curl -sS --noproxy '*' -o /dev/null -d '{"model":"unrouted"}' "http://$proxy/v1/chat/completions" || true
    sleep 0.5
  done
) &
pids+=($!)

# One reply without usage, for llm_usage_missing_total.
curl -fsS --noproxy '*' -X POST -d '{"fault":"no_usage","count":1}' "$vendor/control/fault" >/dev/null

# A real Prometheus scraping the exporter, with the rules: every panel query
# must return data from it.
prometheus_args=()
if [ -n "$prometheus" ]; then
  fast_prometheus_global >"$run/prometheus.yml"
  cat >>"$run/prometheus.yml" <<EOF
rule_files:
  - $here/rules/llm_exporter.rules.yml
scrape_configs:
  - job_name: llm_exporter
    static_configs:
      - targets: ["$address"]
EOF
  "$prometheus" --config.file="$run/prometheus.yml" --storage.tsdb.path="$run/prom-data" \
    --web.listen-address=127.0.0.1:0 >"$run/prometheus.log" 2>&1 &
  pids+=($!)
  prom_listening() { grep -q 'msg="Listening on"' "$run/prometheus.log"; }
  wait_for 100 prom_listening || { echo "prometheus did not start"; cat "$run/prometheus.log"; exit 1; }
  prom_address="$(sed -n 's/.*msg="Listening on" address=\([^ ]*\).*/\1/p' "$run/prometheus.log" | head -1)"
  prometheus_args=(--prometheus-url "http://$prom_address")
  # Panel queries (panel id/refId) that show something only when it goes
  # wrong: failed or budget-skipped probe runs, failed billing polls.
  for key in 5/A 8/A 23/A 41/A; do prometheus_args+=(--allow-empty "$key"); done
else
  echo "prometheus not found: panel queries are not run"
fi

status=0
python3 "$here/check_dashboard.py" --dashboard "$here/grafana/llm_exporter.json" \
  --rules "$here/rules/llm_exporter.rules.yml" --metrics-url "http://$address/metrics" \
  --deadline 30 --runbook "$root/docs/runbook.md" \
  "${prometheus_args[@]}" || status=$?
if [ "$status" != 0 ]; then
  echo "--- exporter log (last 40 lines)"
  tail -40 "$run/exporter.log"
  if [ -n "$prometheus" ]; then
    echo "--- prometheus log (last 20 lines)"
    tail -20 "$run/prometheus.log"
  fi
fi
exit "$status"
