#!/usr/bin/env bash
# drift.tiers: 2 on real servers (tests/e2e/promql_drift.py --tiers): the checks of
# promql_drift.test.sh with the rules split in two tiers. Three exporter replicas each tailing
# a third of a log; two "local" Prometheus servers (replicas 0 and 1, and 2) evaluating the
# local tier's rules; one "global" Prometheus federating their local-tier series
# (honor_labels) and evaluating the global tier's rules, the stand-in for a Thanos Ruler or a
# Mimir ruler. The global PSI, JS and critical values must equal the single exporter's on the
# whole log (1e-6) and numpy's (1e-9), KS numpy's at the bin edges, also across a replica
# killed and restarted mid-stream; the prometheus-operator resources carry modelwatch/tier.
# Then promtool: both tiers chained give the hand-computed values of the one-tier case, and
# the global tier alone gives them from two Prometheus servers' local series.
# About 70 s on a busy 2-core machine; exit 77 (skip) only if a program is not built.
set -uo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/run_python.sh" "${1:-${MODELWATCH_BUILD_DIR:-build}}" \
  promql-tiers promql_drift.py --tiers
