#!/usr/bin/env bash
# The local demo: installs what is missing (ci/setup.sh), builds the two programs into
# build/, and runs on 127.0.0.1 the exporter, Prometheus, Alertmanager, a receiver standing
# in for PagerDuty/Slack/e-mail/heartbeat, and a traffic generator that plays the anomaly
# schedule of examples/demo/scenario.yaml against the three example models. Prints the URLs
# and what to look at; Ctrl-C stops everything. See docs/demo.md.
#
# Usage: bash ci/demo.sh [--duration=SECONDS] [--no-build] [--build-dir=DIR] [--work-dir=DIR]
#   --duration=N    stop by itself after N seconds of traffic (non-interactive smoke run)
#   --no-build      skip ci/setup.sh and the build; use the programs already built
#   --build-dir=DIR the build directory (default: build)
#   --work-dir=DIR  keep configs, logs, generated files and data in DIR (default: a temp dir,
#                   removed at the end)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
SRC=$(pwd)
duration=""
build=1
build_dir=build
work=""
for arg in "$@"; do
  case $arg in
    --duration=*) duration=${arg#*=} ;;
    --no-build) build=0 ;;
    --work-dir=*) work=${arg#*=} ;;
    --build-dir=*) build_dir=${arg#*=} ;;
    -h | --help)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "ci/demo.sh: unknown argument $arg (see --help)" >&2
      exit 2
      ;;
  esac
done
if [[ -n $duration && ! $duration =~ ^[0-9]+$ ]]; then
  echo "ci/demo.sh: --duration wants whole seconds" >&2
  exit 2
fi

if ((build)); then
  bash ci/setup.sh || exit 1
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >"$build_dir-configure.log" 2>&1 || {
    cat "$build_dir-configure.log"
    exit 1
  }
  cmake --build "$build_dir" -j 2 --target modelwatch-exporter modelwatch-rulegen || exit 1
fi

# shellcheck source=../examples/demo/stack.sh
source examples/demo/stack.sh
remove_work=0
if [[ -z $work ]]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-demo.XXXXXX")
  remove_work=1
fi
stack_init "$work" "$(cd "$build_dir" && pwd)" "$SRC"
tail_pid=""
finish() {
  echo
  echo "stopping the demo stack..."
  if [[ -n $tail_pid ]]; then kill "$tail_pid" 2>/dev/null; fi
  stack_stop
  if ((remove_work)); then rm -rf "$work"; else echo "work directory kept: $work"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

stack_prepare || exit 1
stack_start_services || exit 1
gen_flags=()
if [[ -n $duration ]]; then gen_flags+=(--duration "$duration"); fi
stack_start_generator "$SRC/examples/demo/scenario.yaml" "${gen_flags[@]}"

cat <<EOF

modelwatch demo is running (all on 127.0.0.1):

  exporter landing page   $STACK_EXPORTER_URL/
  exporter metrics        $STACK_EXPORTER_URL/metrics
  Prometheus alerts       $STACK_PROM_URL/classic/alerts
  Prometheus graph        $STACK_PROM_URL/classic/graph?g0.expr=model_feature_drift&g0.tab=0
  Alertmanager API        $STACK_AM_URL/api/v2/alerts (Debian ships no Alertmanager UI)
  notifications (JSON)    $STACK_RECEIVER_URL/notifications

What happens (seconds after start; see docs/demo.md):
    0-60   clean traffic, only the Watchdog heartbeat fires
   60-100  fraud-detector feature drift, intent-classifier score shift, eta-predictor latency spike
  105-130  fraud-detector error burst, then 130-170 fraud-detector down (ModelDown inhibits the rest)
  110-170  intent-classifier labels delayed
  420-660  a second round: eta drift, intent errors, fraud score shift, eta down

Notifications (PagerDuty / Slack / e-mail / heartbeat stand-ins) print below as they arrive;
the full log is $STACK_NOTIFICATIONS. Generated rules, routing and dashboards: $STACK_GENERATED.
EOF
if [[ -n $duration ]]; then
  echo "Stopping after ${duration} s (--duration)."
else
  echo "Press Ctrl-C to stop."
fi
echo

tail -n +1 -f "$work/receiver.log" &
tail_pid=$!
start=$SECONDS
rc=0
while :; do
  if [[ -n $duration ]] && ((SECONDS - start >= duration + 2)); then break; fi
  for svc in exporter prometheus alertmanager receiver; do
    if ! stack_alive "$svc"; then
      echo "ci/demo.sh: $svc stopped unexpectedly" >&2
      rc=1
      break 2
    fi
  done
  if [[ -z $duration ]] && ! kill -0 "$STACK_GEN_PID" 2>/dev/null; then
    echo "the scenario has ended; the stack stays up until Ctrl-C"
    STACK_GEN_PID=0
  fi
  sleep 1
done
kill "$tail_pid" 2>/dev/null
wait "$tail_pid" 2>/dev/null
tail_pid=""
if ((rc == 0)); then
  n=$(wc -l <"$STACK_NOTIFICATIONS" 2>/dev/null || echo 0)
  echo "demo finished: $n notifications received"
fi
exit $rc
