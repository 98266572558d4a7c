#!/usr/bin/env bash
# Mutation testing of the generated rules with the real promtool: for a selection of one
# example model's alerts (the whole run is `modelwatch-rulegen mutate` without --alert, minutes
# long: figures in docs/rulegen.md), every mutant — an `and` operand or `or` branch dropped, a
# threshold or window halved or doubled, `for`/`keep_firing_for` removed — must make the
# generated tests fail.
set -euo pipefail

build_dir=${1:?usage: mutation.test.sh BUILD_DIR}
src=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$build_dir/rulegen/modelwatch-rulegen
[[ -x $bin ]] || { echo "missing $bin"; exit 1; }
command -v promtool >/dev/null || { echo "SKIP: promtool not installed"; exit 77; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
alerts=ModelDown,FeatureDrift,PredictionDrift,DegradationScore,LowLabelMatchRate
if ! "$bin" mutate --config.dir="$src/examples/models" --model=eta-predictor \
  --alert=$alerts --min-score=100 >"$log" 2>&1; then
  cat "$log"
  echo "FAIL: a mutant of $alerts survived the generated tests (or mutate failed)"
  exit 1
fi
sed -n '/^rules\//,$p' "$log"
n=$(grep -c '^\[' "$log")
((n >= 30)) || { cat "$log"; echo "FAIL: only $n mutants (expected the selection to give >= 30)"; exit 1; }
grep -q "mutation score: 100.0%" "$log" || { cat "$log"; echo "FAIL: no 100% score line"; exit 1; }
echo "OK: $n mutants, all killed"
