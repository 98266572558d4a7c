#!/usr/bin/env bash
# Sample data for every command of the README's "Using it" section, written to a scratch
# directory (never over committed files). Deterministic (seeds 7 and 8).
#
#   bash examples/make_data.sh [OUT_DIR]        # default: /tmp/modelwatch-data
#
# OUT_DIR/reference.jsonl, reference-labels.jsonl   fraud-detector reference data (7 days) and labels
# OUT_DIR/history.jsonl, labels.jsonl               a later 2-day history and its labels (replay)
# OUT_DIR/logs/<model>/predictions.jsonl            a log per example model over yesterday (UTC)
# OUT_DIR/logs/<model>-labels/labels.jsonl          and its labels
# OUT_DIR/models/                                   the example configs, pointing at OUT_DIR/logs
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-/tmp/modelwatch-data}
python=/usr/bin/python3  # Debian's, with numpy (ci/setup.sh installs it)
gen=$here/demo/traffic_generator.py
mkdir -p "$out"
out=$(cd "$out" && pwd)

"$python" "$gen" --config-dir "$here/models" --reference --model fraud-detector --count 20000 \
  --rate 0.05 --seed 7 --start-time 1763000000 --output "$out/reference.jsonl" \
  --labels-output "$out/reference-labels.jsonl" >/dev/null
"$python" "$gen" --config-dir "$here/models" --reference --model fraud-detector --count 10000 \
  --rate 0.05 --seed 8 --days 2 --start-time $((1763000000 + 14 * 86400)) \
  --output "$out/history.jsonl" --labels-output "$out/labels.jsonl" >/dev/null

# The example configs with their relative paths resolved: logs under OUT_DIR, the committed
# baselines read in place.
rm -rf "$out/models"
cp -r "$here/models" "$out/models"
for f in "$out"/models/*.yaml; do
  # start_at: beginning, so the exporter reads the sample logs written before it starts.
  sed -i -e "/^  start_at: /d" \
    -e "s|^\(  paths: \[\"\)\.\./logs/\(.*\)$|\1$out/logs/\2\n  start_at: beginning|" \
    -e "s|: \.\./baselines/|: $here/baselines/|" "$f"
done
now=$(date +%s)
for model in fraud-detector intent-classifier eta-predictor; do
  mkdir -p "$out/logs/$model" "$out/logs/$model-labels"
  "$python" "$gen" --config-dir "$here/models" --reference --model "$model" --count 3000 \
    --rate 1 --seed 9 --days 1 --start-time $((now - 86400)) \
    --output "$out/logs/$model/predictions.jsonl" \
    --labels-output "$out/logs/$model-labels/labels.jsonl" >/dev/null
done
echo "sample data in $out:"
(cd "$out" && ls -1 ./*.jsonl logs/*/*.jsonl models/*.yaml)
