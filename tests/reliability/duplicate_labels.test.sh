#!/bin/bash
# The same label line written twice to a label log counts in model_labels_duplicate_total;
# the lines a restart reads again (after kill -9, from the last checkpoint) do not.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../exporter/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/labels" "$WORK/state"
cat >"$WORK/models/m.yaml" <<YAML
model: m
owner: {team: t}
tier: 2
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"], start_at: beginning}
ground_truth: {paths: ["$WORK/labels/*.jsonl"], start_at: beginning, windows: [1h], recompute_interval: 1s}
YAML
NOW=$(date +%s)
# gen FIRST N DUPS : N records and their labels; the labels of the first DUPS of them twice.
gen() {
  $PY - "$1" "$2" "$3" "$NOW" "$WORK/logs/m.jsonl" "$WORK/labels/m.jsonl" <<'PY'
import json, sys
first, n, dups, now, log, labels = *map(int, sys.argv[1:5]), sys.argv[5], sys.argv[6]
with open(log, "a") as f, open(labels, "a") as g:
    for i in range(first, first + n):
        f.write(json.dumps({"ts": now - 600 + i % 500, "request_id": "r%d" % i,
                            "score": (i % 97) / 97.0}) + "\n")
        line = json.dumps({"ts": now - 599 + i % 500, "request_id": "r%d" % i, "label": i % 2})
        g.write(line + "\n" + (line + "\n" if i < first + dups else ""))
PY
}

PORT=$(free_port)
gen 0 1000 30
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=60s
wait_ready
wait_metric 'model_labels_matched_total{model="m"}' 1000 20
wait_metric 'model_labels_duplicate_total{model="m"}' 30 20
# kill -9 long before the next checkpoint: the restart reads every line again.
kill -9 "$EXPORTER_PID"
wait "$EXPORTER_PID" 2>/dev/null || true
gen 1000 500 20
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=60s
wait_ready
wait_metric 'model_labels_matched_total{model="m"}' 1500 20
sleep 1  # a double count would show now
[[ "$(metric_value 'model_labels_duplicate_total{model="m"}')" == 50 ]] ||
  fail "model_labels_duplicate_total is $(metric_value 'model_labels_duplicate_total{model="m"}'), want 50"
[[ "$(metric_value 'model_labels_total{model="m"}')" == 1550 ]] ||
  fail "model_labels_total is $(metric_value 'model_labels_total{model="m"}'), want 1550"
[[ "$(metric_value 'model_labels_matched_total{model="m"}')" == 1500 ]] || fail "matched changed"
stop_exporter
[[ $STOP_RC == 0 ]] || fail "exporter exited $STOP_RC"
echo PASS
