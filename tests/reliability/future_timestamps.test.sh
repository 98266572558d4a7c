#!/bin/bash
# Future-dated records: one record a day ahead, one in year 9999 and one epoch typo (1.2e29
# taken as milliseconds) must not move the model's windows or retention. Each is rejected as
# future_timestamp; the 1 h window keeps its samples, nothing counts as late, every label
# joins and the match ratio stays 1. A checkpoint and a store carrying a poisoned window end
# (as written before event times were bounded) are not resurrected at restart. Replay, with
# no clock, judges against the log's own median event time.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../exporter/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/labels" "$WORK/state"
cat >"$WORK/models/m.yaml" <<YAML
model: m
owner: {team: t}
tier: 2
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"], start_at: beginning}
features:
  - {name: x, type: numeric}
drift: {windows: [1h], min_samples: 10}
ground_truth: {paths: ["$WORK/labels/*.jsonl"], start_at: beginning, windows: [1h], recompute_interval: 1s}
YAML

NOW=$(date +%s)
# gen FIRST N : N records (and their labels) spread over the 30 minutes before now.
gen() {
  $PY - "$1" "$2" "$NOW" "$WORK/logs/m.jsonl" "$WORK/labels/m.jsonl" <<'PY'
import json, sys
first, n, now, log, labels = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
with open(log, "a") as f, open(labels, "a") as g:
    for i in range(first, first + n):
        ts = now - 1800 + (i % 1500)
        f.write(json.dumps({"ts": ts, "request_id": "r%d" % i, "score": (i % 97) / 97.0,
                            "features": {"x": i % 13}}) + "\n")
        g.write(json.dumps({"ts": ts + 1, "request_id": "r%d" % i, "label": i % 2}) + "\n")
PY
}
poison() {
  cat >>"$WORK/logs/m.jsonl" <<JSON
{"ts": $((NOW + 86400)), "request_id": "day-ahead", "score": 0.5, "features": {"x": 1}}
{"ts": "9999-12-31T23:59:59Z", "request_id": "y9999", "score": 0.5, "features": {"x": 1}}
{"ts": 1.2e29, "request_id": "typo", "score": 0.5, "features": {"x": 1}}
JSON
}
get() { metric_value "$1"; }
check_healthy_window() {  # WANT: samples in the 1 h window
  local want=$1
  wait_metric 'model_window_samples{model="m",window="1h"}' "$want" 20
  [[ "$(get 'model_late_records_total{model="m",window="1h"}')" == 0 ]] ||
    fail "records counted late after a future-dated record"
  wait_metric 'model_labels_matched_total{model="m"}' "$want" 20
  wait_metric 'model_label_match_ratio{model="m",window="1h"}' 1 20
  scrape_has '^model_performance{model="m",version="unknown",metric="auc",window="1h"}' ||
    { scrape | grep model_perf >&2; fail "AUC disappeared"; }
}

PORT=$(free_port)
gen 0 1000
poison
gen 1000 1000
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=1s
wait_ready
check_healthy_window 2000
wait_metric 'modelwatch_lines_rejected_total{reason="future_timestamp",source="m"}' 3
grep -q 'reason=future_timestamp' "$WORK/exporter.log" || fail "no log line for the rejected record"
stop_exporter
[[ $STOP_RC == 0 ]] || fail "exporter exited $STOP_RC"

# A checkpoint and a store poisoned by an exporter without the bound: the drift windows' end
# and one stored prediction in year 9999.
$PY - "$WORK/state" <<'PY'
import glob, json, math, sqlite3, sys
state = sys.argv[1]
# The model's counts are a part file the manifest names (docs/exporter.md, Durable state).
manifest = json.load(open(state + "/checkpoint.json"))
path = state + "/checkpoint.models/" + manifest["parts"]["m"]
ck = json.load(open(path))
for w in ck["state"]["drift"]["windows"]:
    w["newest_timestamp"] = 253402300799.0
    w["newest_sub_window"] = int(253402300799.0 // (3600 / len(w["slots"])))
json.dump(ck, open(path, "w"))
db = sqlite3.connect(state + "/groundtruth/m.sqlite")
db.execute("INSERT INTO predictions(key, version, entity, ts, prediction, segments, weight)"
           " VALUES(42, 'unknown', 0, 253402300799.0, 0.5, '', 1)")
db.commit()
PY
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=1s
wait_ready
gen 2000 500
# The poisoned drift windows start empty (only the new records); the store keeps its rows.
wait_metric 'model_window_samples{model="m",window="1h"}' 500 20
[[ "$(get 'model_late_records_total{model="m",window="1h"}')" == 0 ]] || fail "late records after restoring a poisoned checkpoint"
wait_metric 'model_labels_matched_total{model="m"}' 2500 20
wait_metric 'model_label_match_ratio{model="m",window="1h"}' 1 20
wait_metric 'modelwatch_state_resets_total{part="drift",reason="future_event_time"}' 1
wait_metric 'modelwatch_state_resets_total{part="groundtruth",reason="future_event_time"}' 1
grep -q 'msg="saved state discarded"' "$WORK/exporter.log" || fail "no log line for the discarded state"
stop_exporter

# Replay: no clock; the poisoned records are judged against the log's own median.
$EXPORTER replay --config.dir="$WORK/models" --input="$WORK/logs/m.jsonl" --step=5m \
  --output="$WORK/out.om" 2>"$WORK/replay.err" || { cat "$WORK/replay.err" >&2; fail "replay failed"; }
grep -q 'replayed 2500 record(s) (3 line(s) rejected)' "$WORK/replay.err" ||
  fail "replay: $(cat "$WORK/replay.err")"
grep -q '^modelwatch_lines_rejected_total{reason="future_timestamp",source="m"} 3 ' "$WORK/out.om" ||
  fail "replay does not count future_timestamp"
# A log that starts with a poisoned record replays too.
{ sed -n '1001,1003p' "$WORK/logs/m.jsonl"; head -n 1000 "$WORK/logs/m.jsonl"; } >"$WORK/first.jsonl"
$EXPORTER replay --config.dir="$WORK/models" --input="$WORK/first.jsonl" --step=5m \
  --output="$WORK/out2.om" 2>"$WORK/replay.err" || { cat "$WORK/replay.err" >&2; fail "replay of a log starting in the future failed"; }
grep -q 'replayed 1000 record(s) (3 line(s) rejected)' "$WORK/replay.err" ||
  fail "replay: $(cat "$WORK/replay.err")"
echo "PASS"
