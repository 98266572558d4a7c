#!/usr/bin/env bash
# Ground-truth performance metrics vs scikit-learn (see sklearn_oracle.py).
set -euo pipefail
build_dir=${1:?usage: sklearn_oracle.test.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec /usr/bin/python3 "$here/sklearn_oracle.py" "$build_dir"
