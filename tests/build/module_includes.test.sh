#!/usr/bin/env bash
# The module boundary check (cmake/check_module_includes.cmake, run by the build for every
# module) refuses an include of a module the including module did not declare, names the file
# and the header, and accepts the module's own headers, declared modules' and libraries'.
set -euo pipefail
src=${MODELWATCH_SOURCE_DIR:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
check() {  # MODULE ALLOWED FILE -> exit status of the check, its output in $work/out
  cmake -DMODULE="$1" -DALLOWED="$2" -DFILES="$3" -P "$src/cmake/check_module_includes.cmake" \
    >"$work/out" 2>&1
}
fail() { echo "FAIL: $*"; cat "$work/out"; exit 1; }

printf '#include "exporter/drift/drift_math.h"\n' >"$work/upward.cc"
check exporter/stats core "$work/upward.cc" && fail "an upward include (stats -> drift) passed"
grep -q 'upward.cc: includes' "$work/out" || fail "the error does not name the file"
grep -q 'drift_math.h' "$work/out" || fail "the error does not name the header"

printf '#include "exporter/stats/quantile.h"\n' >"$work/undeclared.cc"
check exporter/drift 'core|exporter/parse' "$work/undeclared.cc" &&
  fail "an include of an undeclared module passed"
check exporter/drift 'core|exporter/parse|exporter/stats' "$work/undeclared.cc" ||
  fail "an include of a declared module was refused"

printf '#include "rulegen/text.h"\n' >"$work/core.cc"
check core '' "$work/core.cc" && fail "core including rulegen passed"

cat >"$work/own.cc" <<'CC'
#include "exporter/drift/drift_math.h"
#include <prometheus/metric_family.h>
#include "simdjson.h"
  #  include "exporter/drift/cbpe.h"
CC
check exporter/drift '' "$work/own.cc" || fail "own and library headers were refused"
printf '  #  include "exporter/tail/log_tailer.h"\n' >"$work/spaced.cc"
check exporter/drift '' "$work/spaced.cc" && fail "an indented include escaped the check"
echo "module include check: ok"
