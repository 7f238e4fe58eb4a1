#!/usr/bin/env bash
# Probe scheduler benchmark: N targets (default 200) at a 1 s interval against
# tests/fake_vendor on loopback, for D seconds (default 60). Prints schedule
# lateness p50/p99 (from llm_exporter_probe_schedule_delay_seconds), the
# exporter's CPU share of one core and RSS, /metrics and / render times (plain
# and gzip) and sizes, and RSS before the first scrape against after all 363.
#   bench/probe_bench.sh [TARGETS] [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
targets="${1:-200}"
seconds="${2:-60}"
build="${BUILD_DIR:-$root/build}"
[ "${SKIP_BUILD:-0}" = 1 ] || cmake --build "$build" --target llm_exporter fake_vendor >/dev/null

run="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$run"; }
trap cleanup EXIT

"$build/tests/fake_vendor/fake_vendor" --listen 127.0.0.1:0 --port-file "$run/port" --reply-tokens 4 \
  >"$run/vendor.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$run/port" ] && break; sleep 0.1; done
port="$(cat "$run/port")"

{
  echo "[exporter]"
  echo "probe_budget_usd_per_day = 1000.0"
  echo "[[vendor]]"
  echo "name = \"fake\""
  echo "api = \"openai\""
  echo "base_url = \"http://127.0.0.1:$port/v1\""
  for i in $(seq "$targets"); do
    echo "[[probe]]"
    echo "vendor = \"fake\""
    echo "model = \"fake-gpt\""
    echo "name = \"t$i\""
    echo "stream = $([ $((i % 2)) = 0 ] && echo true || echo false)"
    echo "interval = \"1s\""
    echo "timeout = \"1s\""
  done
  echo "[pricing]"
  echo "files = [\"$root/pricing/fake_prices.toml\"]"
} >"$run/bench.toml"

"$build/exporter/llm_exporter" --config.file="$run/bench.toml" --web.listen-address=127.0.0.1:0 \
  --state.dir="$run/state" 2>"$run/exporter.log" &
pid=$!
pids+=($pid)
address=""
for _ in $(seq 100); do
  address="$(sed -n 's/.*msg="Listening on" address=\([^ ]*\).*/\1/p' "$run/exporter.log" | head -1)"
  [ -n "$address" ] && break
  sleep 0.1
done
url="http://$address/metrics"

# Let every target run once (first runs are spread over the interval), then measure.
sleep 2
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
ticks="$(getconf CLK_TCK)"
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
start_cpu="$(cpu)"
start_ns="$(date +%s%N)"
sleep "$seconds"
end_cpu="$(cpu)"
end_ns="$(date +%s%N)"
rss_before_scrapes="$(rss_kb)"  # probing alone, before the first scrape
cpu_share="$(awk -v c=$((end_cpu - start_cpu)) -v t="$ticks" -v ns=$((end_ns - start_ns)) \
  'BEGIN { printf "%.1f", 100 * (c / t) / (ns / 1e9) }')"

scrape="$(curl -fsS --noproxy '*' "$url")"
rss="$(echo "$scrape" | awk '/^process_resident_memory_bytes/ { printf "%.1f", $2 / 1048576 }')"
runs="$(echo "$scrape" | awk '/^llm_probes_total/ { s += $2 } END { print s }')"
failures="$(echo "$scrape" | awk '/^llm_probe_failures_total/ { s += $2 } END { print s }')"
quantile() {
  echo "$scrape" | awk -v q="$1" '
    /^llm_exporter_probe_schedule_delay_seconds_bucket/ {
      match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      n++; bound[n] = (le == "+Inf") ? 1e9 : le; count[n] = $2 }
    END {
      total = count[n]; want = q * total; prev_b = 0; prev_c = 0
      for (i = 1; i <= n; i++) {
        if (count[i] >= want) {
          if (bound[i] == 1e9) { printf "> %.3f", prev_b; exit }
          frac = (count[i] == prev_c) ? 0 : (want - prev_c) / (count[i] - prev_c)
          printf "%.1f", 1000 * (prev_b + frac * (bound[i] - prev_b)); exit }
        prev_b = bound[i]; prev_c = count[i] } }'
}
render_ms="$(for _ in $(seq 20); do
  curl -fsS --noproxy '*' -o /dev/null -w '%{time_total}\n' "$url"; done |
  sort -n | awk '{ a[NR] = $1 } END { printf "%.2f / %.2f", 1000 * a[int(NR / 2)], 1000 * a[NR] }')"

# As Prometheus scrapes: asking for gzip.
gzip_ms="$(for _ in $(seq 20); do
  curl -fsS --noproxy '*' -H 'Accept-Encoding: gzip' -o /dev/null -w '%{time_total}\n' "$url"; done |
  sort -n | awk '{ a[NR] = $1 } END { printf "%.2f / %.2f", 1000 * a[int(NR / 2)], 1000 * a[NR] }')"
gzip_bytes="$(curl -fsS --noproxy '*' -H 'Accept-Encoding: gzip' "$url" | wc -c)"

# What scraping leaves behind: RSS after those 41 scrapes and 100 more of
# /metrics and of / (plain, as a browser or curl asks), against RSS before any.
for _ in $(seq 100); do
  curl -fsS --noproxy '*' -o /dev/null "$url"
  curl -fsS --noproxy '*' -o /dev/null "http://$address/"
done
rss_after_scrapes="$(rss_kb)"
page_ms="$(for _ in $(seq 20); do
  curl -fsS --noproxy '*' -o /dev/null -w '%{time_total}\n' "http://$address/"; done |
  sort -n | awk '{ a[NR] = $1 } END { printf "%.2f / %.2f", 1000 * a[int(NR / 2)], 1000 * a[NR] }')"
page_bytes="$(curl -fsS --noproxy '*' "http://$address/" | wc -c)"

printf '\nprobe benchmark: %s targets, 1 s interval, %s s, %s cores\n' "$targets" "$seconds" "$(nproc)"
printf '%-40s %s\n' "runs / failures" "$runs / $failures"
printf '%-40s %s ms\n' "schedule lateness p50" "$(quantile 0.5)"
printf '%-40s %s ms\n' "schedule lateness p99" "$(quantile 0.99)"
printf '%-40s %s %%\n' "exporter CPU (share of one core)" "$cpu_share"
printf '%-40s %s MB\n' "exporter RSS" "$rss"
printf '%-40s %s ms\n' "/metrics render (median / max of 20)" "$render_ms"
printf '%-40s %s ms\n' "/metrics gzip (median / max of 20)" "$gzip_ms"
printf '%-40s %s bytes, gzip %s bytes\n' "/metrics size" "$(echo "$scrape" | wc -c)" "$gzip_bytes"
printf '%-40s %s ms, %s bytes\n' "status page / (median / max of 20)" "$page_ms" "$page_bytes"
awk -v b="$rss_before_scrapes" -v a="$rss_after_scrapes" 'BEGIN {
  printf "%-40s %.1f MB -> %.1f MB (%+.1f MB)\n", "RSS, probing only -> after 363 scrapes",
    b / 1024, a / 1024, (a - b) / 1024 }'
