# Sourced by the dashboard scripts: a scratch directory ($run) whose processes
# (append their pids to $pids) are killed and whose files are removed on exit.
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
