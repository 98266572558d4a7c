#!/bin/bash
# Golden scrape of the exporter's serving and self metrics on deterministic logs, promtool
# check metrics, readiness, landing page, health, SIGTERM exit 0.
# UPDATE_GOLDEN=1 rewrites tests/exporter/scrape.golden.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/state"
$PY "$HERE/gen_logs.py" scrape "$WORK/logs"
cat >"$WORK/models/fraud.yaml" <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/logs/fraud*.jsonl"], start_at: beginning, max_line_bytes: 2048}
baseline: fraud.baseline.json
features:
  - {name: amount, type: numeric, histogram: true}
  - {name: country, type: categorical}
YAML
cat >"$WORK/models/intent.yaml" <<YAML
model: intent
owner: {team: nlu}
tier: 2
task: multiclass_classification
classes: [buy, sell, hold]
source: {paths: ["$WORK/logs/shared.jsonl"], start_at: beginning}
YAML
cat >"$WORK/models/eta.yaml" <<YAML
model: eta
owner: {team: logistics}
tier: 3
task: regression
source: {paths: ["$WORK/logs/shared.jsonl"], start_at: beginning, fields: {prediction: eta_minutes}}
YAML

"$EXPORTER" baseline --config.dir="$WORK/models" --model=fraud --input="$WORK/logs/reference.jsonl" \
  --output="$WORK/models/fraud.baseline.json" 2>"$WORK/baseline.log" || {
  cat "$WORK/baseline.log" >&2
  fail "baseline command failed"
}

PORT=$(free_port)
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state"
wait_ready
# 307 fraud lines, 121 shared lines.
wait_metric 'modelwatch_lines_read_total{kind="predictions",source="fraud"}' 307
wait_metric 'modelwatch_lines_read_total{kind="predictions",source="eta+intent"}' 121

scrape >"$WORK/scrape.txt" || fail "scrape failed"
promtool check metrics <"$WORK/scrape.txt" >"$WORK/promtool.txt" 2>&1 || {
  cat "$WORK/promtool.txt" >&2
  fail "promtool check metrics failed"
}
[[ -s "$WORK/promtool.txt" ]] && { cat "$WORK/promtool.txt" >&2; fail "promtool check metrics reported problems"; }

# Normalise: the serving and line-accounting families only (drift gauges have their own tests),
# without the build-dependent and time-dependent self-metrics.
families='model_predictions_total|model_prediction_errors_total|model_request_duration_seconds|model_prediction_score|model_predicted_class_total|model_feature_value|modelwatch_lines_read_total|modelwatch_lines_rejected_total|modelwatch_cardinality_overflow_total'
grep -E "^(# (HELP|TYPE) )?($families)(_bucket|_sum|_count)?[ {]" "$WORK/scrape.txt" >"$WORK/normalised.txt"

golden="$HERE/scrape.golden"
if [[ "${UPDATE_GOLDEN:-}" == 1 ]]; then
  cp "$WORK/normalised.txt" "$golden"
  echo "updated $golden"
else
  diff -u "$golden" "$WORK/normalised.txt" || fail "scrape differs from $golden (UPDATE_GOLDEN=1 to accept)"
fi

# A scrape's answer is written from buffers reused across scrapes (and its gzip from another):
# plain, gzip and plain again on one kept-alive connection serve the same families in full.
url="http://127.0.0.1:$PORT/metrics"
curl -sf -m 10 "$url" -o "$WORK/s1.txt" --next -sf -m 10 --compressed -D "$WORK/s2.head" "$url" \
  -o "$WORK/s2.txt" --next -sf -m 10 "$url" -o "$WORK/s3.txt" 2>"$WORK/curl.log" ||
  fail "scrapes on one connection failed"
grep -qi '^content-encoding: gzip' "$WORK/s2.head" || fail "no gzip answer when asked for one"
for n in 1 2 3; do
  grep -E "^(# (HELP|TYPE) )?($families)(_bucket|_sum|_count)?[ {]" "$WORK/s$n.txt" >"$WORK/s$n.norm"
  diff -u "$WORK/normalised.txt" "$WORK/s$n.norm" || fail "scrape $n on one connection differs"
  [[ $(grep -c '^# TYPE ' "$WORK/s$n.txt") == $(grep -c '^# TYPE ' "$WORK/scrape.txt") ]] ||
    fail "scrape $n on one connection has other families"
done

# Counting rules: accepted = predictions_total; read = accepted + rejected.
$PY - "$WORK/scrape.txt" <<'PYEOF' || fail "counting rules violated"
import re, sys
vals = {}
for line in open(sys.argv[1]):
    if line.startswith("#"): continue
    k, v = line.rsplit(" ", 1)
    vals[k] = float(v)
def total(prefix, **labels):
    s = 0
    for k, v in vals.items():
        if not k.startswith(prefix + "{"): continue
        if all('%s="%s"' % kv in k for kv in labels.items()): s += v
    return s
for source, models in (("fraud", ["fraud"]), ("eta+intent", ["eta", "intent"])):
    read = total("modelwatch_lines_read_total", source=source)
    rejected = total("modelwatch_lines_rejected_total", source=source)
    accepted = sum(total("model_predictions_total", model=m) for m in models)
    assert read == accepted + rejected, (source, read, accepted, rejected)
    errors = sum(total("model_prediction_errors_total", model=m) for m in models)
    assert errors <= accepted
assert total("model_predictions_total", model="fraud") == 301, vals
for reason in ("invalid_json", "missing_field", "bad_type", "bad_value", "bad_timestamp", "too_long"):
    assert total("modelwatch_lines_rejected_total", source="fraud", reason=reason) == 1, reason
assert total("modelwatch_lines_rejected_total", source="eta+intent", reason="unknown_model") == 1
# The feature histogram's buckets are the baseline's edges (10 quantile bins -> 9 edges + Inf).
buckets = [k for k in vals if k.startswith('model_feature_value_bucket{feature="amount"')]
assert len(buckets) == 10, buckets
PYEOF

# Landing page, health, unknown paths.
curl -sf -m 5 "http://127.0.0.1:$PORT/" >"$WORK/landing.html" || fail "landing page"
for want in "modelwatch exporter" ">fraud<" ">intent<" ">eta<" ">v1<" ">2024.1<" 'href="/metrics"'; do
  grep -qF "$want" "$WORK/landing.html" || fail "landing page lacks $want"
done
[[ $(http_code /-/healthy) == 200 ]] || fail "/-/healthy"
[[ $(http_code /nope) == 404 ]] || fail "unknown path should be 404"

stop_exporter
[[ "$STOP_RC" == 0 ]] || fail "SIGTERM exit code $STOP_RC"
grep -q "state flushed" "$WORK/exporter.log" || fail "no final flush logged"
[[ -s "$WORK/state/checkpoint.json" ]] || fail "no checkpoint after SIGTERM"
echo PASS
