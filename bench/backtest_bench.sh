#!/usr/bin/env bash
# Backtest cost: a history of DAYS days at RATE records/s in total, spread over MODELS models
# (copies of examples/backtest/gen_history.py's card-risk model: one history with its incidents
# and labels is generated and cloned under each model's name, so generating stays a small part
# of the run), backtested once with the rules `modelwatch-rulegen generate` writes.
# A benchmark, never a test: run it by hand on an otherwise idle machine. Prints one line per
# phase and a summary (records, steps, wall and CPU seconds, peak memory). The default 30-day
# run takes about 20-25 minutes on 2 cores and about 4 GB of memory (docs/backtest.md,
# "Performance"), plus about 8 minutes to generate: try DAYS=1 first.
#
# Usage: bench/backtest_bench.sh BUILD_DIR [DAYS=30] [RATE=10.7] [MODELS=3] [OUT_DIR]
# RATE is the generator's nominal rate: its daily and weekly cycle and its outage keep about
# 94 % of it over 30 days, so the default 10.7 gives 10 records/s on average (printed).
# Needs promtool, prometheus, amtool, python3-numpy, GNU time; about 2 GB of disk per
# 10 million records (kept in OUT_DIR, a temporary directory by default, removed at the end
# unless OUT_DIR is given).
set -euo pipefail
BUILD=$(cd "${1:?usage: backtest_bench.sh BUILD_DIR [DAYS] [RATE] [MODELS] [OUT_DIR]}" && pwd)
DAYS=${2:-30}
RATE=${3:-10.7}
MODELS=${4:-3}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
if [[ -n ${5:-} ]]; then
  OUT=$5
  mkdir -p "$OUT"
else
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-backtest-bench.XXXXXX")
  trap 'rm -rf "$OUT"' EXIT
fi
per_model=$($PY -c "print($RATE / $MODELS)")
mkdir -p "$OUT/models"
t0=$SECONDS
g=$OUT/gen
$PY "$SRC/examples/backtest/gen_history.py" "$g" --days="$DAYS" --rate="$per_model" --seed=1
for k in $(seq 1 "$MODELS"); do
  # Model txn-risk-K: its own name in the config and the records, request ids made unique
  # across models (the labels of all models share one file).
  sed -e "s/^model: txn-risk$/model: txn-risk-$k/" -e "s#\.\./baseline.json#../baseline-$k.json#" \
    "$g/models/txn-risk.yaml" >"$OUT/models/txn-risk-$k.yaml"
  cp "$g/models/modelwatch.yaml" "$OUT/models/modelwatch.yaml"
  for f in reference history; do
    sed -e "s/\"model\": \"txn-risk\"/\"model\": \"txn-risk-$k\"/" \
      -e "s/\"request_id\": \"/\"request_id\": \"m$k/" "$g/$f.jsonl" >"$g/$f.$k.jsonl"
  done
  sed -e "s/\"request_id\": \"/\"request_id\": \"m$k/" "$g/labels.jsonl" >"$g/labels.$k.jsonl"
  "$BUILD/exporter/modelwatch-exporter" baseline --config.dir="$OUT/models" \
    --model="txn-risk-$k" --input="$g/reference.$k.jsonl" --output="$OUT/baseline-$k.json" >/dev/null
done
# One history and one label file in time order (the first field, "ts": seconds with up to
# three decimals, sorts as text: a shorter fraction is followed by a comma, below any digit).
LC_ALL=C sort -m -s -t, -k1,1 "$g"/history.[0-9]*.jsonl >"$OUT/history.jsonl"
LC_ALL=C sort -m -s -t, -k1,1 "$g"/labels.[0-9]*.jsonl >"$OUT/labels.jsonl"
rm -f "$g"/*.jsonl
records=$(wc -l <"$OUT/history.jsonl")
echo "generated in $((SECONDS - t0)) s: $records records ($($PY -c "print(round($records / ($DAYS * 86400), 2))")" \
  "records/s on average), $(wc -l <"$OUT/labels.jsonl") labels, $(du -sh "$OUT/history.jsonl" | cut -f1)"
"$BUILD/rulegen/modelwatch-rulegen" generate --config.dir="$OUT/models" --out="$OUT/generated" >/dev/null
/usr/bin/time -f "backtest: %e s wall, %U s user, %S s system, %M KiB peak RSS" \
  "$BUILD/exporter/modelwatch-exporter" backtest --config.dir="$OUT/models" \
  --rules.dir="$OUT/generated" --input="$OUT/history.jsonl" --labels="$OUT/labels.jsonl" \
  --output="$OUT/backtest.json" 2>&1 | grep -E "^backtest|^replayed"
$PY - "$OUT/backtest.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
rng = r["range"]
print("range %.1f days, %d steps of %g s; %d models, %d incidents, %d notification episodes" % (
    (rng["end"] - rng["start"]) / 86400, (rng["end"] - rng["start"]) / rng["step_seconds"],
    rng["step_seconds"], len(r["models"]), len(r["incidents"]), len(r["notifications"])))
PYEOF
