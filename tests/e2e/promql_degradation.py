"""drift.engine: promql — the degradation score's rules (rulegen/promql_degradation.h) tested
by promtool against values computed here from the documented formulas (docs/statistics.md,
"Degradation score") with scipy's quantiles, not with the exporter's code.

The rules read what the drift and signals groups record (the fleet's drift per feature, each
feature's values, records, mean confidence and entropy, anomalous share) and the replicas'
prediction and error counters. This test feeds those series directly, so that each input is
known exactly, and loads only the baseline group (with the score's constants) and the score's
group. The model has five features: amount (psi), load (ks), kind (js), color (chi2) and size
(wasserstein: not recorded fleet-wide, so it takes no part in the drift signal, though it
counts among the distributions the noise floors' level is split over, as in the exporter),
two windows, and three versions: v1 with confidences, v2 without, v3 with errors only (no
output: no score). At 50m the 1h window holds 30 records, fewer than min_samples (50): the
score is the 24h window's; at 110m, 150m and 170m it is the 1h window's. At each of the four
times another alerting method's feature drifts most; at the last, version v2's output drifts
more than any feature, which only its score shows.

Usage: promql_degradation.py BUILD_DIR WORK_DIR
"""
import json
import math
import os
import subprocess
import sys

import yaml
from scipy.stats import chi2, norm

BUILD, WORK = sys.argv[1], sys.argv[2]
RULEGEN = os.path.join(BUILD, "rulegen/modelwatch-rulegen")

ALPHA = 0.001  # the noise floors' level (core/degradation_constants.h, docs/statistics.md)
WEIGHTS = {"drift": 0.35, "confidence": 0.15, "entropy": 0.2, "anomaly_rate": 0.2, "errors": 0.1}
MIN_SAMPLES = 50
ERROR_RATE_SLO = 0.02

MODEL = """model: deg
owner: {team: e2e}
tier: 2
task: binary_classification
baseline: %s/baseline.json
source: {paths: [/nonexistent/*.jsonl]}
slo: {error_rate: %g}
features:
  - {name: amount, type: numeric}
  - {name: load, type: numeric, drift: {method: ks, warn: 0.1, critical: 0.4}}
  - {name: kind, type: categorical, drift: {method: js, warn: 0.05, critical: 0.3}}
  - {name: color, type: categorical, drift: {method: chi2, warn: 10, critical: 40}}
  - {name: size, type: numeric, drift: {method: wasserstein, warn: 0.1, critical: 0.2}}
drift: {engine: promql, windows: [1h, 24h], min_samples: %d, warn: 0.1, critical: 0.25}
degradation: {weights: %s}
"""

# The baseline: 1000 reference records of which 800 distinct (effective counts × 0.8).
REFERENCE = {"records": 1000, "distinct_records": 800}
NUMERIC = {  # name: (count, proportions over the edges 10, 20, 30)
    "amount": (1000, [0.25, 0.25, 0.25, 0.25]),
    "load": (900, [0.1, 0.4, 0.4, 0.1]),
    "size": (1000, [0.3, 0.3, 0.2, 0.2]),
}
CATEGORICAL = {  # name: (categories, counts incl. __other__)
    "kind": (["a", "b"], [600, 380, 20]),
    "color": (["red", "green", "blue", "grey"], [300, 300, 200, 150, 50]),
}
OUTPUT_COUNT = 950  # the baseline's scores, in 4 bins: the output's drift (psi, the model's)
CONFIDENCE = {"count": 950, "mean": 0.86, "std": 0.09, "daily_std": 0.004,
              "batch_between_std": 0.006}
ENTROPY = {"count": 950, "mean": 0.35, "std": 0.12, "daily_std": None,
           "batch_between_std": 0.01}

