#!/bin/bash
# Idle connections must not take /metrics down. 1,000 idle TCP connections (half of them
# having sent half a request line, none authenticated) are held open against the exporter —
# each one the server closes is opened again at once — while 20 scrapes must each answer 200
# within 2 s:
#  - with the defaults and basic auth: every idle connection is held by the server
#    (modelwatch_http_connections_open), scrapes with credentials still answer;
#  - with --web.max-connections=100: the server never holds more than 100, the excess is
#    counted, and scrapes still answer: a new connection at the cap takes the place of the
#    oldest one still waiting for its request;
#  - with --web.read-header-timeout=1s, connections that never finish their request head are
#    closed after 1 s and counted;
#  - a TLS handshake and an over-long request head are answered 400 / 431 at once.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../exporter/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/state"
echo '{"ts":1795341600,"score":0.5}' >"$WORK/logs/a.jsonl"
cat >"$WORK/models/m.yaml" <<YAML
model: m
owner: {team: t}
tier: 2
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"], start_at: beginning}
YAML
# bcrypt (cost 4) of "s3cret".
cat >"$WORK/web.yml" <<'YAML'
basic_auth_users:
  alice: $2b$04$cIUmP7W7Pq4s4TMRtyI.LOxVooL2O1xz8089bClMC/JRdUEH3.uba
YAML

hold() {  # ARGS... : runs the connection holder (bounded: 60 s), prints its JSON summary
  timeout 60 $PY "$HERE/hold_connections.py" --port "$PORT" "$@" >"$WORK/hold.json" || {
    cat "$WORK/hold.json" >&2
    fail "scrapes failed or were slower than 2 s with idle connections held"
  }
  cat "$WORK/hold.json"
}
field() {  # EXPR : a Python expression over the summary `s`
  $PY -c 'import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/hold.json" "$1"
}

# 1. Defaults, with basic auth: 1,000 idle connections are held and scrapes still answer.
PORT=$(free_port)
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --web.config.file="$WORK/web.yml"
wait_ready -u alice:s3cret
hold --connections 1000 --scrapes 20 --bound 2 --user alice:s3cret
[[ $(field 's["connect_failed"]') == 0 ]] || fail "connections could not be opened"
open=$(field 's["server"].get("modelwatch_http_connections_open", -1)')
$PY -c "import sys; sys.exit(0 if $open >= 1000 else 1)" ||
  fail "the server held $open connections, want at least 1000 (are they accepted at all?)"
[[ $(http_code /metrics) == 401 ]] || fail "/metrics without credentials should be 401"
stop_exporter
[[ $STOP_RC == 0 ]] || fail "exporter exited $STOP_RC with connections held"

# 2. A cap of 100: the excess is refused or evicted, scrapes still answer.
PORT=$(free_port)
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" \
  --web.max-connections=100 --web.read-header-timeout=1s
wait_ready
hold --connections 1000 --scrapes 20 --bound 2
open=$(field 's["server"].get("modelwatch_http_connections_open", -1)')
$PY -c "import sys; sys.exit(0 if 0 < $open <= 100 else 1)" ||
  fail "the server held $open connections with --web.max-connections=100"
scrape >"$WORK/scrape.txt" || fail "scrape failed"
refused=$(awk '$1 ~ /^modelwatch_http_connections_refused_total\{reason="(limit|evicted)"\}$/ { s += $2 } END { print s + 0 }' "$WORK/scrape.txt")
$PY -c "import sys; sys.exit(0 if $refused >= 900 else 1)" ||
  fail "connections beyond the cap counted (limit + evicted): $refused, want at least 900"
promtool check metrics <"$WORK/scrape.txt" >"$WORK/promtool.txt" 2>&1 || true
[[ -s "$WORK/promtool.txt" ]] && { cat "$WORK/promtool.txt" >&2; fail "promtool check metrics reported problems"; }

# 3. Below the cap, connections that do not finish their request head within 1 s are closed
#    (and counted), scrapes meanwhile answer.
hold --connections 50 --scrapes 20 --bound 2 --interval 0.15
[[ $(field 's["closed_by_server"] >= 50') == True ]] ||
  fail "connections without a request head were not closed after --web.read-header-timeout=1s"
timed_out=$(metric_value 'modelwatch_http_connections_refused_total{reason="header_timeout"}')
$PY -c "import sys; sys.exit(0 if float('${timed_out:-0}') >= 50 else 1)" ||
  fail "connections closed for their header timeout counted: '${timed_out}', want at least 50"

# 4. A TLS handshake on the plain-HTTP port and a 20 KiB request head are answered at once.
answers=$($PY - "$PORT" <<'PY'
import socket, sys
def status(data):
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
        s.sendall(data)
        return s.recv(64).split(b"\r\n")[0].decode()
print(status(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64))
print(status(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n"))
PY
) || fail "malformed requests were not answered at once"
[[ $answers == $'HTTP/1.1 400 Bad Request\nHTTP/1.1 431 Request Header Fields Too Large' ]] ||
  fail "malformed requests answered: $answers"
wait_metric 'modelwatch_http_connections_refused_total{reason="bad_request"}' 2 5
stop_exporter
[[ $STOP_RC == 0 ]] || fail "exporter exited $STOP_RC"
echo PASS
