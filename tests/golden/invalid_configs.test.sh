#!/usr/bin/env bash
# Golden test: every directory under tests/golden/invalid-configs/ is a broken config dir;
# `modelwatch-rulegen validate` must exit 1 and print exactly its expected.txt on stderr.
# Also checks that examples/models validates (exit 0).
# Usage: invalid_configs.test.sh BUILD_DIR [--update]
set -euo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR [--update]}" && pwd)
update=${2:-}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rulegen="$build/rulegen/modelwatch-rulegen"
[[ -x $rulegen ]] || { echo "missing $rulegen"; exit 1; }

passed=0 failed=0
cd "$src/tests/golden/invalid-configs"
for dir in */; do
  case=${dir%/}
  actual=$(mktemp)
  set +e
  "$rulegen" validate --config.dir="$case" >/dev/null 2>"$actual"
  rc=$?
  set -e
  if [[ $update == --update ]]; then
    cp "$actual" "$case/expected.txt"
  fi
  if [[ $rc -ne 1 ]]; then
    echo "FAIL $case: exit code $rc, want 1"; failed=$((failed + 1))
  elif ! diff -u "$case/expected.txt" "$actual" >/tmp/golden-diff.$$ 2>&1; then
    echo "FAIL $case: stderr differs from expected.txt"; cat /tmp/golden-diff.$$
    failed=$((failed + 1))
  elif ! grep -qE '^[^:]+/[^:]+:[0-9]+:[0-9]+: error: ' "$actual"; then
    echo "FAIL $case: no FILE:LINE:COL: error: line"; failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
  rm -f "$actual" /tmp/golden-diff.$$
done

cd "$src"
if "$rulegen" validate --config.dir=examples/models >/tmp/examples-validate.$$ 2>&1; then
  passed=$((passed + 1))
else
  echo "FAIL examples/models does not validate:"; cat /tmp/examples-validate.$$
  failed=$((failed + 1))
fi
rm -f /tmp/examples-validate.$$
# Usage errors exit 2.
set +e
"$rulegen" validate >/dev/null 2>&1; rc_missing=$?
"$rulegen" validate --config.dri=x >/dev/null 2>&1; rc_typo=$?
"$rulegen" frobnicate >/dev/null 2>&1; rc_cmd=$?
set -e
if [[ $rc_missing -eq 2 && $rc_typo -eq 2 && $rc_cmd -eq 2 ]]; then
  passed=$((passed + 1))
else
  echo "FAIL usage errors: exit codes $rc_missing $rc_typo $rc_cmd, want 2 2 2"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
