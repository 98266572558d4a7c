#!/bin/bash
# `modelwatch-rulegen generate` of a fleet, two builds compared back to back: the figures of
# docs/rulegen.md, *generate of a fleet: less CPU*.
#
# usage: bench/rulegen_generate_ab.sh OLD_BUILD_DIR NEW_BUILD_DIR [MODELS] [RUNS]
#                                                     (defaults 1000 and 3)
#
# Builds one fleet of MODELS copies of the three example models (as
# bench/rulegen_fleet_bench.sh does), then runs `generate` RUNS times with each build,
# alternating old and new, each into a fresh --out on the same file system, under GNU time.
# Prints every run (wall, user and system CPU, peak RSS, the load average before it) and the
# medians per build, then checks that both builds wrote byte-identical trees (diff -r).
# On a shared machine compare the CPU seconds and the old/new ratio of one run rather than
# wall times of different runs. TMPDIR (default /var/tmp) chooses the file system: /dev/shm
# (tmpfs) leaves out the disk's file creation and writeback.
set -euo pipefail
OLD=${1:?usage: $0 OLD_BUILD_DIR NEW_BUILD_DIR [MODELS] [RUNS]}
NEW=${2:?usage: $0 OLD_BUILD_DIR NEW_BUILD_DIR [MODELS] [RUNS]}
N=${3:-1000}
RUNS=${4:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
for b in "$OLD" "$NEW"; do
  [[ -x $b/rulegen/modelwatch-rulegen ]] || { echo "no $b/rulegen/modelwatch-rulegen" >&2; exit 1; }
done
command -v /usr/bin/time >/dev/null || { echo "GNU time (/usr/bin/time) not installed" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/mw-rulegen-ab.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/models"
cp -r "$SRC/examples/baselines" "$WORK/baselines"
cp "$SRC/examples/models/modelwatch.yaml" "$WORK/models/"
examples=(fraud-detector eta-predictor intent-classifier)
for ((i = 0; i < N; i++)); do
  ex=${examples[i % 3]}
  name=$(printf '%s-%04d' "$ex" "$i")
  sed "s/^model: $ex\$/model: $name/" "$SRC/examples/models/$ex.yaml" >"$WORK/models/$name.yaml"
done

echo "rulegen generate A/B, $N models, $RUNS runs each, $(nproc) cores"
: >"$WORK/results"
for ((r = 1; r <= RUNS; r++)); do
  for which in old new; do
    build=$OLD
    [[ $which == new ]] && build=$NEW
    out=$WORK/out-$which
    rm -rf "$out"
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" \
      "$build/rulegen/modelwatch-rulegen" generate --config.dir="$WORK/models" --out="$out" >/dev/null
    read -r wall user sys rss <"$WORK/time"
    echo "$which $wall $user $sys $rss" >>"$WORK/results"
    printf '%s run %d: %s s wall, %s s user, %s s sys, %.0f MiB peak RSS (load %s)\n' \
      "$which" "$r" "$wall" "$user" "$sys" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$load"
  done
done

# median COLUMN BUILD: the median of one column of the runs of one build.
median() {
  awk -v c="$1" -v w="$2" '$1 == w { print $c }' "$WORK/results" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for which in old new; do
  printf '%s median: %s s wall, %s s user, %s s sys, %.0f MiB peak RSS\n' "$which" \
    "$(median 2 "$which")" "$(median 3 "$which")" "$(median 4 "$which")" \
    "$(awk -v k="$(median 5 "$which")" 'BEGIN { print k / 1024 }')"
done
if diff -r -q "$WORK/out-old" "$WORK/out-new" >/dev/null; then
  echo "outputs identical ($(find "$WORK/out-new" -type f | wc -l) files)"
else
  echo "outputs DIFFER:"
  diff -r -q "$WORK/out-old" "$WORK/out-new" | head -20
  exit 1
fi
