#!/bin/bash
# What the real exporter serves after tailing a log, against numpy/scipy on the same data
# (two seeds at 8 000 records, one at 1 000 000).
set -euo pipefail
build="${1:-${MODELWATCH_BUILD_DIR:?}}"
here="$(cd "$(dirname "$0")" && pwd)"
for seed in 11 2027; do
  /usr/bin/python3 "$here/served_drift.py" "$build" --seed "$seed"
done
# The no-drift control and the accuracy bounds at one million records in the window.
/usr/bin/python3 "$here/served_drift.py" "$build" --seed 5 --n-ref 200000 --n-cur 1000000
