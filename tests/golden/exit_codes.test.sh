#!/usr/bin/env bash
# The README's exit-code rule, subcommand by subcommand, for both programs:
#   0 ok, 1 invalid input or a failed check, 2 usage error.
# Invalid input: a config directory that does not exist or does not validate, a --model the
# directory does not have, a model without the section the command needs. Usage: an unknown
# flag, a missing required flag, a malformed flag value (duration, listen address) — reported
# before any model is loaded.
# usage: exit_codes.test.sh BUILD_DIR
set -uo pipefail
build=$(cd "${1:?usage: exit_codes.test.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exporter=$build/exporter/modelwatch-exporter
rulegen=$build/rulegen/modelwatch-rulegen
models=$src/examples/models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/empty.jsonl"

passed=0 failed=0
expect() {  # CODE PROGRAM ARGS...
  local want=$1
  shift
  local out
  out=$("$@" 2>&1 </dev/null)
  local got=$?
  if [[ $got -eq $want ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL exit $got, want $want: ${*#"$build/"}"
    printf '%s\n' "$out" | head -3 | sed 's/^/  | /'
  fi
}

# Usage errors: 2.
for sub in "" baseline replay backtest shadow-report; do
  expect 2 "$exporter" $sub --no-such-flag
done
for sub in validate generate check mutate; do
  expect 2 "$rulegen" $sub --no-such-flag
done
expect 2 "$exporter" baseline --config.dir="$models"                     # --input, --output missing
expect 2 "$exporter" replay --config.dir="$models" --input="$tmp/empty.jsonl" \
  --output="$tmp/x.om" --step=soon
expect 2 "$exporter" --config.dir="$models" --state.dir="$tmp/state" --web.listen-address=nocolon
expect 2 "$exporter" --config.dir="$models" --state.dir="$tmp/state" --web.listen-address=:99999
expect 2 "$rulegen" generate --config.dir="$models"                       # --out missing
expect 2 "$rulegen" frobnicate

# Invalid input: 1. A config directory that does not exist.
expect 1 "$exporter" --config.dir="$tmp/none" --state.dir="$tmp/state" \
  --web.listen-address=127.0.0.1:0
expect 1 "$exporter" baseline --config.dir="$tmp/none" --model=fraud-detector \
  --input="$tmp/empty.jsonl" --output="$tmp/b.json"
expect 1 "$exporter" replay --config.dir="$tmp/none" --input="$tmp/empty.jsonl" --output="$tmp/x.om"
expect 1 "$exporter" shadow-report --config.dir="$tmp/none" --model=fraud-detector \
  --input="$tmp/empty.jsonl"
expect 1 "$exporter" backtest --config.dir="$tmp/none" --rules.dir="$tmp" \
  --input="$tmp/empty.jsonl" --output="$tmp/r.json"
for sub in validate mutate; do
  expect 1 "$rulegen" $sub --config.dir="$tmp/none"
done
expect 1 "$rulegen" generate --config.dir="$tmp/none" --out="$tmp/g"
expect 1 "$rulegen" check --config.dir="$tmp/none" --out="$tmp/g"
# A --model the directory does not have.
expect 1 "$exporter" baseline --config.dir="$models" --model=no-such-model \
  --input="$tmp/empty.jsonl" --output="$tmp/b.json"
expect 1 "$exporter" replay --config.dir="$models" --model=no-such-model \
  --input="$tmp/empty.jsonl" --output="$tmp/x.om"
expect 1 "$exporter" shadow-report --config.dir="$models" --model=no-such-model \
  --input="$tmp/empty.jsonl"
expect 1 "$exporter" backtest --config.dir="$models" --model=no-such-model --rules.dir="$tmp" \
  --input="$tmp/empty.jsonl" --output="$tmp/r.json"
expect 1 "$rulegen" mutate --config.dir="$models" --model=no-such-model
# A model without the section the command needs (eta-predictor has no shadow section).
expect 1 "$exporter" shadow-report --config.dir="$models" --model=eta-predictor \
  --input="$tmp/empty.jsonl"
# A config that does not validate.
mkdir -p "$tmp/bad"
printf 'model: broken\ntask: nonsense\n' >"$tmp/bad/broken.yaml"
expect 1 "$rulegen" validate --config.dir="$tmp/bad"
expect 1 "$exporter" replay --config.dir="$tmp/bad" --input="$tmp/empty.jsonl" --output="$tmp/x.om"

# Success: 0.
expect 0 "$rulegen" validate --config.dir="$models"
expect 0 "$exporter" --help
expect 0 "$rulegen" --help

echo "exit codes: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
