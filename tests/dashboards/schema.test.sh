#!/usr/bin/env bash
# Generates the Grafana dashboards for examples/models and for this directory's models/,
# then checks them:
#   - validate_dashboards.js: Grafana JSON schemas (ajv 8, draft-07; dashboard whole, then
#     panel by panel), grid layout, undefined variables, $__rate_interval, unit and
#     description on every panel, generated mark, uid;
#   - check_rule_refs.py: every recording rule a dashboard reads is defined in rules/;
#   - a second run is byte-identical; the prometheus-operator ConfigMaps hold the dashboards;
#   - negative self-test: every broken variant of a valid dashboard (make_broken.js) is
#     rejected by the check it breaks, and the valid dashboard itself passes.
# usage: schema.test.sh BUILD_DIR   (ajv comes from tests/node_modules: ci/setup.sh installs it)
set -euo pipefail

build=${1:?usage: schema.test.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${MODELWATCH_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
rulegen=$build/rulegen/modelwatch-rulegen
python=/usr/bin/python3

if [[ ! -x $rulegen ]]; then
  echo "FAIL: $rulegen not built" >&2
  exit 1
fi
if [[ ! -f $src/tests/node_modules/ajv/package.json ]]; then
  echo "FAIL: ajv is not installed in $src/tests/node_modules (run ci/setup.sh)" >&2
  exit 1
fi
export NODE_PATH=$src/tests/node_modules

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

for entry in "examples:$src/examples/models" "test-models:$here/models"; do
  name=${entry%%:*}
  config=${entry#*:}
  out=$tmp/$name
  if ! "$rulegen" generate --config.dir="$config" --out="$out" >"$tmp/$name.log" 2>&1; then
    fail "$name: generate failed: $(cat "$tmp/$name.log")"
    continue
  fi
  shopt -s nullglob
  dashboards=("$out"/dashboards/*.json)
  shopt -u nullglob
  models=$(find "$config" -maxdepth 1 \( -name '*.yaml' -o -name '*.yml' \) ! -name modelwatch.yaml | wc -l)
  if ((${#dashboards[@]} != models + 1)); then
    fail "$name: ${#dashboards[@]} dashboards for $models models (want one each plus overview)"
  fi
  if [[ -f $out/dashboards/provisioning.yml ]] &&
    grep -q '^apiVersion: 1$' "$out/dashboards/provisioning.yml" &&
    grep -q '^providers:$' "$out/dashboards/provisioning.yml" &&
    grep -q 'path: /' "$out/dashboards/provisioning.yml"; then
    pass "$name: provisioning.yml"
  else
    fail "$name: provisioning.yml missing or without apiVersion/providers/path"
  fi

  if node "$here/validate_dashboards.js" "$here/schemas" "${dashboards[@]}" >"$tmp/$name.validate" 2>&1; then
    pass "$name: ${#dashboards[@]} dashboards valid"
  else
    fail "$name: dashboard validation"
    cat "$tmp/$name.validate"
  fi

  if "$python" "$here/check_rule_refs.py" "$out" >"$tmp/$name.refs" 2>&1; then
    pass "$name: $(tail -1 "$tmp/$name.refs")"
  else
    fail "$name: recording-rule references"
    cat "$tmp/$name.refs"
  fi

  "$rulegen" generate --config.dir="$config" --out="$tmp/$name.again" >/dev/null 2>&1
  if diff -r "$out/dashboards" "$tmp/$name.again/dashboards" >/dev/null; then
    pass "$name: dashboards byte-identical on re-run"
  else
    fail "$name: dashboards differ between two runs"
  fi

  if "$rulegen" generate --config.dir="$config" --out="$tmp/$name.operator" \
    --format=prometheus-operator >/dev/null 2>&1 &&
    "$python" - "$tmp/$name.operator" <<'PY'; then
import glob, os, sys, yaml
out = sys.argv[1]
dashboards = sorted(glob.glob(os.path.join(out, "dashboards", "*.json")))
assert dashboards, "no dashboards"
for path in dashboards:
    name = os.path.basename(path)[:-5]
    cm_path = os.path.join(out, "kubernetes", f"grafana-dashboard-{name}.yaml")
    with open(cm_path, encoding="utf-8") as f:
        cm = yaml.safe_load(f)
    assert cm["kind"] == "ConfigMap", cm_path
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1", cm_path
    with open(path, encoding="utf-8") as f:
        assert cm["data"][f"{name}.json"] == f.read(), f"{cm_path}: data differs from {path}"
PY
    pass "$name: prometheus-operator ConfigMaps hold the dashboards"
  else
    fail "$name: prometheus-operator ConfigMaps"
  fi
done

# Negative self-test: the validator must reject each broken variant, by the check it breaks.
valid=$tmp/examples/dashboards/fraud-detector.json
if [[ -f $valid ]]; then
  node "$here/make_broken.js" "$valid" "$tmp/broken" >/dev/null
  # One validator run for all variants (node start-up and schema compilation dominate).
  node "$here/validate_dashboards.js" "$here/schemas" "$tmp"/broken/*.json >"$tmp/broken.out" 2>&1 || true
  for variant in "$tmp"/broken/*.json; do
    check=$(basename "$variant" .json)
    check=${check%%--*}
    if grep -qxF "ok $variant" "$tmp/broken.out"; then
      fail "self-test: $(basename "$variant") was accepted"
    elif grep -qF "$variant: $check: " "$tmp/broken.out"; then
      pass "self-test: $(basename "$variant") rejected by $check"
    else
      fail "self-test: $(basename "$variant") not rejected by $check:"
      grep -F "$variant" "$tmp/broken.out" || true
    fi
  done
else
  fail "self-test: no valid dashboard to break ($valid)"
fi

echo "$passed passed, $failed failed"
((failed == 0))
