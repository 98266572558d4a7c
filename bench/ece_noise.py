#!/usr/bin/python3
"""How large the expected calibration error (ECE, 10 equal-width bins, as the exporter computes
it) gets from sampling noise alone, in units of 1/sqrt(n).

The CalibrationDrift alert fires when the labelled ECE exceeds the baseline's by more than
0.05 + 2.2 / sqrt(n). This script supports the 2.2: for calibrated scores (three score
distributions) and for a model miscalibrated by a fixed amount (the ECE's deviation from its
value on 2,000,000 records), it prints the mean and the 99.9 % quantile of ECE * sqrt(n) over
2,000 windows of n records. Not a test (about 2 minutes).

usage: bench/ece_noise.py [--trials 2000]
"""
import argparse

import numpy as np


def ece(s, y):
    b = np.minimum((s * 10).astype(int), 9)
    n = len(s)
    total = 0.0
    for k in range(10):
        m = b == k
        if m.any():
            total += m.sum() / n * abs(y[m].mean() - s[m].mean())
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    draws = {
        "calibrated, uniform scores": (lambda n: rng.random(n), lambda s: s),
        "calibrated, beta(0.5, 0.5)": (lambda n: rng.beta(0.5, 0.5, n), lambda s: s),
        "calibrated, beta(0.3, 3)": (lambda n: rng.beta(0.3, 3, n), lambda s: s),
        "miscalibrated, p = 0.25 + 0.7 s": (lambda n: rng.random(n),
                                            lambda s: np.clip(0.25 + 0.7 * s, 0, 1)),
    }
    print("| scores | n | mean ECE·√n | 99.9 % quantile of (ECE − true ECE)·√n |")
    print("|---|---|---|---|")
    for name, (draw, truth) in draws.items():
        s = draw(2_000_000)
        true = ece(s, (rng.random(len(s)) < truth(s)).astype(float))
        for n in (100, 1000, 10000):
            r = []
            for _ in range(args.trials):
                s = draw(n)
                r.append(ece(s, (rng.random(n) < truth(s)).astype(float)))
            r = np.array(r)
            print(f"| {name} | {n} | {r.mean() * np.sqrt(n):.2f} | "
                  f"{np.quantile(r - true, 0.999) * np.sqrt(n):.2f} |")


if __name__ == "__main__":
    main()
