#!/bin/bash
# /api/v1/samples/<model>: the recent records the DegradationScore alert links to
# (http://<instance>/api/v1/samples/<model>). Checks, on the real exporter, that the sample
# holds the newest records newest first, every `limits.sample_every`-th one, at most
# `limits.sample_size`, with no PII feature and no request id; and that a model with
# sample_size 0 and an unknown model answer 404. (Basic auth on it: exporter_web.test.sh.)
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/state"
$PY "$HERE/gen_logs.py" scrape "$WORK/logs"
cat >"$WORK/models/fraud.yaml" <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/logs/fraud.jsonl"], start_at: beginning, max_line_bytes: 2048}
features:
  - {name: amount, type: numeric}
  - {name: country, type: categorical, pii: true}
limits: {sample_size: 5, sample_every: 2}
YAML
cat >"$WORK/models/eta.yaml" <<YAML
model: eta
owner: {team: logistics}
tier: 3
task: regression
source: {paths: ["$WORK/logs/shared.jsonl"], start_at: beginning, fields: {prediction: eta_minutes}}
limits: {sample_size: 0}
YAML

PORT=$(free_port)
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state"
wait_ready
wait_metric 'modelwatch_lines_read_total{kind="predictions",source="fraud"}' 307  # the whole file

curl -sf -m 5 "http://127.0.0.1:$PORT/api/v1/samples/fraud" >"$WORK/sample.json" ||
  fail "GET /api/v1/samples/fraud failed"
$PY - "$WORK/sample.json" <<'PYEOF' || fail "sample content (above)"
import json, sys
sample = json.load(open(sys.argv[1]))
assert sample["model"] == "fraud" and sample["every"] == 2, sample
recs = sample["records"]
assert len(recs) == 5, len(recs)
text = json.dumps(sample)
assert "request_id" not in text and '"r2' not in text, "request ids leaked"
assert all("country" not in r["features"] for r in recs), "a PII feature leaked"
ts = [r["ts"] for r in recs]
assert ts == sorted(ts, reverse=True), ("not newest first", ts)
# The file's last accepted record (ts 1795345200000 ms, amount NaN) is the 301st: kept (0-based
# index 300 is even), and its NaN amount is a missing value.
assert ts[0] == 1795345200, ts
assert recs[0]["features"]["amount"] is None, recs[0]
assert all("amount" in r["features"] for r in recs), recs
print("sample: %d records, newest ts %.3f, statuses %s" % (
    len(recs), ts[0], sorted({r["status"] for r in recs})))
PYEOF

[[ "$(http_code /api/v1/samples/eta)" == 404 ]] || fail "sample_size 0 should answer 404"
[[ "$(http_code /api/v1/samples/nobody)" == 404 ]] || fail "an unknown model should answer 404"
[[ "$(http_code /api/v1/samples/)" == 404 ]] || fail "no model should answer 404"
stop_exporter
[[ $STOP_RC -eq 0 ]] || fail "exporter exit code $STOP_RC after SIGTERM"
echo "1 passed, 0 failed"
