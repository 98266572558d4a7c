#!/usr/bin/python3
"""The degradation score and the positive-rate z-score on real data, through the real exporter.

scikit-learn's breast-cancer data: a logistic regression is trained on one stratified half; its
predictions on that half are the reference (`modelwatch-exporter baseline`), and the other half
is replayed through the daemon as production traffic:

- clean: the other half as it is (284 records) and bootstrapped to 5 000 and 50 000 records
  (the score must not grow with the window); in a second model the reference is bootstrapped
  to 5 000 records within one day (repeated records must not pass for evidence). The split
  (random_state 1) is the one whose halves differ most in predicted positive share (0.623 vs
  0.656) among the first 40. The score must sit far below notify_at and the positive-rate
  z-score under the 2σ ticket line;
- degraded: a feature-store outage imputes the training mean for the twenty "mean *" and
  "worst *" features; the model's real accuracy and AUC fall (checked with scikit-learn) and
  the score must rise clearly above notify_at;
- rate shift: the other half resampled so that the share of predicted positives moves from
  ~0.63 to ~0.30 (a change of case mix); the z-score must cross the 5σ page line.

Usage: degradation_score.py BUILD_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from exposition import free_port, scrape  # noqa: E402

T0 = 1_790_000_000  # event time of the first production record (windows use event time)
NOTIFY_AT, PAGE_AT = 60, 80
failures = []


def check(name, ok, detail):
    print("%-4s %s: %s" % ("ok" if ok else "FAIL", name, detail))
    if not ok:
        failures.append(name)


def write_log(path, X, scores, t_start, span, names):
    with open(path, "w") as f:
        for i in range(len(X)):
            feats = {names[j]: float(X[i, j]) for j in range(X.shape[1])}
            f.write(json.dumps({"ts": t_start + span * i / len(X), "model_version": "v1",
                                "request_id": "r%d" % i, "status": "ok",
                                "score": float(scores[i]), "features": feats}) + "\n")


def main():
    build = os.path.abspath(sys.argv[1])
    exporter = os.path.join(build, "exporter", "modelwatch-exporter")
    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    X, y = data.data, data.target
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.5, random_state=1, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(Xa, ya)
    rng = np.random.default_rng(3)
    n = 5000

    # Production traffic: bootstraps of the held-out half.
    clean_idx = rng.integers(0, len(Xb), n)
    worst = [j for j, name in enumerate(names) if name.startswith(("mean", "worst"))]
    Xd = Xb.copy()
    Xd[:, worst] = Xa[:, worst].mean(axis=0)
    pos = model.predict_proba(Xb)[:, 1] >= 0.5
    weights = np.where(pos, 0.30 / pos.sum(), 0.70 / (~pos).sum())
    rate_idx = rng.choice(len(Xb), n, p=weights / weights.sum())
    cases = {
        # model: (reference X, reference bootstrap size or None, production X)
        "bc-clean": (Xa, None, Xb[clean_idx]),
        "bc-clean-boot": (Xa, n, Xb[clean_idx]),
        "bc-clean-small": (Xa, None, Xb),
        "bc-clean-large": (Xa, None, Xb[rng.integers(0, len(Xb), 50000)]),
        "bc-degraded": (Xa, None, Xd[clean_idx]),
        "bc-rate": (Xa, None, Xb[rate_idx]),
    }
    auc_clean = roc_auc_score(yb, model.predict_proba(Xb)[:, 1])
    auc_degraded = roc_auc_score(yb, model.predict_proba(Xd)[:, 1])
    acc_clean = accuracy_score(yb, model.predict(Xb))
    acc_degraded = accuracy_score(yb, model.predict(Xd))
    check("the outage is a real performance drop (scikit-learn)",
          auc_degraded < auc_clean - 0.02 and acc_degraded < acc_clean - 0.04,
          "AUC %.4f -> %.4f, accuracy %.4f -> %.4f" % (auc_clean, auc_degraded, acc_clean,
                                                       acc_degraded))

    work = tempfile.mkdtemp(prefix="mw-degradation-")
    proc = None
    try:
        models = os.path.join(work, "models")
        os.makedirs(models)
        os.makedirs(os.path.join(work, "logs"))
        total = 0
        for name, (Xref, boot, Xcur) in cases.items():
            ref = Xref if boot is None else Xref[rng.integers(0, len(Xref), boot)]
            ref_path = os.path.join(work, name + ".reference.jsonl")
            # The reference spans two days (so it has a day-to-day spread), ending a day before;
            # the bootstrapped one half a day (no day-to-day spread: the binomial part and the
            # effect-size floor are all there is).
            span = 2 * 86400 if boot is None else 43200
            write_log(ref_path, ref, model.predict_proba(ref)[:, 1], T0 - 3 * 86400, span, names)
            write_log(os.path.join(work, "logs", name + ".jsonl"), Xcur,
                      model.predict_proba(Xcur)[:, 1], T0, 3000, names)
            total += len(Xcur)
            features = "\n".join("  - {name: %s, type: numeric}" % f for f in names)
            with open(os.path.join(models, name + ".yaml"), "w") as f:
                f.write("""model: %s
