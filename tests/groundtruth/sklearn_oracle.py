#!/usr/bin/python3
"""Checks the ground-truth performance metrics against scikit-learn.

Generates predictions and labels for a binary, a multiclass and a regression model (several
versions, segments, windows, missing/duplicate/unknown labels), runs them through
groundtruth_oracle_tool, and compares every exported value with scikit-learn (AUC within
0.005, everything else within 1e-6) and the label match ratio with its definition. Each case
runs both inline and as the daemon computes (background, bounded memory); a heavy-ties case of
200 000 predictions sorted on disk must match scikit-learn's AUC to 1e-9.
Usage: sklearn_oracle.py BUILD_DIR
"""
import json
import math
import subprocess
import sys
import tempfile

import numpy as np
from sklearn import metrics as skm

T0 = 1795939200  # a whole minute
DAY = 86400
WINDOWS = {"30d": 30 * DAY, "1d": DAY}
failures = []


def check(name, got, want, tol):
    # Absolute tolerance, relative for values above 1 (mape with a zero actual is ~1e14).
    if (got is None or want is None or not math.isfinite(got)
            or abs(got - want) > tol * max(1.0, abs(want))):
        failures.append(f"{name}: got {got}, want {want} (tolerance {tol})")


def ece(y, p):
    y, p = np.asarray(y, float), np.asarray(p, float)
    bins = np.clip((p * 10).astype(int), 0, 9)
    total = 0.0
    for b in range(10):
        m = bins == b
        if m.any():
            total += m.sum() / len(p) * abs(y[m].mean() - p[m].mean())
    return total


def expected_metrics(task, preds, labels, threshold, classes):
    y = np.array(labels)
    p = np.array(preds)
    out = {}
    if task == "binary_classification":
        if len(set(labels)) == 2:
            out["auc"] = skm.roc_auc_score(y, p)
        yhat = (p >= threshold).astype(int)
        out["precision"] = skm.precision_score(y, yhat, zero_division=0)
        out["recall"] = skm.recall_score(y, yhat, zero_division=0)
        out["f1"] = skm.f1_score(y, yhat, zero_division=0)
        out["log_loss"] = skm.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])
        out["ece"] = ece(y, p)
        out["accuracy"] = skm.accuracy_score(y, yhat)
    elif task == "multiclass_classification":
        yhat = np.argmax(p, axis=1)
        out["accuracy"] = skm.accuracy_score(y, yhat)
        out["macro_f1"] = skm.f1_score(y, yhat, average="macro", zero_division=0)
    else:
        out["mae"] = skm.mean_absolute_error(y, p)
        out["rmse"] = math.sqrt(skm.mean_squared_error(y, p))
        out["mape"] = skm.mean_absolute_percentage_error(y, p)
        out["bias"] = float(np.mean(p - y))
    return out


