#!/usr/bin/env bash
# End-to-end: the real exporter, rulegen output, Prometheus and Alertmanager on 127.0.0.1,
# fed by the traffic generator with the anomaly schedule of tests/e2e/scenario.yaml, with a
# local receiver standing in for PagerDuty, Slack, e-mail and the heartbeat service.
# Checks (tests/e2e/check_alerting.py): each anomaly is notified with the expected labels at
# the expected receiver and nothing fires in the clean control period; simultaneous alerts of
# one model arrive grouped; nothing is notified twice; ModelDown inhibits the model's other
# alerts; resolutions arrive after the anomalies end; the Watchdog reaches the heartbeat
# receiver; every PagerDuty event and Slack message used its own team's key / webhook; and
# one incident = one page: per injected incident it prints notifications, page events, pages
# (PagerDuty incidents opened) and time to first page, and asserts one page per paging
# incident and zero pages in the clean control period. Then every panel query of every generated dashboard must return data
# (tests/e2e/check_dashboards.py). Prints the detection latency of every expected alert.
#
# Usage: alerting.test.sh BUILD_DIR   (env MODELWATCH_SOURCE_DIR; MODELWATCH_KEEP_WORK=1
# keeps the work directory). About 4 minutes; exit 77 (skip) only if a program is not built.
set -uo pipefail

BUILD_DIR=${1:-${MODELWATCH_BUILD_DIR:-build}}
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
SRC=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HERE=$SRC/tests/e2e
PY=/usr/bin/python3

# shellcheck source=../../examples/demo/stack.sh
source "$SRC/examples/demo/stack.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-e2e.XXXXXX")
stack_init "$WORK" "$BUILD_DIR" "$SRC"
status=1
cleanup() {
  stack_stop
  if [[ ($status -eq 0 || $status -eq 77) && -z ${MODELWATCH_KEEP_WORK:-} ]]; then
    rm -rf "$WORK"
  else
    echo "work directory kept: $WORK (logs: exporter.log prometheus.log alertmanager.log" \
      "receiver.log generator.log; notifications.jsonl, poll.jsonl)"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

missing=()
for bin in "$STACK_EXPORTER_BIN" "$STACK_RULEGEN_BIN"; do
  [[ -x $bin ]] || missing+=("$bin")
done
if ((${#missing[@]})); then
  echo "SKIP: not built yet: ${missing[*]}"
  status=77
  exit 77
fi

fail() {
  echo "FAIL: $*"
  exit 1
}

stack_prepare || fail "could not prepare the stack (see above)"
stack_start_services || fail "could not start the services (see above)"
echo "stack up: exporter $STACK_EXPORTER_URL, Prometheus $STACK_PROM_URL," \
  "Alertmanager $STACK_AM_URL, receiver $STACK_RECEIVER_URL"

# The rules must be loaded before traffic starts, or the control period means nothing.
rules=$(curl -fsS "$STACK_PROM_URL/api/v1/rules" | "$PY" -c \
  'import json,sys; d=json.load(sys.stdin)["data"]["groups"]; print(sum(len(g["rules"]) for g in d))')
[[ ${rules:-0} -gt 0 ]] || fail "Prometheus loaded no rules from $STACK_GENERATED/rules"
echo "Prometheus loaded $rules rules"

duration=$("$PY" -c 'import sys,yaml; print(int(yaml.safe_load(open(sys.argv[1]))["duration"]))' \
  "$HERE/scenario.yaml")
stack_spawn poller "$WORK/poller.log" "$PY" "$HERE/poll_state.py" --am "$STACK_AM_URL" \
  --prom "$STACK_PROM_URL" --out "$WORK/poll.jsonl" --interval 1 --duration $((duration + 60))
stack_start_generator "$HERE/scenario.yaml"

# Wait for the scenario to play out (bounded), failing fast if a service dies.
deadline=$((SECONDS + duration + 30))
while kill -0 "$STACK_GEN_PID" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the traffic generator did not finish in $((duration + 30)) s"
  for svc in exporter prometheus alertmanager receiver; do
    stack_alive "$svc" || fail "$svc died during the scenario"
  done
  sleep 2
done
wait "$STACK_GEN_PID" 2>/dev/null
gen_start=$("$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e["kind"]=="generator" and e["phase"]=="start": print(e["time"]); break' "$STACK_EVENTS")
[[ -n $gen_start ]] || fail "the generator logged no start event"

echo "--- alerting checks"
"$PY" "$HERE/check_alerting.py" --notifications "$STACK_NOTIFICATIONS" --events "$STACK_EVENTS" \
  --poll "$WORK/poll.jsonl" --config-dir "$STACK_CONFIG" --scenario "$HERE/scenario.yaml" \
  --prom "$STACK_PROM_URL" --latency-out "$WORK/latency.txt"
alerting=$?

echo "--- dashboard queries"
if [[ -d $STACK_GENERATED/dashboards ]]; then
  "$PY" "$HERE/check_dashboards.py" --dashboards "$STACK_GENERATED/dashboards" \
    --prom "$STACK_PROM_URL" --start "$gen_start"
  dashboards=$?
else
  echo "FAIL: rulegen generated no dashboards/ directory"
  dashboards=1
fi

if [[ $alerting -eq 0 && $dashboards -eq 0 ]]; then
  status=0
  echo "PASS: end-to-end alerting"
else
  echo "FAIL: end-to-end alerting (alerting checks exit $alerting, dashboard checks exit $dashboards)"
fi
exit $status