owner: {team: qa}
tier: 2
task: binary_classification
baseline: ../%s.baseline.json
source: {paths: ["../logs/%s.jsonl"], start_at: beginning}
features:
%s
drift: {windows: [1h], method: psi, warn: 0.1, critical: 0.2, min_samples: 200, lateness: 1h}
degradation: {weights: {drift: 0.3, confidence: 0.2, entropy: 0.2, anomaly_rate: 0.2, errors: 0.1},
              notify_at: %d, page_at: %d}
""" % (name, name, name, features, NOTIFY_AT, PAGE_AT))
        for name in cases:
            subprocess.run([exporter, "baseline", "--config.dir=" + models, "--model=" + name,
                            "--input=" + os.path.join(work, name + ".reference.jsonl"),
                            "--output=" + os.path.join(work, name + ".baseline.json")],
                           check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        proc = subprocess.Popen([exporter, "--config.dir=" + models,
                                 "--state.dir=" + os.path.join(work, "state"),
                                 "--web.listen-address=127.0.0.1:%d" % port,
                                 "--web.statistics-interval=0"],
                                stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(work, "log"), "w"))
        metrics = {}
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                metrics = scrape(port)
                if sum(v for (k, _), v in metrics.items()
                       if k == "model_predictions_total") >= total:
                    break
            except OSError:
                pass
            time.sleep(0.3)

        def get(metric, model, **labels):
            labels["model"] = model
            return metrics.get((metric, tuple(sorted(labels.items()))))

        def signals(model):
            return {s: get("model_degradation_signal", model, version="v1", signal=s)
                    for s in ("drift", "confidence", "entropy", "anomaly_rate", "errors")}

        for name in cases:
            score = get("model_degradation_score", name, version="v1")
            z = get("model_positive_rate_zscore", name, version="v1", window="1h")
            print("%-15s score %s  positive-rate z %s  signals %s" % (
                name, score, z, {k: round(v, 2) if v is not None else None
                                 for k, v in signals(name).items()}))
        for name in ("bc-clean", "bc-clean-boot", "bc-clean-small", "bc-clean-large"):
            score = get("model_degradation_score", name, version="v1")
            check(name + " score far below notify_at", score is not None and score < 20,
                  "%s (notify_at %d)" % (score, NOTIFY_AT))
            z = get("model_positive_rate_zscore", name, version="v1", window="1h")
            check(name + " positive-rate z under the 2σ ticket line", z is not None and abs(z) < 2,
                  "%s" % z)
        score = get("model_degradation_score", "bc-degraded", version="v1")
        check("bc-degraded score clearly above notify_at",
              score is not None and score >= NOTIFY_AT + 5, "%s (notify_at %d)" % (score, NOTIFY_AT))
        z = get("model_positive_rate_zscore", "bc-rate", version="v1", window="1h")
        check("bc-rate positive-rate z over the 5σ page line", z is not None and z < -5, "%s" % z)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    print("%d failed" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
