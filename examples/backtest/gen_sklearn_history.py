#!/usr/bin/python3
"""A production history built from a real data set that Debian's scikit-learn ships
(the Wisconsin breast-cancer data, `sklearn.datasets.load_breast_cancer`, no download), for
`modelwatch-exporter backtest` (docs/backtest.md).

usage: gen_sklearn_history.py OUT_DIR [--days=5] [--rate=0.2] [--seed=1] [--start=UNIX]

A logistic regression is trained on one half of the data; its other half is production:
requests draw its rows at random (with a small jitter of 5 % of each feature's standard
deviation) with daily seasonality of volume. At 60 % of the history a concept drift is
injected: the inputs keep their distribution, but the diagnosis of the tumours with a high
`mean texture` (above the median) is reversed from then on. truth.json gives the time and
the AUC before and after (computed here with scikit-learn); the config's retrain threshold
sits half-way between them. Files: as gen_history.py (models/, reference.jsonl, reference.labels.jsonl,
history.jsonl, labels.jsonl, incidents.yaml (empty), truth.json).
"""
import argparse
import json
import math
import os

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MODEL = "tumour-triage"
FEATURES = ["mean radius", "mean texture", "mean smoothness", "mean concavity",
            "worst area", "worst symmetry"]
DELAY_MIN, DELAY_MAX = 3600, 3 * 3600


def name(f):
    return f.replace(" ", "_")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--days", type=float, default=5)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=1793491200)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    data = load_breast_cancer()
    cols = [list(data.feature_names).index(f) for f in FEATURES]
    X, y = data.data[:, cols], data.target  # target 1 = benign; the model scores malignancy
    y = 1 - y
    order = rng.permutation(len(y))
    train, prod = order[: len(y) // 2], order[len(y) // 2:]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(X[train], y[train])
    sd = X[train].std(axis=0)
    texture_median = np.median(X[train][:, 1])

    def requests(t0, t1):
        n = rng.poisson(args.rate * 1.5 * (t1 - t0))
        ts = np.sort(rng.uniform(t0, t1, n))
        shape = 1 + 0.5 * np.cos(2 * math.pi * ((ts % 86400) / 3600 - 15) / 24)
        ts = ts[rng.uniform(0, 1.5, n) < shape]
        rows = rng.choice(prod, len(ts))
        x = X[rows] + rng.normal(0, 0.05, (len(ts), len(cols))) * sd
        return ts, x, y[rows]

    start, end = args.start, args.start + int(args.days * 86400)
    drift_at = start + round(0.6 * args.days * 24) * 3600
    os.makedirs(os.path.join(args.out, "models"), exist_ok=True)

    def write(path, ts, x, labels_path=None, drifting=None):
        score = model.predict_proba(x)[:, 1]
        label_rows = []
        with open(path, "w") as f:
            for i in range(len(ts)):
                rid = "%s-%d" % (os.path.basename(path)[0], i)
                f.write(json.dumps({
                    "ts": round(float(ts[i]), 3), "request_id": rid, "model_version": "lr-1",
                    "latency_ms": round(float(rng.lognormal(math.log(20), 0.3)), 2),
                    "score": round(float(score[i]), 5),
                    "features": {name(FEATURES[k]): round(float(x[i, k]), 5)
                                 for k in range(len(cols))}}) + "\n")
                if labels_path and rng.uniform() < 0.9:
                    label_rows.append((float(ts[i]) + rng.uniform(DELAY_MIN, DELAY_MAX), rid,
                                       int(drifting[i])))
        if labels_path:
            label_rows.sort()
            with open(labels_path, "w") as f:
                for t, rid, lab in label_rows:
                    f.write(json.dumps({"ts": round(t, 3), "request_id": rid, "label": lab}) + "\n")
        return score

    ref_ts, ref_x, ref_y = requests(start - 9 * 86400, start - 7 * 86400)
    write(os.path.join(args.out, "reference.jsonl"), ref_ts, ref_x)
    # Every reference record's true label, for `baseline --labels` (draws nothing).
    with open(os.path.join(args.out, "reference.labels.jsonl"), "w") as f:
        for i in range(len(ref_ts)):
            f.write(json.dumps({"ts": round(float(ref_ts[i]) + 3600, 3), "request_id": "r-%d" % i,
                                "label": int(ref_y[i])}) + "\n")
    ts, x, truth_y = requests(start, end)
    flipped = (ts >= drift_at) & (x[:, 1] > texture_median)
    observed_y = np.where(flipped, 1 - truth_y, truth_y)
    score = write(os.path.join(args.out, "history.jsonl"), ts, x,
                  os.path.join(args.out, "labels.jsonl"), observed_y)
    before = ts < drift_at
    auc_before = roc_auc_score(observed_y[before], score[before])
    auc_after = roc_auc_score(observed_y[~before], score[~before])
    threshold = round((auc_before + auc_after) / 2, 3)
    with open(os.path.join(args.out, "models", MODEL + ".yaml"), "w") as f:
        f.write("""# Generated by examples/backtest/gen_sklearn_history.py from scikit-learn's
# breast-cancer data: a triage model scoring malignancy.
model: %s
owner: {team: clinical-ml, slack: "#clinical-ml", pagerduty: clinical-ml, email: clinical-ml@example.com}
tier: 2
task: binary_classification
baseline: ../baseline.json
source:
  paths: ["../history.jsonl"]
  fields: {score: score, version: model_version}
features:
%s
drift: {windows: [1h, 24h], method: psi, warn: 0.1, critical: 0.2, min_samples: 300}
slo: {latency_p99_ms: 250, error_rate: 0.01, availability: 0.999, period: 30d}
ground_truth:
  paths: ["../labels.jsonl"]
  join_on: request_id
  delay: 3h
  windows: [6h]
  retrain_when: {metric: auc, below: %s, for: 6h}
""" % (MODEL, "\n".join("  - {name: %s, type: numeric}" % name(f) for f in FEATURES), threshold))
    with open(os.path.join(args.out, "incidents.yaml"), "w") as f:
        f.write("incidents: []\n")
    truth = {"model": MODEL, "start": start, "end": end, "records": int(len(ts)),
             "label_delay_seconds": [DELAY_MIN, DELAY_MAX],
             "auc_before": auc_before, "auc_after": auc_after, "retrain_below": threshold,
             "incidents": [{"kind": "concept_drift", "start": drift_at, "end": end,
                            "label_visible": True}]}
    with open(os.path.join(args.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    print("%d records; AUC %.3f before the drift, %.3f after; retrain below %.3f" %
          (len(ts), auc_before, auc_after, threshold))


if __name__ == "__main__":
    main()
