#!/bin/bash
# End-to-end ingest throughput and memory of modelwatch-exporter against mtail (Debian's
# mtail 3.0.0~rc50), in the same run on the same generated log, reported as a ratio.
#
# usage: bench/ingest_bench.sh BUILD_DIR [LINES]     (default 1000000 lines)
#
# The exporter runs its whole pipeline (tailer, parser, serving histograms, drift windows and
# opt-in histograms of 20 numeric features, 2 categorical features) and is timed from start until modelwatch_lines_read_total reaches LINES; its
# peak RSS is VmHWM. mtail runs a program that counts the same records and histograms
# latency and score by model and version, in -one_shot mode (reads the file and exits); its
# time and peak RSS come from /usr/bin/time. Not part of the test suite.
#
# GROUND_TRUTH=1: the exporter then reads the log a second time with a `ground_truth` section
# (joined by request_id, one 30d window, no label arrives), so that every prediction is stored
# for a later label, and the two runs' lines per CPU-second are reported as a ratio.
set -euo pipefail
BUILD_DIR=${1:?usage: $0 BUILD_DIR [LINES]}
LINES=${2:-1000000}
EXPORTER=$BUILD_DIR/exporter/modelwatch-exporter
PY=/usr/bin/python3
command -v mtail >/dev/null || { echo "mtail not installed (apt-get install mtail)" >&2; exit 1; }
[[ -x "$EXPORTER" ]] || { echo "no $EXPORTER" >&2; exit 1; }

