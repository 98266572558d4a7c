#!/usr/bin/env bash
# drift.engine: promql on real servers (tests/e2e/promql_drift.py): three exporter replicas
# each tailing a third of a log and one exporter tailing all of it, scraped by a real
# Prometheus evaluating the generated drift rules; the fleet's PSI, JS and critical values
# must equal the single exporter's (1e-6) and numpy's (1e-9), its KS at the bin edges numpy's
# (1e-9) and at most the single exporter's, the output's drift per version likewise, also
# across a replica killed and restarted mid-stream; then promtool tests the rules against
# hand-computed values (two models with the same feature names, two replicas, a window, an
# empty bin, every drift and critical value; the output's per version, a multiclass model's
# predicted class too).
# About 20 s; exit 77 (skip) only if a program is not built.
set -uo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/run_python.sh" "${1:-${MODELWATCH_BUILD_DIR:-build}}" \
  promql-drift promql_drift.py
