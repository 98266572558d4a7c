#!/bin/bash
# Ingest on several cores: modelwatch-exporter reading 1, 2, 4 and 8 models, each model with
# its own prediction log (LINES lines in all, split evenly), with --ingest.threads=1 and
# --ingest.threads=2 (or THREADS) in the same run, one after the other on the same files.
#
# usage: [APART=1] bench/ingest_cores_bench.sh BUILD_DIR [LINES] [THREADS] [MODELS]
#        (defaults: 800000 lines, "1 2", "1 2 4 8")
# With APART=1, each case of more than one model is also run as one exporter process per
# model, one thread each, started together ("apart"): the speed-up independent processes get
# from the machine's cores on the same work, the ceiling for --ingest.threads.
#
# Each run starts the exporter on a fresh state directory and times it from start until
# modelwatch_lines_read_total reaches LINES (scraped every 0.2 s); CPU is the process's
# utime + stime (/proc/PID/stat) at that moment, so CPU-s/wall-s is the number of cores kept
# busy. The busiest thread's CPU (/proc/PID/task/*/stat) is reported too: CPU s / busiest
# thread's CPU s is the speed-up the run could have had with a free core per thread, a figure
# that other load on the machine disturbs much less than wall time does. Records and models are those of bench/ingest_bench.sh (20 numeric features with
# histograms, 2 categorical). The load average before each run is printed with it: the figures
# mean little on a machine that is busy with something else. Not part of the test suite.
set -euo pipefail
BUILD_DIR=${1:?usage: $0 BUILD_DIR [LINES] [THREADS] [MODELS]}
LINES=${2:-800000}
THREADS=${3:-1 2}
MODELS=${4:-1 2 4 8}
EXPORTER=$BUILD_DIR/exporter/modelwatch-exporter
PY=/usr/bin/python3
[[ -x "$EXPORTER" ]] || { echo "no $EXPORTER" >&2; exit 1; }

