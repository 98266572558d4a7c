#!/bin/bash
# modelwatch-rulegen at fleet scale: the figures behind docs/rulegen.md, *Performance*.
#
# usage: bench/rulegen_fleet_bench.sh BUILD_DIR [GENERATE_MODELS] [CHECK_MODELS]
#                                             (defaults 1000 and 100)
#
# Builds a fleet of copies of the three example models (fraud-detector, eta-predictor,
# intent-classifier, named <example>-NNNN, with the examples' baselines and fleet file) in a
# git repository, then reports wall time and peak RSS (GNU time) of:
#   1. `generate` on GENERATE_MODELS models;
#   2. `check` on CHECK_MODELS models, every model (what a change to modelwatch.yaml costs);
#   3. `check --changed=HEAD` after editing one model's drift threshold (a pull request that
#      touches one model), and the same with nothing changed.
# promtool and amtool are the Debian packages on PATH. Not part of the test suite: step 2
# takes minutes at 100 models on 2 cores (FULL_CHECK=0 skips it).
#
# VARY=1 makes every copy differ from the others: copy i scales the drift `warn` thresholds
# (model-wide) and the SLO `error_rate` of its example by 1 + i/1000, so no two models have
# the same rules or tests (check's verdict cache, docs/rulegen.md, finds nothing to share
# in the drift and SLO tests). Copy 0 keeps the example's values.
set -euo pipefail
BUILD_DIR=${1:?usage: $0 BUILD_DIR [GENERATE_MODELS] [CHECK_MODELS]}
GEN_N=${2:-1000}
CHECK_N=${3:-100}
RULEGEN=$(cd "$BUILD_DIR" && pwd)/rulegen/modelwatch-rulegen
SRC=$(cd "$(dirname "$0")/.." && pwd)
[[ -x "$RULEGEN" ]] || { echo "no $RULEGEN" >&2; exit 1; }
for tool in git promtool amtool /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool not installed" >&2; exit 1; }
done

WORK=$(mktemp -d /var/tmp/mw-rulegen-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# make_fleet DIR N: N models cycling through the three examples.
make_fleet() {
  local dir=$1 n=$2 i
  mkdir -p "$dir/models"
  cp -r "$SRC/examples/baselines" "$dir/baselines"
  cp "$SRC/examples/models/modelwatch.yaml" "$dir/models/"
  local examples=(fraud-detector eta-predictor intent-classifier)
  for ((i = 0; i < n; i++)); do
    local ex=${examples[i % 3]}
    local name
    name=$(printf '%s-%04d' "$ex" "$i")
    sed "s/^model: $ex\$/model: $name/" "$SRC/examples/models/$ex.yaml" >"$dir/models/$name.yaml"
    if [[ ${VARY:-0} == 1 ]]; then
      awk -v f="$(awk -v i="$i" 'BEGIN { printf "%.4f", 1 + i / 1000 }')" '
        /^  (warn|error_rate): [0-9.]+$/ { printf "  %s %.6g\n", $1, $2 * f; next }
        { print }' "$dir/models/$name.yaml" >"$dir/models/$name.yaml.tmp"
      mv "$dir/models/$name.yaml.tmp" "$dir/models/$name.yaml"
    fi
  done
}

# measure LABEL CMD...: one line "LABEL: W s wall, C s CPU (user+sys, with the tools it
# ran), R MiB peak RSS, exit E", and the load average at the end.
measure() {
  local label=$1
  shift
  local code=0
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time" "$@" >"$WORK/out.log" 2>&1 || code=$?
  read -r wall rss user sys <"$WORK/time" || true
  # GNU time writes "Command exited with non-zero status N" first on failure.
  [[ $wall =~ ^[0-9.]+$ ]] || read -r wall rss user sys < <(tail -1 "$WORK/time")
  printf '%s: %s s wall, %s s CPU, %s MiB peak RSS, exit %d (load average %s)\n' "$label" \
    "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')" \
    "$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')" "$code" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
  grep '^promtool test rules: [0-9]' "$WORK/out.log" || true
  if ((code != 0)); then tail -20 "$WORK/out.log"; fi
}

echo "rulegen fleet benchmark ($(nproc) cores, $(promtool --version 2>&1 | head -1 | awk '{print $1, $3}'), amtool $(amtool --version 2>&1 | head -1 | awk '{print $3}'))"

make_fleet "$WORK/gen" "$GEN_N"
measure "generate, $GEN_N models" "$RULEGEN" generate --config.dir="$WORK/gen/models" --out="$WORK/gen/out"
echo "  $(find "$WORK/gen/out" -type f | wc -l) files, $(du -sm "$WORK/gen/out" | cut -f1) MB"

fleet=$WORK/check
make_fleet "$fleet" "$CHECK_N"
git -C "$fleet" init -q
git -C "$fleet" add -A
git -C "$fleet" -c user.name=bench -c user.email=bench@example.com commit -qm fleet
"$RULEGEN" generate --config.dir="$fleet/models" --out="$fleet/out" >/dev/null
echo "  $(grep -c '^route' "$fleet/out/tests/routes.txt") routing cases, $(ls "$fleet/out/tests" | grep -c 'test.yml$') test files for $CHECK_N models"

if [[ ${FULL_CHECK:-1} == 1 ]]; then
  measure "check, $CHECK_N models, all" "$RULEGEN" check --config.dir="$fleet/models" --out="$fleet/out"
fi
measure "check --changed, $CHECK_N models, none changed" \
  "$RULEGEN" check --config.dir="$fleet/models" --out="$fleet/out" --changed=HEAD
sed -i 's/warn: 0.1$/warn: 0.12/' "$fleet/models/fraud-detector-0000.yaml"
"$RULEGEN" generate --config.dir="$fleet/models" --out="$fleet/out" >/dev/null
measure "check --changed, $CHECK_N models, one changed (fraud-detector)" \
  "$RULEGEN" check --config.dir="$fleet/models" --out="$fleet/out" --changed=HEAD
grep '^changed since' "$WORK/out.log"
