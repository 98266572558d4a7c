#!/usr/bin/env bash
# drift.engine: promql, label-based performance on real servers
# (tests/e2e/promql_performance.py): three exporter replicas each tailing a third of the
# prediction logs of a binary classifier and a regressor and the whole label logs, scraped by a
# real Prometheus evaluating the generated rules; the fleet's precision, recall, F1, accuracy,
# MAE and RMSE must equal scikit-learn's on the whole logs (1e-9), also across a replica killed
# and restarted mid-stream; then promtool tests the rules against hand-computed values (two
# replicas, a counter reset inside the window, a zero denominator, the absent case).
# About 20 s; exit 77 (skip) only if a program is not built.
set -uo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/run_python.sh" "${1:-${MODELWATCH_BUILD_DIR:-build}}" \
  promql-performance promql_performance.py
