#!/usr/bin/env bash
# What the Python end-to-end tests share: runs tests/e2e/SCRIPT BUILD_DIR WORK [ARGS...] with
# Debian's python3 in a new work directory, removed when the script passes and kept (its path
# printed) when it fails or MODELWATCH_KEEP_WORK is set.
# Usage: run_python.sh BUILD_DIR NAME SCRIPT [ARGS...]; exit 77 (skip) if a program is not built.
set -uo pipefail
BUILD_DIR=$(cd "$1" && pwd)
NAME=$2
SCRIPT=$3
shift 3
SRC=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
for bin in "$BUILD_DIR/exporter/modelwatch-exporter" "$BUILD_DIR/rulegen/modelwatch-rulegen"; do
  [[ -x $bin ]] || { echo "SKIP: not built yet: $bin"; exit 77; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-$NAME.XXXXXX")
/usr/bin/python3 "$SRC/tests/e2e/$SCRIPT" "$BUILD_DIR" "$WORK" "$@"
status=$?
if [[ $status -eq 0 && -z ${MODELWATCH_KEEP_WORK:-} ]]; then
  rm -rf "$WORK"
else
  echo "work directory kept: $WORK"
fi
exit $status
