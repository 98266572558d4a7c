#!/bin/bash
# SIGHUP reloads the config directory: a new model starts, unchanged models keep their counts
# and positions (nothing re-read), a broken config is refused and the running one kept.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/state"
model_yaml() {  # name task paths extra
  cat <<YAML
model: $1
owner: {team: ml}
tier: 2
task: $2
source: {paths: ["$3"], start_at: beginning$4}
YAML
}
model_yaml fraud binary_classification "$WORK/logs/fraud.jsonl" "" >"$WORK/models/fraud.yaml"
$PY "$HERE/gen_logs.py" stream "$WORK/logs/fraud.jsonl" 500 0

PORT=$(free_port)
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state"
wait_ready
fraud_total() { scrape | awk '/^model_predictions_total\{model="fraud"/ { s += $2 } END { print s + 0 }'; }
wait_metric 'modelwatch_lines_read_total{kind="predictions",source="fraud"}' 500
[[ $(fraud_total) == 500 ]] || fail "fraud before reload: $(fraud_total)"

model_yaml eta regression "$WORK/logs/eta.jsonl" ", fields: {prediction: eta_minutes}" >"$WORK/models/eta.yaml"
for i in 1 2 3; do echo "{\"ts\":1795341600,\"eta_minutes\":$i}" >>"$WORK/logs/eta.jsonl"; done
kill -HUP "$EXPORTER_PID"
wait_metric 'model_predictions_total{model="eta",version="unknown"}' 3
wait_metric 'modelwatch_config_reloads_total{result="success"}' 1
[[ $(fraud_total) == 500 ]] || fail "fraud after reload: $(fraud_total), want 500 (kept, not re-read)"
$PY "$HERE/gen_logs.py" stream "$WORK/logs/fraud.jsonl" 100 500
wait_metric 'modelwatch_lines_read_total{kind="predictions",source="fraud"}' 600
[[ $(fraud_total) == 600 ]] || fail "fraud after appending: $(fraud_total)"

# A broken config is refused; the running configuration keeps working.
echo "model: [unclosed" >"$WORK/models/broken.yaml"
kill -HUP "$EXPORTER_PID"
wait_metric 'modelwatch_config_last_reload_successful' 0
wait_metric 'modelwatch_config_reloads_total{result="failure"}' 1
grep -qE "broken.yaml:[0-9]+:[0-9]+: error: " "$WORK/exporter.log" || fail "reload error not logged with its location"
$PY "$HERE/gen_logs.py" stream "$WORK/logs/fraud.jsonl" 10 600
wait_metric 'modelwatch_lines_read_total{kind="predictions",source="fraud"}' 610
[[ $(metric_value 'model_predictions_total{model="eta",version="unknown"}') == 3 ]] || fail "eta lost"
kill -0 "$EXPORTER_PID" || fail "exporter died on a broken reload"

# Removing a model drops its series.
rm "$WORK/models/broken.yaml" "$WORK/models/eta.yaml"
kill -HUP "$EXPORTER_PID"
wait_metric 'modelwatch_config_last_reload_successful' 1
scrape_has 'model="eta"' && fail "removed model still exported"
stop_exporter
[[ "$STOP_RC" == 0 ]] || fail "SIGTERM exit code $STOP_RC"
echo PASS