# What the drift and signals groups would have recorded, per window: records and drift
# values (by feature and method) in four phases, 0-99m, 100-129m, 130-159m and 160-180m, so
# that each alerting method's feature has the largest excess in one of them; each feature's
# values in the window.
PHASES = (100, 130, 160)
TIMES = (50, 110, 150, 170)  # one evaluation per phase
FED = {
    "1h": {
        "records": (30, 800, 800, 800),
        "drift": {("amount", "psi"): (0.31, 0.31, 0.2, 0.45),
                  ("load", "ks"): (0.12, 0.12, 0.5, 0.1),
                  ("kind", "js"): (0.4, 0.4, 0.1, 0.1),
                  ("color", "chi2"): (25.0, 25.0, 10.0, 10.0),
                  ("size", "wasserstein"): (9.0, 9.0, 9.0, 9.0)},
        "values": {"amount": 70, "load": 76, "size": 80, "kind": 60, "color": 75},
        # The output's PSI by version: at 170m v2's (over its 60 outputs) exceeds every
        # feature's, v1's does not.
        "output": {"v1": (0.05, 0.05, 0.05, 0.15), "v2": (0.05, 0.05, 0.05, 0.55)},
        "confidence": {"v1": (0.80, 50)}, "entropy": {"v1": 0.60},
        "anomalous": 0.06,
    },
    "24h": {
        "records": (1500, 2000, 2000, 2000),
        "drift": {("amount", "psi"): (0.06,) * 4, ("load", "ks"): (0.08,) * 4,
                  ("kind", "js"): (0.05,) * 4, ("color", "chi2"): (58.0,) * 4,
                  ("size", "wasserstein"): (9.0,) * 4},
        "values": {"amount": 880, "load": 890, "size": 900, "kind": 850, "color": 860},
        "output": {"v1": (0.02,) * 4, "v2": (0.03,) * 4},
        "confidence": {"v1": (0.80, 700)}, "entropy": {"v1": 0.40},
        "anomalous": 0.05,
    },
}


def phased(values):
    """promtool's notation for a series holding values[i] in phase i (0m-180m)."""
    bounds = (0,) + PHASES + (181,)
    # "v x k" is k + 1 samples, one a minute.
    return " ".join("%gx%d" % (v, bounds[i + 1] - bounds[i] - 1) for i, v in enumerate(values))


# Replica counters, per minute (instances a and b): predictions and timeout errors by version.
PREDICTIONS = {("v1", "a"): 3, ("v1", "b"): 2, ("v2", "b"): 1, ("v3", "a"): 1}
ERRORS = {("v1", "a"): 1, ("v3", "a"): 1}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def effective(count):
    return count * REFERENCE["distinct_records"] / REFERENCE["records"]


def window_count(per_minute, t, window):
    """A counter growing by `per_minute` from 0 at 0m: its value now minus its value a window
    ago, or its value now where the series is younger than the window."""
    length = 60 if window == "1h" else 1440
    return per_minute * min(t, length)


def expected(t):
    """{(version, signal): points} and {version: score} of the chosen window at minute t."""
    phase = sum(1 for p in PHASES if t >= p)
    chosen = next(w for w in ("1h", "24h") if FED[w]["records"][phase] >= MIN_SAMPLES)
    fed = FED[chosen]
    n_records = fed["records"][phase]
    tests = 6  # amount, load, kind, color, size and the output
    level = ALPHA / tests
    counts = {"amount": NUMERIC["amount"][0], "load": NUMERIC["load"][0],
              "kind": sum(CATEGORICAL["kind"][1]), "color": sum(CATEGORICAL["color"][1])}
    bins = {"amount": 4, "load": 4, "kind": 3, "color": 5}
    critical = {"amount": 0.25, "load": 0.4, "kind": 0.3, "color": 40}
    excess, largest = 0.0, None
    for (feature, method), values in fed["drift"].items():
        value = values[phase]
        if method == "wasserstein":
            continue
        n, m = fed["values"][feature], effective(counts[feature])
        inv = 1 / n + 1 / m
        q = chi2.isf(level, bins[feature] - 1)
        floor = {"psi": inv * q, "js": math.sqrt(inv * q / 8), "chi2": q,
                 "ks": math.sqrt(math.log(2 / level) / 2 * inv)}[method]
        feature_excess = max(0.0, value - floor) / critical[feature]
        if feature_excess > excess:
            excess, largest = feature_excess, method
    z = norm.ppf(1 - ALPHA)

    def mean_shift(ref, window_mean, n, direction):
        between = max(x for x in (ref["daily_std"], ref["batch_between_std"]) if x is not None)
        sigma = math.sqrt(between ** 2 + ref["std"] ** 2 * (1 / n + 1 / effective(ref["count"])))
        effect = max(0.0, direction * (window_mean - ref["mean"]) - z * sigma)
        return min(1.0, effect / max(ref["std"], 0.01) / 0.5)

    p0 = min(1.0, sum(2 / (effective(c) + 1) for c, _ in NUMERIC.values()))
    anomaly = (fed["anomalous"] - p0 - z * math.sqrt(p0 * (1 - p0) / n_records)) / 0.1
    errors = sum(window_count(r, t, chosen) for r in ERRORS.values()) / n_records
    model_level = {
        "drift": min(1.0, excess),
        "anomaly_rate": min(1.0, max(0.0, anomaly)),
        "errors": min(1.0, errors / min(1.0, 10 * ERROR_RATE_SLO)),
    }
    points, scores, largest_of = {}, {}, {}
    for version in ("v1", "v2", "v3"):
        outputs = sum(window_count(r, t, chosen) for (v, _), r in PREDICTIONS.items() if v == version)
        outputs -= sum(window_count(r, t, chosen) for (v, _), r in ERRORS.items() if v == version)
        if outputs <= 0:
            continue
        normalised = dict(model_level)
        # The version's output drift beyond its floor (n its outputs in the window) over the
        # model's critical, if larger than the features'.
        inv = 1 / outputs + 1 / effective(OUTPUT_COUNT)
        output_excess = max(0.0, fed["output"][version][phase] - inv * chi2.isf(level, 3)) / 0.25
        if output_excess > excess:
            largest_of[version] = "output"
        normalised["drift"] = min(1.0, max(excess, output_excess))
        normalised["confidence"] = normalised["entropy"] = 0.0
        if version in fed["confidence"]:
            mean, n = fed["confidence"][version]
            normalised["confidence"] = mean_shift(CONFIDENCE, mean, n, -1)
            normalised["entropy"] = mean_shift(ENTROPY, fed["entropy"][version], n, +1)
        for signal, weight in WEIGHTS.items():
            points[version, signal] = weight * normalised[signal] * 100
        scores[version] = min(100.0, sum(points[version, s] for s in WEIGHTS))
    return chosen, largest, largest_of, points, scores