WORK=$(mktemp -d /tmp/mw-ingest-bench.XXXXXX)
EXPORTER_PID=""
cleanup() {
  [[ -n "$EXPORTER_PID" ]] && kill -9 "$EXPORTER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/models" "$WORK/logs" "$WORK/state" "$WORK/progs"

echo "generating $LINES lines..." >&2
$PY - "$WORK/logs/predictions.jsonl" "$LINES" <<'PYEOF'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
countries = ["DE", "FR", "US", "GB", "IT", "ES", "NL", "PL"]
# A pool of pre-drawn feature blocks keeps generation fast for 10 M lines.
pool = []
for _ in range(4096):
    nums = ",".join('"f%d":%.4g' % (k, rnd.gauss(k, 1 + k / 4)) for k in range(1, 21))
    pool.append(nums)
with open(path, "w", buffering=1 << 20) as f:
    for i in range(n):
        t = 1795341600 + i // 100
        f.write('{"ts":%d.%03d,"model":"fraud","model_version":"v%d","request_id":"r%d",'
                '"latency_ms":%.2f,"status":"ok","score":%.4f,"features":{%s,'
                '"country":"%s","device":"%s"},"segment":{"region":"eu"}}\n' % (
                    t, i % 1000, 1 + i % 3, i, rnd.expovariate(1 / 40.0), rnd.random(),
                    pool[(i * 7919) % 4096], countries[i % 8], "ios" if i % 3 else "android"))
PYEOF
bytes=$(stat -c %s "$WORK/logs/predictions.jsonl")

{
  cat <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"], start_at: beginning}
features:
  - {name: country, type: categorical}
  - {name: device, type: categorical}
YAML
  for k in $(seq 1 20); do echo "  - {name: f$k, type: numeric, histogram: true}"; done
} >"$WORK/models/fraud.yaml"

cat >"$WORK/progs/models.mtail" <<'MTAIL'
counter model_predictions_total by model, version
histogram model_request_duration_seconds by model, version buckets 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
histogram model_prediction_score by model, version buckets 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1

/"model":"(?P<model>[^"]+)","model_version":"(?P<version>[^"]+)".*"latency_ms":(?P<latency>\d+\.\d+),"status":"ok","score":(?P<score>\d+\.\d+)/ {
  model_predictions_total[$model][$version]++
  model_request_duration_seconds[$model][$version] = $latency / 1000.0
  model_prediction_score[$model][$version] = $score
}
MTAIL

# --- modelwatch-exporter ---
# run_exporter CONFIG_DIR STATE_DIR: reads the log; sets exporter_s, exporter_cpu_s,
# exporter_rss_kb and accepted.
run_exporter() {
  port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  start=$(date +%s.%N)
  "$EXPORTER" --config.dir="$1" --state.dir="$2" \
    --web.listen-address=127.0.0.1:$port --log.level=warn 2>"$WORK/exporter.log" &
  EXPORTER_PID=$!
  done_at=""
  for _ in $(seq 1 6000); do
    # A scrape that times out while the exporter is busy is retried, not fatal.
    read_total=$({ curl -s -m 10 "http://127.0.0.1:$port/metrics" 2>/dev/null || true; } |
      awk '/^modelwatch_lines_read_total\{/ { s += $2 } END { printf "%d", s }')
    if [[ "$read_total" == "$LINES" ]]; then done_at=$(date +%s.%N); break; fi
    sleep 0.1
  done
  [[ -n "$done_at" ]] || { echo "exporter did not read $LINES lines in 10 minutes" >&2; exit 1; }
  exporter_rss_kb=$(awk '/^VmHWM/ { print $2 }' /proc/$EXPORTER_PID/status)
  # utime + stime of the exporter, in clock ticks (fields 14 and 15 of /proc/PID/stat).
  exporter_cpu_s=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' /proc/$EXPORTER_PID/stat)
  accepted=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^model_predictions_total\{/ { s += $2 } END { printf "%d", s }')
  kill -TERM "$EXPORTER_PID"; wait "$EXPORTER_PID" || true; EXPORTER_PID=""
  exporter_s=$($PY -c "print(f'{$done_at - $start:.2f}')")
}
run_exporter "$WORK/models" "$WORK/state"

# --- mtail ---
/usr/bin/time -f "%e %M" -o "$WORK/mtail.time" mtail -one_shot -one_shot_format prometheus \
  -progs "$WORK/progs" -logs "$WORK/logs/predictions.jsonl" -logtostderr \
  >"$WORK/mtail.out" 2>"$WORK/mtail.log" || { tail "$WORK/mtail.log" >&2; exit 1; }
read -r mtail_s mtail_rss_kb <"$WORK/mtail.time"
mtail_count=$(awk '/^model_predictions_total\{/ { s += $2 } END { printf "%d", s }' "$WORK/mtail.out")

$PY - <<PYEOF
lines, size = $LINES, $bytes
ex_s, ex_rss, ex_cpu = $exporter_s, $exporter_rss_kb / 1024, $exporter_cpu_s
mt_s, mt_rss = $mtail_s, $mtail_rss_kb / 1024
print(f"log: {lines} lines, {size / 1e6:.0f} MB; load average: {open('/proc/loadavg').read().split()[0]}")
print(f"modelwatch-exporter: {lines / ex_s:10.0f} lines/s  {ex_s:7.2f} s  peak RSS {ex_rss:6.1f} MB  CPU {ex_cpu:.2f} s = {lines / ex_cpu:.0f} lines per CPU-second  (accepted {$accepted})")
print(f"mtail one-shot     : {lines / mt_s:10.0f} lines/s  {mt_s:7.2f} s  peak RSS {mt_rss:6.1f} MB  (counted {$mtail_count})")
print(f"ratio (exporter / mtail): throughput {mt_s / ex_s:.1f}x, memory {ex_rss / mt_rss:.2f}x")
PYEOF

if [[ ${GROUND_TRUTH:-0} == 1 ]]; then
  mkdir -p "$WORK/models-gt" "$WORK/state-gt" "$WORK/labels"
  { cat "$WORK/models/fraud.yaml"
    echo "ground_truth: {paths: [\"$WORK/labels/*.jsonl\"], join_on: request_id, windows: [30d]}"
  } >"$WORK/models-gt/fraud.yaml"
  plain_cpu_s=$exporter_cpu_s
  run_exporter "$WORK/models-gt" "$WORK/state-gt"
  $PY - <<PYEOF
lines, cpu, plain = $LINES, $exporter_cpu_s, $plain_cpu_s
print(f"with ground truth  : {lines / $exporter_s:10.0f} lines/s  {$exporter_s:7.2f} s  peak RSS {$exporter_rss_kb / 1024:6.1f} MB  CPU {cpu:.2f} s = {lines / cpu:.0f} lines per CPU-second")
print(f"ratio (with / without ground truth), lines per CPU-second: {plain / cpu:.2f}x")
PYEOF
fi
