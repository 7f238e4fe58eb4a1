#!/usr/bin/env bash
# The SDK test (CTest "sdk"): installs the pinned official SDKs (package.json
# and package-lock.json here) into the build tree with `npm ci`, once per lock
# file, then runs sdk_compare.mjs against the built binaries.
#   tests/sdk/run.sh SOURCE_DIR BUILD_DIR LLM_EXPORTER_BIN FAKE_VENDOR_BIN
set -euo pipefail
source_dir="$1" build_dir="$2"
work="$build_dir/tests/sdk"
mkdir -p "$work"
if ! cmp -s "$source_dir/tests/sdk/package-lock.json" "$work/package-lock.json" ||
  [ ! -d "$work/node_modules" ]; then
  cp "$source_dir/tests/sdk/package.json" "$source_dir/tests/sdk/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
fi
cp "$source_dir/tests/sdk/sdk_compare.mjs" "$work/"
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT
cd "$work"
LLM_EXPORTER_BIN="$3" FAKE_VENDOR_BIN="$4" SOURCE_DIR="$source_dir" WORK_DIR="$run" \
  node sdk_compare.mjs || { echo "--- llm_exporter log:"; cat "$run/llm_exporter.log"; exit 1; }
