#!/bin/bash
# Durable state: the exporter is killed with SIGKILL several times while a writer appends
# records and their ground-truth labels; after the last restart model_predictions_total equals
# the number of records written and the label counters the number of labels written, exactly
# (nothing lost, nothing counted twice), and counters never go down across restarts. A second
# model, idle after its first records, keeps its checkpoint file while the busy one's is
# rewritten, and its count survives every restart too. A third model (churn, its own log)
# is written at the same time: with --ingest.threads=2 the two busy sources are read by two
# threads at once (fraud in one shard, churn and idle in the other), and churn's count is
# exact after every kill as well.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/labels" "$WORK/state"
: >"$WORK/logs/fraud.jsonl"
: >"$WORK/labels/fraud.jsonl"
cat >"$WORK/models/fraud.yaml" <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"], start_at: beginning}
features:
  - {name: amount, type: numeric, histogram: true}
ground_truth: {paths: ["$WORK/labels/*.jsonl"], start_at: beginning}
YAML
mkdir -p "$WORK/idle" "$WORK/churn"
: >"$WORK/churn/churn.jsonl"
cat >"$WORK/models/churn.yaml" <<YAML
model: churn
owner: {team: fraud-ml}
tier: 2
task: binary_classification
source: {paths: ["$WORK/churn/*.jsonl"], start_at: beginning}
features:
  - {name: amount, type: numeric, histogram: true}
YAML
$PY "$HERE/gen_logs.py" stream "$WORK/idle/idle.jsonl" 500 0
cat >"$WORK/models/idle.yaml" <<YAML
model: idle
owner: {team: fraud-ml}
tier: 3
task: binary_classification
source: {paths: ["$WORK/idle/*.jsonl"], start_at: beginning}
features:
  - {name: amount, type: numeric, histogram: true}
YAML

PORT=$(free_port)
sum_predictions() {
  scrape 2>/dev/null | awk -v m="${1:-fraud}" 'index($0, "model_predictions_total{model=\"" m "\"") == 1 { s += $2 } END { print s + 0 }'
}

written=0
last_seen=0
for round in 1 2 3 4; do
  start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=1s \
    --ingest.threads=2
  wait_ready
  seen=$(sum_predictions)
  (( seen >= last_seen )) || fail "round $round: predictions went down from $last_seen to $seen"
  # The writer appends while the exporter reads and checkpoints; the kill lands mid-stream.
  $PY "$HERE/gen_logs.py" stream "$WORK/logs/fraud.jsonl" 3000 "$written" "$WORK/labels/fraud.jsonl" &
  writer=$!
  PIDS+=("$writer")
  $PY "$HERE/gen_logs.py" stream "$WORK/churn/churn.jsonl" 3000 "$written" &
  churn_writer=$!
  PIDS+=("$churn_writer")
  # Kill after this process has written at least one checkpoint (a kill before the first one
  # legitimately starts over from the previous state), at a random moment of the stream.
  for _ in $(seq 1 100); do
    ck=$(metric_value modelwatch_checkpoint_last_success_timestamp_seconds || true)
    [[ -n "$ck" && "$ck" != 0 ]] && break
    sleep 0.1
  done
  [[ -n "$ck" && "$ck" != 0 ]] || fail "round $round: no checkpoint within 10 s"
  sleep "0.$((RANDOM % 5))"
  last_seen=$(sum_predictions)
  kill -9 "$EXPORTER_PID"
  wait "$EXPORTER_PID" 2>/dev/null || true
  wait "$writer"
  wait "$churn_writer"
  written=$((written + 3000))
  # Rotate once in the middle: rename + create, as logrotate does.
  if (( round == 2 )); then
    mv "$WORK/logs/fraud.jsonl" "$WORK/logs/fraud.jsonl.1"
    : >"$WORK/logs/fraud.jsonl"
  fi
done

start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=1s \
  --ingest.threads=2
wait_ready
grep -q "shards=2 " "$WORK/exporter.log" || fail "the sources were not split into 2 shards"
for i in $(seq 1 300); do
  got=$(sum_predictions)
  (( got >= written )) && break
  sleep 0.1
done
# Give a double count time to show up before judging.
sleep 1
got=$(sum_predictions)
[[ "$got" == "$written" ]] || fail "model_predictions_total is $got after restarts, $written records written"
for i in $(seq 1 300); do
  (( $(sum_predictions churn) >= written )) && break
  sleep 0.1
done
got=$(sum_predictions churn)
[[ "$got" == "$written" ]] || fail "churn: model_predictions_total is $got after restarts, $written records written"
read_total=$(metric_value 'modelwatch_lines_read_total{kind="predictions",source="churn"}')
[[ "$read_total" == "$written" ]] || fail "churn: modelwatch_lines_read_total is $read_total, want $written"
read_total=$(metric_value 'modelwatch_lines_read_total{kind="predictions",source="fraud"}')
[[ "$read_total" == "$written" ]] || fail "modelwatch_lines_read_total is $read_total, want $written"
hist=$(metric_value 'model_feature_value_count{feature="amount",model="fraud"}')
[[ "$hist" == "$written" ]] || fail "model_feature_value_count is $hist, want $written"
labels=$(wc -l <"$WORK/labels/fraud.jsonl")
for i in $(seq 1 300); do
  got=$(metric_value 'model_labels_total{model="fraud"}')
  (( ${got:-0} >= labels )) && break
  sleep 0.1
done
for name in model_labels_total model_labels_matched_total; do
  got=$(metric_value "$name{model=\"fraud\"}")
  [[ "$got" == "$labels" ]] || fail "$name is $got after restarts, $labels labels written"
done
for name in model_labels_duplicate_total model_labels_unmatched_total; do
  got=$(metric_value "$name{model=\"fraud\"}")
  [[ "$got" == 0 ]] || fail "$name is $got after restarts, want 0"
done
idle=$(scrape | awk '/^model_predictions_total\{model="idle"/ { s += $2 } END { print s + 0 }')
[[ "$idle" == 500 ]] || fail "idle model: model_predictions_total is $idle after restarts, want 500"

# Incremental checkpoints: with only fraud reading, fraud's file is replaced at every
# checkpoint and idle's stays the same file; the manifest names only existing files.
part() { ls "$WORK/state/checkpoint.models/" | grep "^$1\." || true; }
idle_part=$(part idle)
fraud_part=$(part fraud)
[[ -n "$idle_part" && -n "$fraud_part" ]] || fail "no checkpoint part files: $(ls "$WORK/state/checkpoint.models/")"
$PY "$HERE/gen_logs.py" stream "$WORK/logs/fraud.jsonl" 200 "$written"
written=$((written + 200))
sleep 2.5
[[ "$(part idle)" == "$idle_part" ]] || fail "the idle model's checkpoint file was rewritten: $idle_part -> $(part idle)"
[[ "$(part fraud)" != "$fraud_part" ]] || fail "the busy model's checkpoint file was not rewritten"
[[ $(ls "$WORK/state/checkpoint.models/" | wc -l) == 3 ]] || fail "older part files left: $(ls "$WORK/state/checkpoint.models/")"
stop_exporter
[[ "$STOP_RC" == 0 ]] || fail "SIGTERM exit code $STOP_RC"
echo "PASS ($written records, $labels labels, 4 SIGKILLs)"
