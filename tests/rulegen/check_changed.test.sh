#!/usr/bin/env bash
# `modelwatch-rulegen check --changed=REF`: the per-model tool runs are exactly those of the
# models whose YAML or baseline differs from REF (committed, staged, unstaged or untracked),
# a changed modelwatch.yaml checks every model, and the fleet-wide checks always run. The
# real promtool and amtool run behind wrappers that record the files and label sets they
# were given, so the test sees what was checked, not only what check printed.
set -euo pipefail

build_dir=${1:?usage: check_changed.test.sh BUILD_DIR}
src=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$build_dir/rulegen/modelwatch-rulegen
[[ -x $bin ]] || { echo "missing $bin"; exit 1; }
for tool in promtool amtool git; do
  command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A repository holding the example configs and baselines.
repo=$tmp/repo
mkdir -p "$repo/models"
cp "$src"/examples/models/*.yaml "$repo/models/"
cp -r "$src/examples/baselines" "$repo/baselines"
git_() { git -C "$repo" -c user.name=test -c user.email=test@example.com "$@"; }
git_ init -q
git_ add -A
git_ commit -qm base

# Wrappers: append what they were asked to check to a log, then run the real tool (or,
# while $tmp/record-only exists, only record: a whole-fleet run takes minutes).
cat >"$tmp/promtool" <<SH
#!/bin/sh
if [ "\$1" = test ] || [ "\$1" = check ]; then
  for a in "\$@"; do case "\$a" in *.yml) echo "\$1 \$(basename "\$a")" >>"$tmp/tools.log";; esac; done
fi
[ -e "$tmp/record-only" ] && exit 0
exec promtool "\$@"
SH
cat >"$tmp/amtool" <<SH
#!/bin/sh
if [ "\$1" = config ]; then echo "route \$*" >>"$tmp/tools.log"; fi
[ -e "$tmp/record-only" ] && exit 0
exec amtool "\$@"
SH
chmod +x "$tmp/promtool" "$tmp/amtool"

# check_changed REF LOG: generate, then check with --changed=REF through the wrappers.
check_changed() {
  "$bin" generate --config.dir="$repo/models" --out="$tmp/out" >/dev/null
  : >"$tmp/tools.log"
  set +e
  "$bin" check --config.dir="$repo/models" --out="$tmp/out" --changed="$1" \
    --promtool="$tmp/promtool" --amtool="$tmp/amtool" >"$2" 2>&1
  local code=$?
  set -e
  [[ $code == 0 ]] || { cat "$2"; fail "check --changed=$1 exited $code"; }
}
# tested_models: the models whose test files promtool ran, sorted, on one line.
tested_models() {
  sed -n 's/^test \([^.]*\)\..*test\.yml$/\1/p' "$tmp/tools.log" | sort -u | tr '\n' ' '
}
routed_models() {
  grep '^route' "$tmp/tools.log" | grep -o ' model=[a-z0-9_-]*' | sort -u | tr '\n' ' '
}
expect() {  # expect WHAT GOT WANT
  [[ $2 == "$3" ]] || { cat "$tmp/log"; cat "$tmp/tools.log"; fail "$1: got '$2', want '$3'"; }
}

echo "== nothing changed: only the fleet-wide files and cases"
check_changed HEAD "$tmp/log"
cat "$tmp/log"
grep -q "changed since HEAD: 0 of 3 models" "$tmp/log" || fail "no summary line"
expect "tested models" "$(tested_models)" "modelwatch "
expect "routed models" "$(routed_models)" " model=m  model=unknown "
grep -q "check modelwatch.rules.yml" "$tmp/tools.log" || fail "fleet rules not checked"
grep -q "amtool config routes test: [1-9][0-9]* cases ok" "$tmp/log" || fail "fleet routes not run"
grep -q "self-check: ok" "$tmp/log" || fail "self-check did not run"

echo "== an edited model: its files and cases only"
sed -i 's/warn: 0.1$/warn: 0.12/' "$repo/models/fraud-detector.yaml"
git -C "$repo" diff --quiet && fail "test setup: sed did not apply"
check_changed HEAD "$tmp/log"
grep -q "changed since HEAD: 1 of 3 models: fraud-detector" "$tmp/log" || { cat "$tmp/log"; fail "summary"; }
expect "tested models" "$(tested_models)" "fraud-detector modelwatch "
expect "routed models" "$(routed_models)" " model=fraud-detector  model=m  model=unknown "
expect "checked rule files" "$(grep '^check' "$tmp/tools.log" | sort | tr '\n' ' ')" \
  "check fraud-detector.rules.yml check modelwatch.rules.yml "
# Every test file of the model ran (the generator writes 3 for it; check runs each as several
# files of the same name, split by the rules its test groups read).
want=$(ls "$tmp/out/tests" | grep -c '^fraud-detector\.')
expect "fraud-detector test files" "$(grep '^test fraud-detector\.' "$tmp/tools.log" | sort -u | wc -l)" "$want"

echo "== committed changes count against an older ref, not against HEAD"
git_ commit -qam "fraud-detector: warn 0.12"
touch "$tmp/record-only"
check_changed HEAD~1 "$tmp/log"
expect "tested models" "$(tested_models)" "fraud-detector modelwatch "
check_changed HEAD "$tmp/log"
expect "tested models" "$(tested_models)" "modelwatch "

echo "== a changed baseline (staged) counts for its model"
echo >>"$repo/baselines/eta-predictor.json"
git_ add baselines/eta-predictor.json
check_changed HEAD "$tmp/log"
expect "tested models" "$(tested_models)" "eta-predictor modelwatch "
git_ commit -qm "baseline"

echo "== a new, untracked model counts"
sed 's/^model: fraud-detector$/model: fraud-detector-v2/' "$repo/models/fraud-detector.yaml" \
  >"$repo/models/fraud-detector-v2.yaml"
grep -q '^model: fraud-detector-v2$' "$repo/models/fraud-detector-v2.yaml" || fail "setup: no rename"
check_changed HEAD "$tmp/log"
grep -q "changed since HEAD: 1 of 4 models: fraud-detector-v2" "$tmp/log" || { cat "$tmp/log"; fail "summary"; }
expect "tested models" "$(tested_models)" "fraud-detector-v2 modelwatch "
rm "$repo/models/fraud-detector-v2.yaml"

echo "== a changed fleet file checks every model"
echo "# comment" >>"$repo/models/modelwatch.yaml"
check_changed HEAD "$tmp/log"
rm "$tmp/record-only"
grep -q "changed since HEAD: 3 of 3 models (the fleet file changed)" "$tmp/log" || { cat "$tmp/log"; fail "summary"; }
expect "tested models" "$(tested_models)" "eta-predictor fraud-detector intent-classifier modelwatch "
grep -q "skipped as unchanged" "$tmp/log" && fail "a full check reports skipped files"
git_ checkout -q -- models/modelwatch.yaml

echo "== a failure in a changed model's files still fails check"
cat >"$tmp/failing-promtool" <<'SH'
#!/bin/sh
for a in "$@"; do case "$a" in *eta-predictor.test.yml) echo "FAILED: simulated"; exit 1;; esac; done
exec promtool "$@"
SH
chmod +x "$tmp/failing-promtool"
echo >>"$repo/baselines/eta-predictor.json"
"$bin" generate --config.dir="$repo/models" --out="$tmp/out" >/dev/null
set +e
"$bin" check --config.dir="$repo/models" --out="$tmp/out" --changed=HEAD \
  --promtool="$tmp/failing-promtool" >"$tmp/log" 2>&1
code=$?
set -e
[[ $code == 1 ]] || { cat "$tmp/log"; fail "a failing test of a changed model: exit $code, want 1"; }
git_ checkout -q -- baselines/eta-predictor.json

echo "== errors: an unknown ref, a directory outside git"
set +e
"$bin" check --config.dir="$repo/models" --out="$tmp/out" --changed=no-such-ref >"$tmp/log" 2>&1
code=$?
set -e
[[ $code == 2 ]] || { cat "$tmp/log"; fail "unknown ref: exit $code, want 2"; }
grep -q "no-such-ref: not a commit" "$tmp/log" || { cat "$tmp/log"; fail "no clear error"; }
mkdir -p "$tmp/plain/models"
cp "$src"/examples/models/*.yaml "$tmp/plain/models/"
cp -r "$src/examples/baselines" "$tmp/plain/baselines"
"$bin" generate --config.dir="$tmp/plain/models" --out="$tmp/out" >/dev/null
set +e
GIT_CEILING_DIRECTORIES=$tmp "$bin" check --config.dir="$tmp/plain/models" --out="$tmp/out" \
  --changed=HEAD >"$tmp/log" 2>&1
code=$?
set -e
[[ $code == 2 ]] || { cat "$tmp/log"; fail "not a repository: exit $code, want 2"; }
grep -q "git rev-parse" "$tmp/log" || { cat "$tmp/log"; fail "no clear error"; }
echo "ok"
