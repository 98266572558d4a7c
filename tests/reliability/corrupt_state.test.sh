#!/bin/bash
# Corrupt or unreadable state and inputs, each with a log line, a metric and nothing lost
# that can be saved:
#  - a truncated ground-truth store of one model: moved aside, that model starts afresh, the
#    other model starts as usual;
#  - a corrupt checkpoint: moved aside; with start_at: end the records written while the
#    exporter was down are still read;
#  - a checkpoint offset edited past the end of its file: nothing counted twice;
#  - a log file that cannot be opened: log line, modelwatch_source_files_unreadable, /-/ready
#    503, and its records are read once it can be.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../exporter/lib.sh"
if [[ $(id -u) != 0 ]]; then :; fi

mkdir -p "$WORK/models" "$WORK/a" "$WORK/b" "$WORK/labels" "$WORK/state"
for m in a b; do
cat >"$WORK/models/$m.yaml" <<YAML
model: $m
owner: {team: t}
tier: 2
task: binary_classification
source: {paths: ["$WORK/$m/*.jsonl"], start_at: end}
drift: {windows: [1h], min_samples: 10}
ground_truth: {paths: ["$WORK/labels/$m.jsonl"], start_at: end, windows: [1h]}
YAML
: >"$WORK/labels/$m.jsonl"
done
NOW=$(date +%s)
gen() {  # FILE FIRST N
  $PY - "$1" "$2" "$3" "$NOW" <<'PY'
import json, sys
path, first, n, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(path, "a") as f:
    for i in range(first, first + n):
        f.write(json.dumps({"ts": now - 1800 + i % 1500, "request_id": "r%d" % i,
                            "score": (i % 97) / 97.0}) + "\n")
PY
}
total() { scrape | awk -v m="$1" '$1 ~ "^model_predictions_total\\{model=\"" m "\"" { s += $2 } END { print s + 0 }'; }
wait_total() {  # MODEL WANT
  local i got
  for i in $(seq 1 100); do got=$(total "$1"); [[ "$got" == "$2" ]] && return 0; sleep 0.1; done
  fail "model $1: model_predictions_total is $got, want $2"
}
PORT=$(free_port)
: >"$WORK/a/a.jsonl"; : >"$WORK/b/b.jsonl"
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=1s
wait_ready
gen "$WORK/a/a.jsonl" 0 100; gen "$WORK/b/b.jsonl" 0 100
wait_total a 100; wait_total b 100
sleep 1.5
stop_exporter

# 1. Truncated store of model a; written meanwhile: 50 records each.
truncate -s 3000 "$WORK/state/groundtruth/a.sqlite"
rm -f "$WORK/state/groundtruth/a.sqlite-wal" "$WORK/state/groundtruth/a.sqlite-shm"
gen "$WORK/a/a.jsonl" 100 50; gen "$WORK/b/b.jsonl" 100 50
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=1s
wait_ready
wait_total a 150; wait_total b 150
wait_metric 'modelwatch_state_resets_total{part="groundtruth",reason="corrupt"}' 1
ls "$WORK/state/groundtruth/" | grep -q '^a.sqlite.corrupt-' || fail "damaged store not kept aside"
grep -q 'part=groundtruth reason=corrupt' "$WORK/exporter.log" || fail "no log line for the damaged store"
sleep 1.5
stop_exporter

# 2. Corrupt checkpoint; start_at: end must not skip what was written meanwhile.
gen "$WORK/a/a.jsonl" 150 50
echo '{"format_version":1,"state":{"models":' >"$WORK/state/checkpoint.json"
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=1s
wait_ready
# Counts restart from zero (the state is gone); every line of the file is read again.
wait_total a 200
wait_metric 'modelwatch_state_resets_total{part="checkpoint",reason="corrupt"}' 1
ls "$WORK/state/" | grep -q '^checkpoint.json.corrupt-' || fail "corrupt checkpoint not kept aside"
sleep 1.5
stop_exporter

# 3. Offset edited past the end of the file: nothing counted twice.
$PY - "$WORK/state/checkpoint.json" <<'PY'
import json, sys
ck = json.load(open(sys.argv[1]))
for f in ck["state"]["sources"]["a"]["tailer"]["files"]:
    f["offset"] = f["offset"] + 10**6
json.dump(ck, open(sys.argv[1], "w"))
PY
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=1s
wait_ready
sleep 1
[[ "$(total a)" == 200 ]] || fail "offset past EOF: model_predictions_total is $(total a), want 200"
gen "$WORK/a/a.jsonl" 200 10
wait_total a 210
wait_metric 'modelwatch_state_resets_total{part="positions",reason="invalid_offset"}' 1

# 4. A log file that cannot be opened (root reads anything: run as nobody when root).
gen "$WORK/b/new.jsonl" 0 30
chmod 000 "$WORK/b/new.jsonl"
if [[ $(id -u) == 0 ]]; then
  stop_exporter
  chown -R nobody "$WORK/state" "$WORK/a" "$WORK/labels"
  chmod o+rx "$WORK" "$WORK/models" "$WORK/b" && chmod o+r "$WORK/models"/* "$WORK/b/b.jsonl" "$WORK/a"/*
  chmod o+rwx "$WORK"
  EXPORTER_CMD=(setpriv --reuid=nobody --regid=nogroup --clear-groups "$EXPORTER")
  "${EXPORTER_CMD[@]}" --web.listen-address=127.0.0.1:$PORT --config.dir="$WORK/models" \
    --state.dir="$WORK/state" --state.checkpoint-interval=1s --web.statistics-interval=0 >>"$WORK/exporter.log" 2>&1 &
  EXPORTER_PID=$!; PIDS+=("$EXPORTER_PID")
  for i in $(seq 1 100); do [[ "$(http_code /-/ready)" != 000 ]] && break; sleep 0.1; done
fi
wait_metric 'modelwatch_source_files_unreadable{kind="predictions",source="b"}' 1
code=$(http_code /-/ready)
[[ "$code" == 503 ]] || fail "/-/ready answered $code with an unreadable log file"
grep -q 'msg="log file cannot be opened' "$WORK/exporter.log" || fail "no log line for the unreadable file"
chmod 644 "$WORK/b/new.jsonl"
wait_metric 'modelwatch_source_files_unreadable{kind="predictions",source="b"}' 0
wait_ready
wait_total b 180
echo "PASS"
