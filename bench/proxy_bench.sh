#!/usr/bin/env bash
# In-path proxy benchmark, on loopback only, in one run:
#
# Part 1, latency and throughput. wrk POSTs a non-streaming chat completion
# ({"model":"fake-gpt",...,"max_tokens":8}) for DURATION seconds per cell at
# 1, 16 and 64 connections, in ROUNDS rounds that each run the four columns in
# turn (figures: the median over the rounds, and each round's ratios), to
#   (a) direct: tests/fake_vendor (--keep-alive --threads 1200) itself,
#   (b) ours:   llm_exporter --proxy.listen-address, routing "fake-gpt*" to it
#               (a plain-HTTP vendor: the proxy's own HTTP/1.1 client),
#   (c) nginx:  Debian's /usr/sbin/nginx, proxy_pass to an upstream block with
#               keepalive 64, HTTP/1.1 and proxy_buffering off (as ours),
#   (d) ours through libcurl: the same, with a proxy variable (and NO_PROXY=*)
#               in its environment, which sends every vendor through libcurl,
#               as HTTPS vendors and those with transport settings go.
# It prints p50 / p99 latency and requests/s of each, the latency each proxy
# adds over direct at p50, and the ratios ours/nginx of added latency
# (aim <= 1.2) and of throughput (aim >= 0.8), for (b) and for (d).
#
# Part 2, held streams. A small Node.js client opens STREAMS streaming
# requests at once through ours, then (with fresh processes) through nginx,
# to a fake_vendor whose replies trickle a token every TOKEN_MS ms so that
# each stream lasts HOLD seconds. It counts streams that got their first
# bytes, completed (ended with "data: [DONE]") and failed, and samples the
# proxy's RSS (VmRSS; nginx: sum over its workers) and CPU time while the
# streams are held: peak RSS in MB and mean CPU as a share of one core.
# Aim for ours: < 150 MB RSS with 1,000 streams.
#
#   bench/proxy_bench.sh [DURATION] [STREAMS] [HOLD]
#   DURATION=2 ROUNDS=1 STREAMS=100 HOLD=5 SKIP_BUILD=1 bench/proxy_bench.sh   # quick look, < 1 min
# Environment: DURATION (s per wrk cell and round, default 5), ROUNDS (default
# 3), STREAMS (default 1000),
# HOLD (s, default 60), CONNS (default "1 16 64"), TOKEN_MS (default 100),
# WRK_THREADS (default 2), BUILD_DIR, SKIP_BUILD=1 (use the binaries as built),
# KEEP_RUN=1 (keep the temporary directory with every log).
# Needs wrk, nginx and node (apt-get install wrk nginx-light nodejs). Every
# process runs on this 2-core machine together with the load generator, so
# figures are relative: compare the columns of one run, not runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/proxy_common.sh
source "$root/bench/proxy_common.sh"
duration="${1:-${DURATION:-5}}"
streams="${2:-${STREAMS:-1000}}"
hold="${3:-${HOLD:-60}}"
conns="${CONNS:-1 16 64}"
rounds="${ROUNDS:-3}"
token_ms="${TOKEN_MS:-100}"
wrk_threads="${WRK_THREADS:-2}"
build="${BUILD_DIR:-$root/build}"
[ "${SKIP_BUILD:-0}" = 1 ] || cmake --build "$build" --target llm_exporter fake_vendor >/dev/null
exporter="$build/exporter/llm_exporter"
vendor="$build/tests/fake_vendor/fake_vendor"
nginx="${NGINX:-/usr/sbin/nginx}"
for tool in "$exporter" "$vendor" "$nginx" "$(command -v wrk || echo wrk)" "$(command -v node || echo node)"; do
  [ -x "$tool" ] || { echo "proxy_bench: $tool not found (wrk, nginx, node: apt-get install)" >&2; exit 1; }
done
# 1,000 client sockets, 1,000 to the vendor, the same again through nginx.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((2 * streams + 100)) ]; then
  echo "proxy_bench: ulimit -n is $(ulimit -n), too few for $streams streams" >&2
  exit 1
fi

bench_start logs
trap 'exit 130' INT TERM

ticks="$(getconf CLK_TCK)"

# --- starting and stopping the three servers ---------------------------------

