#!/usr/bin/env bash
# End to end, with a real Prometheus evaluating a copy of
# rules/llm_exporter.rules.yml (every for: shortened to 1s) and a real
# Alertmanager running the shipped alertmanager.yml (its receivers pointed at a
# local webhook receiver, group_wait and group_interval at 1s):
#  1. alerting: exporter 1 probes a healthy target and a failing one (wrong
#     key: auth) on fake vendor A. Passes when
#     a. LLMModelDown for the failing target, with the expected labels, is
#        active in Alertmanager's API, and none is there for the healthy one;
#     b. a burn-rate alert and a money alert reach the webhook receiver
#        through the shipped routing tree: LLMAvailabilityBudgetBurnFast for
#        the failing target's model at llm-pager (every run fails: the burn
#        rate is 100 over every window at once, so the real 1h/5m rule fires
#        within seconds), and LLMDailySpendHigh for the healthy vendor at
#        llm-finance, its daily limit set to 1 micro-USD by an override in a
#        rule file of its own (the way users override settings); neither
#        for the healthy model, nor for the fleet vendor (default limit).
#  2. fleet reconciliation: exporters 1 and 2 both probe vendor "fleet" (fake
#     vendor B, which bills what it serves at the same prices); only exporter 1
#     polls its billing, exporter 2 has [vendor.billing] enabled = false. Once
#     B fails every request (so that nothing moves), the fleet drift recording
#     rule must settle at exactly 0 while exporter 1's own ratio shows the
#     share exporter 2 spent.
# Everything listens on 127.0.0.1 with ports the programs pick themselves
# (port 0, read back from their logs).
#   e2e_alerting.sh LLM_EXPORTER FAKE_VENDOR [PROMETHEUS] [ALERTMANAGER]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=dashboards/lib.sh
source "$here/lib.sh"  # root, binaries_from_args, new_run_dir
binaries_from_args "usage: e2e_alerting.sh LLM_EXPORTER FAKE_VENDOR [PROMETHEUS] [ALERTMANAGER]" "$@"
prometheus="${3:-prometheus}"
alertmanager="${4:-prometheus-alertmanager}"
deadline_seconds=60

new_run_dir llm_e2e_alerting
start=$SECONDS

