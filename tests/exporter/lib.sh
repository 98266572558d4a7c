# Helpers for the exporter script tests (sourced, not run). Every process started here is
# killed by the EXIT trap; every wait is bounded.
set -euo pipefail

BUILD_DIR=${1:-${MODELWATCH_BUILD_DIR:-}}
[[ -n "$BUILD_DIR" ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
EXPORTER=$BUILD_DIR/exporter/modelwatch-exporter
[[ -x "$EXPORTER" ]] || { echo "no exporter binary at $EXPORTER" >&2; exit 1; }
PY=/usr/bin/python3

WORK=$(mktemp -d /tmp/mw-exporter-test.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$WORK/exporter.log" ]]; then echo "--- exporter log ---" >&2; tail -n 30 "$WORK/exporter.log" >&2; fi
  exit 1
}

free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_exporter ARGS... : starts the exporter on $PORT with the given extra flags; sets EXPORTER_PID.
start_exporter() {
  "$EXPORTER" --web.listen-address=127.0.0.1:$PORT --web.statistics-interval=0 "$@" >>"$WORK/exporter.log" 2>&1 &
  EXPORTER_PID=$!
  PIDS+=("$EXPORTER_PID")
}

# http_code PATH [curl args] : prints the HTTP status of GET PATH (000 when unreachable).
http_code() {
  local path=$1; shift
  curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$path" || true
}

# wait_ready [curl args] : waits up to 20 s for /-/ready to answer 200.
wait_ready() {
  local i code
  for i in $(seq 1 200); do
    code=$(http_code /-/ready "$@")
    [[ "$code" == 200 ]] && return 0
    [[ "$code" == 000 || "$code" == 503 || "$code" == 401 ]] || fail "/-/ready answered $code"
    kill -0 "$EXPORTER_PID" 2>/dev/null || fail "exporter exited before becoming ready"
    sleep 0.1
  done
  fail "exporter not ready after 20 s"
}

scrape() { curl -sf -m 10 "$@" "http://127.0.0.1:$PORT/metrics"; }

# scrape_has REGEX [curl args] : true when a fresh scrape has a line matching REGEX. (Not
# `scrape | grep -q`: with pipefail, grep quitting early fails curl with SIGPIPE.)
scrape_has() {
  local pattern=$1 out
  shift
  out=$(scrape "$@") || return 1
  grep -q -- "$pattern" <<<"$out"
}

# metric_value NAME_WITH_LABELS : the value of one exact series in a fresh scrape (empty if absent).
metric_value() {
  scrape | awk -v k="$1" '$1 == k { print $2 }'
}

# wait_metric SERIES VALUE [seconds] : waits until the series has the value.
wait_metric() {
  local series=$1 want=$2 limit=${3:-20} i got=""
  for i in $(seq 1 $((limit * 10))); do
    got=$(metric_value "$series" || true)
    [[ "$got" == "$want" ]] && return 0
    sleep 0.1
  done
  fail "$series is '$got', want '$want' after ${limit}s"
}

# stop_exporter : SIGTERM, then waits (at most 10 s, then SIGKILL) for the exit; sets STOP_RC.
stop_exporter() {
  kill -TERM "$EXPORTER_PID"
  ( sleep 10; kill -9 "$EXPORTER_PID" 2>/dev/null ) &
  local watchdog=$!
  STOP_RC=0
  wait "$EXPORTER_PID" || STOP_RC=$?
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
}
