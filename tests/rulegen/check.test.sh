#!/usr/bin/env bash
# End-to-end test of `modelwatch-rulegen check` with the real promtool and amtool, plus a
# load of the generated files into a real Prometheus 2.42 and Alertmanager 0.25 on
# 127.0.0.1 (rules loaded, notification templates parsed, inhibition applied).
set -euo pipefail

build_dir=${1:?usage: check.test.sh BUILD_DIR}
src=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$build_dir/rulegen/modelwatch-rulegen
[[ -x $bin ]] || { echo "missing $bin"; exit 1; }
for tool in promtool amtool; do
  command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_exit() {  # expect_exit CODE LOGFILE CMD...
  local want=$1 log=$2; shift 2
  set +e; "$@" >"$log" 2>&1; local got=$?; set -e
  [[ $got == "$want" ]] || { cat "$log"; fail "expected exit $want, got $got: $*"; }
}

echo "== usage"
expect_exit 2 "$tmp/usage.log" "$bin" generate
grep -q "config.dir" "$tmp/usage.log" || fail "usage error does not name the missing flag"
expect_exit 2 "$tmp/usage.log" "$bin" check --config.dir=x --out=y --bogus
expect_exit 2 "$tmp/usage.log" "$bin" generate --config.dir=x --out=y --format=helm
expect_exit 0 "$tmp/help.log" "$bin" generate --help
grep -q "prometheus-operator" "$tmp/help.log" || fail "--help does not mention --format"
expect_exit 0 "$tmp/help.log" "$bin" check --help

echo "== examples: generate + check"
expect_exit 0 "$tmp/gen.log" "$bin" generate --config.dir="$src/examples/models" --out="$tmp/gen"
expect_exit 0 "$tmp/check.log" "$bin" check --config.dir="$src/examples/models" --out="$tmp/gen"
cat "$tmp/check.log"
grep -q "promtool test rules: ok" "$tmp/check.log" || fail "promtool test did not run"
grep -q "cases ok" "$tmp/check.log" || fail "routing tests did not run"

echo "== stale output is reported"
cp -r "$tmp/gen" "$tmp/stale"
echo "# hand edit" >>"$tmp/stale/rules/fraud-detector.rules.yml"
touch "$tmp/stale/rules/leftover.rules.yml"
rm "$tmp/stale/runbooks/ModelDown.md"
expect_exit 1 "$tmp/stale.log" "$bin" check --config.dir="$src/examples/models" --out="$tmp/stale"
for want in "changed: rules/fraud-detector.rules.yml" "extra: rules/leftover.rules.yml" \
            "missing: runbooks/ModelDown.md"; do
  grep -qF "$want" "$tmp/stale.log" || { cat "$tmp/stale.log"; fail "stale list lacks '$want'"; }
done

