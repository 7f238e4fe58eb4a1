# Shared by bench/proxy_bench.sh and bench/proxy_instructions.sh (sourced).

# bench_start WHAT: a temporary folder $run (WHAT it keeps, for KEEP_RUN=1's
# message) and the processes in $pids, killed, with the folder removed unless
# KEEP_RUN=1, when the script exits.
bench_start() {
  run="$(mktemp -d)"
  pids=()
  bench_kept="$1"
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP_RUN:-0}" = 1 ]; then echo "$bench_kept kept in $run" >&2; else rm -rf "$run"; fi
}

# The request both send: a non-streaming chat completion of 8 tokens.
bench_body='{"model":"fake-gpt","messages":[{"role":"user","content":"ping"}],"max_tokens":8}'

# proxy_config FILE UPSTREAM_PORT: an exporter config routing "fake-gpt*" to
# the fake vendor on UPSTREAM_PORT (plain HTTP), priced by the fake table.
proxy_config() {
  cat >"$1" <<EOT
[[vendor]]
name = "fake"
api = "openai"
base_url = "http://127.0.0.1:$2/v1"
price_table = "fake"

[pricing]
files = ["$root/pricing/fake_prices.toml"]

[proxy]
  [[proxy.route]]
  model = "fake-gpt*"
  vendor = "fake"
EOT
}

# proxy_address LOG: the proxy's address once the exporter logging to LOG
# listens (waits up to 30 s), or nothing.
proxy_address() {
  local addr=""
  for _ in $(seq 300); do
    addr="$(sed -n 's/.*msg="Proxy listening on" address=\([^ ]*\).*/\1/p' "$1" | head -1)"
    [ -n "$addr" ] && break
    sleep 0.1
  done
  echo "$addr"
}
