#!/usr/bin/python3
"""Oracle for the model-output statistics of multiclass and regression models.

Usage: prediction_oracle.py BUILD_DIR

Multiclass (probabilities): confidence and entropy means, estimated accuracy (mean top
probability) and one-vs-rest macro CBPE AUC (exact pairwise formula, 0.01 tolerance for the
100-bin histogram), predicted-class drift (psi, js, chi2 against scipy). Regression: output
drift (psi on the baseline's bins, ks vs scipy.stats.ks_2samp, wasserstein vs
scipy.stats.wasserstein_distance / std). Exits 1 on any mismatch.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import stats

EPS = 1e-4
T_END = 1_790_000_000.0
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def close(a, b, tol, what):
    check(abs(a - b) <= tol * max(1.0, abs(b)), f"{what}: got {a!r}, want {b!r}")


def psi(p, q):
    p, q = np.where(p > 0, p, EPS), np.where(q > 0, q, EPS)
    return float(np.sum((p - q) * np.log(p / q)))


def js(p, q):
    p, q = np.where(p > 0, p, EPS), np.where(q > 0, q, EPS)
    m = 0.5 * (p + q)
    return float(np.sqrt(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))))


def cbpe_auc(s):
    """Expected AUC when each record is positive with probability s (exact, O(n log n))."""
    s = np.sort(s)
    neg = 1 - s
    # Pairs with equal scores count half: group ties.
    values, start = np.unique(s, return_index=True)
    pos_g = np.add.reduceat(s, start)
    neg_g = np.add.reduceat(neg, start)
    below = np.concatenate([[0], np.cumsum(neg_g)[:-1]])
    return float(np.sum(pos_g * (below + 0.5 * neg_g)) / (s.sum() * neg.sum()))


def run(tool, tmp, yaml, ref_lines, cur_lines):
    with open(os.path.join(tmp, "m.yaml"), "w") as f:
        f.write(yaml)
    for name, lines in (("ref.jsonl", ref_lines), ("cur.jsonl", cur_lines)):
        with open(os.path.join(tmp, name), "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in lines))
    subprocess.run([tool, "baseline", f"--config.dir={tmp}", "--model=m",
                    f"--input={tmp}/ref.jsonl", f"--output={tmp}/baseline.json"], check=True)
    out = subprocess.run([tool, "replay", f"--config.dir={tmp}", "--model=m",
                          f"--baseline={tmp}/baseline.json", f"--input={tmp}/cur.jsonl"],
                         check=True, capture_output=True, text=True).stdout
    samples = {}
    for line in out.splitlines():
        s = json.loads(line)
        samples[(s["name"], tuple(sorted(s["labels"].items())))] = s["value"]
    with open(os.path.join(tmp, "baseline.json")) as f:
        baseline = json.load(f)

    def get(name, **labels):
        key = (name, tuple(sorted({"model": "m", **labels}.items())))
        if key not in samples:
            check(False, f"missing {name}{labels}")
            return float("nan")
        return samples[key]
    return baseline, get


HEAD = ("model: m\nowner: {team: t}\ntier: 3\nsource: {paths: [x.jsonl]}\n"
        "baseline: baseline.json\nfeatures:\n  - {name: x, type: numeric}\n"
        "drift: {windows: [1h], min_samples: 100}\n")


def multiclass(tool, rng):
    classes = ["a", "b", "c", "d"]
    def logs(n, alpha, t0, span):
        p = rng.dirichlet(alpha, n)
        ts = np.sort(rng.uniform(t0, t0 + span, n))
        return p, [{"ts": float(t), "model_version": "v2", "probabilities": list(map(float, row)),
                    "features": {"x": 1.0}} for t, row in zip(ts, p)]
    p_ref, ref = logs(8000, [4, 3, 2, 1], T_END - 10 * 86400, 3 * 86400)
    p_cur, cur = logs(3000, [2, 2, 3, 1], T_END - 3000, 3000)
    with tempfile.TemporaryDirectory() as tmp:
        baseline, get = run(tool, tmp, HEAD + "task: multiclass_classification\n"
                            "classes: [a, b, c, d]\n", ref, cur)
    lab = dict(version="v2", window="1h")
    top = p_cur.max(axis=1)
    ent = -np.sum(np.where(p_cur > 0, p_cur * np.log(np.where(p_cur > 0, p_cur, 1)), 0), axis=1)
    close(get("model_prediction_confidence_mean", **lab), float(top.mean()), 1e-9, "confidence")
    close(get("model_prediction_entropy_mean", **lab), float(ent.mean()), 1e-9, "entropy")
    close(get("model_estimated_performance", metric="accuracy", **lab), float(top.mean()), 1e-9,
          "estimated accuracy")
    auc = float(np.mean([cbpe_auc(p_cur[:, c]) for c in range(4)]))
    got = get("model_estimated_performance", metric="auc", **lab)
    check(abs(got - auc) <= 0.01, f"multiclass estimated auc: got {got}, want {auc}")
    ref_counts = np.bincount(p_ref.argmax(axis=1), minlength=4).astype(float)
    cur_counts = np.bincount(p_cur.argmax(axis=1), minlength=4).astype(float)
    check(baseline["prediction"]["classes"]["categories"] == classes, "class order")
    p = np.append(cur_counts / cur_counts.sum(), 0.0)
    q = np.append(ref_counts / ref_counts.sum(), 0.0)
    close(get("model_prediction_drift", method="psi", **lab), psi(p, q), 1e-9, "class psi")
    close(get("model_prediction_drift", method="js", **lab), js(p, q), 1e-9, "class js")
    table = np.array([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    close(get("model_prediction_drift", method="chi2", **lab),
          float(stats.chi2_contingency(table)[0]), 1e-9, "class chi2")
    print(f"multiclass: auc {got:.4f}/{auc:.4f} psi {psi(p, q):.4f}")


def regression(tool, rng):
    def logs(y, t0, span):
        ts = np.sort(rng.uniform(t0, t0 + span, len(y)))
        return [{"ts": float(t), "prediction": float(v), "features": {"x": 1.0}}
                for t, v in zip(ts, y)]
    y_ref = rng.gamma(2.0, 10.0, 10000)
    y_cur = rng.gamma(2.4, 10.0, 4000)
    with tempfile.TemporaryDirectory() as tmp:
        baseline, get = run(tool, tmp, HEAD + "task: regression\n", logs(y_ref, T_END - 86400 * 9,
                                                                          86400),
                            logs(y_cur, T_END - 3000, 3000))
    lab = dict(version="unknown", window="1h")
    edges = baseline["prediction"]["numeric"]["edges"]
    want_edges = np.unique(np.quantile(y_ref, np.arange(1, 10) / 10))
    check(np.allclose(edges, want_edges, rtol=1e-9, atol=0), "regression edges")
    p = np.bincount(np.searchsorted(edges, y_cur, side="left"), minlength=len(edges) + 1) / len(y_cur)
    q = np.bincount(np.searchsorted(edges, y_ref, side="left"), minlength=len(edges) + 1) / len(y_ref)
    close(get("model_prediction_drift", method="psi", **lab), psi(p, q), 1e-9, "regression psi")
    ks = stats.ks_2samp(y_ref, y_cur).statistic
    got_ks = get("model_prediction_drift", method="ks", **lab)
    check(abs(got_ks - ks) <= 0.01, f"regression ks {got_ks} vs {ks}")
    wd = stats.wasserstein_distance(y_ref, y_cur) / np.std(y_ref)
    got_w = get("model_prediction_drift", method="wasserstein", **lab)
    check(abs(got_w - wd) <= 0.02 * wd + 0.005, f"regression wasserstein {got_w} vs {wd}")
    print(f"regression: ks {got_ks:.5f}/{ks:.5f} w {got_w:.5f}/{wd:.5f}")


def main():
    tool = os.path.join(sys.argv[1], "tests", "oracle", "drift_oracle")
    rng = np.random.default_rng(11)
    multiclass(tool, rng)
    regression(tool, rng)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
