#!/bin/bash
# Full disk: the state directory (checkpoint and ground-truth store) lives on a small tmpfs
# that is filled up while 20,000 predictions and their labels arrive. The store cannot write:
# the exporter says so (log line, modelwatch_store_write_errors_total, /-/ready 503), holds
# its read positions back, and once space returns stores everything: the store holds every
# prediction, every label is matched exactly once, and no counter counts a record twice.
# 12 MB: the store of 21,000 labelled predictions needs more room since the covering index of
# labelled rows (2026-12-06); at 6 MB it no longer fitted once the filler was removed.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../exporter/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/labels" "$WORK/state"
if ! mount -t tmpfs -o size=12m tmpfs "$WORK/state" 2>"$WORK/mount.err"; then
  echo "SKIP: cannot mount a tmpfs for the full-disk test (needs root): $(cat "$WORK/mount.err")"
  exit 77
fi
unmount() { umount -l "$WORK/state" 2>/dev/null || true; }
trap 'unmount; cleanup' EXIT

cat >"$WORK/models/m.yaml" <<YAML
model: m
owner: {team: t}
tier: 2
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"], start_at: beginning}
drift: {windows: [1h], min_samples: 10}
ground_truth: {paths: ["$WORK/labels/*.jsonl"], start_at: beginning, windows: [1h], recompute_interval: 1s}
YAML
NOW=$(date +%s)
gen() {  # FIRST N: N predictions and their labels
  $PY - "$1" "$2" "$NOW" "$WORK/logs/m.jsonl" "$WORK/labels/m.jsonl" <<'PY'
import json, sys
first, n, now, log, labels = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
with open(log, "a") as f, open(labels, "a") as g:
    for i in range(first, first + n):
        ts = now - 1800 + (i % 1500) * 0.5
        f.write(json.dumps({"ts": ts, "request_id": "request-%08d" % i,
                            "score": (i % 97) / 97.0}) + "\n")
        g.write(json.dumps({"ts": ts + 1, "request_id": "request-%08d" % i, "label": i % 2}) + "\n")
PY
}
predictions() { scrape | awk '/^model_predictions_total\{model="m"/ { s += $2 } END { print s + 0 }'; }

PORT=$(free_port)
gen 0 1000
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --state.checkpoint-interval=1s
wait_ready
wait_metric 'model_labels_matched_total{model="m"}' 1000 20

# Fill the file system, then write 20,000 predictions and their labels.
dd if=/dev/zero of="$WORK/state/filler" bs=64k 2>/dev/null || true
gen 1000 20000
for i in $(seq 1 200); do
  errs=$(metric_value 'modelwatch_store_write_errors_total{model="m"}')
  [[ -n "$errs" && "$errs" != 0 ]] && break
  sleep 0.1
done
[[ -n "$errs" && "$errs" != 0 ]] || fail "no store write error counted on a full disk"
[[ "$(metric_value 'modelwatch_store_up{model="m"}')" == 0 ]] || fail "modelwatch_store_up is not 0 on a full disk"
code=$(http_code /-/ready)
[[ "$code" == 503 ]] || fail "/-/ready answered $code on a full disk"
grep -q 'msg="ground-truth store write failed' "$WORK/exporter.log" || fail "no log line for the failed write"
sleep 3  # several retries against the full disk
matched=$(metric_value 'model_labels_matched_total{model="m"}')
(( matched < 21000 )) || fail "labels counted as matched ($matched) while the disk is full"

# Space returns: everything is stored, counted once.
rm -f "$WORK/state/filler"
wait_metric 'model_labels_matched_total{model="m"}' 21000 60
wait_metric 'modelwatch_store_up{model="m"}' 1 20
for i in $(seq 1 100); do [[ "$(http_code /-/ready)" == 200 ]] && break; sleep 0.1; done
[[ "$(http_code /-/ready)" == 200 ]] || fail "/-/ready not 200 after space returned"
[[ "$(predictions)" == 21000 ]] || fail "model_predictions_total is $(predictions), want 21000"
[[ "$(metric_value 'modelwatch_lines_read_total{kind="predictions",source="m"}')" == 21000 ]] ||
  fail "lines read $(metric_value 'modelwatch_lines_read_total{kind="predictions",source="m"}'), want 21000"
labels=$(metric_value 'model_labels_total{model="m"}')
[[ "$labels" == 21000 ]] || fail "model_labels_total is $labels, not 21000 (matched $(metric_value 'model_labels_matched_total{model="m"}'), duplicates $(metric_value 'model_labels_duplicate_total{model="m"}'), unmatched $(metric_value 'model_labels_unmatched_total{model="m"}'))"
[[ "$(metric_value 'model_labels_duplicate_total{model="m"}')" == 0 ]] || fail "labels counted as duplicates"
stop_exporter
[[ $STOP_RC == 0 ]] || fail "exporter exited $STOP_RC"
# Read a copy off the 12 MB tmpfs: opening the store in place needs room for its -shm file,
# which a store filling the tmpfs may not leave.
mkdir -p "$WORK/store-copy"
cp "$WORK/state/groundtruth/"m.sqlite* "$WORK/store-copy/" ||
  fail "cannot copy the store: $(ls -la "$WORK/state/groundtruth/"; df -h "$WORK/state")"
rows=$($PY -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); print(db.execute("select count(*), count(label) from predictions").fetchone())' "$WORK/store-copy/m.sqlite") ||
  fail "cannot read the store copy: $(ls -la "$WORK/store-copy"; df -h "$WORK/state")"
[[ "$rows" == "(21000, 21000)" ]] || fail "the store holds (rows, labelled) = $rows, want (21000, 21000)"
echo "PASS"
