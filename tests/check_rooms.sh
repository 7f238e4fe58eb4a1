#!/usr/bin/env bash
# A room includes only rooms below it: fails, naming the line, when a file of
# one room includes a header of a room above it (README "Rooms").
#   tests/check_rooms.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
rooms=(base config pricing wire meter probes proxy reconcile exporter)
status=0
for ((i = 0; i < ${#rooms[@]}; i++)); do
  for ((j = i + 1; j < ${#rooms[@]}; j++)); do
    if hits="$(grep -rn --include='*.h' --include='*.cc' "#include \"${rooms[j]}/" "${rooms[i]}")"; then
      echo "${rooms[i]}/ includes ${rooms[j]}/, a room above it:"
      echo "$hits"
      status=1
    fi
  done
done
[ "$status" = 0 ] && echo "rooms: every include points down (${rooms[*]})"
exit "$status"
