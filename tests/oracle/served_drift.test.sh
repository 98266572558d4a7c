#!/bin/bash
# What the real exporter serves after tailing a log, against numpy/scipy on the same data.
set -euo pipefail
build="${1:-${MODELWATCH_BUILD_DIR:?}}"
here="$(cd "$(dirname "$0")" && pwd)"
for seed in 11 2027; do
  /usr/bin/python3 "$here/served_drift.py" "$build" --seed "$seed"
done