fail() {
  echo "FAIL: $*"
  for log in "$run"/*.log; do
    echo "--- $(basename "$log") (last 15 lines)"
    tail -15 "$log"
  done
  exit 1
}

# Polls until the command succeeds; $1 = what is awaited, for the message.
wait_for() {
  local what="$1"
  shift
  while ! "$@"; do
    [ $((SECONDS - start)) -lt "$deadline_seconds" ] || fail "timed out waiting for $what"
    sleep 0.2
  done
}

# The address a program logged as `msg="Listening on" address=HOST:PORT`.
logged_address() { sed -n 's/.*msg="Listening on" address=\([0-9.:]*\).*/\1/p' "$1" | head -1; }
has_address() { [ -n "$(logged_address "$1")" ]; }
alive() { kill -0 "$1" 2>/dev/null || fail "$2 exited"; }

# --- fake vendors --------------------------------------------------------------
export E2E_GOOD_KEY="sk-e2e-good-$RANDOM$RANDOM"
export E2E_BAD_KEY="sk-e2e-bad-$RANDOM$RANDOM"
export E2E_FLEET_KEY="sk-e2e-fleet-$RANDOM$RANDOM"
export E2E_FLEET_ADMIN_KEY="sk-e2e-admin-$RANDOM$RANDOM"
"$fake_vendor" --listen 127.0.0.1:0 --port-file "$run/vendor.port" --api-key "$E2E_GOOD_KEY" \
  >"$run/fake_vendor.log" 2>&1 &
pids+=($!)
"$fake_vendor" --listen 127.0.0.1:0 --port-file "$run/fleet_vendor.port" \
  --api-key "$E2E_FLEET_KEY" --admin-key "$E2E_FLEET_ADMIN_KEY" \
  --prices "$root/pricing/fake_prices.toml" >"$run/fleet_vendor.log" 2>&1 &
pids+=($!)
wait_for "fake vendor A" test -s "$run/vendor.port"
wait_for "fake vendor B" test -s "$run/fleet_vendor.port"
vendor="http://127.0.0.1:$(cat "$run/vendor.port")"
fleet_vendor="http://127.0.0.1:$(cat "$run/fleet_vendor.port")"

# --- exporters -----------------------------------------------------------------
# The [exporter] table, the fleet vendor and its probe; $1 = whether this
# exporter polls the fleet vendor's billing.
exporter_config() {
  cat <<EOF
[exporter]
probe_budget_usd_per_day = 1.00
default_probe_interval = "1s"
default_probe_timeout = "1s"

[pricing]
files = ["$root/pricing/fake_prices.toml"]

[[vendor]]
name = "fleet"
api = "openai"
base_url = "$fleet_vendor/v1"
api_key_env = "E2E_FLEET_KEY"
price_table = "fake"
  [vendor.billing]
  enabled = $1
  kind = "openai_org"
  interval = "1s"
  base_url = "$fleet_vendor"
  api_key_env = "E2E_FLEET_ADMIN_KEY"

[[probe]]
vendor = "fleet"
model = "fake-gpt"
EOF
}

{
  exporter_config true
  cat <<EOF

[[vendor]]
name = "fake-good"
api = "openai"
base_url = "$vendor/v1"
api_key_env = "E2E_GOOD_KEY"
price_table = "fake"

[[vendor]]
name = "fake-bad"
api = "openai"
base_url = "$vendor/v1"
api_key_env = "E2E_BAD_KEY"
price_table = "fake"

[[probe]]
vendor = "fake-good"
model = "fake-gpt"

[[probe]]
vendor = "fake-bad"
model = "fake-gpt"
EOF
} >"$run/exporter.toml"
exporter_config false >"$run/exporter2.toml"

"$exporter" --config.file="$run/exporter.toml" --web.listen-address=127.0.0.1:0 \
  --state.dir="$run/state" 2>"$run/exporter.log" &
exporter_pid=$!
pids+=("$exporter_pid")
"$exporter" --config.file="$run/exporter2.toml" --web.listen-address=127.0.0.1:0 \
  --state.dir="$run/state2" 2>"$run/exporter2.log" &
exporter2_pid=$!
pids+=("$exporter2_pid")
exporter_ready() { alive "$exporter_pid" exporter; has_address "$run/exporter.log"; }
exporter2_ready() { alive "$exporter2_pid" exporter2; has_address "$run/exporter2.log"; }
wait_for "exporter 1 to listen" exporter_ready
wait_for "exporter 2 to listen" exporter2_ready
exporter_address="$(logged_address "$run/exporter.log")"
exporter2_address="$(logged_address "$run/exporter2.log")"

# --- webhook receiver ----------------------------------------------------------
# Appends every notification it gets as one JSON line {"path": ..., "body": ...}.
cat >"$run/webhook.py" <<'PY'
import http.server, json, os, sys
port_file, out = sys.argv[1], sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "body": json.loads(body)}) + "\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
PY
python3 "$run/webhook.py" "$run/webhook.port" "$run/webhook.jsonl" >"$run/webhook.log" 2>&1 &
pids+=($!)
wait_for "the webhook receiver" test -s "$run/webhook.port"
webhook="127.0.0.1:$(cat "$run/webhook.port")"

# --- Alertmanager --------------------------------------------------------------
# The shipped routing tree and inhibitions; receivers at the local webhook
# (the path names the receiver), notifications after 1s instead of 30s.
sed -e "s|http://alert-relay.example.internal:5001|http://$webhook|" \
  -e 's/^\([[:space:]]*\)group_wait:.*$/\1group_wait: 1s/' \
  -e 's/^\([[:space:]]*\)group_interval:.*$/\1group_interval: 1s/' \
  "$here/alertmanager.yml" >"$run/alertmanager.yml"
grep -q "http://$webhook/llm-pager" "$run/alertmanager.yml" || fail "receivers were not pointed at the webhook"
"$alertmanager" --config.file="$run/alertmanager.yml" --storage.path="$run/am-data" \
  --web.listen-address=127.0.0.1:0 --cluster.listen-address= >"$run/alertmanager.log" 2>&1 &
am_pid=$!
pids+=("$am_pid")
am_ready() { alive "$am_pid" alertmanager; has_address "$run/alertmanager.log"; }
wait_for "Alertmanager to listen" am_ready
am_address="$(logged_address "$run/alertmanager.log")"

# --- Prometheus ----------------------------------------------------------------
# The real rules with every for: at 1s, so that the test takes seconds.
sed -E 's/^([[:space:]]*)for:[[:space:]].*$/\1for: 1s/' "$here/rules/llm_exporter.rules.yml" \
  >"$run/fast.rules.yml"