def main():
    os.makedirs(os.path.join(WORK, "models"))
    features = []
    for name, (count, q) in NUMERIC.items():
        features.append({"name": name, "type": "numeric", "numeric": {
            "count": count, "edges": [10, 20, 30], "proportions": q}})
    for name, (categories, counts) in CATEGORICAL.items():
        features.append({"name": name, "type": "categorical", "categorical": {
            "count": sum(counts), "categories": categories, "counts": counts,
            "proportions": [c / sum(counts) for c in counts]}})
    baseline = {"reference": REFERENCE, "features": features,
                "prediction": {"kind": "score", "numeric": {
                    "count": OUTPUT_COUNT, "edges": [0.25, 0.5, 0.75],
                    "proportions": [0.25, 0.25, 0.25, 0.25]}, "records": 1000,
                               "positive_rate": 0.3, "confidence": CONFIDENCE,
                               "entropy": ENTROPY}}
    with open(os.path.join(WORK, "baseline.json"), "w") as f:
        json.dump(baseline, f)
    with open(os.path.join(WORK, "models/deg.yaml"), "w") as f:
        f.write(MODEL % (WORK, ERROR_RATE_SLO, MIN_SAMPLES, json.dumps(WEIGHTS)))
    subprocess.run([RULEGEN, "generate", "--config.dir=" + WORK + "/models",
                    "--out=" + WORK + "/out"], check=True, stdout=subprocess.DEVNULL)
    rules = yaml.safe_load(open(os.path.join(WORK, "out/rules/deg.rules.yml")))
    groups = [g for g in rules["groups"] if g["name"] in (
        "modelwatch-deg-drift-promql-baseline", "modelwatch-deg-degradation-promql")]
    if len(groups) != 2:
        fail("the baseline and degradation groups: %s" % [g["name"] for g in rules["groups"]])
    with open(os.path.join(WORK, "deg.rules.yml"), "w") as f:
        yaml.safe_dump({"groups": groups}, f)

    series = []

    def fed(name, labels, values):
        text = ",".join('%s="%s"' % kv for kv in sorted(dict(labels, model="deg").items()))
        series.append({"series": "%s{%s}" % (name, text), "values": values})

    for window, w in FED.items():
        fed("model_window:model_predictions:window_count", {"window": window},
            phased(w["records"]))
        for (feature, method), values in w["drift"].items():
            fed("model_feature_drift", {"window": window, "feature": feature, "method": method},
                phased(values))
        for feature, n in w["values"].items():
            if feature in NUMERIC:
                fed("model_feature_le_window:model_feature_value_bucket:increase",
                    {"window": window, "feature": feature, "le": "+Inf"}, "%gx180" % n)
            else:
                # Two categories' counts; the rules take their sum.
                for category, share in (("x", 0.25), ("y", 0.75)):
                    fed("model_feature_category_window:model_feature_category:increase",
                        {"window": window, "feature": feature, "category": category},
                        "%gx180" % (n * share))
        for version, (mean, n) in w["confidence"].items():
            fed("model_prediction_confidence_mean", {"window": window, "version": version},
                "%gx180" % mean)
            fed("model_version_window:model_prediction_confidence:window_count",
                {"window": window, "version": version}, "%gx180" % n)
            fed("model_prediction_entropy_mean", {"window": window, "version": version},
                "%gx180" % w["entropy"][version])
        fed("model_anomalous_requests_ratio", {"window": window}, "%gx180" % w["anomalous"])
        for version, values in w["output"].items():
            fed("model_prediction_drift", {"window": window, "version": version, "method": "psi"},
                phased(values))
    for (version, inst), rate in PREDICTIONS.items():
        fed("model_predictions_total", {"version": version, "instance": inst}, "0+%dx180" % rate)
    for (version, inst), rate in ERRORS.items():
        fed("model_prediction_errors_total",
            {"version": version, "instance": inst, "error_type": "timeout"}, "0+%dx180" % rate)

    tests, report, largest_by = [], [], set()
    for t in TIMES:
        chosen, largest, largest_of, points, scores = expected(t)
        largest_by.add(largest)
        largest_by.update(largest_of.values())
        report.append("%dm: the %s window, %s largest: %s" % (t, chosen, largest, ", ".join(
            "%s %.6f" % (v, s) for v, s in sorted(scores.items()))))
        for (version, signal), value in sorted(points.items()):
            tests.append({
                "expr": 'abs(model_degradation_signal{model="deg",version="%s",signal="%s"} - '
                        '%.17g) < bool 1e-9' % (version, signal, value),
                "eval_time": "%dm" % t,
                "exp_samples": [{"labels": '{model="deg",version="%s",signal="%s"}'
                                           % (version, signal), "value": 1}]})
        for version, value in sorted(scores.items()):
            tests.append({
                "expr": 'abs(model_degradation_score{model="deg",version="%s"} - %.17g) '
                        '< bool 1e-9' % (version, value),
                "eval_time": "%dm" % t,
                "exp_samples": [{"labels": '{model="deg",version="%s"}' % version, "value": 1}]})
        # v3's records are all errors: no output, no score; and one series per version.
        tests.append({"expr": 'count by (version) (model_degradation_score{model="deg"})',
                      "eval_time": "%dm" % t,
                      "exp_samples": [{"labels": '{version="%s"}' % v, "value": 1}
                                      for v in sorted(scores)]})
        tests.append({"expr": 'model_window:model_degradation_score:chosen_window{model="deg"}'
                              ' * 0', "eval_time": "%dm" % t,
                      "exp_samples": [{"labels": '{model="deg",window="%s"}' % chosen,
                                       "value": 0}]})
        # The score is neither trivially 0 nor saturated on every signal.
        nonzero = {s for (_, s), v in points.items() if v > 0}
        unsaturated = {s for (_, s), v in points.items() if 0 < v < WEIGHTS[s] * 100}
        if len(nonzero) < 4 or len(unsaturated) < 3:
            fail("at %dm the scenario exercises too little: %s" % (t, points))
    if largest_by != {"psi", "ks", "js", "chi2", "output"}:
        fail("each method's feature should have the largest drift once: %s" % largest_by)
    test = {"rule_files": ["deg.rules.yml"], "evaluation_interval": "1m",
            "group_eval_order": [g["name"] for g in groups],
            "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}]}
    with open(os.path.join(WORK, "deg.test.yml"), "w") as f:
        yaml.safe_dump(test, f)
    run = subprocess.run(["/usr/bin/promtool", "test", "rules", "deg.test.yml"], cwd=WORK,
                         capture_output=True, text=True)
    if run.returncode != 0:
        fail("promtool test of the degradation rules:\n%s%s" % (run.stdout, run.stderr))
    print("promtool: %d degradation signals and scores equal the documented formulas' (scipy "
          "quantiles); %s: SUCCESS" % (len(tests), "; ".join(report)))


main()
