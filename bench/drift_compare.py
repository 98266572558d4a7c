#!/usr/bin/python3
"""Times numpy/scipy on the drift benchmark's data shape and compares with drift_bench.

Usage: drift_compare.py BUILD_DIR

The workload (same as BM_DriftTracker_*): a 50k-record reference and a 100k-record window,
10 numeric features (normal, shifted by 0.2) and 5 categorical (8 values), binary score.
numpy/scipy compute the window's statistics in batch from the raw values (what an offline
job does: keep the raw window, recompute); modelwatch bins each record once (Observe) and
computes the gauges from the bins (Snapshot). Prints per-record and per-evaluation costs.
"""
import json
import subprocess
import sys
import time

import numpy as np
from scipy import stats

N_REF, N_CUR, NUM, CAT = 50_000, 1_000_000, 20, 5


def best_of(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def main():
    build = sys.argv[1]
    rng = np.random.default_rng(1)
    ref = rng.normal(0, 1, (NUM, N_REF))
    cur = rng.normal(0.2, 1, (NUM, N_CUR))
    cref = rng.integers(0, 8, (CAT, N_REF))
    ccur = rng.integers(0, 8, (CAT, N_CUR))
    edges = [np.unique(np.quantile(r, np.arange(1, 10) / 10)) for r in ref]
    qs = [np.bincount(np.searchsorted(e, r), minlength=len(e) + 1) / N_REF
          for e, r in zip(edges, ref)]

    def psi_js():
        for e, q, c in zip(edges, qs, cur):
            p = np.bincount(np.searchsorted(e, c), minlength=len(e) + 1) / N_CUR
            p, qq = np.where(p > 0, p, 1e-4), np.where(q > 0, q, 1e-4)
            np.sum((p - qq) * np.log(p / qq))
            m = 0.5 * (p + qq)
            np.sqrt(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(qq * np.log(qq / m)))

    def ks_w():
        for r, c in zip(ref, cur):
            stats.ks_2samp(r, c)
            stats.wasserstein_distance(r, c) / np.std(r)

    def chi2():
        for r, c in zip(cref, ccur):
            stats.chi2_contingency(np.array([np.bincount(r, minlength=8),
                                             np.bincount(c, minlength=8)]))

    t_psi, t_ksw, t_chi = best_of(psi_js), best_of(ks_w), best_of(chi2)
    t_numpy = t_psi + t_ksw + t_chi

    out = subprocess.run([f"{build}/bench/drift_bench", "--benchmark_format=json",
                          "--benchmark_min_time=0.3",
                          "--benchmark_filter=BM_DriftTracker_(Observe|Snapshot)"],
                         check=True, capture_output=True, text=True).stdout
    bench = {b["name"]: b for b in json.loads(out)["benchmarks"]}
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    observe = bench["BM_DriftTracker_Observe"]
    snapshot = bench["BM_DriftTracker_Snapshot"]
    t_observe = observe["cpu_time"] * unit[observe["time_unit"]]
    t_snapshot = snapshot["cpu_time"] * unit[snapshot["time_unit"]]
    t_mw = t_observe * N_CUR + t_snapshot

    print(f"numpy/scipy, one evaluation of a {N_CUR}-record window (CPU s):")
    print(f"  psi+js {t_psi:.4f}  ks+wasserstein {t_ksw:.4f}  chi2 {t_chi:.4f}  "
          f"total {t_numpy:.4f}")
    print(f"modelwatch: Observe {t_observe * 1e9:.0f} ns/record "
          f"(x {N_CUR} = {t_observe * N_CUR:.4f} s, once per record), "
          f"Snapshot {t_snapshot * 1e3:.2f} ms per scrape")
    print(f"ratio, one window evaluation from raw data vs one scrape: "
          f"{t_numpy / t_snapshot:.0f}x")
    print(f"ratio, numpy batch vs modelwatch ingest + one scrape: {t_numpy / t_mw:.2f}x")


if __name__ == "__main__":
    main()
