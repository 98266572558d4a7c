#!/usr/bin/env bash
# Golden test of modelwatch-rulegen: `generate` on examples/models must reproduce the
# committed examples/generated/ byte for byte, twice in a row (determinism).
#
#   bash tests/rulegen/golden.test.sh BUILD_DIR            # compare
#   bash tests/rulegen/golden.test.sh BUILD_DIR --update   # rewrite examples/generated/
set -euo pipefail

build_dir=${1:?usage: golden.test.sh BUILD_DIR [--update]}
src=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$build_dir/rulegen/modelwatch-rulegen
[[ -x $bin ]] || { echo "missing $bin (build the modelwatch-rulegen target)"; exit 1; }

if [[ ${2:-} == --update ]]; then
  exec "$bin" generate --config.dir="$src/examples/models" --out="$src/examples/generated"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" generate --config.dir="$src/examples/models" --out="$tmp/first" >/dev/null
"$bin" generate --config.dir="$src/examples/models" --out="$tmp/second" >/dev/null

if ! diff -r "$tmp/first" "$tmp/second" >"$tmp/determinism.diff"; then
  echo "FAIL: two runs of generate differ:"
  head -50 "$tmp/determinism.diff"
  exit 1
fi
if ! diff -ru "$src/examples/generated" "$tmp/first" >"$tmp/golden.diff"; then
  echo "FAIL: examples/generated/ is stale. Differences (committed -> generated):"
  head -100 "$tmp/golden.diff"
  echo
  echo "If the change is intended, run: bash $0 $build_dir --update"
  exit 1
fi
echo "ok: $(find "$tmp/first" -type f | wc -l) generated files match examples/generated/"
