#!/usr/bin/env bash
# drift.engine: promql: the degradation score's rules (tests/e2e/promql_degradation.py) against
# values computed from the documented formulas with scipy, by promtool: every signal and score
# of two versions at two times (the shortest complete window chosen), a version without output
# left out. A few seconds; exit 77 (skip) only if rulegen is not built.
set -uo pipefail
BUILD_DIR=${1:-${MODELWATCH_BUILD_DIR:-build}}
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
SRC=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
[[ -x $BUILD_DIR/rulegen/modelwatch-rulegen ]] || { echo "SKIP: rulegen not built yet"; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-promql-degradation.XXXXXX")
/usr/bin/python3 "$SRC/tests/e2e/promql_degradation.py" "$BUILD_DIR" "$WORK"
status=$?
if [[ $status -eq 0 && -z ${MODELWATCH_KEEP_WORK:-} ]]; then
  rm -rf "$WORK"
else
  echo "work directory kept: $WORK"
fi
exit $status
