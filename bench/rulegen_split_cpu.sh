#!/bin/bash
# CPU of each split test file `check` runs: the per-file figures behind docs/rulegen.md,
# *check of a fleet of distinct models*.
#
# usage: bench/rulegen_split_cpu.sh BUILD_DIR [REPS]   (REPS default 5)
#
# Builds the three models the fleet bench's VARY=1 fleet holds as copies 3, 4 and 5
# (fraud-detector-0003, eta-predictor-0004, intent-classifier-0005: the drift `warn` and
# the SLO `error_rate` scaled by 1.003–1.005), runs `check` on them through a promtool
# wrapper that keeps every split test file it is given, then runs `promtool test rules` on
# each split file REPS times and prints the least user+sys CPU, the test file, the first
# alertname of its groups and the number of groups. Not part of the test suite.
set -euo pipefail
BUILD_DIR=${1:?usage: $0 BUILD_DIR [REPS]}
REPS=${2:-5}
RULEGEN=$(cd "$BUILD_DIR" && pwd)/rulegen/modelwatch-rulegen
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /var/tmp/mw-split-cpu.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/fleet/models" "$WORK/parts"
cp -r "$SRC/examples/baselines" "$WORK/fleet/baselines"
cp "$SRC/examples/models/modelwatch.yaml" "$WORK/fleet/models/"
examples=(fraud-detector eta-predictor intent-classifier)
for i in 3 4 5; do
  ex=${examples[i % 3]}
  name=$(printf '%s-%04d' "$ex" "$i")
  awk -v f="$(awk -v i="$i" 'BEGIN { printf "%.4f", 1 + i / 1000 }')" -v ex="$ex" -v name="$name" '
    $0 == "model: " ex { print "model: " name; next }
    /^  (warn|error_rate): [0-9.]+$/ { printf "  %s %.6g\n", $1, $2 * f; next }
    { print }' "$SRC/examples/models/$ex.yaml" >"$WORK/fleet/models/$name.yaml"
done

# The wrapper copies each split file's directory (its test file and rule files) and
# lists it; everything else goes to promtool as is.
cat >"$WORK/promtool" <<WRAP
#!/bin/bash
if [[ "\$1 \$2" == "test rules" ]]; then
  for f in "\${@:3}"; do
    d=\$(dirname "\$(dirname "\$f")")
    n=\$(mktemp -d "$WORK/parts/p.XXXXXX")
    cp -r "\$d"/* "\$n"/
    echo "\$n \${f#\$d/}" >>"$WORK/parts.list"
  done
fi
exec promtool "\$@"
WRAP
chmod +x "$WORK/promtool"
"$RULEGEN" generate --config.dir="$WORK/fleet/models" --out="$WORK/fleet/out" >/dev/null
"$RULEGEN" check --config.dir="$WORK/fleet/models" --out="$WORK/fleet/out" \
  --promtool="$WORK/promtool" >"$WORK/check.log" 2>&1 || { cat "$WORK/check.log"; exit 1; }

echo "least CPU-s of $REPS runs per split test file (load average $(cut -d' ' -f1-3 /proc/loadavg))"
while read -r dir file; do
  best=
  for ((r = 0; r < REPS; r++)); do
    /usr/bin/time -f '%U %S' -o "$WORK/time" promtool test rules "$dir/$file" >/dev/null 2>&1 ||
      { echo "FAIL: $file"; exit 1; }
    c=$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/time")
    if [[ -z $best ]] || awk -v a="$c" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$c; fi
  done
  first=$(grep -o '^  - name: "[A-Za-z]*' "$dir/$file" | head -1 | cut -d'"' -f2)
  printf '%s  %-40s %-20s %d groups\n' "$best" "$(basename "$file")" "$first" \
    "$(grep -c '^  - name:' "$dir/$file")"
done <"$WORK/parts.list" | sort -k2,2 -k3,3
