#!/usr/bin/python3
"""Checks that the KS rules of examples/backtest/peer_rules.py fire exactly when the two-sample
KS test's p-value is below 0.05 (Kolmogorov's limit law, scipy.stats.kstwobign), with promtool's
own rule engine: one feature's KS statistic 2 % above the 5 % critical value for its window's
present values and the baseline's count, another 2 % below, the output likewise.
Usage: check_peer_rules.py PEER_KS_RULES BASELINE_JSON MODEL
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import yaml
from scipy.stats import kstwobign

rules_path, baseline_path, model = sys.argv[1:4]
baseline = json.load(open(baseline_path))
numeric = [f for f in baseline["features"] if "numeric" in f]
above, below = numeric[0], numeric[1]
records, missing = 1000, 0.2
n = records * (1 - missing)
failures = []


def critical(n, m):
    return kstwobign.isf(0.05) * math.sqrt(1 / n + 1 / m)


def p_value(d, n, m):
    return kstwobign.sf(d * math.sqrt(n * m / (n + m)))


d_above = critical(n, above["numeric"]["count"]) * 1.02
d_below = critical(n, below["numeric"]["count"]) * 0.98
m_out = baseline["prediction"]["numeric"]["count"]
d_out = critical(records, m_out) * 0.98
# The same D judged by scipy: the rule's threshold is the p = 0.05 boundary.
for what, d, nn, m, fires in (("above", d_above, n, above["numeric"]["count"], True),
                              ("below", d_below, n, below["numeric"]["count"], False),
                              ("output", d_out, records, m_out, False)):
    p = p_value(d, nn, m)
    if (p < 0.05) != fires:
        failures.append("%s: scipy p = %.4f" % (what, p))

series = []
for f, d in ((above, d_above), (below, d_below)):
    series.append({"series": 'model_feature_drift{model="%s",feature="%s",method="ks",window="1h"}'
                             % (model, f["name"]), "values": "%r+0x20" % d})
    series.append({"series": 'model_feature_missing_ratio{model="%s",feature="%s",window="1h"}'
                             % (model, f["name"]), "values": "%r+0x20" % missing})
series.append({"series": 'model_window_samples{model="%s",window="1h"}' % model,
               "values": "%d+0x20" % records})
series.append({"series": 'model_prediction_drift{model="%s",version="v1",method="ks",window="1h"}'
                         % model, "values": "%r+0x20" % d_out})
rules = yaml.safe_load(open(rules_path))
labels = next(r["labels"] for g in rules["groups"] for r in g["rules"]
              if r["alert"] == "PeerFeatureKS")
annotations = next(r["annotations"] for g in rules["groups"] for r in g["rules"]
                   if r["alert"] == "PeerFeatureKS")
# One-to-one matching on(model, feature, window) keeps only those labels of the series.
exp_labels = dict(labels, feature=above["name"], window="1h")
exp_annotations = {k: v.replace("{{ $labels.feature }}", above["name"])
                   .replace("{{ $labels.model }}", model) for k, v in annotations.items()}
test = {
    "rule_files": [os.path.abspath(rules_path)],
    "evaluation_interval": "1m",
    "tests": [{
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": "PeerFeatureKS",
             "exp_alerts": [{"exp_labels": exp_labels, "exp_annotations": exp_annotations}]},
            {"eval_time": "10m", "alertname": "PeerPredictionKS", "exp_alerts": []},
        ],
    }],
}
names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
if not {"PeerFeatureKS", "PeerPredictionKS"} <= names:
    failures.append("rules missing: %s" % names)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "peer_ks.test.yml")
    with open(path, "w") as f:
        yaml.safe_dump(test, f)
    run = subprocess.run(["promtool", "test", "rules", path], capture_output=True, text=True,
                         timeout=60)
    if run.returncode != 0:
        failures.append("promtool test rules:\n" + run.stdout + run.stderr)
if failures:
    print("FAIL (peer KS rules):\n  " + "\n  ".join(failures))
    sys.exit(1)
print("peer KS rules: fire at p < 0.05 (D = %.4f, n = %d, m = %d), silent at p > 0.05: OK" %
      (d_above, n, above["numeric"]["count"]))
