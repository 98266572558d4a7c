#!/usr/bin/env bash
# The README's "Using it" block, run as it stands: every command must exit 0 on a fresh
# clone. Only three things are changed, each mechanically: `data=` points at a temp dir,
# `build/` at the build dir under test, and the long-running exporter gets a free loopback
# port and runs in the background until it has served the sample logs' predictions.
#
#   bash tests/e2e/readme.test.sh BUILD_DIR
set -euo pipefail

build_dir=$(cd "${1:?usage: readme.test.sh BUILD_DIR}" && pwd)
src=${MODELWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v promtool >/dev/null || { echo "SKIP: promtool is not installed"; exit 77; }
tmp=$(mktemp -d)
pid=""
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

# The block between "## Using it" and the next "## ": its first ```sh fence.
/usr/bin/python3 - "$src/README.md" >"$tmp/block.sh" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## Using it"):]
section = section[:section.index("\n## ", 5)]
print(re.search(r"```sh\n(.*?)```", section, re.S).group(1), end="")
EOF
[[ -s $tmp/block.sh ]] || { echo "FAIL: no sh block under '## Using it' in README.md"; exit 1; }
grep -q '^data=' "$tmp/block.sh" || { echo "FAIL: the block no longer sets data="; exit 1; }

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Join continuation lines, then run command by command.
sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$tmp/block.sh" | grep -v '^\s*#' | grep -v '^\s*$' >"$tmp/commands"
n=0
cd "$src"
before=$(git -C "$src" status --porcelain 2>/dev/null || true)
while IFS= read -r cmd; do
  cmd=${cmd//build\//$build_dir/}
  if [[ $cmd == data=* ]]; then
    data=$tmp/data
    echo "+ data=$data"
    continue
  fi
  cmd=${cmd//\$data/$data}
  n=$((n + 1))
  if [[ $cmd == *modelwatch-exporter\ --config.dir=* ]]; then
    echo "+ $cmd --web.listen-address=127.0.0.1:$port  (background)"
    $cmd --web.listen-address=127.0.0.1:$port >"$tmp/exporter.log" 2>&1 &
    pid=$!
    served=0
    for _ in $(seq 100); do
      if curl -fsS "http://127.0.0.1:$port/metrics" -o "$tmp/metrics" 2>/dev/null &&
        grep -q '^model_predictions_total{model="fraud-detector"' "$tmp/metrics"; then
        served=1
        break
      fi
      sleep 0.2
    done
    ((served)) || { cat "$tmp/exporter.log"; echo "FAIL: the exporter served no fraud-detector predictions"; exit 1; }
    grep '^model_predictions_total' "$tmp/metrics"
    kill "$pid"
    wait "$pid" || { echo "FAIL: exporter exited non-zero on SIGTERM"; exit 1; }
    pid=""
    continue
  fi
  echo "+ $cmd"
  if ! eval "$cmd" >"$tmp/out" 2>&1; then
    tail -30 "$tmp/out"
    echo "FAIL: README command exited non-zero: $cmd"
    exit 1
  fi
  tail -3 "$tmp/out"
done <"$tmp/commands"

# Nothing committed was written over.
after=$(git -C "$src" status --porcelain 2>/dev/null || true)
if [[ $before != "$after" ]]; then
  diff <(echo "$before") <(echo "$after")
  echo "FAIL: the README's commands changed committed files"
  exit 1
fi
echo "README block: $n commands ran"
echo "1 passed, 0 failed"
