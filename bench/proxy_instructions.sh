#!/usr/bin/env bash
# The proxy's own work per request, counted rather than timed: instructions
# executed in the exporter's user space per proxied request (valgrind's
# callgrind), for a non-streaming POST /v1/chat/completions through the
# proxy's own HTTP/1.1 client to tests/fake_vendor, 16 connections. Unlike
# bench/proxy_bench.sh this figure does not move with what else the machine
# runs, so it shows what a change to the request path costs or saves; the
# kernel's share (sockets, wake-ups) is not in it.
#
#   bench/proxy_instructions.sh [SECONDS]     (default 5; needs valgrind, wrk)
# Environment: BUILD_DIR, SKIP_BUILD=1, TOP (functions listed, default 25),
# KEEP_RUN=1 (keep the callgrind profile for callgrind_annotate).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/proxy_common.sh
source "$root/bench/proxy_common.sh"
seconds="${1:-5}"
build="${BUILD_DIR:-$root/build}"
top="${TOP:-25}"
[ "${SKIP_BUILD:-0}" = 1 ] || cmake --build "$build" --target llm_exporter fake_vendor >/dev/null
exporter="$build/exporter/llm_exporter"
vendor="$build/tests/fake_vendor/fake_vendor"
for tool in valgrind callgrind_control callgrind_annotate wrk curl; do
  command -v "$tool" >/dev/null || { echo "proxy_instructions: $tool not found (apt-get install valgrind wrk curl)" >&2; exit 1; }
done

bench_start profile

"$vendor" --listen 127.0.0.1:0 --port-file "$run/vendor.port" --keep-alive --threads 64 \
  --reply-tokens 8 >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$run/vendor.port" ] && break; sleep 0.1; done
proxy_config "$run/config.toml" "$(cat "$run/vendor.port")"
# Counting starts after a warm-up (connections made, caches filled).
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$run/callgrind.out" \
  "$exporter" --config.file="$run/config.toml" --web.listen-address=127.0.0.1:0 \
  --proxy.listen-address=127.0.0.1:0 --state.dir="$run/state" 2>"$run/exporter.log" &
pids+=($!)
addr="$(proxy_address "$run/exporter.log")"
[ -n "$addr" ] || { echo "proxy_instructions: exporter did not start" >&2; cat "$run/exporter.log" >&2; exit 1; }
cat >"$run/post.lua" <<EOT
wrk.method = "POST"
wrk.body = '$bench_body'
wrk.headers["Content-Type"] = "application/json"
EOT
url="http://$addr/v1/chat/completions"
wrk -t1 -c16 -d2s -s "$run/post.lua" "$url" >/dev/null
callgrind_control -i on >/dev/null 2>&1
requests="$(wrk -t1 -c16 -d"${seconds}s" -s "$run/post.lua" "$url" | awk '/requests in/ {print $1}')"
callgrind_control -i off >/dev/null 2>&1
kill -INT "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
total="$(callgrind_annotate "$run/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
echo "proxy instructions: $requests requests, $((total / requests)) instructions per request (user space, callgrind)"
echo "the $top functions with the most instructions of their own, per request:"
callgrind_annotate "$run/callgrind.out" 2>/dev/null |
  awk -v n="$requests" -v top="$top" '
    /^ *[0-9,]+ +\([ 0-9.]+%\) +[^ ]/ && !/PROGRAM TOTALS/ {
      cost = $1; gsub(",", "", cost); sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +/, "")
      sub(/^[^:]*:/, ""); gsub(/\(anonymous namespace\)/, "{anon}"); sub(/\(.*/, "")  # no file, no arguments
      if (++shown <= top) printf "  %7.0f  %s\n", cost / n, substr($0, 1, 100)
    }'
