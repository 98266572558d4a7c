#!/bin/bash
# `modelwatch-exporter replay` of the ingest benchmark's log, two builds compared back to back:
# the parser's old/new CPU ratio in docs/exporter.md, *Plain lines without simdjson*.
#
# usage: bench/replay_ab.sh OLD_BUILD_DIR NEW_BUILD_DIR [LINES] [PAIRS]
#                                               (defaults 300000 and 7)
#
# Generates LINES records as bench/ingest_bench.sh does (one binary model, 20 numeric features
# with histograms, 2 categorical), then runs `replay --threads=1` PAIRS times with each build,
# alternating old and new, under GNU time. Prints every run (user + system CPU, the load average
# before it), the medians and the median of the per-pair new/old CPU ratios, and checks that
# both builds wrote byte-identical OpenMetrics. Not part of the test suite.
set -euo pipefail
OLD=${1:?usage: $0 OLD_BUILD_DIR NEW_BUILD_DIR [LINES] [PAIRS]}
NEW=${2:?usage: $0 OLD_BUILD_DIR NEW_BUILD_DIR [LINES] [PAIRS]}
LINES=${3:-300000}
PAIRS=${4:-7}
PY=/usr/bin/python3
for b in "$OLD" "$NEW"; do
  [[ -x $b/exporter/modelwatch-exporter ]] || { echo "no $b/exporter/modelwatch-exporter" >&2; exit 1; }
done
command -v /usr/bin/time >/dev/null || { echo "GNU time (/usr/bin/time) not installed" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/mw-replay-ab.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/models"

$PY "$(dirname "$0")/prediction_log.py" "$WORK/log.jsonl" "$LINES"
{
  cat <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/unused/*.jsonl"]}
features:
  - {name: country, type: categorical}
  - {name: device, type: categorical}
YAML
  for k in $(seq 1 20); do echo "  - {name: f$k, type: numeric, histogram: true}"; done
} >"$WORK/models/fraud.yaml"

# run BUILD NAME: prints the CPU seconds of one replay.
run() {
  /usr/bin/time -f "%U %S" -o "$WORK/time" "$1/exporter/modelwatch-exporter" replay \
    --config.dir="$WORK/models" --input="$WORK/log.jsonl" --threads=1 \
    --output="$WORK/$2.om" >/dev/null 2>"$WORK/$2.err" || { cat "$WORK/$2.err" >&2; exit 1; }
  awk '{ printf "%.3f", $1 + $2 }' "$WORK/time"
}

run "$NEW" warmup >/dev/null  # the log into the page cache
results=()
for ((i = 1; i <= PAIRS; i++)); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  old=$(run "$OLD" old)
  new=$(run "$NEW" new)
  echo "pair $i: old $old CPU-s, new $new CPU-s (load average $load)"
  results+=("$old $new")
done
cmp -s "$WORK/old.om" "$WORK/new.om" && echo "OpenMetrics written: byte-identical" ||
  echo "OpenMetrics written: DIFFERENT"
printf '%s\n' "${results[@]}" | $PY -c '
import statistics, sys
pairs = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
old = statistics.median(p[0] for p in pairs)
new = statistics.median(p[1] for p in pairs)
ratios = sorted(n / o for o, n in pairs)
print(f"median CPU: old {old:.2f} s, new {new:.2f} s; new/old per pair: median {statistics.median(ratios):.2f}, min {ratios[0]:.2f}, max {ratios[-1]:.2f}")
'
