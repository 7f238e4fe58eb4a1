# Sourced by the dashboard scripts.
# The repository's root, whichever script sourced this.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The two binaries every script takes first: LLM_EXPORTER FAKE_VENDOR.
#   binaries_from_args USAGE "$@"
binaries_from_args() {
  local usage="$1"
  shift
  exporter="${1:?$usage}"
  fake_vendor="${2:?$usage}"
}

# The global block of a Prometheus config that scrapes and evaluates every second.
fast_prometheus_global() {
  printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n'
}

# A scratch directory ($run) whose processes (append their pids to $pids) are
# killed and whose files are removed on exit.
#   new_run_dir NAME
new_run_dir() {
  run="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  pids=()
  trap cleanup EXIT
}

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
