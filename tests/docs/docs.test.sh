#!/usr/bin/env bash
# Documented defaults and flags match the programs (tests/docs/check_docs.py).
#   bash tests/docs/docs.test.sh BUILD_DIR
set -euo pipefail
build_dir=$(cd "${1:?usage: docs.test.sh BUILD_DIR}" && pwd)
src=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$src/tests/docs/check_docs.py" "$src" "$build_dir" "$tmp"