WORK=$(mktemp -d /tmp/mw-cores-bench.XXXXXX)
EXPORTER_PID=""
cleanup() {
  # shellcheck disable=SC2086 # one pid or several
  [[ -n "$EXPORTER_PID" ]] && kill -9 $EXPORTER_PID 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "generating $LINES lines..." >&2
$PY - "$WORK/all.jsonl" "$LINES" <<'PYEOF'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
countries = ["DE", "FR", "US", "GB", "IT", "ES", "NL", "PL"]
pool = []
for _ in range(4096):
    pool.append(",".join('"f%d":%.4g' % (k, rnd.gauss(k, 1 + k / 4)) for k in range(1, 21)))
with open(path, "w", buffering=1 << 20) as f:
    for i in range(n):
        t = 1795341600 + i // 100
        f.write('{"ts":%d.%03d,"model":"m","model_version":"v%d","request_id":"r%d",'
                '"latency_ms":%.2f,"status":"ok","score":%.4f,"features":{%s,'
                '"country":"%s","device":"%s"},"segment":{"region":"eu"}}\n' % (
                    t, i % 1000, 1 + i % 3, i, rnd.expovariate(1 / 40.0), rnd.random(),
                    pool[(i * 7919) % 4096], countries[i % 8], "ios" if i % 3 else "android"))
PYEOF

scrape_read() {
  { curl -s -m 10 "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } |
    awk '/^modelwatch_lines_read_total\{/ { s += $2 } END { printf "%d", s }'
}

# run MODELS THREADS: prints "models threads wall_s cpu_s load busiest_thread_cpu_s".
run() {
  local models=$1 threads=$2 dir="$WORK/m$1"
  rm -rf "$dir/state"
  mkdir -p "$dir/state"
  local load port start done_at="" got
  load=$(cut -d' ' -f1 /proc/loadavg)
  port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  start=$(date +%s.%N)
  "$EXPORTER" --config.dir="$dir/models" --state.dir="$dir/state" --ingest.threads="$threads" \
    --web.listen-address=127.0.0.1:$port --log.level=warn 2>"$dir/exporter.log" &
  EXPORTER_PID=$!
  for _ in $(seq 1 3000); do
    got=$(scrape_read "$port")
    if [[ "$got" == "$LINES" ]]; then done_at=$(date +%s.%N); break; fi
    sleep 0.2
  done
  [[ -n "$done_at" ]] || { echo "exporter did not read $LINES lines in 10 minutes" >&2; exit 1; }
  local cpu
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' /proc/$EXPORTER_PID/stat)
  local busiest
  busiest=$(cat /proc/$EXPORTER_PID/task/*/stat | awk -v hz="$(getconf CLK_TCK)" \
    '{ sub(/^.*\) /, ""); t = ($12 + $13) / hz; if (t > m) m = t } END { printf "%.2f", m }')
  kill -TERM "$EXPORTER_PID"; wait "$EXPORTER_PID" || true; EXPORTER_PID=""
  echo "$models $threads $($PY -c "print(f'{$done_at - $start:.2f}')") $cpu $load $busiest"
}

# run_apart MODELS: the same models, but each in an exporter process of its own with one
# thread, all started together: what the machine gives independent single-threaded processes
# (no shared lock, no round), the ceiling for --ingest.threads on the same work. Prints
# "models apart wall_s cpu_s load busiest_process_cpu_s" (wall: until the last one is done).
run_apart() {
  local models=$1 dir="$WORK/m$1" load start k pids=() ports=() done_at="" got
  load=$(cut -d' ' -f1 /proc/loadavg)
  start=$(date +%s.%N)
  for ((k = 0; k < models; k++)); do
    rm -rf "$dir/apart$k"; mkdir -p "$dir/apart$k/models" "$dir/apart$k/state"
    cp "$dir/models/m$k.yaml" "$dir/apart$k/models/"
    ports[k]=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$EXPORTER" --config.dir="$dir/apart$k/models" --state.dir="$dir/apart$k/state" \
      --ingest.threads=1 --web.listen-address=127.0.0.1:${ports[k]} --log.level=warn \
      2>"$dir/apart$k/exporter.log" &
    pids[k]=$!
  done
  EXPORTER_PID="${pids[*]}"
  for _ in $(seq 1 3000); do
    got=0
    for ((k = 0; k < models; k++)); do got=$((got + $(scrape_read "${ports[k]}"))); done
    if [[ "$got" == "$LINES" ]]; then done_at=$(date +%s.%N); break; fi
    sleep 0.2
  done
  [[ -n "$done_at" ]] || { echo "exporters did not read $LINES lines in 10 minutes" >&2; exit 1; }
  local cpu=0 busiest=0 c
  for ((k = 0; k < models; k++)); do
    c=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' /proc/${pids[k]}/stat)
    cpu=$($PY -c "print(f'{$cpu + $c:.2f}')")
    busiest=$($PY -c "print(f'{max($busiest, $c):.2f}')")
  done
  kill -TERM "${pids[@]}"; wait "${pids[@]}" || true; EXPORTER_PID=""
  echo "$models apart $($PY -c "print(f'{$done_at - $start:.2f}')") $cpu $load $busiest"
}

results="$WORK/results.txt"
for m in $MODELS; do
  dir="$WORK/m$m"
  mkdir -p "$dir/logs" "$dir/models"
  # Model k reads its own file: the k-th of m equal parts of the log.
  (cd "$dir/logs" && split -n "l/$m" -d -a 2 --additional-suffix=.jsonl "$WORK/all.jsonl" part)
  k=0
  for f in "$dir"/logs/part*.jsonl; do
    {
      cat <<YAML
model: m$k
owner: {team: bench}
tier: 2
task: binary_classification
source: {paths: ["$f"], start_at: beginning}
features:
  - {name: country, type: categorical}
  - {name: device, type: categorical}
YAML
      for j in $(seq 1 20); do echo "  - {name: f$j, type: numeric, histogram: true}"; done
    } >"$dir/models/m$k.yaml"
    k=$((k + 1))
  done
  for t in $THREADS; do run "$m" "$t" | tee -a "$results" >&2; done
  if [[ -n ${APART:-} && $m -gt 1 ]]; then run_apart "$m" | tee -a "$results" >&2; fi
  rm -rf "$dir"
done

$PY - "$results" "$LINES" "$(nproc)" <<'PYEOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
lines, cores = int(sys.argv[2]), sys.argv[3]
print(f"{lines} lines in all, {cores} cores (nproc)")
print("| models | --ingest.threads | wall s | CPU s | CPU-s/wall-s | lines/s | vs 1 thread | busiest thread CPU s | CPU s / busiest | load avg before |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
base = {}
for m, t, wall, cpu, load, busiest in rows:
    wall, cpu, busiest = float(wall), float(cpu), float(busiest)
    rate = lines / wall
    if t == "1":
        base[m] = rate
    rel = f"{rate / base[m]:.2f}x" if m in base else "n/a"
    print(f"| {m} | {t} | {wall:.2f} | {cpu:.2f} | {cpu / wall:.2f} | {rate:,.0f} | {rel} | "
          f"{busiest:.2f} | {cpu / busiest:.2f} | {load} |")
PYEOF