# start_vendor NAME LOG ARGS...: a fake_vendor on a free port, logging to LOG;
# sets vendor_pid and vendor_port.
start_vendor() {
  local name="$1" log="$2"; shift 2
  "$vendor" --listen 127.0.0.1:0 --port-file "$run/$name.port" --keep-alive "$@" >"$log" 2>&1 &
  pids+=($!)
  vendor_pid=$!
  for _ in $(seq 100); do [ -s "$run/$name.port" ] && break; sleep 0.1; done
  vendor_port="$(cat "$run/$name.port")"
}

# start_ours NAME UPSTREAM_PORT [CLIENT]: the exporter's proxy; sets ours_pid,
# ours_addr. CLIENT libcurl: with a proxy variable that sends it through libcurl.
start_ours() {
  local name="$1" upstream="$2" client="${3:-http1}"
  local -a via=()
  [ "$client" = libcurl ] && via=(env http_proxy=http://127.0.0.1:9 "NO_PROXY=*")
  proxy_config "$run/$name.toml" "$upstream"
  "${via[@]}" "$exporter" --config.file="$run/$name.toml" --web.listen-address=127.0.0.1:0 \
    --proxy.listen-address=127.0.0.1:0 --state.dir="$run/$name.state" 2>"$run/$name.log" &
  ours_pid=$!
  pids+=("$ours_pid")
  ours_addr="$(proxy_address "$run/$name.log")"
  [ -n "$ours_addr" ] || { echo "proxy_bench: exporter did not start:" >&2; cat "$run/$name.log" >&2; exit 1; }
  grep -q "msg=\"Proxy upstream client\" vendor=fake client=$client" "$run/$name.log" ||
    { echo "proxy_bench: $name does not use the $client client:" >&2; cat "$run/$name.log" >&2; exit 1; }
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx NAME UPSTREAM_PORT: nginx in the foreground with its own prefix;
# sets nginx_pid (the master), nginx_workers and nginx_addr.
start_nginx() {
  local name="$1" upstream="$2" dir="$run/$1" port
  port="$(free_port)"
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
$([ "$(id -u)" = 0 ] && echo "user nobody nogroup;")
worker_processes 2;
worker_rlimit_nofile $(ulimit -n);
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  # wrk keeps its connections for the whole cell, as ours lets it.
  keepalive_requests 1000000;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream upstream {
    server 127.0.0.1:$upstream;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
EOF
  "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout.log" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
  nginx_addr="127.0.0.1:$port"
  for _ in $(seq 100); do
    curl -s --noproxy '*' -o /dev/null "http://$nginx_addr/" && break
    sleep 0.1
  done
  nginx_workers="$(pgrep -P "$nginx_pid" | tr '\n' ' ')"
  [ -n "$nginx_workers" ] || { echo "proxy_bench: nginx did not start:" >&2; cat "$dir/error.log" >&2; exit 1; }
}

stop() { for p in "$@"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }

# check ADDR: one request must come back as a chat completion.
check() {
  curl -fsS --noproxy '*' -H 'Content-Type: application/json' -d "$bench_body" \
    "http://$1/v1/chat/completions" | grep -q '"chat.completion"' ||
    { echo "proxy_bench: no chat completion from $1" >&2; exit 1; }
}

# --- part 1: wrk ---------------------------------------------------------------

cat >"$run/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$bench_body'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", latency:percentile(50),
    latency:percentile(99), summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status))
end
EOF

# bench ADDR CONNS SECONDS: prints "p50_ms p99_ms req_per_s errors".
bench() {
  local threads=$((wrk_threads < $2 ? wrk_threads : $2))
  wrk -t"$threads" -c"$2" -d"$3s" -s "$run/post.lua" "http://$1/v1/chat/completions" |
    awk '/^RESULT/ { printf "%.3f %.3f %.0f %d\n", $2 / 1000, $3 / 1000, $4 / ($5 / 1e6), $6 + $7 }'
}

# Its log line per request would come to hundreds of MB here.
start_vendor vendor /dev/null --threads 1200 --reply-tokens 8
start_ours curl "$vendor_port" libcurl
curl_pid="$ours_pid"
curl_addr="$ours_addr"
start_ours ours "$vendor_port"
start_nginx nginx "$vendor_port"
direct_addr="127.0.0.1:$vendor_port"
for addr in "$direct_addr" "$ours_addr" "$nginx_addr" "$curl_addr"; do
  check "$addr"
  bench "$addr" 16 1 >/dev/null  # warm-up: connections, caches, page faults
done

echo "proxy benchmark on $(nproc) cores: wrk ${duration} s per cell and round, $rounds round(s), POST /v1/chat/completions (non-streaming, 8 tokens)" >&2
# Every round runs the four columns one after the other, so that what the
# machine does meanwhile falls on all of them; the table shows each figure's
# median over the rounds.
: >"$run/cells"
for c in $conns; do
  for r in $(seq "$rounds"); do
    i=0
    for addr in "$direct_addr" "$ours_addr" "$nginx_addr" "$curl_addr"; do
      echo "$c $r $i $(bench "$addr" "$c" "$duration")" >>"$run/cells"
      i=$((i + 1))
    done
  done
  echo "  done: $c connection(s)" >&2
done
# One line per concurrency: "conns" then, per column, the medians of p50, p99
# and req/s and the sum of errors.
mapfile -t results < <(awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { k = $1 SUBSEP $3; p50[k] = p50[k] " " $4; p99[k] = p99[k] " " $5; rps[k] = rps[k] " " $6; err[k] += $7
    if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  END {
    for (o = 1; o <= n; o++) {
      c = order[o]; line = c
      for (i = 0; i < 4; i++) { k = c SUBSEP i; line = line " " median(p50[k]) " " median(p99[k]) " " median(rps[k]) " " err[k] }
      print line
    }
  }' "$run/cells")
stop "$ours_pid" "$curl_pid" "$nginx_pid" "$vendor_pid"

# --- part 2: held streams ------------------------------------------------------

cat >"$run/streams.js" <<'EOF'
// node streams.js URL N DEADLINE_S DIR: N streaming requests at once; writes
// DIR/held once every stream has its first bytes (or failed) and DIR/ending
// when the first one ends; prints a JSON summary.
const http = require('http');
const fs = require('fs');
const [url, n, deadline, dir] = [process.argv[2], +process.argv[3], +process.argv[4], process.argv[5]];
const body = JSON.stringify({model: 'fake-gpt', messages: [{role: 'user', content: 'ping'}],
                             max_tokens: 100000, stream: true});
const agent = new http.Agent({keepAlive: false, maxSockets: Infinity});
let first = 0, completed = 0, failed = 0, held = false, ending = false;
const errors = {}, ttfb = [], requests = [];
const mark = () => {
  if (!held && first + failed >= n) { held = true; fs.writeFileSync(dir + '/held', ''); }
  if (completed + failed >= n) finish();
};
const end = (ok, why) => {
  if (!ending) { ending = true; fs.writeFileSync(dir + '/ending', ''); }
  if (ok) completed++; else { failed++; errors[why] = (errors[why] || 0) + 1; }
  mark();
};
const finish = () => {
  ttfb.sort((a, b) => a - b);
  const q = p => ttfb.length ? ttfb[Math.min(ttfb.length - 1, Math.floor(p * ttfb.length))] : -1;
  console.log(JSON.stringify({streams: n, first_bytes: first, completed, failed, errors,
                              ttfb_p50_ms: q(0.5), ttfb_p99_ms: q(0.99)}));
  process.exit(0);
};
setTimeout(() => {
  for (const r of requests) if (!r.done) { r.done = true; r.req.destroy(); end(false, 'deadline'); }
}, deadline * 1000);
for (let i = 0; i < n; i++) {
  const r = {done: false, got: false, tail: ''};
  const start = Date.now();
  const settle = (ok, why) => { if (!r.done) { r.done = true; end(ok, why); } };
  r.req = http.request(url, {method: 'POST', agent, headers: {
    'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)}}, res => {
    if (res.statusCode !== 200) { res.resume(); settle(false, 'http_' + res.statusCode); return; }
    res.on('data', chunk => {
      if (!r.got) { r.got = true; first++; ttfb.push(Date.now() - start); mark(); }
      r.tail = (r.tail + chunk.toString()).slice(-64);
    });
    res.on('end', () => settle(r.tail.includes('data: [DONE]'), 'no [DONE]'));
    res.on('error', e => settle(false, e.code || e.message));
  });
  r.req.on('error', e => settle(false, e.code || e.message));
  r.req.end(body);
  requests.push(r);
}
EOF

# rss_kb PIDS...: VmRSS (kB) summed over PIDS; cpu_ticks PIDS...: utime+stime.
rss_kb() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo "$s"; }
cpu_ticks() { local s=0 p; for p in "$@"; do s=$((s + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$s"; }

# hold_streams NAME ADDR PIDS...: runs the client against ADDR while sampling
# PIDS; writes to $run/NAME.result "idle_rss_mb peak_rss_mb cpu_pct streams
# first completed failed ttfb_p50 ttfb_p99 errors".
hold_streams() {
  local name="$1" addr="$2"; shift 2
  local dir="$run/$name.client" idle peak=0 rss t0="" c0="" t1="" c1="" client
  mkdir -p "$dir"
  idle="$(rss_kb "$@")"
  node "$run/streams.js" "http://$addr/v1/chat/completions" "$streams" $((hold + 60)) "$dir" \
    >"$dir/summary.json" 2>"$dir/stderr.log" &
  client=$!
  pids+=("$client")
  while kill -0 "$client" 2>/dev/null; do
    rss="$(rss_kb "$@")"
    [ "$rss" -gt "$peak" ] && peak="$rss"
    if [ -z "$t0" ] && [ -e "$dir/held" ]; then t0="$(date +%s%N)"; c0="$(cpu_ticks "$@")"; fi
    if [ -n "$t0" ] && [ -z "$t1" ] && [ -e "$dir/ending" ]; then t1="$(date +%s%N)"; c1="$(cpu_ticks "$@")"; fi
    sleep 0.5
  done
  wait "$client" || true
  [ -n "$t0" ] || { t0="$(date +%s%N)"; c0="$(cpu_ticks "$@")"; }
  [ -n "$t1" ] || { t1="$(date +%s%N)"; c1="$(cpu_ticks "$@")"; }
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const e = Object.entries(s.errors).map(([k, v]) => k + ":" + v).join(",") || "-";
    const [idle, peak, ticks, hz, ns] = process.argv.slice(2).map(Number);
    const cpu = ns > 0 ? 100 * (ticks / hz) / (ns / 1e9) : 0;
    console.log([(idle / 1024).toFixed(1), (peak / 1024).toFixed(1), cpu.toFixed(1), s.streams,
                 s.first_bytes, s.completed, s.failed, s.ttfb_p50_ms, s.ttfb_p99_ms, e].join(" "));
  ' "$dir/summary.json" "$idle" "$peak" $((c1 - c0)) "$ticks" $((t1 - t0)) >"$run/$name.result" ||
    echo "0 0 0 $streams 0 0 $streams -1 -1 no-summary" >"$run/$name.result"
}

reply_tokens=$((hold * 1000 / token_ms))
if [ "$reply_tokens" -lt 1 ] || [ "$reply_tokens" -gt 100000 ]; then
  echo "proxy_bench: HOLD*1000/TOKEN_MS = $reply_tokens tokens, must be 1..100000" >&2
  exit 1
fi
vendor_threads=$((streams + 200 > 1200 ? streams + 200 : 1200))
echo "held streams: $streams for ${hold} s ($reply_tokens tokens, one every $token_ms ms)" >&2

start_vendor stream_vendor_ours "$run/stream_vendor_ours.log" --threads "$vendor_threads" --reply-tokens "$reply_tokens" --token-ms "$token_ms"
start_ours ours_streams "$vendor_port"
sleep 1  # let the exporter settle before its idle RSS is taken
hold_streams ours_streams "$ours_addr" "$ours_pid"
echo "  done: ours" >&2
kill -0 "$ours_pid" 2>/dev/null || echo "proxy_bench: the exporter died during the streams" >&2
stop "$ours_pid" "$vendor_pid"

start_vendor stream_vendor_nginx "$run/stream_vendor_nginx.log" --threads "$vendor_threads" --reply-tokens "$reply_tokens" --token-ms "$token_ms"
start_nginx nginx_streams "$vendor_port"
sleep 1
# shellcheck disable=SC2086  # one argument per worker
hold_streams nginx_streams "$nginx_addr" $nginx_workers
echo "  done: nginx" >&2
stop "$nginx_pid" "$vendor_pid"

# --- the report ------------------------------------------------------------------

echo
printf 'proxy benchmark: %s cores, loopback, wrk %s s per cell and round, median of %s round(s), non-streaming POST /v1/chat/completions\n' \
  "$(nproc)" "$duration" "$rounds"
printf '%s\n' "${results[@]}" | awk '
  function ratio(a, b) { return (b > 0 && a >= 0) ? sprintf("%.2f", a / b) : "n/a" }
  BEGIN {
    printf "%5s | %-29s | %-29s | %-29s | %-29s | %-20s | %-13s | %-13s\n", "", "(a) direct",
      "(b) ours", "(c) nginx", "(d) ours through libcurl", "added p50 ms", "(b)/(c)", "(d)/(c)"
    printf "%5s |", "conns"
    for (i = 0; i < 4; i++) printf " %7s %7s %8s %4s |", "p50 ms", "p99 ms", "req/s", "err"
    printf " %6s %6s %6s | %6s %6s | %6s %6s\n", "(b)", "(c)", "(d)", "added", "req/s", "added",
      "req/s"
  }
  {
    printf "%5d |", $1
    for (i = 0; i < 4; i++) printf " %7.3f %7.3f %8d %4d |", $(2 + 4 * i), $(3 + 4 * i), $(4 + 4 * i), $(5 + 4 * i)
    ours = $6 - $2; ngx = $10 - $2; curl = $14 - $2
    printf " %6.3f %6.3f %6.3f | %6s %6s | %6s %6s\n", ours, ngx, curl, ratio(ours, ngx),
      ratio($8, $12), ratio(curl, ngx), ratio($16, $12)
  }
  END { print "aims: added latency ours/nginx <= 1.2, throughput ours/nginx >= 0.8 (err: socket errors + non-2xx)" }'
# The spread behind the medians: each round's own ratios.
awk '
  { v[$1, $2, $3] = $4; r[$1, $2, $3] = $6; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } if ($2 > rounds) rounds = $2 }
  END {
    for (o = 1; o <= n; o++) {
      c = order[o]; added = ""; rps = ""
      for (k = 1; k <= rounds; k++) {
        ngx = v[c, k, 2] - v[c, k, 0]
        added = added sprintf(" %.2f", ngx > 0 ? (v[c, k, 1] - v[c, k, 0]) / ngx : 0)
        rps = rps sprintf(" %.2f", r[c, k, 2] > 0 ? r[c, k, 1] / r[c, k, 2] : 0)
      }
      printf "%5d | (b)/(c) by round: added p50%s; req/s%s\n", c, added, rps
    }
  }' "$run/cells"

echo
printf 'held streams: %s at once for %s s (a token every %s ms), fresh processes per proxy\n' \
  "$streams" "$hold" "$token_ms"
printf '%-16s | %8s %11s %8s | %6s %6s %9s %6s | %10s %10s | %s\n' "proxy" "idle MB" "peak MB" \
  "CPU %" "opened" "first" "completed" "failed" "TTFB p50ms" "TTFB p99ms" "errors"
for row in "ours|$(cat "$run/ours_streams.result")" "nginx (workers)|$(cat "$run/nginx_streams.result")"; do
  # shellcheck disable=SC2086
  set -- ${row#*|}
  printf '%-16s | %8s %11s %8s | %6s %6s %9s %6s | %10s %10s | %s\n' "${row%%|*}" "$1" "$2" "$3" \
    "$4" "$5" "$6" "$7" "$8" "$9" "${10}"
done
echo "aim for ours: peak RSS < 150 MB with 1,000 streams; CPU % is of one core, mean while all streams are held"

# What the exporter logged above info level, if anything.
warnings="$(cat "$run/ours.log" "$run/ours_streams.log" | grep -c -E 'level=(warn|error)' || true)"
echo
echo "exporter log: $warnings warn/error lines"
cat "$run/ours.log" "$run/ours_streams.log" | grep -E 'level=(warn|error)' | head -5 || true