grep -q 'for: 3m' "$run/fast.rules.yml" && fail "for: durations were not shortened"
# A user's override of a setting, in a rule file of its own.
cat >"$run/overrides.rules.yml" <<'EOF'
groups:
  - name: e2e_overrides
    rules:
      - record: llm:daily_spend_max_usd
        expr: vector(0.000001)
        labels:
          vendor: fake-good
EOF
fast_prometheus_global >"$run/prometheus.yml"
cat >>"$run/prometheus.yml" <<EOF
rule_files:
  - $run/fast.rules.yml
  - $run/overrides.rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["$am_address"]
scrape_configs:
  - job_name: llm_exporter
    static_configs:
      - targets: ["$exporter_address", "$exporter2_address"]
EOF
"$prometheus" --config.file="$run/prometheus.yml" --storage.tsdb.path="$run/prom-data" \
  --web.listen-address=127.0.0.1:0 >"$run/prometheus.log" 2>&1 &
prom_pid=$!
pids+=("$prom_pid")
prom_ready() { alive "$prom_pid" prometheus; has_address "$run/prometheus.log"; }
wait_for "Prometheus to listen" prom_ready
prom_address="$(logged_address "$run/prometheus.log")"
echo "vendors $vendor $fleet_vendor, exporters $exporter_address $exporter2_address," \
  "alertmanager $am_address, prometheus $prom_address"

# --- 1. LLMModelDown in Alertmanager -------------------------------------------
# Succeeds when the failing target's LLMModelDown is active with the labels the
# rules promise, and fails at once if the healthy target has one.
check_alerts() {
  curl -fsS --noproxy '*' --max-time 2 "http://$am_address/api/v2/alerts?active=true" \
    >"$run/alerts.json" 2>/dev/null || return 1
  local status=0
  python3 - "$run/alerts.json" "$exporter_address" <<'PY' || status=$?
import json, sys
alerts = json.load(open(sys.argv[1]))
instance = sys.argv[2]
down = [a for a in alerts if a["labels"].get("alertname") == "LLMModelDown"]
for a in down:
    if a["labels"].get("target") == "fake-good/fake-gpt":
        print("FAIL: LLMModelDown for the healthy target:", json.dumps(a["labels"]))
        sys.exit(2)
want = {"alertname": "LLMModelDown", "severity": "critical", "job": "llm_exporter",
        "instance": instance, "target": "fake-bad/fake-gpt", "vendor": "fake-bad",
        "model": "fake-gpt"}
for a in down:
    if a["labels"] == want and a["status"]["state"] == "active" \
            and "fake-bad/fake-gpt" in a["annotations"].get("summary", ""):
        print("LLMModelDown in Alertmanager:", json.dumps(a["labels"], sort_keys=True))
        print("  summary:", a["annotations"]["summary"])
        sys.exit(0)
sys.exit(1)
PY
  [ "$status" = 2 ] && fail "alert for the healthy target"
  return "$status"
}
wait_for "LLMModelDown in Alertmanager" check_alerts

# The failure reason the alert's description points to is there too.
curl -fsS --noproxy '*' "http://$exporter_address/metrics" >"$run/metrics.txt"
grep -q '^llm_probe_failures_total{.*reason="auth",target="fake-bad/fake-gpt".*} [1-9]' \
  "$run/metrics.txt" || fail "no auth failure counted for fake-bad/fake-gpt"

