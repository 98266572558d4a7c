#!/usr/bin/python3
"""Fixed-threshold drift alerts of the kind other ML-monitoring tools ship, written as a
Prometheus rule file over the series modelwatch-exporter serves, for
`modelwatch-exporter backtest --peer-rules=FILE` (docs/backtest.md, "Peer comparison").

usage: peer_rules.py --config.dir=DIR --rules.dir=DIR --out=FILE [--tests=psi,ks]

Per model with a baseline (read from the path its config names), all with severity page
(these tools have one alert level), the same `for` and `keep_firing_for` as the generated
FeatureDrift alert (so only the condition differs, not the debounce):

  PeerFeaturePSI     PSI > 0.2 on any feature, any drift window ("significant drift")
  PeerPredictionPSI  PSI > 0.2 on the model output, any window
  PeerFeatureKS      two-sample KS test p < 0.05 on any numeric feature: the served KS
                     statistic D above the Kolmogorov critical value at 5 %,
                     K(0.95) * sqrt(1/n + 1/m) with K(0.95) = 1.3581 (scipy.stats.kstwobign),
                     n = the window's present values of the feature (window records times
                     one minus the missing ratio), m = the baseline's count
  PeerPredictionKS   the same on the score (binary) or regression output, n = window records

plus, copied verbatim from the generated rules so that the comparison isolates the label-free
drift signals, ModelDown (an availability alert any Prometheus user has) and
PerformanceBelowRetrainThreshold (the label-based one). Features with `alert: false` are left
out here as they are in FeatureDrift (the owner's knowledge applies to both rule sets).
"""
import argparse
import glob
import json
import math
import os
import sys

import yaml

K_95 = 1.3581  # scipy.stats.kstwobign.isf(0.05) = 1.35810 (Kolmogorov's limit law)
PSI_SIGNIFICANT = 0.2
COPIED = ("ModelDown", "PerformanceBelowRetrainThreshold")


def load_configs(config_dir):
    out = []
    for path in sorted(glob.glob(os.path.join(config_dir, "*.yaml")) +
                       glob.glob(os.path.join(config_dir, "*.yml"))):
        with open(path) as f:
            doc = yaml.safe_load(f)
        if isinstance(doc, dict) and "model" in doc:
            out.append((path, doc))
    return out


def generated_alerts(rules_dir, model):
    path = os.path.join(rules_dir, "rules", model + ".rules.yml")
    with open(path) as f:
        doc = yaml.safe_load(f)
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                yield group, rule


def sel(**labels):
    return "{" + ",".join('%s="%s"' % kv for kv in labels.items()) + "}"


def model_rules(config_path, cfg, rules_dir, tests):
    model = cfg["model"]
    baseline_path = cfg.get("baseline")
    if not baseline_path:
        return None, []
    baseline_path = os.path.join(os.path.dirname(config_path), baseline_path)
    with open(baseline_path) as f:
        baseline = json.load(f)
    muted = {f["name"] for f in cfg.get("features", []) if f.get("alert") is False}
    interval, base_labels, for_, keep, copied = None, None, "5m", "5m", []
    for group, rule in generated_alerts(rules_dir, model):
        if rule["alert"] == "FeatureDrift" and base_labels is None:
            interval = group.get("interval")
            base_labels = {k: v for k, v in rule["labels"].items() if k != "severity"}
            for_ = rule.get("for", for_)
            keep = rule.get("keep_firing_for", keep)
        if rule["alert"] in COPIED:
            copied.append(rule)
    if base_labels is None:
        sys.exit("peer_rules.py: %s: no FeatureDrift alert in the generated rules" % model)
    labels = dict(base_labels, severity="page")

    def alert(name, expr, summary):
        return {"alert": name, "expr": expr, "for": for_, "keep_firing_for": keep,
                "labels": dict(labels),
                "annotations": {"summary": summary,
                                "description": "Peer-style fixed threshold, for comparison "
                                               "only (examples/backtest/peer_rules.py)."}}

    psi_features = {"model": model, "method": "psi"}
    feature_sel = sel(**psi_features)
    if muted:
        feature_sel = feature_sel[:-1] + ',feature!~"%s"}' % "|".join(sorted(muted))
    rules = [] if "psi" not in tests else [
        alert("PeerFeaturePSI", "model_feature_drift%s > %g" % (feature_sel, PSI_SIGNIFICANT),
              "PSI of a feature of {{ $labels.model }} above 0.2"),
        alert("PeerPredictionPSI",
              "model_prediction_drift%s > %g" % (sel(**psi_features), PSI_SIGNIFICANT),
              "PSI of the output of {{ $labels.model }} above 0.2"),
    ]
    terms = []
    for feat in baseline["features"]:
        if "numeric" not in feat or feat["name"] in muted or feat["numeric"]["count"] <= 0:
            continue
        name, m = feat["name"], feat["numeric"]["count"]
        present = ("(1 - model_feature_missing_ratio%s) * on(model, window) group_left() "
                   "model_window_samples%s" % (sel(model=model, feature=name), sel(model=model)))
        terms.append("model_feature_drift%s > on(model, feature, window) "
                     "(%g * sqrt(1 / (%s) + 1 / %d))" %
                     (sel(model=model, feature=name, method="ks"), K_95, present, m))
    if terms and "ks" in tests:
        rules.append(alert("PeerFeatureKS", "\nor\n".join(terms),
                           "KS test p < 0.05 on feature {{ $labels.feature }} of "
                           "{{ $labels.model }}"))
    pred = baseline.get("prediction", {})
    if "ks" in tests and pred.get("kind") in ("score", "regression") and \
            pred.get("numeric", {}).get("count", 0) > 0:
        rules.append(alert(
            "PeerPredictionKS",
            "model_prediction_drift%s > on(model, window) group_left() (%g * sqrt(1 / "
            "model_window_samples%s + 1 / %d))" %
            (sel(model=model, method="ks"), K_95, sel(model=model), pred["numeric"]["count"]),
            "KS test p < 0.05 on the output of {{ $labels.model }}"))
    group = {"name": "peer-" + model, "rules": rules + copied}
    if interval:
        group["interval"] = interval
    return group, [r["alert"] for r in rules + copied]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config.dir", dest="config_dir", required=True)
    ap.add_argument("--rules.dir", dest="rules_dir", required=True,
                    help="output of modelwatch-rulegen generate for the same configs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tests", default="psi,ks",
                    help="comma-separated: psi (PSI > 0.2), ks (KS p < 0.05); default both")
    args = ap.parse_args()
    tests = set(args.tests.split(","))
    if not tests or tests - {"psi", "ks"}:
        sys.exit("peer_rules.py: --tests: psi and/or ks")
    groups = []
    for path, cfg in load_configs(args.config_dir):
        group, names = model_rules(path, cfg, args.rules_dir, tests)
        if group is None:
            print("peer_rules.py: %s: no baseline, no drift rules" % cfg["model"],
                  file=sys.stderr)
            continue
        groups.append(group)
        print("peer_rules.py: %s: %s" % (cfg["model"], ", ".join(names)), file=sys.stderr)
    if not groups:
        sys.exit("peer_rules.py: no model with a baseline in " + args.config_dir)
    with open(args.out, "w") as f:
        f.write("# Peer-style fixed-threshold alerts for modelwatch-exporter backtest "
                "--peer-rules (written by examples/backtest/peer_rules.py).\n")
        yaml.safe_dump({"groups": groups}, f, sort_keys=False, width=100)


if __name__ == "__main__":
    main()