echo "== a config change without regenerating makes the output stale"
# A copy of the example configs; their relative paths (../baselines) must still resolve.
mkdir -p "$tmp/ex/models"
cp "$src"/examples/models/*.yaml "$tmp/ex/models/"
ln -s "$src/examples/baselines" "$tmp/ex/baselines"
"$bin" generate --config.dir="$tmp/ex/models" --out="$tmp/gen2" >/dev/null
sed -i 's/warn: 0.1$/warn: 0.12/' "$tmp/ex/models/fraud-detector.yaml"
grep -q 'warn: 0.12' "$tmp/ex/models/fraud-detector.yaml" || fail "test setup: sed did not apply"
expect_exit 1 "$tmp/changed.log" "$bin" check --config.dir="$tmp/ex/models" --out="$tmp/gen2"
grep -q "changed: rules/fraud-detector.rules.yml" "$tmp/changed.log" || fail "stale rules not reported"

echo "== a failing tool fails check and its output is shown"
cat >"$tmp/failing-promtool" <<'SH'
#!/bin/sh
if [ "$1" = test ]; then echo "FAILED: simulated unit-test failure"; exit 1; fi
exec promtool "$@"
SH
chmod +x "$tmp/failing-promtool"
expect_exit 1 "$tmp/toolfail.log" "$bin" check --config.dir="$src/examples/models" --out="$tmp/gen" \
  --promtool="$tmp/failing-promtool"
grep -q "promtool test rules failed" "$tmp/toolfail.log" || { cat "$tmp/toolfail.log"; fail "no failure"; }
grep -q "simulated unit-test failure" "$tmp/toolfail.log" || fail "tool output not shown"
grep -q "promtool check rules: ok" "$tmp/toolfail.log" || fail "other checks did not run"

echo "== a failed generate leaves the previous output untouched"
before=$(cd "$tmp/gen" && find . -type f -exec md5sum {} + | sort | md5sum)
mkdir -p "$tmp/bad"
printf 'model: Bad Name\nowner: {team: x}\n' >"$tmp/bad/bad.yaml"
expect_exit 1 "$tmp/bad.log" "$bin" generate --config.dir="$tmp/bad" --out="$tmp/gen"
grep -q "bad.yaml:" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "no located config error"; }
after=$(cd "$tmp/gen" && find . -type f -exec md5sum {} + | sort | md5sum)
[[ $before == "$after" ]] || fail "output changed after a failed generate"
[[ -z $(find "$tmp" -maxdepth 1 -name '.gen.tmp-*') ]] || fail "temporary directory left behind"

echo "== a level the tests must write with 15 digits: expectations from what promtool reads"
# eta-predictor alone with drift.warn 0.107: its features with their own warn 0.1 are tested at
# the midpoint 0.10350000000000001, which the input series carry as 0.1035 (read back as
# 0.10349999999999999): the expected annotations must be rendered from that value.
mkdir -p "$tmp/mid/models"
cp "$src/examples/models/eta-predictor.yaml" "$tmp/mid/models/"
ln -s "$src/examples/baselines" "$tmp/mid/baselines"
sed -i 's/^  warn: 0.1$/  warn: 0.107/' "$tmp/mid/models/eta-predictor.yaml"
grep -q '^  warn: 0.107$' "$tmp/mid/models/eta-predictor.yaml" || fail "test setup: sed did not apply"
"$bin" generate --config.dir="$tmp/mid/models" --out="$tmp/mid/out" >/dev/null
grep -q "at 0.1035:" "$tmp/mid/out/tests/eta-predictor.test.yml" || fail "test setup: no 0.1035 scenario"
expect_exit 0 "$tmp/mid.log" "$bin" check --config.dir="$tmp/mid/models" --out="$tmp/mid/out"

echo "== fleet settings: secrets as files, PagerDuty URL override, tier timings in seconds"
mkdir -p "$tmp/fleet"
cat >"$tmp/fleet/modelwatch.yaml" <<'YAML'
receivers:
  pagerduty: {routing_key_file: /etc/alertmanager/secrets/pd-key, url: "http://127.0.0.1:9/enqueue"}
  slack: {api_url_file: /etc/alertmanager/secrets/slack-url}
  email: {smarthost: "127.0.0.1:2525", from: modelwatch@example.com, auth_password_file: /etc/alertmanager/secrets/smtp}
  heartbeat: {url: "http://127.0.0.1:9/heartbeat"}
tiers:
  "1": {evaluation_interval: 10s, for: 30s, model_down_after: 1m, group_wait: 1s, group_interval: 5s, repeat_interval: 1m}
YAML
cat >"$tmp/fleet/scorer.yaml" <<'YAML'
model: scorer
owner: {team: growth, slack: "#growth", pagerduty: growth, email: growth@example.com}
tier: 1
task: binary_classification
source: {paths: ["/var/log/scorer/*.jsonl"]}
features:
  - {name: clicks, type: numeric}
  - {name: plan, type: categorical}
drift: {windows: [10m], method: psi}
slo: {latency_p99_ms: 120, availability: 0.99, period: 7d}
ground_truth:
  paths: ["/var/log/scorer-labels/*.jsonl"]
  retrain_when: {metric: log_loss, above: 0.7, for: 12h}
YAML
cat >"$tmp/fleet/ranker.yaml" <<'YAML'
model: ranker
owner: {team: search, email: search@example.com}
tier: 3
task: regression
source: {paths: ["/var/log/ranker/*.jsonl"]}
features:
  - {name: query_length, type: numeric}
  - {name: locale, type: categorical, drift: {method: psi, warn: 0.2, critical: 0.5}}
drift: {windows: [6h], method: ks, warn: 0.15, critical: 0.3}
slo: {availability: 0.995, period: 28d}
YAML
expect_exit 0 "$tmp/fleet-gen.log" "$bin" generate --config.dir="$tmp/fleet" --out="$tmp/fleetgen" \
  --format=prometheus-operator
expect_exit 0 "$tmp/fleet-check.log" "$bin" check --config.dir="$tmp/fleet" --out="$tmp/fleetgen" \
  --format=prometheus-operator
cat "$tmp/fleet-check.log"
am="$tmp/fleetgen/alertmanager/alertmanager.yml"
grep -q 'routing_key_file: "/etc/alertmanager/secrets/pd-key"' "$am" || fail "no routing_key_file"
grep -q 'pagerduty_url: "http://127.0.0.1:9/enqueue"' "$am" || fail "no PagerDuty URL override"
grep -q 'interval: 10s' "$tmp/fleetgen/rules/scorer.rules.yml" || fail "tier interval not applied"
[[ -f $tmp/fleetgen/kubernetes/scorer.prometheusrule.yaml ]] || fail "no PrometheusRule"
[[ -f $tmp/fleetgen/tests/scorer.long.test.yml ]] || fail "no long test file for the 12h retrain rule"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # wait_http URL: up to 30 s
  for _ in $(seq 1 60); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}

if command -v prometheus >/dev/null && command -v curl >/dev/null; then
  echo "== real Prometheus loads the generated rules"
  port=$(free_port)
  cat >"$tmp/prometheus.yml" <<YAML
global: {evaluation_interval: 30s}
rule_files: ["$tmp/gen/rules/*.yml"]
YAML
  promtool check config "$tmp/prometheus.yml" >"$tmp/pcc.log" 2>&1 || { cat "$tmp/pcc.log"; fail "promtool check config"; }
  prometheus --config.file="$tmp/prometheus.yml" --web.listen-address="127.0.0.1:$port" \
    --storage.tsdb.path="$tmp/tsdb" >"$tmp/prometheus.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/-/ready" || { tail -20 "$tmp/prometheus.log"; fail "Prometheus not ready"; }
  groups=$(curl -fs "http://127.0.0.1:$port/api/v1/rules" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]["groups"]
print(len(d), sum(len(g["rules"]) for g in d))')
  want_groups=$(cat "$tmp"/gen/rules/*.yml | grep -c '^  - name:')
  want_rules=$(cat "$tmp"/gen/rules/*.yml | grep -cE '^      - (record|alert):')
  [[ $groups == "$want_groups $want_rules" ]] || fail "Prometheus loaded '$groups', want '$want_groups $want_rules'"
  echo "Prometheus loaded $want_groups groups, $want_rules rules"
else
  echo "(prometheus or curl not installed: skipping the load test)"
fi

if command -v prometheus-alertmanager >/dev/null && command -v curl >/dev/null; then
  echo "== real Alertmanager loads the config and templates and inhibits"
  port=$(free_port)
  prometheus-alertmanager --config.file="$tmp/gen/alertmanager/alertmanager.yml" \
    --storage.path="$tmp/am" --web.listen-address="127.0.0.1:$port" --cluster.listen-address= \
    >"$tmp/am.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/-/ready" || { tail -20 "$tmp/am.log"; fail "Alertmanager not ready"; }
  base='"model":"fraud-detector","team":"fraud-ml","tier":"1"'
  curl -fs -XPOST -H 'Content-Type: application/json' "http://127.0.0.1:$port/api/v2/alerts" -d "[
    {\"labels\":{\"alertname\":\"HighErrorRate\",\"severity\":\"page\",$base}},
    {\"labels\":{\"alertname\":\"HighErrorRate\",\"severity\":\"ticket\",$base}},
    {\"labels\":{\"alertname\":\"ModelDown\",\"severity\":\"page\",$base}},
    {\"labels\":{\"alertname\":\"FeatureDrift\",\"severity\":\"ticket\",\"feature\":\"amount\",$base}},
    {\"labels\":{\"alertname\":\"LowLabelMatchRate\",\"severity\":\"ticket\",$base}}]" \
    || fail "cannot post alerts"
  states=$(curl -fs "http://127.0.0.1:$port/api/v2/alerts" | /usr/bin/python3 -c '
import json, sys
for a in sorted(json.load(sys.stdin), key=lambda a: (a["labels"]["alertname"], a["labels"]["severity"])):
    print(a["labels"]["alertname"], a["labels"]["severity"], a["status"]["state"])')
  echo "$states"
  want="FeatureDrift ticket suppressed
HighErrorRate page suppressed
HighErrorRate ticket suppressed
LowLabelMatchRate ticket active
ModelDown page active"
  [[ $states == "$want" ]] || fail "unexpected inhibition states"
else
  echo "(prometheus-alertmanager or curl not installed: skipping the Alertmanager test)"
fi
echo "ok"