# --- 1b. a burn-rate and a money alert at the webhook ----------------------------
# Succeeds when both notifications arrived at their receivers with the labels
# and annotations the rules promise; fails at once on one that must not exist
# (a burn-rate alert for the healthy model is only wrong while none of its
# runs has failed: one run lost to a loaded machine is a real burn).
check_webhook() {
  [ -s "$run/webhook.jsonl" ] || return 1
  local status=0
  python3 - "$run/webhook.jsonl" "http://$exporter_address/metrics" <<'PY' || status=$?
import json, re, sys, urllib.request
runbook = "https://github.com/llm-exporter/llm_exporter/blob/main/docs/runbook.md#"
notes = [json.loads(line) for line in open(sys.argv[1])]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    metrics = opener.open(sys.argv[2], timeout=2).read().decode()
except OSError:
    sys.exit(1)
healthy_failures = 0.0
for labels, value in re.findall(r'^llm_probe_failures_total\{([^}]*)\} (\S+)$', metrics, re.M):
    if 'target="fake-good/fake-gpt"' in labels and 'reason="budget_exhausted"' not in labels:
        healthy_failures += float(value)
want = {
    "LLMAvailabilityBudgetBurnFast": ("/llm-pager", {
        "alertname": "LLMAvailabilityBudgetBurnFast", "severity": "critical",
        "vendor": "fake-bad", "model": "fake-gpt"}, "fake-bad/fake-gpt is burning"),
    "LLMDailySpendHigh": ("/llm-finance", {
        "alertname": "LLMDailySpendHigh", "severity": "warning", "vendor": "fake-good"},
        "fake-good: "),
}
found = {}
for note in notes:
    for a in note["body"]["alerts"]:
        labels, name = a["labels"], a["labels"].get("alertname")
        if name == "LLMAvailabilityBudgetBurnFast" and labels.get("vendor") == "fake-good" \
                and healthy_failures == 0:
            print("FAIL: burn-rate alert for the healthy model:", json.dumps(labels))
            sys.exit(2)
        if name == "LLMDailySpendHigh" and labels.get("vendor") == "fleet":
            print("FAIL: daily spend alert under the default limit:", json.dumps(labels))
            sys.exit(2)
        if name not in want or a["status"] != "firing":
            continue
        path, labels_wanted, summary = want[name]
        ann = a["annotations"]
        if note["path"] == path and labels == labels_wanted \
                and summary in ann.get("summary", "") and ann.get("description") \
                and ann.get("runbook_url") == runbook + name.lower():
            found[name] = (path, labels, ann["summary"])
if len(found) < len(want):
    sys.exit(1)
for name, (path, labels, summary) in sorted(found.items()):
    print("%s at webhook %s: %s" % (name, path, json.dumps(labels, sort_keys=True)))
    print("  summary:", summary)
PY
  [ "$status" = 2 ] && fail "an alert that must not fire reached the webhook"
  return "$status"
}
wait_for "a burn-rate and a money alert at the webhook" check_webhook
echo "alerting: PASS after $((SECONDS - start)) s"

# --- 2. fleet reconciliation ---------------------------------------------------
# Prints "{labels} value" per sample of an instant query.
prom_query() {
  curl -fsS --noproxy '*' --max-time 2 "http://$prom_address/api/v1/query" \
    --data-urlencode "query=$1" >"$run/query.json" 2>/dev/null || return 1
  python3 - "$run/query.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["data"]["result"]:
    labels = ",".join('%s="%s"' % kv for kv in sorted(r["metric"].items()))
    print("{%s} %s" % (labels, r["value"][1]))
PY
}
# Succeeds when query $1 returns exactly one sample whose value v satisfies
# the python expression $2.
prom_value_is() {
  local out
  out="$(prom_query "$1")" || return 1
  [ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] || return 1
  python3 -c "import sys; v = float(sys.argv[1]); sys.exit(0 if ($2) else 1)" "${out##* }"
}
# Both exporters must have spent something on the fleet vendor before it is frozen.
wait_for "fleet probe runs on both exporters" prom_value_is \
  'count(llm_cost_usd_total{vendor="fleet"} > 0)' 'v == 2'
curl -fsS --noproxy '*' -X POST -d '{"fault":"http_500"}' "$fleet_vendor/control/fault" >/dev/null
# Nothing is spent any more: once the last billing poll and scrapes are in, the
# vendor's report equals the sum of both ledgers, while exporter 1 alone
# accounts for only part of it.
fleet='vendor="fleet",model="fake-gpt",window="today"'
settled() {
  prom_value_is "vendor_model_window:llm_reconciliation_drift_ratio:fleet{$fleet}" 'abs(v) < 1e-9' &&
    prom_value_is "count(llm_reconciliation_local_cost_usd{$fleet} > 0)" 'v == 2' &&
    prom_value_is "count(llm_reconciliation_vendor_cost_usd{$fleet})" 'v == 1' &&
    prom_value_is "llm_reconciliation_drift_ratio{$fleet}" 'v > 0.05'
}
wait_for "the fleet drift ratio to settle at 0" settled
prom_query "{__name__=~\"vendor_model_window:llm_reconciliation_.*|llm_reconciliation_.*cost_usd|llm_reconciliation_drift_ratio\",$fleet}"
echo "PASS in $((SECONDS - start)) s"
