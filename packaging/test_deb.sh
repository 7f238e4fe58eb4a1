#!/usr/bin/env bash
# Builds the .deb from a build tree, checks its dependencies and layout,
# unpacks it into a throwaway root and runs the installed binary with
# --config.check on the installed example config (keys from this script's
# environment); systemd-analyze verifies the unit where systemd is present.
#   packaging/test_deb.sh BUILD_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
root="$(mktemp -d "${TMPDIR:-/tmp}/llm_exporter_deb.XXXXXX")"
trap 'rm -rf "$root"' EXIT
fail() { echo "test_deb: $*" >&2; exit 1; }

rm -rf "$build/packages"
(cd "$build" && cpack -G DEB >"$root/cpack.log" 2>&1) || { cat "$root/cpack.log"; fail "cpack failed"; }
deb="$(ls "$build"/packages/llm-exporter_*.deb)"
echo "test_deb: built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

depends="$(dpkg-deb -f "$deb" Depends)"
echo "test_deb: Depends: $depends"
for lib in libcivetweb1 libcurl4 libprometheus-cpp-core1.0 libsqlite3-0 libtomlplusplus3; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib"
done
[ "$(dpkg-deb -f "$deb" Package)" = llm-exporter ] || fail "wrong package name"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/llm_exporter/llm_exporter.toml ||
  fail "the config is not a conffile"

dpkg-deb -x "$deb" "$root/fs"
for f in usr/bin/llm_exporter etc/llm_exporter/llm_exporter.toml etc/default/llm_exporter \
         usr/lib/systemd/system/llm_exporter.service usr/share/llm_exporter/prices.toml \
         usr/share/llm_exporter/dashboards/rules/llm_exporter.rules.yml \
         usr/share/llm_exporter/dashboards/grafana/llm_exporter.json \
         usr/share/doc/llm-exporter/README.md usr/share/doc/llm-exporter/docs/configuration.md; do
  [ -e "$root/fs/$f" ] || fail "missing /$f"
done
[ "$(stat -c %a "$root/fs/etc/default/llm_exporter")" = 600 ] || fail "/etc/default/llm_exporter is not 0600"
file "$root/fs/usr/bin/llm_exporter" 2>/dev/null | grep -q "not stripped" && fail "binary not stripped"

"$root/fs/usr/bin/llm_exporter" --version

# The installed config names the installed price table by its absolute path;
# in the throwaway root that path lives under $root/fs.
sed "s#\"/usr/share/llm_exporter/#\"$root/fs/usr/share/llm_exporter/#" \
  "$root/fs/etc/llm_exporter/llm_exporter.toml" >"$root/check.toml"
grep -q "$root/fs/usr/share/llm_exporter/prices.toml" "$root/check.toml" ||
  fail "the installed config does not name the installed prices"
env HOLYSHEEP_API_KEY=test-1 OPENAI_API_KEY=test-2 OPENAI_ADMIN_KEY=test-3 \
  ANTHROPIC_API_KEY=test-4 ANTHROPIC_ADMIN_KEY=test-5 DEEPSEEK_API_KEY=test-6 \
  "$root/fs/usr/bin/llm_exporter" --config.check --config.file="$root/check.toml"

# The shipped Prometheus config finds the shipped rules where they are installed.
if command -v promtool >/dev/null 2>&1; then
  promtool check config "$root/fs/usr/share/llm_exporter/dashboards/prometheus.yml" >"$root/promtool.log" 2>&1 ||
    { cat "$root/promtool.log"; fail "promtool check config failed on the installed files"; }
  echo "test_deb: promtool check config passed on the installed prometheus.yml and rules"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
  # The unit as installed, but naming the unpacked binary (verify checks that
  # ExecStart is executable).
  mkdir -p "$root/unit"
  sed "s#/usr/bin/llm_exporter#$root/fs/usr/bin/llm_exporter#" \
    "$root/fs/usr/lib/systemd/system/llm_exporter.service" >"$root/unit/llm_exporter.service"
  # It exits 0 on directives it ignores, so any output is a failure too.
  if systemd-analyze verify "$root/unit/llm_exporter.service" >"$root/verify.log" 2>&1 &&
     [ ! -s "$root/verify.log" ]; then
    echo "test_deb: systemd-analyze verify passed"
  else
    cat "$root/verify.log"
    fail "systemd-analyze verify failed"
  fi
else
  echo "test_deb: systemd-analyze not present, unit not verified"
fi
echo "test_deb: passed"
