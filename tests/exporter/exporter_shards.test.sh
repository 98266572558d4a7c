#!/bin/bash
# Ingest threads: the same multi-source logs (five sources, one shared by two models, one model
# with ground-truth labels) read with --ingest.threads=1 and with --ingest.threads=3 give the
# same model series, sample for sample: every model's records are observed by one thread in
# file order whichever shard reads them. Self-metrics that measure the process (durations,
# timestamps, checkpoint sizes) are left out; line accounting is compared too.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/labels"
$PY "$HERE/gen_logs.py" scrape "$WORK/logs"
# Three more single-model sources, several batches (4,096 lines) each, and the labels of one.
$PY - "$WORK/logs" "$WORK/labels" "$HERE" <<'PYEOF'
import json, sys
sys.path.insert(0, sys.argv[3])
from gen_logs import fraud_record
for k, name in enumerate(["alpha", "beta", "gamma"]):
    with open("%s/%s.jsonl" % (sys.argv[1], name), "w") as f, \
            open("%s/%s.jsonl" % (sys.argv[2], name), "w") as labels:
        for i in range(9000 + 1000 * k):
            rec = fraud_record(i * (k + 2))
            f.write(json.dumps(rec) + "\n")
            if "status" not in rec and i % 3:
                labels.write(json.dumps({"ts": rec["ts"], "request_id": rec["request_id"],
                                         "label": (i // 7) % 2}) + "\n")
PYEOF
cat >"$WORK/models/fraud.yaml" <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/logs/fraud*.jsonl"], start_at: beginning, max_line_bytes: 2048}
baseline: fraud.baseline.json
features:
  - {name: amount, type: numeric, histogram: true}
  - {name: country, type: categorical}
YAML
cat >"$WORK/models/intent.yaml" <<YAML
model: intent
owner: {team: nlu}
tier: 2
task: multiclass_classification
classes: [buy, sell, hold]
source: {paths: ["$WORK/logs/shared.jsonl"], start_at: beginning}
YAML
cat >"$WORK/models/eta.yaml" <<YAML
model: eta
owner: {team: logistics}
tier: 3
task: regression
source: {paths: ["$WORK/logs/shared.jsonl"], start_at: beginning, fields: {prediction: eta_minutes}}
YAML
for name in alpha beta gamma; do
  cat >"$WORK/models/$name.yaml" <<YAML
model: $name
owner: {team: fraud-ml}
tier: 2
task: binary_classification
source: {paths: ["$WORK/logs/$name.jsonl"], start_at: beginning}
features:
  - {name: amount, type: numeric, histogram: true}
  - {name: country, type: categorical}
YAML
done
echo "ground_truth: {paths: [\"$WORK/labels/beta.jsonl\"], start_at: beginning}" >>"$WORK/models/beta.yaml"
echo "baseline: gamma.baseline.json" >>"$WORK/models/gamma.yaml"
# Drift statistics too: fraud and gamma against baselines of the reference records.
for name in fraud gamma; do
  "$EXPORTER" baseline --config.dir="$WORK/models" --model=$name --input="$WORK/logs/reference.jsonl" \
    --output="$WORK/models/$name.baseline.json" 2>"$WORK/baseline.log" || {
    cat "$WORK/baseline.log" >&2
    fail "baseline command failed for $name"
  }
done

# What is compared: every model_* series but the recomputation's duration, and the line
# accounting.
normalise() {
  grep -E '^(model_|modelwatch_lines_read_total|modelwatch_lines_rejected_total)' "$1" |
    grep -v '^model_performance_recompute_duration_seconds' | sort
}

PORT=$(free_port)
for threads in 1 3; do
  rm -rf "$WORK/state"
  mkdir -p "$WORK/state"
  : >"$WORK/exporter.log"
  start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --ingest.threads=$threads
  wait_ready
  wait_metric 'modelwatch_lines_read_total{kind="predictions",source="fraud"}' 307
  wait_metric 'modelwatch_lines_read_total{kind="predictions",source="eta+intent"}' 121
  wait_metric 'modelwatch_lines_read_total{kind="predictions",source="alpha"}' 9000
  wait_metric 'modelwatch_lines_read_total{kind="predictions",source="beta"}' 10000
  wait_metric 'modelwatch_lines_read_total{kind="predictions",source="gamma"}' 11000
  labels=$(wc -l <"$WORK/labels/beta.jsonl")
  wait_metric 'modelwatch_lines_read_total{kind="labels",source="beta"}' "$labels"
  # Performance is recomputed in the background after the labels: wait until two scrapes a
  # second apart agree.
  prev=""
  for _ in $(seq 1 30); do
    scrape >"$WORK/scrape.$threads.txt" || fail "scrape failed"
    normalise "$WORK/scrape.$threads.txt" >"$WORK/series.$threads.txt"
    cur=$(md5sum <"$WORK/series.$threads.txt")
    [[ "$cur" == "$prev" ]] && break
    prev=$cur
    sleep 1
  done
  [[ "$cur" == "$prev" ]] || fail "threads=$threads: the scrape did not settle in 30 s"
  grep -q "shards=$threads " "$WORK/exporter.log" || fail "threads=$threads: no 'shards=$threads' logged"
  stop_exporter
  [[ "$STOP_RC" == 0 ]] || fail "threads=$threads: SIGTERM exit code $STOP_RC"
done

n=$(wc -l <"$WORK/series.1.txt")
(( n > 400 )) || fail "only $n series compared"
grep -q '^model_labels_matched_total{model="beta"}' "$WORK/series.1.txt" || fail "no label series"
grep -q '^model_feature_drift{.*model="gamma"' "$WORK/series.1.txt" || fail "no drift series"
diff -u "$WORK/series.1.txt" "$WORK/series.3.txt" || fail "--ingest.threads=3 scrapes differ from --ingest.threads=1"
echo "PASS ($n series identical)"
