#!/bin/bash
# Web config (basic auth with bcrypt, TLS refused with exit 1), config errors as file:line:col
# with exit 1, usage errors exit 2, --version.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/state"
echo '{"ts":1795341600,"score":0.5}' >"$WORK/logs/a.jsonl"
cat >"$WORK/models/fraud.yaml" <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"], start_at: beginning}
YAML
# bcrypt (cost 4) of "s3cret".
cat >"$WORK/web.yml" <<'YAML'
basic_auth_users:
  alice: $2b$04$cIUmP7W7Pq4s4TMRtyI.LOxVooL2O1xz8089bClMC/JRdUEH3.uba
YAML

PORT=$(free_port)
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --web.config.file="$WORK/web.yml"
wait_ready -u alice:s3cret
[[ $(http_code /metrics) == 401 ]] || fail "/metrics without credentials should be 401"
[[ $(http_code /metrics -u alice:wrong) == 401 ]] || fail "/metrics with a wrong password should be 401"
[[ $(http_code /metrics -u bob:s3cret) == 401 ]] || fail "/metrics for an unknown user should be 401"
[[ $(http_code / ) == 401 ]] || fail "/ without credentials should be 401"
[[ $(http_code /-/ready) == 401 ]] || fail "/-/ready without credentials should be 401"
[[ $(http_code /api/v1/samples/fraud) == 401 ]] || fail "the sample without credentials should be 401"
[[ $(http_code /api/v1/samples/fraud -u alice:s3cret) == 200 ]] || fail "the sample with credentials should be 200"
[[ $(http_code /metrics -u alice:s3cret) == 200 ]] || fail "/metrics with credentials should be 200"
headers=$(curl -s -m 5 -D - -o /dev/null "http://127.0.0.1:$PORT/metrics")
grep -qi '^WWW-Authenticate: Basic' <<<"$headers" || fail "401 without WWW-Authenticate: Basic"
# Ready means the files are open, not read: the record may take a poll or two to appear.
record='^model_predictions_total{model="fraud",version="unknown"} 1$'
for _ in $(seq 1 100); do
  scrape_has "$record" -u alice:s3cret && break
  sleep 0.1
done
scrape_has "$record" -u alice:s3cret || fail "authenticated scrape lacks the record"
stop_exporter
[[ "$STOP_RC" == 0 ]] || fail "SIGTERM exit code $STOP_RC"

# TLS cannot be served reliably by this build: exit 1 with a message saying so, never half-up.
cat >"$WORK/tls.yml" <<'YAML'
tls_server_config:
  cert_file: server.crt
  key_file: server.key
YAML
rc=0
timeout 20 "$EXPORTER" --config.dir="$WORK/models" --state.dir="$WORK/state" \
  --web.listen-address=127.0.0.1:$PORT --web.config.file="$WORK/tls.yml" >"$WORK/tls.out" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "tls_server_config: exit $rc, want 1"
grep -q "TLS is not supported" "$WORK/tls.out" || fail "tls_server_config: no clear message: $(cat "$WORK/tls.out")"

# A broken web config: located error, exit 1.
printf 'basic_auth_users:\n  alice: plaintext\n' >"$WORK/bad-web.yml"
rc=0
timeout 20 "$EXPORTER" --config.dir="$WORK/models" --web.listen-address=127.0.0.1:$PORT \
  --web.config.file="$WORK/bad-web.yml" >"$WORK/bad-web.out" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "bad web config: exit $rc, want 1"
grep -q "^$WORK/bad-web.yml:2:10: error: " "$WORK/bad-web.out" || fail "bad web config: $(cat "$WORK/bad-web.out")"

# A broken model config: every error as file:line:col, exit 1.
mkdir -p "$WORK/bad-models"
cat >"$WORK/bad-models/fraud.yaml" <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"]}
colour: blue
YAML
rc=0
timeout 20 "$EXPORTER" --config.dir="$WORK/bad-models" --state.dir="$WORK/state" \
  --web.listen-address=127.0.0.1:$PORT >"$WORK/bad.out" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "bad config: exit $rc, want 1"
grep -qE "^$WORK/bad-models/fraud.yaml:6:1: error: .*colour" "$WORK/bad.out" || fail "bad config: $(cat "$WORK/bad.out")"

# A port another process listens on: exit 1 and a message that says so (civetweb alone says
# "null context when constructing CivetServer").
BUSY_PORT=$(free_port)
$PY -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$BUSY_PORT" &
PIDS+=($!)
for _ in $(seq 50); do $PY -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$BUSY_PORT" 2>/dev/null && break; sleep 0.1; done
rc=0
timeout 20 "$EXPORTER" --config.dir="$WORK/models" --state.dir="$WORK/state-busy" \
  --web.listen-address=127.0.0.1:$BUSY_PORT >"$WORK/busy.out" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "busy port: exit $rc, want 1"
grep -q "error: cannot listen on 127.0.0.1:$BUSY_PORT: Address already in use (another process listens there" "$WORK/busy.out" ||
  fail "busy port: $(cat "$WORK/busy.out")"

# Usage errors exit 2; --version and --help exit 0.
rc=0; "$EXPORTER" --config.dir="$WORK/models" --no-such-flag >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "unknown flag: exit $rc, want 2"
rc=0; "$EXPORTER" >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "missing --config.dir: exit $rc, want 2"
grep -q '^modelwatch-exporter [0-9]' <<<"$("$EXPORTER" --version)" || fail "--version"
grep -q -- '--web.listen-address' <<<"$("$EXPORTER" --help)" || fail "--help"
grep -q -- '--model' <<<"$("$EXPORTER" baseline --help)" || fail "baseline --help"
grep -q -- '--step' <<<"$("$EXPORTER" replay --help)" || fail "replay --help"
echo PASS
