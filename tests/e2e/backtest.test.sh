#!/usr/bin/env bash
# End-to-end backtest: a generated week of production traffic with five incidents of known
# start (examples/backtest/gen_history.py), its rules from `modelwatch-rulegen generate`, and
# `modelwatch-exporter backtest` over it with the real promtool and Prometheus. The checks
# (tests/e2e/check_backtest.py) compare the reported incidents, detections, lead times and
# false pages with what the generator knows, and render the HTML report in headless Chromium.
#
# Usage: backtest.test.sh BUILD_DIR   (MODELWATCH_KEEP_WORK=1 keeps the work directory).
# About 2-3 minutes on 2 idle cores; exit 77 (skip) if a program is missing.
set -uo pipefail

BUILD_DIR=${1:-${MODELWATCH_BUILD_DIR:-build}}
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
SRC=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PY=/usr/bin/python3
EXPORTER=$BUILD_DIR/exporter/modelwatch-exporter
RULEGEN=$BUILD_DIR/rulegen/modelwatch-rulegen

for tool in promtool prometheus amtool chromium; do
  command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[[ -x $EXPORTER && -x $RULEGEN ]] || { echo "SKIP: programs not built"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-backtest-test.XXXXXX")
status=1
cleanup() {
  if [[ $status -eq 0 && -z ${MODELWATCH_KEEP_WORK:-} ]]; then
    rm -rf "$WORK"
  else
    echo "work directory kept: $WORK"
  fi
}
trap cleanup EXIT

set -e
$PY "$SRC/examples/backtest/gen_history.py" "$WORK/h" --days=7 --rate=0.2 --seed=7
"$EXPORTER" baseline --config.dir="$WORK/h/models" --model=txn-risk \
  --input="$WORK/h/reference.jsonl" --output="$WORK/h/baseline.json"
"$RULEGEN" generate --config.dir="$WORK/h/models" --out="$WORK/h/generated"
# Peer-style fixed thresholds judged in the same run (docs/backtest.md, "Peer comparison"); the
# KS rule checked against scipy's p < 0.05 with promtool first.
for t in psi ks; do
  $PY "$SRC/examples/backtest/peer_rules.py" --config.dir="$WORK/h/models" \
    --rules.dir="$WORK/h/generated" --tests=$t --out="$WORK/peer-$t.rules.yml"
  promtool check rules "$WORK/peer-$t.rules.yml"
done
$PY "$SRC/tests/e2e/check_peer_rules.py" "$WORK/peer-ks.rules.yml" "$WORK/h/baseline.json" txn-risk
start=$(date +%s)
"$EXPORTER" backtest --config.dir="$WORK/h/models" --rules.dir="$WORK/h/generated" \
  --input="$WORK/h/history.jsonl" --labels="$WORK/h/labels.jsonl" \
  --incidents="$WORK/h/incidents.yaml" --output="$WORK/result.json" --html="$WORK/report.html" \
  --peer-rules="$WORK/peer-psi.rules.yml,$WORK/peer-ks.rules.yml"
echo "backtest took $(($(date +%s) - start)) s"
set +e
$PY "$SRC/tests/e2e/check_backtest.py" "$WORK/h/truth.json" "$WORK/h/generated" \
  "$WORK/result.json" "$WORK/report.html" "$WORK/h/models" "$RULEGEN"
status=$?
exit $status
