#!/bin/bash
# Memory and scrape latency of the ground-truth performance recomputation with many labelled
# predictions in one window: the figures behind docs/ground-truth.md, *Benchmarks*.
#
# usage: bench/gt_memory_bench.sh BUILD_DIR [LABELLED]     (default 1000000)
#
# Phase 1 runs modelwatch-exporter on LABELLED predictions of one binary model (default window
# 30d, all of them inside it), waits until they are stored, appends one label per prediction,
# waits until every label is joined (read from the store with sqlite3; no scrape) and stops it.
# Phase 2 starts the exporter again on that state (nothing left to read), resets its peak RSS
# (/proc/PID/clear_refs) once it is ready, scrapes /metrics until model_performance{metric="auc"}
# is served over all LABELLED rows, and reports: RSS when ready, the peak (VmHWM) over the
# recomputation, the first scrape's time, when the values were served, the exporter's own
# model_performance_recompute_duration_seconds where it has it, and the served AUC next to
# scikit-learn's on the same data. Not part of the test suite.
set -euo pipefail
BUILD_DIR=${1:?usage: $0 BUILD_DIR [LABELLED]}
N=${2:-1000000}
EXPORTER=$BUILD_DIR/exporter/modelwatch-exporter
PY=/usr/bin/python3
[[ -x "$EXPORTER" ]] || { echo "no $EXPORTER" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 not installed (apt-get install sqlite3)" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/mw-gt-memory-bench.XXXXXX)
EXPORTER_PID=""
cleanup() {
  [[ -n "$EXPORTER_PID" ]] && kill -9 "$EXPORTER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/models" "$WORK/logs" "$WORK/labels" "$WORK/state"

echo "generating $N predictions and labels..." >&2
# Scores uniform in [0,1] with 4 decimals (many ties), label ~ Bernoulli(score): AUC ≈ 0.83.
$PY - "$WORK/logs/predictions.jsonl" "$WORK/labels.jsonl" "$N" <<'PYEOF'
import random, sys
pred_path, label_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(11)
with open(pred_path, "w", buffering=1 << 20) as p, open(label_path, "w", buffering=1 << 20) as l:
    for i in range(n):
        t = 1795341600 + i // 20  # 20 predictions a second: 1 M span 14 hours
        s = round(rnd.random(), 4)
        p.write('{"ts":%d,"model":"fraud","model_version":"v1","request_id":"r%d",'
                '"latency_ms":5,"status":"ok","score":%.4f}\n' % (t, i, s))
        l.write('{"ts":%d,"request_id":"r%d","label":%d}\n' % (t + 60, i, rnd.random() < s))
PYEOF

cat >"$WORK/models/fraud.yaml" <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"], start_at: beginning}
ground_truth: {paths: ["$WORK/labels/*.jsonl"], start_at: beginning}
YAML

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_exporter() {
  "$EXPORTER" --config.dir="$WORK/models" --state.dir="$WORK/state" \
    --web.listen-address=127.0.0.1:$port --log.level=warn 2>>"$WORK/exporter.log" &
  EXPORTER_PID=$!
}
stop_exporter() { kill -TERM "$EXPORTER_PID"; wait "$EXPORTER_PID" || true; EXPORTER_PID=""; }
STORE=$WORK/state/groundtruth/fraud.sqlite

count() {  # rows of the store matching $1 (0 while the store does not exist yet)
  [[ -f "$STORE" ]] || { echo 0; return; }
  sqlite3 -readonly "$STORE" "PRAGMA busy_timeout=5000; SELECT count(*) FROM predictions $1" \
    2>/dev/null | tail -1 || echo 0
}
wait_for() {  # wait_for WHERE-CLAUSE WHAT
  for _ in $(seq 1 1200); do
    [[ "$(count "$1")" == "$N" ]] && return 0
    kill -0 "$EXPORTER_PID" 2>/dev/null || { cat "$WORK/exporter.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "$2 not done in 10 minutes" >&2
  exit 1
}

# --- phase 1: ingest ---
start_exporter
t0=$(date +%s.%N)
wait_for "" "storing predictions"
t1=$(date +%s.%N)
cp "$WORK/labels.jsonl" "$WORK/labels/labels.jsonl"  # a file found after start: read from 0
wait_for "WHERE label IS NOT NULL" "joining labels"
t2=$(date +%s.%N)
hwm_ingest=$(awk '$1 == "VmHWM:" { print $2 }' /proc/$EXPORTER_PID/status)
stop_exporter

# --- phase 2: a restart on the full store; only the recomputation is left to do ---
start_exporter
for _ in $(seq 1 600); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/-/ready")" == 200 ]] && break
  sleep 0.05
done
status() { awk -v k="$1:" '$1 == k { print $2 }' /proc/$EXPORTER_PID/status; }
rss_ready=$(status VmRSS)
echo 5 >/proc/$EXPORTER_PID/clear_refs  # VmHWM := VmRSS: the peak below is the recomputation's
ready_at=$(date +%s.%N)
scrape_s=$(curl -s -m 120 -o "$WORK/scrape.txt" -w '%{time_total}' "http://127.0.0.1:$port/metrics")
max_scrape_s=$scrape_s
served_s=""
for _ in $(seq 1 1200); do
  if awk -v n="$N" '/^model_performance_samples\{/ && $2 + 0 == n { found = 1 } END { exit !found }' \
    "$WORK/scrape.txt" &&
    grep -q '^model_performance{.*metric="auc"' "$WORK/scrape.txt"; then
    served_s=$($PY -c "print(f'{$(date +%s.%N) - $ready_at:.2f}')")
    break
  fi
  sleep 0.1
  s=$(curl -s -m 120 -o "$WORK/scrape.txt" -w '%{time_total}' "http://127.0.0.1:$port/metrics" || echo 0)
  max_scrape_s=$($PY -c "print(max($max_scrape_s, $s))")
done
[[ -n "$served_s" ]] || { echo "no AUC over $N rows served in 2 minutes" >&2; exit 1; }
rss_after=$(status VmRSS)
hwm_recompute=$(status VmHWM)
auc=$(awk '/^model_performance\{.*metric="auc"/ { print $2 }' "$WORK/scrape.txt")
duration=$(awk '/^model_performance_recompute_duration_seconds\{/ { print $2 }' "$WORK/scrape.txt")
stop_exporter

$PY - "$WORK/labels.jsonl" "$WORK/logs/predictions.jsonl" <<PYEOF
import json, sys
from sklearn.metrics import roc_auc_score
labels = [json.loads(l)["label"] for l in open(sys.argv[1])]
scores = [json.loads(l)["score"] for l in open(sys.argv[2])]
want = roc_auc_score(labels, scores)
mb = lambda kb: kb / 1024
print(f"labelled rows: {$N}; load average: {open('/proc/loadavg').read().split()[0]}")
print(f"phase 1: predictions stored in {$t1 - $t0:.1f} s, labels joined in {$t2 - $t1:.1f} s, peak RSS {mb($hwm_ingest):.1f} MB")
print(f"phase 2: RSS when ready {mb($rss_ready):.1f} MB, peak over the recomputation "
      f"{mb($hwm_recompute):.1f} MB (+{mb($hwm_recompute - $rss_ready):.1f}), after {mb($rss_after):.1f} MB")
print(f"first scrape {float('$scrape_s'):.3f} s, slowest scrape {float('$max_scrape_s'):.3f} s; "
      f"values over all rows served {float('$served_s'):.2f} s after ready"
      + (f"; recomputation took {float('$duration'):.2f} s" if "$duration" else ""))
print(f"auc served {float('$auc'):.6f}, scikit-learn {want:.6f}, difference {abs(float('$auc') - want):.2e}")
PYEOF
