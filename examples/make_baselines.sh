#!/usr/bin/env bash
# Rebuilds examples/baselines/*.json: deterministic reference data and its labels from the demo
# traffic generator (20,000 records over 7 UTC days per model, seed 7), profiled by
# `modelwatch-exporter baseline --labels`. Usage: examples/make_baselines.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for model in fraud-detector intent-classifier eta-predictor; do
  /usr/bin/python3 demo/traffic_generator.py --config-dir models --reference --model "$model" \
    --count 20000 --rate 0.05 --seed 7 --start-time 1763000000 --output "$tmp/$model.jsonl" \
    --labels-output "$tmp/$model.labels.jsonl" >/dev/null
  "$build/exporter/modelwatch-exporter" baseline --config.dir=models --model="$model" \
    --input="$tmp/$model.jsonl" --labels="$tmp/$model.labels.jsonl" --output="baselines/$model.json"
done
