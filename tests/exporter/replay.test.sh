#!/bin/bash
# `modelwatch-exporter replay` (see replay_check.py).
set -euo pipefail
build_dir=${1:?usage: replay.test.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec /usr/bin/python3 "$here/replay_check.py" "$build_dir"
