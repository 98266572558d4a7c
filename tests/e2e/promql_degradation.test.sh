#!/usr/bin/env bash
# drift.engine: promql: the degradation score's rules (tests/e2e/promql_degradation.py) against
# values computed from the documented formulas with scipy, by promtool: every signal and score
# of two versions at two times (the shortest complete window chosen), a version without output
# left out. A few seconds; exit 77 (skip) only if a program is not built.
set -uo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/run_python.sh" "${1:-${MODELWATCH_BUILD_DIR:-build}}" \
  promql-degradation promql_degradation.py