def run_case(build_dir, task, rng, classes=(), threshold=0.5, delay=0, n=2500, decimals=3,
             tied=False, recompute="inline", memory_mb=16, auc_tol=0.005, days=40):
    """recompute="background" computes as the daemon does (a second connection whose sorts
    spill to disk beyond `memory_mb`); `tied` gives version v2 one score for every row."""
    versions = ["v1", "v2"]
    regions = ["eu", "us", "apac"]
    rows = []
    for i in range(n):
        minute = int(rng.integers(0, days * 24 * 60))
        # Seconds within the minute vary, so the match ratio's boundaries cut through minutes.
        row = {"ts": T0 + minute * 60 + int(rng.integers(0, 60)), "request_id": f"req-{i}",
               "model_version": versions[i % 2] if i % 50 else "v3",
               "segment": {"region": regions[int(rng.integers(0, 3))]}}
        if task == "binary_classification":
            s = round(float(rng.beta(2, 2)), decimals)  # rounding makes ties
            if tied and row["model_version"] == "v2":
                s = 0.5
            row["score"] = s
            row["_y"] = int(rng.random() < (0.2 + 0.6 * s))
        elif task == "multiclass_classification":
            pr = rng.dirichlet([1.0] * len(classes))
            row["probabilities"] = [float(x) for x in pr]
            row["_y"] = int(rng.choice(len(classes), p=0.5 * pr + 0.5 / len(classes)))
        else:
            y = float(rng.normal(50, 20))
            if i % 97 == 0:
                y = 0.0  # mape's epsilon
            row["prediction"] = y + float(rng.normal(2, 5))
            row["_y"] = y
        rows.append(row)
    newest = max(r["ts"] for r in rows)
    label_lines, first_label = [], {}
    for r in rows:
        u = rng.random()
        if u < 0.3:
            continue  # never labelled
        y = r["_y"]
        if task == "multiclass_classification" and rng.random() < 0.5:
            value = classes[y]  # by name, otherwise by index
        else:
            value = y
        label_lines.append({"ts": r["ts"] + 3600, "request_id": r["request_id"], "label": value})
        first_label[r["request_id"]] = y
        if u > 0.95:  # a conflicting duplicate: the first label stands
            other = (1 - y) if task == "binary_classification" else (
                (y + 1) % len(classes) if task == "multiclass_classification" else y + 100)
            label_lines.append({"ts": r["ts"] + 7200, "request_id": r["request_id"],
                                "label": other})
    for i in range(40):  # labels for unknown requests, old enough to be given up on
        label_lines.append({"ts": T0, "request_id": f"ghost-{i}", "label": 1 if task !=
                            "multiclass_classification" else classes[0]})
    with tempfile.TemporaryDirectory() as tmp:
        with open(f"{tmp}/p.jsonl", "w") as f:
            for r in rows:
                f.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}) + "\n")
        with open(f"{tmp}/l.jsonl", "w") as f:
            for lab in label_lines:
                f.write(json.dumps(lab) + "\n")
        cmd = [f"{build_dir}/tests/groundtruth/groundtruth_oracle_tool", f"--task={task}",
               f"--threshold={threshold}", f"--classes={','.join(classes)}",
               "--windows=30d,1d", "--segments=region", f"--delay={delay}s",
               f"--state-dir={tmp}/state", f"--predictions={tmp}/p.jsonl",
               f"--labels={tmp}/l.jsonl", f"--recompute={recompute}",
               f"--recompute-memory-mb={memory_mb}"]
        got = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    values = {(v["version"], v["segment"], v["value"], v["metric"], v["window"]): v["number"]
              for v in got["performance"]}
    checked = 0
    for wname, wlen in WINDOWS.items():
        in_window = [r for r in rows if r["ts"] >= newest - wlen]
        groups = {}
        for r in in_window:
            if r["request_id"] not in first_label:
                continue
            for key in [(r["model_version"], "", ""),
                        (r["model_version"], "region", r["segment"]["region"])]:
                groups.setdefault(key, []).append(r)
        for (version, seg, value), grp in groups.items():
            if task == "binary_classification":
                preds = [r["score"] for r in grp]
            elif task == "multiclass_classification":
                preds = [r["probabilities"] for r in grp]
            else:
                preds = [r["prediction"] for r in grp]
            labels = [first_label[r["request_id"]] for r in grp]
            want = expected_metrics(task, preds, labels, threshold, classes)
            for metric, w in want.items():
                tol = auc_tol if metric == "auc" else 1e-6
                name = f"{task} n={n} {recompute} {version} {seg}={value} {metric} {wname}"
                check(name, values.pop((version, seg, value, metric, wname), None), w, tol)
                checked += 1
        # Match ratio: predictions in [newest - window, newest - delay], share labelled.
        eligible = [r for r in in_window if r["ts"] <= newest - delay]
        if eligible:
            want = sum(r["request_id"] in first_label for r in eligible) / len(eligible)
            check(f"{task} match_ratio {wname}", got["match_ratio"].get(wname), want, 1e-9)
            checked += 1
    if values:
        failures.append(f"{task}: values sklearn did not expect: {sorted(values)[:5]}")
    check(f"{task} unmatched", got["unmatched"], 40, 0)
    return checked


def main():
    build_dir = sys.argv[1]
    rng = np.random.default_rng(7)
    total = run_case(build_dir, "binary_classification", rng, threshold=0.4)
    total += run_case(build_dir, "multiclass_classification", rng,
                      classes=("billing", "support", "sales", "other"), delay=2 * DAY)
    total += run_case(build_dir, "regression", rng)
    # The daemon's way: the same checks through the background recomputation.
    total += run_case(build_dir, "binary_classification", rng, threshold=0.4,
                      recompute="background")
    total += run_case(build_dir, "multiclass_classification", rng,
                      classes=("billing", "support", "sales", "other"), delay=2 * DAY,
                      recompute="background")
    total += run_case(build_dir, "regression", rng, recompute="background")
    # Heavy ties, sorted on disk: 200 000 predictions with 101 distinct scores (v1), one score
    # for all of v2 (AUC exactly 0.5), a 2 MB budget (the sort spills ~8 runs and merges
    # them). The computation is exact, so AUC must match scikit-learn to 1e-9. 20 days: the
    # 30d window's start lies before every prediction (a minute of 3.5 predictions cut by a
    # window older than delay + retention_buffer is counted whole, docs/ground-truth.md).
    total += run_case(build_dir, "binary_classification", rng, threshold=0.4, n=200000,
                      decimals=2, tied=True, recompute="background", memory_mb=2, auc_tol=1e-9,
                      days=20)
    if total < 500:
        failures.append(f"only {total} values checked")
    for f in failures:
        print("FAIL", f)
    print(f"sklearn oracle: {total} values checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
