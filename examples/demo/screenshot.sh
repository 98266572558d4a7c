#!/usr/bin/env bash
# Screenshots of the running demo, taken with headless Chromium (Debian package `chromium`,
# installed here if missing; not part of CI): the exporter's landing page, Prometheus' alerts
# page and a Prometheus graph of feature drift while the first round of anomalies fires.
# (Debian's Prometheus serves only its classic UI, under /classic/; Debian's Alertmanager has
# no UI at all.)
#
# Usage: bash examples/demo/screenshot.sh [OUT_DIR] [SECONDS_INTO_DEMO] [BUILD_DIR]
#   OUT_DIR defaults to examples/demo/screenshots; SECONDS_INTO_DEMO (default 150: fraud-detector
#   is down, its other alerts inhibited) is when, after the traffic starts, to take the
#   pictures. Uses the programs already built in BUILD_DIR (default build/).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
out=${1:-examples/demo/screenshots}
at=${2:-150}
build_dir=${3:-build}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/*.png

if ! command -v chromium >/dev/null; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null || exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-shots.XXXXXX")
profile=$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-chromium.XXXXXX")
bash ci/demo.sh --no-build --build-dir="$build_dir" --duration=$((at + 180)) --work-dir="$work/demo" >"$work/demo.log" 2>&1 &
demo=$!
cleanup() {
  kill -INT "$demo" 2>/dev/null
  wait "$demo" 2>/dev/null
  rm -rf "$work" "$profile"
}
trap cleanup EXIT

for ((i = 0; i < 600; i++)); do
  [[ -s $work/demo/urls.env && -s $work/demo/events.jsonl ]] && break
  if ! kill -0 "$demo" 2>/dev/null; then
    cat "$work/demo.log"
    exit 1
  fi
  sleep 0.2
done
if [[ ! -s $work/demo/urls.env ]]; then
  echo "the demo did not come up"
  cat "$work/demo.log"
  exit 1
fi
# shellcheck disable=SC1091
source "$work/demo/urls.env"
wait_s=$(/usr/bin/python3 -c '
import json, sys, time
start = json.loads(open(sys.argv[1]).readline())["time"]
print(int(max(0, start + float(sys.argv[2]) - time.time())))' "$work/demo/events.jsonl" "$at")
echo "waiting ${wait_s} s for the anomalies to fire..."
sleep "$wait_s"

# A fresh profile per picture: a Chromium started on a profile still in use by the previous
# one hands its work to that process and exits 0 without writing anything.
shot() {
  local url=$1 file=$2 size=${3:-1400,1100} dir
  dir=$(mktemp -d "$profile/p.XXXXXX")
  if ! timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$dir" --hide-scrollbars --window-size="$size" \
    --virtual-time-budget=8000 --screenshot="$file" "$url" >"$work/chromium.log" 2>&1; then
    echo "chromium failed for $url:"
    tail -5 "$work/chromium.log"
    return 1
  fi
  if [[ ! -s $file ]]; then
    echo "chromium wrote nothing for $url:"
    tail -5 "$work/chromium.log"
    return 1
  fi
  echo "wrote $file ($url)"
}
rc=0
shot "$STACK_EXPORTER_URL/" "$out/exporter-landing.png" || rc=1
shot "$STACK_PROM_URL/classic/alerts" "$out/prometheus-alerts.png" 1400,2400 || rc=1
shot "$STACK_PROM_URL/classic/graph?g0.expr=model_feature_drift%7Bmethod%3D%22psi%22%2Cwindow%3D%2220s%22%7D&g0.tab=0&g0.range_input=5m" \
  "$out/prometheus-drift-graph.png" 1400,1300 || rc=1
exit $rc
