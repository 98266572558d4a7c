#!/usr/bin/env bash
# The exporter's Kubernetes manifests (generate --format=prometheus-operator): consistent with
# each other and with the config directory (check_manifests.py, which also rebuilds the pod's
# file system and checks the configs find their baselines and logs there), and valid against
# the Kubernetes and prometheus-operator schemas (validate_manifests.mjs, kubernetes-models
# from npm). The validator must also reject a broken copy, and generate must refuse logs that
# the config mount would hide.
#
#   bash tests/kubernetes/manifests.test.sh BUILD_DIR
set -euo pipefail
build_dir=${1:?usage: manifests.test.sh BUILD_DIR}
src=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/kubernetes
bin=$build_dir/rulegen/modelwatch-rulegen
[[ -d $src/tests/node_modules/kubernetes-models ]] ||
  { echo "FAIL: kubernetes-models is not installed in $src/tests/node_modules (run ci/setup.sh)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" generate --config.dir="$src/examples/models" --out="$tmp/gen" --format=prometheus-operator >/dev/null
python3 "$here/check_manifests.py" "$tmp/gen" "$src/examples/models" "$tmp/objects.json" "$tmp/pod"
# The configs, as the pod sees them, are valid there (baselines found at their mounts).
"$bin" validate --config.dir="$tmp/pod/etc/modelwatch/models" >/dev/null
node "$here/validate_manifests.mjs" "$tmp/objects.json" | tee "$tmp/validate.log" | grep -v '^ok' || true
grep -q "^ok .*DaemonSet modelwatch-exporter" "$tmp/validate.log"
grep -q "^ok .*ServiceMonitor modelwatch-exporter" "$tmp/validate.log"
grep -q "^ok .*Deployment model-server" "$tmp/validate.log"
! grep -q "^FAIL" "$tmp/validate.log"

# The validator rejects what Kubernetes would: a port by string, a mount without a path.
python3 - "$tmp/objects.json" "$tmp/broken.json" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))
ds = next(o for o in objs if o["object"]["kind"] == "DaemonSet")
c = ds["object"]["spec"]["template"]["spec"]["containers"][0]
c["ports"][0]["containerPort"] = "metrics"
del c["volumeMounts"][0]["mountPath"]
json.dump([ds], open(sys.argv[2], "w"))
PY
if node "$here/validate_manifests.mjs" "$tmp/broken.json" >"$tmp/broken.log"; then
  echo "FAIL: the schema validator accepted a broken DaemonSet"; cat "$tmp/broken.log"; exit 1
fi

# Logs inside the config directory cannot be mounted beside it: a clear error, no output.
mkdir -p "$tmp/inside/models/logs"
cp -r "$src/examples/baselines" "$tmp/inside/"
for f in "$src"/examples/models/*.yaml; do
  sed -e 's#\.\./logs/#logs/#' "$f" >"$tmp/inside/models/$(basename "$f")"
done
"$bin" validate --config.dir="$tmp/inside/models" >/dev/null
if "$bin" generate --config.dir="$tmp/inside/models" --out="$tmp/inside/out" \
  --format=prometheus-operator 2>"$tmp/inside.err"; then
  echo "FAIL: generate accepted logs inside the config directory"; exit 1
fi
grep -q "must be in a directory of their own" "$tmp/inside.err"
[[ ! -e $tmp/inside/out ]]
echo "PASS: exporter manifests are consistent and schema-valid"
