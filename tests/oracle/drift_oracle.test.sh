#!/bin/bash
# Drift statistics against numpy/scipy on generated data (two seeds).
set -euo pipefail
build="${1:-${MODELWATCH_BUILD_DIR:?}}"
here="$(cd "$(dirname "$0")" && pwd)"
[ -x "$build/tests/oracle/drift_oracle" ] || { echo "drift_oracle not built"; exit 1; }
for seed in 7 2026; do
  /usr/bin/python3 "$here/drift_oracle.py" "$build" --seed "$seed"
done
