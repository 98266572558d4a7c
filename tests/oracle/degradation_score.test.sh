#!/bin/bash
# The degradation score and positive-rate z-score on scikit-learn's breast-cancer data through
# the real exporter: clean traffic stays far below notify_at, a real performance drop rises above
# it, a real positive-rate shift crosses the 5σ line (see degradation_score.py).
set -euo pipefail
build="${1:-${MODELWATCH_BUILD_DIR:?}}"
here="$(cd "$(dirname "$0")" && pwd)"
exec /usr/bin/python3 "$here/degradation_score.py" "$build"
