#!/usr/bin/env bash
# The baseline's performance (baseline --labels) vs scikit-learn (see baseline_performance.py).
set -euo pipefail
build_dir=${1:?usage: baseline_performance.test.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec /usr/bin/python3 "$here/baseline_performance.py" "$build_dir"
