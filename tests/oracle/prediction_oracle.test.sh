#!/bin/bash
# Model-output statistics (multiclass, regression) against numpy/scipy.
set -euo pipefail
build="${1:-${MODELWATCH_BUILD_DIR:?}}"
here="$(cd "$(dirname "$0")" && pwd)"
[ -x "$build/tests/oracle/drift_oracle" ] || { echo "drift_oracle not built"; exit 1; }
/usr/bin/python3 "$here/prediction_oracle.py" "$build"
