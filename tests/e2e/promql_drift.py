#!/usr/bin/python3
"""drift.engine: promql on real servers: three exporter replicas, each tailing a third of a
prediction log, and one exporter tailing the whole log (drift.engine: exporter), scraped by a
real Prometheus that evaluates the drift rules modelwatch-rulegen generated.

Checks, per numeric feature over the 1h window:
  - PSI and JS the rules compute from the three replicas equal the single exporter's within
    1e-6, and their critical values too;
  - PSI and JS equal numpy's on the whole log (the baseline's edges, right-closed bins, the
    ε floor) within 1e-9: a check that shares no code with the exporter;
  - KS, which the rules compute at the baseline's bin edges, equals numpy's KS at those edges
    on the whole log within 1e-9 and is at most the single exporter's (its KS at the fine
    cuts, which include the edges); the KS critical values equal the single exporter's
    within 1e-6;
  - the categorical feature's PSI, JS and chi-square and their critical values, from the
    replicas' category counters summed, equal the single exporter's within 1e-6, and numpy's
    PSI and JS and scipy's chi2_contingency on the whole log within 1e-9;
  - the output's drift per version (the score, from the replicas' model_prediction_output
    histograms): PSI, JS and their critical values equal the single exporter's within 1e-6
    and numpy's within 1e-9, KS numpy's at the edges within 1e-9 and at most the single
    exporter's, its critical value the single exporter's;
  - the replicas serve no PSI/JS/KS/chi2 of their features or output (Wasserstein stays per
    replica);
  - one replica is killed (SIGKILL) mid-stream and restarted on its state: the equality holds.
Then `promtool test rules` on the rules generated for two models with the same feature names
and different hand-made baselines (four bins; two and three categories): two replicas'
counters before and inside the window, and every drift value and critical value computed
here by hand and with scipy (an empty bin, an empty-bin allowance, Yates' correction), and
the output's drift per version: the score's of two versions (one with empty bins and
likely-empty bins' allowance), and the predicted class of a third, multiclass model (three
columns, and two with Yates' correction).

With --tiers (drift.tiers: 2, tests/e2e/promql_tiers.test.sh) the same checks run on a
global Prometheus evaluating the global tier's rules over the local tier's series federated
from two local Prometheus servers (replicas 0 and 1, and 2), each evaluating the local tier's
rules; the promtool case runs both tiers chained, and the global tier alone on two
Prometheus servers' local-tier series, against the same hand-computed values.

usage: promql_drift.py BUILD_DIR WORK_DIR [--tiers]
"""
import json
import math
import os
import random
import subprocess
import sys
import time

import numpy as np
import yaml
from scipy.special import chdtri, kolmogi
from scipy.stats import chi2_contingency, norm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from exposition import free_port  # noqa: E402
from servers import Servers, fail, get, query  # noqa: E402

BUILD, WORK = sys.argv[1], sys.argv[2]
# --tiers: drift.tiers: 2 (docs/scale-out.md, "Two tiers"): two local Prometheus servers with
# the local tier's rules, each scraping some of the replicas, federated into a global one with
# the global tier's; the same checks, on the global Prometheus.
TIERS = "--tiers" in sys.argv[3:]
EXPORTER = os.path.join(BUILD, "exporter/modelwatch-exporter")
RULEGEN = os.path.join(BUILD, "rulegen/modelwatch-rulegen")
FEATURES = ["f1", "f2", "f3"]
REPLICAS = 3
SERVERS = Servers(WORK)


def model_yaml(engine, paths):
    lines = [
        "model: scoring",
        "owner: {team: e2e}",
        "tier: 2",
        "task: binary_classification",
        "baseline: %s/baseline.json" % WORK,
        "source: {paths: %s, start_at: beginning}" % json.dumps(paths),
        "features:",
    ]
    lines += ["  - {name: %s, type: numeric}" % f for f in FEATURES]
    lines += ["  - {name: country, type: categorical}"]
    # A critical far above the drifted batch's PSI keeps the degradation score's drift signal
    # below its saturation, so that its noise floor shows in the value.
    lines += ["drift: {engine: %s, windows: [1h, 24h], min_samples: 300, warn: 9, critical: 10}"
              % engine]
    return "\n".join(lines) + "\n"


def record(rnd, ts, i, shift):
    feats = {
        "f1": round(rnd.gauss(shift, 1), 4),
        "f2": round(rnd.expovariate(1 / (3 + shift)), 4),
        # Discrete: most values sit exactly on a bin edge (the bins are closed on the right).
        "f3": rnd.choice([0, 1, 2, 2, 3, 5] if shift == 0 else [0, 2, 3, 3, 5, 6]),
        # Drifted: more DE, and CH, which the baseline does not know (__other__).
        "country": rnd.choice(["DE", "FR", "US"] if shift == 0 else ["DE", "DE", "FR", "US", "CH"]),
    }
    if i % 37 == 0:
        feats["f1"] = None  # missing values count in no bin
    if i % 41 == 0:
        feats["country"] = None  # nor in a category
    # Two versions, and some errors: they count as records but have no confidence.
    return json.dumps({"ts": round(ts, 3), "model_version": "v2" if i % 5 == 0 else "v1",
                       "request_id": "r%d" % i, "status": "timeout" if i % 53 == 0 else "ok",
                       # The drifted half's scores are drawn toward 0.5: the output drifts,
                       # the confidence drops and the entropy rises.
                       "score": round(0.5 + (rnd.random() - 0.5) * (0.7 if shift else 1.0), 4),
                       "features": feats})


def lines_read(port):
    total = 0
    for line in get("http://127.0.0.1:%d/metrics" % port).splitlines():
        if line.startswith("modelwatch_lines_read_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_read(port, n, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        if lines_read(port) >= n:
            return
        time.sleep(0.2)
    fail("%s did not read %d lines" % (what, n))


def tier_rules(single_groups):
    """drift.tiers: 2: the rules rulegen writes for the fleet with two tiers (also as
    prometheus-operator resources, checked here); writes the local tier's file with its
    groups every second and returns the global tier's groups, which must be the one-tier
    file's groups, in its order."""
    config = os.path.join(WORK, "tiers-config")
    os.makedirs(config)
    with open(os.path.join(config, "modelwatch.yaml"), "w") as f:
        f.write("drift: {engine: promql, tiers: 2}\n")
    with open(os.path.join(WORK, "replica0/scoring.yaml")) as src:
        with open(os.path.join(config, "scoring.yaml"), "w") as f:
            f.write(src.read())
    out = os.path.join(WORK, "generated-tiers")
    subprocess.run([RULEGEN, "generate", "--config.dir=" + config, "--out=" + out,
                    "--format=prometheus-operator"], check=True, stdout=subprocess.DEVNULL)
    if os.path.exists(os.path.join(out, "rules/scoring.rules.yml")):
        fail("two tiers: rules/scoring.rules.yml should not be written")
    local = yaml.safe_load(open(os.path.join(out, "rules/scoring.local.rules.yml")))["groups"]
    glob = yaml.safe_load(open(os.path.join(out, "rules/scoring.global.rules.yml")))["groups"]
    if [g["name"] for g in local] != ["modelwatch-scoring-promql-local"]:
        fail("the local tier's groups: %s" % [g["name"] for g in local])
    if [g["name"] for g in glob] != [g["name"] for g in single_groups]:
        fail("the global tier's groups %s are not the one-tier file's %s"
             % ([g["name"] for g in glob], [g["name"] for g in single_groups]))
    if any("alert" in r for g in local for r in g["rules"]):
        fail("the local tier holds alerts")
    for tier, groups in (("local", local), ("global", glob)):
        resource = yaml.safe_load(open(os.path.join(
            out, "kubernetes/scoring.%s.prometheusrule.yaml" % tier)))
        if resource["metadata"]["labels"].get("modelwatch/tier") != tier:
            fail("kubernetes/scoring.%s.prometheusrule.yaml: labels %s"
                 % (tier, resource["metadata"]["labels"]))
        if resource["spec"]["groups"] != groups:
            fail("kubernetes/scoring.%s.prometheusrule.yaml: not the %s tier's rules" % (tier, tier))
    for g in local:
        g["interval"] = "1s"
    with open(os.path.join(WORK, "local.rules.yml"), "w") as f:
        yaml.safe_dump({"groups": local}, f)
    print("two tiers: %d local rules, %d global groups; prometheus-operator resources labelled "
          "modelwatch/tier" % (len(local[0]["rules"]), len(glob)))
    return glob


def replica_count(replica_proms, q):
    """count(...) over the replicas' own series, added up over the Prometheus servers that
    scrape them; None where none has any."""
    total = None
    for p in replica_proms:
        got = query(p, q)
        if got:
            total = (total or 0) + list(got.values())[0]
    return total


def by_feature(series):
    return {dict(k)["feature"]: v for k, v in series.items()}


def numpy_drift(values, edges, proportions):
    x = np.asarray([v for v in values if v is not None], dtype=float)
    counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1)
    p = counts / counts.sum()
    p = np.where(p > 0, p, 1e-4)
    q = np.asarray(proportions, dtype=float)
    q = np.where(q > 0, q, 1e-4)
    psi = float(np.sum((p - q) * np.log(p / q)))
    m = 0.5 * (p + q)
    js = math.sqrt(max(0.0, 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))))
    return psi, js


def numpy_categorical(values, categories, reference_counts):
    """PSI, JS (ε floor) and scipy's chi2_contingency of the values by the baseline's categories
    and the other bin, against the baseline's counts."""
    index = {c: i for i, c in enumerate(categories)}
    counts = np.zeros(len(categories) + 1)
    for v in values:
        if v is not None:
            counts[index.get(v, len(categories))] += 1
    ref = np.asarray(reference_counts, dtype=float)
    p = counts / counts.sum()
    p = np.where(p > 0, p, 1e-4)
    q = ref / ref.sum()
    q = np.where(q > 0, q, 1e-4)
    psi = float(np.sum((p - q) * np.log(p / q)))
    m = 0.5 * (p + q)
    js = math.sqrt(max(0.0, 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))))
    keep = (ref + counts) > 0  # scipy refuses empty columns; the exporter drops them
    chi2 = float(chi2_contingency(np.vstack([ref[keep], counts[keep]]))[0])
    return psi, js, chi2


def numpy_ks(values, edges, proportions):
    """max over the edges of |F_current(edge) − F_baseline(edge)|, F_current from the values
    at or below each edge (bins closed on the right), F_baseline the running sum of the
    baseline's proportions."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    current = np.array([np.count_nonzero(x <= e) for e in edges]) / len(x)
    reference = np.cumsum(np.asarray(proportions, dtype=float))[:len(edges)]
    return float(np.max(np.abs(current - reference)))


OUTPUT_DRIFT = ("model_prediction_drift", "model_prediction_drift_critical_value")
SIGNALS = ("model_prediction_confidence_mean", "model_prediction_entropy_mean",
           "model_positive_rate", "model_feature_missing_ratio",
           "model_feature_out_of_range_ratio", "model_anomalous_requests_ratio",
           "model_positive_rate_zscore", "model_feature_missing_ratio_shift",
           "model_feature_missing_ratio_shift_critical_value")


def effective(baseline, count):
    """A count of the baseline in effective (distinct) records, as the exporter weighs it."""
    ref = baseline["reference"]
    distinct = ref.get("distinct_records", 0)
    return count * distinct / ref["records"] if distinct > 0 and ref["records"] > 0 else count


def positive_rate_z(rate, n, pr, m):
    """The positive rate's shift from the baseline's in standard deviations: the pooled
    binomial variance plus an overdispersion allowance tau^2 (docs/statistics.md)."""
    p0 = pr["positive_rate"]
    spreads = [s for s in (pr.get("positive_rate_daily_std"),
                           pr.get("positive_rate_batch_between_std")) if s is not None]
    tau = max([0.1 * math.sqrt(max(0.0, p0 * (1 - p0)))] + spreads)
    pooled = (rate * n + p0 * m) / (n + m)
    sigma = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m) + tau * tau)
    return (rate - p0) / sigma if sigma > 0 else 0.0


def missing_shift_critical(level, p, n, p0, m):
    """The missing share's shift that sampling noise exceeds with probability `level`: a
    one-sided two-proportion z-test's threshold."""
    pooled = (p * n + p0 * m) / (n + m)
    return norm.ppf(1 - level) * math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))


def numpy_signals(records, profile, baseline):
    """The proxy signals of the whole log, by (name, version or feature or None): means over
    the ok records of each version, missing shares over every record, out-of-range shares
    over each numeric feature's values, the anomalous share over every record; the positive
    rate's z-score and the missing shares' shifts from the baseline."""
    want = {}
    n = len(records)
    pr = baseline["prediction"]
    for v in sorted({r["model_version"] for r in records}):
        s = np.array([r["score"] for r in records if r["model_version"] == v and r["status"] == "ok"])
        confidence = np.maximum(s, 1 - s)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -(np.where(s > 0, s * np.log(s), 0.0) +
                        np.where(s < 1, (1 - s) * np.log(1 - s), 0.0))
        want[("model_prediction_confidence_mean", v)] = float(np.mean(confidence))
        want[("model_prediction_entropy_mean", v)] = float(np.mean(entropy))
        want[("model_positive_rate", v)] = float(np.mean(s >= 0.5))
        want[("model_positive_rate_zscore", v)] = positive_rate_z(
            float(np.mean(s >= 0.5)), len(s), pr, effective(baseline, pr["records"]))
    m = effective(baseline, baseline["reference"]["records"])
    level = 0.001 / len(FEATURES + ["country"])  # drift.alpha over the profiled features
    for f in FEATURES + ["country"]:
        p = sum(r["features"][f] is None for r in records) / n
        p0 = profile[f]["missing_rate"]
        want[("model_feature_missing_ratio", f)] = p
        want[("model_feature_missing_ratio_shift", f)] = p - p0
        want[("model_feature_missing_ratio_shift_critical_value", f)] = missing_shift_critical(
            level, p, n, p0, m)
    outside = np.zeros(n, dtype=bool)
    for f in FEATURES:
        lo, hi = profile[f]["numeric"]["min"], profile[f]["numeric"]["max"]
        x = np.array([r["features"][f] if r["features"][f] is not None else np.nan
                      for r in records], dtype=float)
        present = ~np.isnan(x)
        out = present & ((x < lo) | (x > hi))
        outside |= out
        want[("model_feature_out_of_range_ratio", f)] = float(out.sum() / present.sum())
    want[("model_anomalous_requests_ratio", None)] = float(outside.sum() / n)
    return want


def check_output(prom, records, baseline):
    """The output's drift per version from the replicas' model_prediction_output histograms:
    PSI, JS and their critical values equal the single exporter's (1e-6) and numpy's on the
    ok records' scores (1e-9); KS numpy's at the edges (1e-9) and at most the single
    exporter's, its critical value the single exporter's."""
    out = baseline["prediction"]["numeric"]
    checked = 0
    for method in ("psi", "js", "ks"):
        for name in ("model_prediction_drift", "model_prediction_drift_critical_value"):
            q = '%s{method="%s",window="1h",job="%%s"}' % (name, method)
            fleet = {dict(k)["version"]: v for k, v in query(prom, q % "").items()}
            single = {dict(k)["version"]: v for k, v in query(prom, q % "single").items()}
            if sorted(fleet) != ["v1", "v2"] or sorted(single) != ["v1", "v2"]:
                fail("%s{%s}: rules %s, single exporter %s" % (name, method, fleet, single))
            for v in ("v1", "v2"):
                scores = [r["score"] for r in records
                          if r["model_version"] == v and r["status"] == "ok"]
                diff = abs(fleet[v] - single[v])
                print("%-38s %-4s %s rules %.12f  single exporter %.12f  |diff| %.1e"
                      % (name, method, v, fleet[v], single[v], diff))
                if name == "model_prediction_drift" and method == "ks":
                    want = numpy_ks(scores, out["edges"], out["proportions"])
                    if abs(fleet[v] - want) > 1e-9 or fleet[v] > single[v] + 1e-9:
                        fail("output ks %s: rules %r, numpy at the edges %r, single exporter %r"
                             % (v, fleet[v], want, single[v]))
                    if want < 0.01:
                        fail("output ks %s: the drifted scores should give KS above 0.01" % v)
                elif diff > 1e-6:
                    fail("%s %s %s differs by %g" % (name, method, v, diff))
                if name == "model_prediction_drift" and method in ("psi", "js"):
                    want = numpy_drift(scores, out["edges"], out["proportions"])
                    want = want[0] if method == "psi" else want[1]
                    if abs(fleet[v] - want) > 1e-9:
                        fail("output %s %s: rules %r, numpy %r" % (method, v, fleet[v], want))
                checked += 1
    return checked


def check_signals(prom, replica_proms, records, profile, baseline):
    """The proxy signals the rules record from the replicas' counters equal the single
    exporter's and numpy's on the whole log within 1e-9; the replicas serve none of their own;
    no rule of the model's file fails to evaluate."""
    want = numpy_signals(records, profile, baseline)
    key_label = {"model_prediction_confidence_mean": "version",
                 "model_prediction_entropy_mean": "version", "model_positive_rate": "version",
                 "model_positive_rate_zscore": "version",
                 "model_feature_missing_ratio": "feature",
                 "model_feature_missing_ratio_shift": "feature",
                 "model_feature_missing_ratio_shift_critical_value": "feature",
                 "model_feature_out_of_range_ratio": "feature",
                 "model_anomalous_requests_ratio": None}
    checked = 0
    for name in SIGNALS:
        label = key_label[name]

        def keyed(series):
            return {(dict(k)[label] if label else None): v for k, v in series.items()}
        fleet = keyed(query(prom, '%s{window="1h",job=""}' % name))
        single = keyed(query(prom, '%s{window="1h",job="single"}' % name))
        expected = {k[1]: v for k, v in want.items() if k[0] == name}
        if set(fleet) != set(expected) or set(single) != set(expected):
            fail("%s: rules %s, single exporter %s, numpy %s" % (name, fleet, single, expected))
        for k in sorted(expected, key=str):
            d_single, d_numpy = abs(fleet[k] - single[k]), abs(fleet[k] - expected[k])
            print("%-34s %-7s rules %.12f  single exporter %.12f  numpy %.12f  |diff| %.1e %.1e"
                  % (name, k or "", fleet[k], single[k], expected[k], d_single, d_numpy))
            if d_single > 1e-9 or d_numpy > 1e-9:
                fail("%s %s: rules %r, single exporter %r, numpy %r"
                     % (name, k, fleet[k], single[k], expected[k]))
            checked += 1
    if not 0 < want[("model_anomalous_requests_ratio", None)] < 1:
        fail("the drifted batch should put some records outside the training range")
    own = replica_count(replica_proms, 'count({__name__=~"%s",job="replicas"})' % "|".join(SIGNALS))
    if own:
        fail("replicas serve their own proxy signals: %s" % own)
    # The alerts' rules read the fleet's series: EntropyRise's shift from the baseline (every
    # replica serves the same baseline mean) has one series per version without instance.
    shift = query(prom, 'model_version_window:model_prediction_entropy_mean:baseline_sigmas'
                  '{window="1h",job=""}')
    if len(shift) != 2:
        fail("the entropy shift of the fleet's series: %s" % shift)
    broken = []
    for p in sorted(set([prom] + replica_proms)):
        for g in json.loads(get(p + "/api/v1/rules"))["data"]["groups"]:
            for r in g["rules"]:
                if r.get("health") == "err" or r.get("lastError"):
                    broken.append("%s %s: %s" % (p, r["name"], r.get("lastError")))
    if broken:
        fail("rules that fail to evaluate:\n" + "\n".join(broken))
    return checked


def check_degradation(prom, replica_proms):
    """The degradation score and its signals the rules record from the fleet's drift and
    proxy signals equal the single exporter's within 1e-9 (both read the shortest window
    with drift.min_samples records, here 1h); the replicas serve none of their own."""
    checked = 0
    def keyed(series, key):
        return {tuple(dict(k)[x] for x in key): v for k, v in series.items()}
    for name, key in (("model_degradation_score", ("version",)),
                      ("model_degradation_signal", ("version", "signal"))):
        fleet = keyed(query(prom, '%s{job=""}' % name), key)
        single = keyed(query(prom, '%s{job="single"}' % name), key)
        if not fleet or set(fleet) != set(single):
            fail("%s: rules %s, single exporter %s" % (name, fleet, single))
        for k in sorted(fleet):
            diff = abs(fleet[k] - single[k])
            print("%-26s %-22s rules %.12f  single exporter %.12f  |diff| %.1e"
                  % (name, "/".join(k), fleet[k], single[k], diff))
            if diff > 1e-9:
                fail("%s %s: rules %r, single exporter %r" % (name, k, fleet[k], single[k]))
            checked += 1
    signals = keyed(query(prom, 'model_degradation_signal{job=""}'), ("version", "signal"))
    # The drifted batch moves the features (drift between its floor and saturation: 0-30
    # points at weight 0.3) and some records out of range; the errors (1 in 53) add points.
    for version in ("v1", "v2"):
        drift = signals[(version, "drift")]
        if not 0 < drift < 30:
            fail("%s: the drift signal should be unsaturated and above 0, got %r" % (version, drift))
        if not signals[(version, "errors")] > 0:
            fail("%s: the errors signal should be above 0" % version)
        for signal, weight in (("confidence", 0.2), ("entropy", 0.2)):
            if not 0 < signals[(version, signal)] < weight * 100:
                fail("%s: the %s signal should be unsaturated and above 0, got %r"
                     % (version, signal, signals[(version, signal)]))
    own = replica_count(replica_proms, 'count({__name__=~"model_degradation_score|'
                        'model_degradation_signal",job="replicas"})')
    if own:
        fail("replicas serve their own degradation score: %s" % own)
    return checked


PROMTOOL_MODEL = """model: %s
owner: {team: e2e}
tier: 2
task: %s
baseline: %s/tiny/%s.json
source: {paths: [/nonexistent/*.jsonl]}
features:
  - {name: amount, type: numeric}
  - {name: kind, type: categorical}
drift: {engine: promql, windows: [1h], min_samples: 50}
"""

# Two models with the same feature names and different baselines and counters: each model's
# rules must read its own baseline series. amount's edges 10, 20, 30 (cumulative bucket
# counters le 10, 20, 30, +Inf of replicas a and b, flat for the first hour, outside the
# window evaluated at 120m, then stepping up); kind's categories and __other__.
# tiny: the bin (20, 30] gets nothing in the window (the ε floor); kind has two columns left
# (__other__ empty on both sides), so chi-square takes Yates' correction.
# twin: a bin of reference share 0.01 is likely left empty by a window of 100 values, so the
# PSI and JS critical values carry its allowance; kind keeps three columns (no correction).
# twin's features (and classy's, which has the same).
TWIN_FEATURES = {
    "q": [0.3, 0.3, 0.39, 0.01], "m": 2000,
    "before": {"a": (5, 10, 20, 20), "b": (0, 0, 0, 0)},
    "after": {"a": (25, 40, 80, 80), "b": (10, 30, 60, 60)},
    "categories": ["a", "c", "d"], "kind_counts": [500, 300, 200, 0],
    # a, c, d, __other__: 20 a, 35 c, 5 other in the window, no d.
    "kind_before": {"a": (1, 2, 0, 0), "b": (0, 0, 0, 0)},
    "kind_after": {"a": (11, 22, 0, 5), "b": (10, 15, 0, 0)},
}
PROMTOOL_CASES = {
    "tiny": {
        "q": [0.25, 0.5, 0.15, 0.1], "m": 1000,
        "before": {"a": (100, 150, 150, 200), "b": (7, 9, 9, 9)},
        "after": {"a": (130, 200, 200, 260), "b": (17, 39, 39, 49)},
        "categories": ["a", "b"], "kind_counts": [600, 400, 0],
        # a, b, __other__: 30 a and 50 b in the window, no other value.
        "kind_before": {"a": (50, 60, 0), "b": (10, 20, 0)},
        "kind_after": {"a": (70, 90, 0), "b": (20, 40, 0)},
        # 900 effective reference records; the positive rate's spread 0.02 is below the
        # floor 0.1 * sqrt(0.5 * 0.5) = 0.05, so tau = 0.05.
        "reference": {"records": 1000, "distinct_records": 900},
        "missing_rate": {"amount": 0.04, "kind": 0.02},
        "prediction": {"records": 1000, "positive_rate": 0.5, "positive_rate_daily_std": 0.02,
                       "positive_rate_batch_between_std": None},
        # The score's bins (edges 0.25, 0.5, 0.75), and each version's cumulative bucket
        # counters le 0.25, 0.5, 0.75, +Inf (model_prediction_output) per replica, before and
        # inside the window. v1: 90 scores (15, 30, 30, 15); v2: 20, none in the first and
        # the last bin (the ε floor), its counters on replica b flat.
        "output_q": [0.1, 0.4, 0.4, 0.1], "output_m": 500,
        "output_before": {("v1", "a"): (10, 30, 50, 60), ("v1", "b"): (0, 0, 0, 0),
                          ("v2", "a"): (0, 0, 0, 0), ("v2", "b"): (2, 4, 6, 8)},
        "output_after": {("v1", "a"): (20, 60, 100, 120), ("v1", "b"): (5, 15, 25, 30),
                         ("v2", "a"): (0, 10, 20, 20), ("v2", "b"): (2, 4, 6, 8)},
    },
    "twin": {
        **TWIN_FEATURES,
        # v1 only: 60 scores (10, 20, 15, 15) against four even bins.
        "output_q": [0.25, 0.25, 0.25, 0.25], "output_m": 2000,
        "output_before": {("v1", "a"): (5, 10, 10, 20), ("v1", "b"): (0, 0, 0, 0)},
        "output_after": {("v1", "a"): (10, 25, 35, 55), ("v1", "b"): (5, 10, 20, 25)},
    },
    # A multiclass model (the features as twin's): the predicted class against the
    # baseline's classes cat and dog and __other__ (model_prediction_output_class_total).
    # v1: 30 cat, 20 dog, 10 others (three columns); v2: 5 cat only, so the columns with
    # counts are cat and dog (__other__ empty on both sides): Yates' correction.
    "classy": {
        "task": "multiclass_classification",
        **TWIN_FEATURES,
        "output_classes": ["cat", "dog"], "output_class_counts": [600, 400, 0],
        "output_before": {("v1", "a"): (10, 10, 0), ("v1", "b"): (3, 0, 2),
                          ("v2", "a"): (0, 0, 0), ("v2", "b"): (1, 0, 0)},
        "output_after": {("v1", "a"): (30, 25, 7), ("v1", "b"): (13, 5, 5),
                         ("v2", "a"): (4, 0, 0), ("v2", "b"): (2, 0, 0)},
    },
}


def psi_js(p, q):
    psi = sum((pi - qi) * math.log(pi / qi) for pi, qi in zip(p, q))
    mid = [(pi + qi) / 2 for pi, qi in zip(p, q)]
    js = math.sqrt(0.5 * sum(pi * math.log(pi / mi) for pi, mi in zip(p, mid)) +
                   0.5 * sum(qi * math.log(qi / mi) for qi, mi in zip(q, mid)))
    return psi, js


def critical(q, n, m, level):
    """The exporter's PSI and JS noise floors (docs/statistics.md): chi-square over the
    bins with reference mass, plus each bin a window of n likely leaves empty."""
    bins = sum(1 for qi in q if qi > 0)
    base = (1 / n + 1 / m) * chdtri(bins - 1, level)
    psi, js = base, base / 8
    for qi in q:
        if 0 < qi < 1 and (1 - qi) ** n > level / bins:
            mid = (qi + 1e-4) / 2
            psi += (qi - 1e-4) * math.log(qi / 1e-4) if qi > 1e-4 else 0
            js += 0.5 * qi * math.log(qi / mid) + 0.5 * 1e-4 * math.log(1e-4 / mid)
    return psi, math.sqrt(js), chdtri(bins - 1, level)


def numeric_want(q, m, c, level):
    """PSI, JS, KS at the edges and their critical values of cumulative window counts `c`
    (at the edges and +Inf) against the baseline's proportions `q` of m values."""
    n = c[-1]
    p = [c[0] / n] + [(c[k] - c[k - 1]) / n for k in range(1, len(c))]
    p = [pi if pi > 0 else 1e-4 for pi in p]  # the exporter's ε floor
    qf = [qi if qi > 0 else 1e-4 for qi in q]
    psi, js = psi_js(p, qf)
    psi_cv, js_cv, _ = critical(q, n, m, level)
    # KS at the edges: the cumulative window shares against the running sums.
    ks = max(abs(c[k] / n - sum(q[:k + 1])) for k in range(len(c) - 1))
    ks_cv = kolmogi(level) * math.sqrt(1 / n + 1 / m)
    return {("drift", "psi"): psi, ("drift", "js"): js, ("drift", "ks"): ks,
            ("critical", "psi"): psi_cv, ("critical", "js"): js_cv, ("critical", "ks"): ks_cv}


def categorical_want(ref, cur, level):
    """PSI, JS, chi-square and their critical values of window counts `cur` per category
    (__other__ last) against the baseline's counts `ref`, by hand and scipy."""
    n, m = sum(cur), sum(ref)
    pk = [x / n if x > 0 else 1e-4 for x in cur]
    qk = [x / m if x > 0 else 1e-4 for x in ref]
    psi, js = psi_js(pk, qk)
    keep = [k for k in range(len(ref)) if ref[k] + cur[k] > 0]
    chi2 = chi2_contingency([[ref[k] for k in keep], [cur[k] for k in keep]])[0]
    if len(keep) == 2:
        # Yates' correction by hand: |O − E| lowered by 0.5 in each cell.
        hand = 0.0
        for k in keep:
            for observed, row in ((ref[k], m), (cur[k], n)):
                expected = row * (ref[k] + cur[k]) / (n + m)
                hand += (abs(observed - expected) - 0.5) ** 2 / expected
        if abs(hand - chi2) > 1e-9:
            fail("the hand-computed chi-square %r is not scipy's %r" % (hand, chi2))
    psi_cv, js_cv, chi2_cv = critical([x / m for x in ref], n, m, level)
    return {("drift", "psi"): psi, ("drift", "js"): js, ("drift", "chi2"): float(chi2),
            ("critical", "psi"): psi_cv, ("critical", "js"): js_cv,
            ("critical", "chi2"): float(chi2_cv)}


def hand_computed(case, level):
    """What the rules must record for one model: numeric PSI, JS, KS and their critical
    values, categorical PSI, JS, chi-square and their critical values, by (record, label,
    method), from the counters' window counts by hand and scipy: the features' (label
    feature="…"), and each version's output (label version="…")."""
    names = {"drift": "model_feature_drift", "critical": "model_feature_drift_critical_value"}
    want = {}
    before, after = case["before"], case["after"]
    c = [sum(after[i][k] - before[i][k] for i in after) for k in range(4)]
    for (kind, method), v in numeric_want(case["q"], case["m"], c, level).items():
        want[names[kind], 'feature="amount"', method] = v
    ref = case["kind_counts"]
    cur = [sum(case["kind_after"][i][k] - case["kind_before"][i][k] for i in ("a", "b"))
           for k in range(len(ref))]
    for (kind, method), v in categorical_want(ref, cur, level).items():
        want[names[kind], 'feature="kind"', method] = v
    names = {"drift": "model_prediction_drift",
             "critical": "model_prediction_drift_critical_value"}
    for version in sorted({v for v, _ in case.get("output_after", {})}):
        cur = [sum(case["output_after"][version, i][k] - case["output_before"][version, i][k]
                   for i in ("a", "b") if (version, i) in case["output_after"])
               for k in range(len(case["output_after"][version, "a"]))]
        if "output_q" in case:
            got = numeric_want(case["output_q"], case["output_m"], cur, level)
        else:
            got = categorical_want(case["output_class_counts"], cur, level)
        for (kind, method), v in got.items():
            want[names[kind], 'version="%s"' % version, method] = v
    return want


def promtool_case():
    """Hand-computed drift of two replicas' counters over a 1h window, for two models with
    the same feature names, checked by promtool against the generated rules."""
    os.makedirs(os.path.join(WORK, "tiny"))
    series, tests, groups = [], [], []
    for model, case in PROMTOOL_CASES.items():
        q, ref = case["q"], case["kind_counts"]
        profile = {"features": [
            {"name": "amount", "type": "numeric", "numeric": {
                "count": case["m"], "edges": [10, 20, 30], "proportions": q}},
            {"name": "kind", "type": "categorical", "categorical": {
                "count": sum(ref), "categories": case["categories"], "counts": ref,
                "proportions": [x / sum(ref) for x in ref]}}],
            "prediction": {"kind": "score", "numeric": {"count": 0}}}
        if "output_q" in case:  # the score's profile: edges 0.25, 0.5, 0.75
            profile["prediction"]["numeric"] = {
                "count": case["output_m"], "edges": [0.25, 0.5, 0.75],
                "proportions": case["output_q"]}
        if "output_classes" in case:
            counts = case["output_class_counts"]
            profile["prediction"] = {"kind": "class", "classes": {
                "count": sum(counts), "categories": case["output_classes"], "counts": counts,
                "proportions": [x / sum(counts) for x in counts]}}
        if "reference" in case:  # what the missing-ratio shift and the z-score compare with
            profile["reference"] = case["reference"]
            for f in profile["features"]:
                f["missing_rate"] = case["missing_rate"][f["name"]]
            profile["prediction"].update(case["prediction"])
        with open(os.path.join(WORK, "tiny/%s.json" % model), "w") as f:
            json.dump(profile, f)
        with open(os.path.join(WORK, "tiny/%s.yaml" % model), "w") as f:
            task = case.get("task", "binary_classification")
            f.write(PROMTOOL_MODEL % (model, task, WORK, model))
            if task == "multiclass_classification":
                f.write("classes: [cat, dog, bird]\n")
        for inst in ("a", "b"):
            for k, le in enumerate(("10", "20", "30", "+Inf")):
                series.append({"series": 'model_feature_value_bucket{model="%s",feature="amount",'
                                         'le="%s",instance="%s"}' % (model, le, inst),
                               "values": "%dx60 %dx60" % (case["before"][inst][k],
                                                          case["after"][inst][k])})
            series.append({"series": 'model_predictions_total{model="%s",instance="%s"}'
                                     % (model, inst),
                           "values": "%dx60 %dx60" % (case["before"][inst][3],
                                                      case["after"][inst][3])})
            for k, category in enumerate(case["categories"] + ["__other__"]):
                series.append({"series": 'model_feature_category_total{model="%s",feature="kind",'
                                         'category="%s",instance="%s"}' % (model, category, inst),
                               "values": "%dx60 %dx60" % (case["kind_before"][inst][k],
                                                          case["kind_after"][inst][k])})
        for (version, inst), after in sorted(case["output_after"].items()):
            before = case["output_before"][version, inst]
            if "output_q" in case:
                labels = ['le="%s"' % le for le in ("0.25", "0.5", "0.75", "+Inf")]
                name = "model_prediction_output_bucket"
            else:
                labels = ['class="%s"' % c for c in case["output_classes"] + ["__other__"]]
                name = "model_prediction_output_class_total"
            for k, label in enumerate(labels):
                series.append({"series": '%s{model="%s",version="%s",%s,instance="%s"}'
                                         % (name, model, version, label, inst),
                               "values": "%dx60 %dx60" % (before[k], after[k])})
        if model == "tiny":
            # The proxy signals' counters of version v1, (before, after) per replica: b's
            # anomalous counter was reset inside the window (its state lost), so it counts
            # from zero: 5.
            signal_counters = {
                "model_prediction_confidence_sum": {"a": (30, 60), "b": (5, 23)},
                "model_prediction_confidence_count": {"a": (40, 80), "b": (10, 30)},
                "model_prediction_entropy_sum": {"a": (10, 22), "b": (2, 8)},
                "model_prediction_entropy_count": {"a": (40, 80), "b": (10, 30)},
                "model_positive_predictions_total": {"a": (20, 50), "b": (3, 13)},
                'model_feature_missing_total{feature="amount"': {"a": (5, 11), "b": (1, 5)},
                'model_feature_missing_total{feature="kind"': {"a": (0, 3), "b": (0, 2)},
                'model_feature_out_of_range_total{feature="amount"': {"a": (2, 8), "b": (0, 4)},
                "model_anomalous_requests_total": {"a": (3, 10), "b": (30, 5)},
            }
            for inst in ("a", "b"):  # the values the out-of-range ratio divides by
                series.append({"series": 'model_feature_value_count{model="tiny",'
                                         'feature="amount",instance="%s"}' % inst,
                               "values": "%dx60 %dx60" % (case["before"][inst][3],
                                                          case["after"][inst][3])})
            for name, by_inst in signal_counters.items():
                for inst, (b0, b1) in by_inst.items():
                    base, _, extra = name.partition("{")
                    labels = 'model="tiny",instance="%s"' % inst
                    labels += "," + extra if extra else ""
                    if not base.startswith(("model_feature", "model_anomalous")):
                        labels += ',version="v1"'
                    series.append({"series": "%s{%s}" % (base, labels),
                                   "values": "%dx60 %dx60" % (b0, b1)})
        # alpha over the three drift series (amount, kind and the output).
        want = hand_computed(case, 0.001 / 3)
        for (name, label, method), value in sorted(want.items()):
            # promtool compares values exactly: the rules' last bit may differ from Python's.
            tests.append({
                "expr": 'abs(%s{model="%s",%s,method="%s"} - %.17g) < bool %g'
                        % (name, model, label, method, value, 1e-9 * max(1.0, value)),
                "eval_time": "120m",
                "exp_samples": [{"labels": '{model="%s",%s,method="%s",window="1h"}'
                                           % (model, label, method), "value": 1}]})
        # Every output drift series of the model is one of those (no other version or method).
        for name in ("model_prediction_drift", "model_prediction_drift_critical_value"):
            tests.append({"expr": 'count(%s{model="%s"})' % (name, model), "eval_time": "120m",
                          "exp_samples": [{"labels": "{}", "value": sum(
                              1 for (n, _, _) in want if n == name)}]})
        print("promtool case %s: %s" % (model, ", ".join(
            "%s%s %s %.9f" % ("critical " if name.endswith("value") else "", label, method, v)
            for (name, label, method), v in sorted(want.items()))))
    if TIERS:
        with open(os.path.join(WORK, "tiny/modelwatch.yaml"), "w") as f:
            f.write("drift: {engine: promql, tiers: 2}\n")
    subprocess.run([RULEGEN, "generate", "--config.dir=" + WORK + "/tiny",
                    "--out=" + WORK + "/tiny-out"], check=True, stdout=subprocess.DEVNULL)
    local_groups = []
    for model in PROMTOOL_CASES:
        if TIERS:
            # Both tiers chained in one promtool run: the local tier's sums (one Prometheus
            # scraping both replicas), then the global tier's formulas over them.
            local = yaml.safe_load(open(os.path.join(
                WORK, "tiny-out/rules/%s.local.rules.yml" % model)))["groups"]
            if [g["name"] for g in local] != ["modelwatch-%s-promql-local" % model]:
                fail("the local tier's file of %s: %s" % (model, [g["name"] for g in local]))
            local_groups += local
            path = "tiny-out/rules/%s.global.rules.yml" % model
        else:
            path = "tiny-out/rules/%s.rules.yml" % model
        rules = yaml.safe_load(open(os.path.join(WORK, path)))
        # At their generated intervals: the baseline's every 2 minutes.
        groups += [g for g in rules["groups"] if g["name"].endswith(
            ("-drift-promql-baseline", "-drift-promql", "-signals-promql"))]
    if len(groups) != 3 * len(PROMTOOL_CASES):
        fail("expected three promql groups per model, got %d" % len(groups))
    with open(os.path.join(WORK, "tiny/drift.rules.yml"), "w") as f:
        yaml.safe_dump({"groups": groups}, f)
    rule_files = ["drift.rules.yml"]
    if TIERS:
        with open(os.path.join(WORK, "tiny/local.rules.yml"), "w") as f:
            yaml.safe_dump({"groups": local_groups}, f)
        rule_files = ["local.rules.yml", "drift.rules.yml"]
    # By hand, model tiny: records in the window 60 + 40 = 100 (model_predictions_total);
    # confidence (30 + 18) / (40 + 20) = 0.8; entropy (12 + 6) / 60 = 0.3; positives
    # (30 + 10) / 60; missing amount 10 / 100, kind 5 / 100; out of range 10 / 100 values (the
    # +Inf bucket); anomalous (7 + 5) / 100. Against the baseline (900 effective records;
    # rate 0.5 with tau 0.05; missing amount 0.04, kind 0.02), at drift.alpha 0.001 over the
    # two features: z = (2/3 - 1/2) / sqrt(p(1 - p)(1/60 + 1/900) + 0.05^2), p = (40 + 450) /
    # 960; shifts 0.06 and 0.03, critical values z(1 - 0.0005) sqrt(p(1 - p)(1/100 + 1/900))
    # with p = (10 + 36) / 1000 and (5 + 18) / 1000.
    tiny = PROMTOOL_CASES["tiny"]
    z_want = positive_rate_z(40 / 60, 60, tiny["prediction"], 900)
    level = 0.001 / 2
    signals_want = [
        ("model_positive_rate_zscore", 'version="v1"', z_want),
        ("model_feature_missing_ratio_shift", 'feature="amount"', 0.1 - 0.04),
        ("model_feature_missing_ratio_shift", 'feature="kind"', 0.05 - 0.02),
        ("model_feature_missing_ratio_shift_critical_value", 'feature="amount"',
         missing_shift_critical(level, 0.1, 100, 0.04, 900)),
        ("model_feature_missing_ratio_shift_critical_value", 'feature="kind"',
         missing_shift_critical(level, 0.05, 100, 0.02, 900)),
        ("model_prediction_confidence_mean", 'version="v1"', 0.8),
        ("model_prediction_entropy_mean", 'version="v1"', 0.3),
        ("model_positive_rate", 'version="v1"', 40 / 60),
        ("model_feature_missing_ratio", 'feature="amount"', 0.1),
        ("model_feature_missing_ratio", 'feature="kind"', 0.05),
        ("model_feature_out_of_range_ratio", 'feature="amount"', 0.1),
        ("model_anomalous_requests_ratio", None, 0.12),
    ]
    tests += [
        {"expr": 'abs(%s{model="tiny",%s} - %.17g) < bool 1e-12' % (name, sel or "", want)
                 if sel else 'abs(%s{model="tiny"} - %.17g) < bool 1e-12' % (name, want),
         "eval_time": "120m",
         "exp_samples": [{"labels": '{model="tiny",%swindow="1h"}' % (sel + "," if sel else ""),
                          "value": 1}]}
        for name, sel, want in signals_want
    ] + [
        # At 60m the window holds no record (every counter as an hour ago): below
        # min_samples, no signal at all, nor drift.
        {"expr": '%s{model="tiny"}' % name, "eval_time": "60m", "exp_samples": []}
        for name in SIGNALS + OUTPUT_DRIFT
    ]
    test = {"rule_files": rule_files, "evaluation_interval": "1m",
            # The local tier first at each step, as the global reads what it recorded.
            "group_eval_order": [g["name"] for g in local_groups + groups], "tests": [{
        "interval": "1m", "input_series": series, "promql_expr_test": tests}, {
        # The same counters, but only 30 records of tiny in the window
        # (model_predictions_total): below min_samples (50) every signal is absent, though
        # each has a denominator.
        "interval": "1m", "input_series": [
            dict(x, values="%dx60 %dx60" % ((200, 220) if 'instance="a"' in x["series"]
                                            else (9, 19)))
            if x["series"].startswith('model_predictions_total{model="tiny"') else x
            for x in series],
        "promql_expr_test": [{"expr": '%s{model="tiny"}' % name, "eval_time": "120m",
                              "exp_samples": []} for name in SIGNALS + OUTPUT_DRIFT]}]}
    with open(os.path.join(WORK, "tiny/drift.test.yml"), "w") as f:
        yaml.safe_dump(test, f)
    run = subprocess.run(["/usr/bin/promtool", "test", "rules", "drift.test.yml"],
                         cwd=os.path.join(WORK, "tiny"), capture_output=True, text=True)
    if run.returncode != 0:
        fail("promtool test of the drift and signals rules:\n%s%s" % (run.stdout, run.stderr))
    if TIERS:
        promtool_global_tier(series, tests)
    print("promtool: %d hand-computed drift values and critical values of %d models (the same "
          "feature names; the output's per version) from two replicas over the window, and the "
          "proxy signals %s: SUCCESS"
          % (len(tests), len(PROMTOOL_CASES), ", ".join("%s%s %.6g" % (n, "{%s}" % sel if sel else "", w)
                                   for n, sel, w in signals_want)))


# The labels the local tier sums each exporter counter by (rulegen/promql_tiers.h).
LOCAL_BY = {
    "model_feature_value_bucket": ("model", "feature", "le"),
    "model_predictions_total": ("model",),
    "model_feature_category_total": ("model", "feature", "category"),
    "model_prediction_confidence_sum": ("model", "version"),
    "model_prediction_confidence_count": ("model", "version"),
    "model_prediction_entropy_sum": ("model", "version"),
    "model_prediction_entropy_count": ("model", "version"),
    "model_positive_predictions_total": ("model", "version"),
    "model_feature_missing_total": ("model", "feature"),
    "model_feature_out_of_range_total": ("model", "feature"),
    "model_feature_value_count": ("model", "feature"),
    "model_anomalous_requests_total": ("model",),
    "model_prediction_output_bucket": ("model", "version", "le"),
    "model_prediction_output_class_total": ("model", "version", "class"),
}


def promtool_global_tier(series, tests):
    """The global tier alone, on the local tier's series of two Prometheus servers (label
    prometheus, as federation or remote write leave them): each replica's counters as if
    scraped by a Prometheus of its own, their window increase (from zero after a reset) the
    local series' value. The global tier must sum them over the servers: the same
    hand-computed values at 120m."""
    local = {}
    for x in series:
        name, _, rest = x["series"].partition("{")
        labels = dict(kv.split("=", 1) for kv in rest.rstrip("}").split(","))
        labels = {k: v.strip('"') for k, v in labels.items()}
        before, after = (int(v.split("x")[0]) for v in x["values"].split())
        by = LOCAL_BY[name]
        record = "%s_window:%s:local_increase" % ("_".join(by), name)
        key = (record, tuple((k, labels[k]) for k in by), labels["instance"])
        local[key] = local.get(key, 0) + (after - before if after >= before else after)
    inputs = [{"series": '%s{%s,window="1h",prometheus="%s"}'
                         % (record, ",".join('%s="%s"' % kv for kv in labels), prom),
               "values": "%dx120" % value}
              for (record, labels, prom), value in sorted(local.items())]
    test = {"rule_files": ["drift.rules.yml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": inputs,
                       "promql_expr_test": [t for t in tests if t["eval_time"] == "120m"]}]}
    with open(os.path.join(WORK, "tiny/global.test.yml"), "w") as f:
        yaml.safe_dump(test, f)
    run = subprocess.run(["/usr/bin/promtool", "test", "rules", "global.test.yml"],
                         cwd=os.path.join(WORK, "tiny"), capture_output=True, text=True)
    if run.returncode != 0:
        fail("promtool test of the global tier on two Prometheus servers' local series:\n%s%s"
             % (run.stdout, run.stderr))
    print("promtool: the global tier alone on %d local-tier series of two Prometheus servers: "
          "the same %d values: SUCCESS" % (len(inputs), sum(t["eval_time"] == "120m"
                                                          for t in tests)))


def main():
    rnd = random.Random(11)
    now = time.time()
    # Reference data and its baseline (the exporter's own builder: the baseline is the input).
    os.makedirs(os.path.join(WORK, "single"))
    with open(os.path.join(WORK, "reference.jsonl"), "w") as f:
        for i in range(4000):
            f.write(record(rnd, now - 7200 + i, i, 0.0) + "\n")
    with open(os.path.join(WORK, "single/scoring.yaml"), "w") as f:
        f.write(model_yaml("exporter", [WORK + "/logs/whole.jsonl"]))
    subprocess.run([EXPORTER, "baseline", "--config.dir=" + WORK + "/single", "--model=scoring",
                    "--input=" + WORK + "/reference.jsonl", "--output=" + WORK + "/baseline.json"],
                   check=True, stdout=subprocess.DEVNULL)
    baseline = json.load(open(os.path.join(WORK, "baseline.json")))
    profile = {f["name"]: f for f in baseline["features"]}

    os.makedirs(os.path.join(WORK, "logs"))
    paths = [os.path.join(WORK, "logs/whole.jsonl")] + [
        os.path.join(WORK, "logs/part%d.jsonl" % r) for r in range(REPLICAS)]
    for p in paths:
        open(p, "w").close()
    ports = {"single": free_port()}
    for r in range(REPLICAS):
        name = "replica%d" % r
        os.makedirs(os.path.join(WORK, name))
        with open(os.path.join(WORK, name, "scoring.yaml"), "w") as f:
            f.write(model_yaml("promql", [paths[1 + r]]))
        ports[name] = free_port()

    # The rules, from a replica's config; evaluated every second for the test.
    subprocess.run([RULEGEN, "generate", "--config.dir=" + WORK + "/replica0",
                    "--out=" + WORK + "/generated"], check=True, stdout=subprocess.DEVNULL)
    # Every group of the model's rule file (the promql groups first), so that the alerts'
    # own recording rules are evaluated over the fleet's series too.
    rules = yaml.safe_load(open(os.path.join(WORK, "generated/rules/scoring.rules.yml")))
    # First the baseline's constant series (re-recorded every 2 minutes), the drift group and
    # the proxy signals' group.
    groups = rules["groups"]
    if [g["name"] for g in groups[:3]] != ["modelwatch-scoring-drift-promql-baseline",
                                           "modelwatch-scoring-drift-promql",
                                           "modelwatch-scoring-signals-promql"]:
        fail("the promql groups are not first in the generated rules: %s"
             % [g["name"] for g in groups])
    if TIERS:
        groups = tier_rules(groups)
    for g in groups:
        g["interval"] = "1s"
    with open(os.path.join(WORK, "drift.rules.yml"), "w") as f:
        yaml.safe_dump({"groups": groups}, f)

    # The single exporter is the reference, not a replica: its series are renamed to model
    # "single", so that no rule of model "scoring" sums them in (its model_predictions_total
    # would double the fleet's records).
    single_job = {"job_name": "single", "static_configs": [
        {"targets": ["127.0.0.1:%d" % ports["single"]]}],
        "metric_relabel_configs": [
            {"source_labels": ["model"], "regex": "scoring", "target_label": "model",
             "replacement": "single"}]}

    def replicas_job(replicas):
        return {"job_name": "replicas", "static_configs": [
            {"targets": ["127.0.0.1:%d" % ports["replica%d" % r] for r in replicas]}]}

    for name in ports:
        SERVERS.start_exporter(EXPORTER, name, os.path.join(WORK, name), ports[name])
    if not TIERS:
        prom = SERVERS.start_prometheus("prometheus", ["drift.rules.yml"],
                                [replicas_job(range(REPLICAS)), single_job])
        replica_proms = [prom]
    else:
        # Two local Prometheus servers, each with the local tier's rules, scraping replicas
        # 0 and 1, and 2; the global one federates their local-tier series (honor_labels:
        # they keep their labels, and the locals' external label `prometheus` tells them
        # apart) and evaluates the global tier's rules: the stand-in for a Thanos Ruler or a
        # Mimir ruler, which see every Prometheus' series through their query layer. It
        # federates the replicas' own series too, which the model's other rules read (the
        # baseline entropy EntropyRise compares with); the promql groups of the global tier
        # read none of them (tests/unit/rulegen/promql_tiers_test.cc).
        replica_proms = [
            SERVERS.start_prometheus("local-a", ["local.rules.yml"], [replicas_job([0, 1])],
                             {"prometheus": "local-a"}),
            SERVERS.start_prometheus("local-b", ["local.rules.yml"], [replicas_job([2])],
                             {"prometheus": "local-b"})]
        prom = SERVERS.start_prometheus("global", ["drift.rules.yml"], [single_job, {
            "job_name": "federate", "honor_labels": True, "metrics_path": "/federate",
            "params": {"match[]": ['{__name__=~".+:local_increase"}', '{job="replicas"}']},
            "static_configs": [{"targets": [p.split("//")[1] for p in replica_proms]}]}])

    # Three batches of traffic, the last drifted. After the first a checkpoint is written;
    # replica 1 reads the second and is killed (SIGKILL) at once, before its next checkpoint,
    # then restarted on its state: it reads the second batch again from its checkpoint.
    values = {f: [] for f in FEATURES + ["country"]}
    seen = []  # every record, for the proxy signals' oracle
    written = [0] * REPLICAS
    total = 0
    for batch, (count, shift) in enumerate(((3000, 0.0), (600, 0.0), (3000, 0.7))):
        lines = [record(rnd, now - 600 + (total + i) * 0.05, total + i, shift)
                 for i in range(count)]
        with open(paths[0], "a") as whole:
            whole.write("\n".join(lines) + "\n")
        parts = [[] for _ in range(REPLICAS)]
        for i, line in enumerate(lines):
            parts[(total + i) % REPLICAS].append(line)
            seen.append(json.loads(line))
            feats = seen[-1]["features"]
            for f in FEATURES + ["country"]:
                values[f].append(feats[f])
        for r in range(REPLICAS):
            with open(paths[1 + r], "a") as part:
                part.write("\n".join(parts[r]) + "\n")
            written[r] += len(parts[r])
        total += len(lines)
        if batch == 0:
            wait_read(ports["replica1"], written[1], "replica1")
            time.sleep(6)  # past a checkpoint (every 5 s)
        elif batch == 1:
            wait_read(ports["replica1"], written[1], "replica1")
            SERVERS.kill("replica1")
            SERVERS.start_exporter(EXPORTER, "replica1", os.path.join(WORK, "replica1"),
                                   ports["replica1"])
    wait_read(ports["single"], total, "single")
    for r in range(REPLICAS):
        wait_read(ports["replica%d" % r], written[r], "replica%d" % r)

    # Prometheus scrapes every second and evaluates the rules every second: wait until the
    # recorded counts have every record (f2 is never missing; only the replicas serve the
    # histograms).
    deadline = time.time() + 60
    while time.time() < deadline:
        recorded = query(prom, 'sum(model_feature_le_window:model_feature_value_bucket:increase'
                         '{window="1h",feature="f2",le="+Inf"})')
        if recorded and list(recorded.values())[0] == total:
            break
        time.sleep(0.5)
    else:
        fail("the recorded window count never reached %d: %s" % (total, recorded))
    time.sleep(3)  # the drift rules of that evaluation and the next

    checked = 0
    for method in ("psi", "js"):
        for name in ("model_feature_drift", "model_feature_drift_critical_value"):
            fleet = by_feature(query(prom, '%s{method="%s",window="1h",job=""}' % (name, method)))
            single = by_feature(query(prom, '%s{method="%s",window="1h",job="single"}' % (name, method)))
            for f in FEATURES:
                if f not in fleet or f not in single:
                    fail("%s{%s, %s}: rules %s, single exporter %s" % (name, f, method, fleet.get(f), single.get(f)))
                diff = abs(fleet[f] - single[f])
                print("%-36s %-4s %-3s rules %.12f  single exporter %.12f  |diff| %.1e"
                      % (name, method, f, fleet[f], single[f], diff))
                if diff > 1e-6:
                    fail("%s %s %s differs by %g" % (name, method, f, diff))
                checked += 1
    for f in FEATURES:
        num = profile[f]["numeric"]
        psi, js = numpy_drift(values[f], num["edges"], num["proportions"])
        got_psi = by_feature(query(prom, 'model_feature_drift{method="psi",window="1h",job=""}'))[f]
        got_js = by_feature(query(prom, 'model_feature_drift{method="js",window="1h",job=""}'))[f]
        print("numpy %-3s psi %.12f js %.12f" % (f, psi, js))
        if abs(got_psi - psi) > 1e-9 or abs(got_js - js) > 1e-9:
            fail("%s: rules psi %r js %r, numpy psi %r js %r" % (f, got_psi, got_js, psi, js))
        if psi < 0.01:
            fail("%s: the second half's shift should give PSI above 0.01, got %g" % (f, psi))
    # KS at the bin edges: numpy's on the whole log, at most the single exporter's exact KS
    # (its fine cuts include the edges), and the same critical value.
    fleet_ks = by_feature(query(prom, 'model_feature_drift{method="ks",window="1h",job=""}'))
    single_ks = by_feature(query(prom, 'model_feature_drift{method="ks",window="1h",job="single"}'))
    fleet_ks_cv = by_feature(query(
        prom, 'model_feature_drift_critical_value{method="ks",window="1h",job=""}'))
    single_ks_cv = by_feature(query(
        prom, 'model_feature_drift_critical_value{method="ks",window="1h",job="single"}'))
    for f in FEATURES:
        num = profile[f]["numeric"]
        want = numpy_ks(values[f], num["edges"], num["proportions"])
        if f not in fleet_ks or f not in single_ks or f not in fleet_ks_cv or f not in single_ks_cv:
            fail("ks %s: rules %s (critical %s), single exporter %s (critical %s)"
                 % (f, fleet_ks.get(f), fleet_ks_cv.get(f), single_ks.get(f), single_ks_cv.get(f)))
        print("ks %-3s rules %.12f  numpy at the edges %.12f  single exporter %.12f  "
              "critical: rules %.12f single %.12f"
              % (f, fleet_ks[f], want, single_ks[f], fleet_ks_cv[f], single_ks_cv[f]))
        if abs(fleet_ks[f] - want) > 1e-9:
            fail("ks %s: rules %r, numpy at the edges %r" % (f, fleet_ks[f], want))
        if fleet_ks[f] > single_ks[f] + 1e-9:
            fail("ks %s: rules %r above the single exporter's %r" % (f, fleet_ks[f], single_ks[f]))
        if abs(fleet_ks_cv[f] - single_ks_cv[f]) > 1e-6:
            fail("ks critical value %s: rules %r, single exporter %r"
                 % (f, fleet_ks_cv[f], single_ks_cv[f]))
        if want < 0.01:
            fail("ks %s: the second half's shift should give KS above 0.01, got %g" % (f, want))
        checked += 2
    # The categorical feature: the fleet's from the summed category counters.
    cat = profile["country"]["categorical"]
    want = dict(zip(("psi", "js", "chi2"),
                    numpy_categorical(values["country"], cat["categories"], cat["counts"])))
    for method in ("psi", "js", "chi2"):
        for name in ("model_feature_drift", "model_feature_drift_critical_value"):
            q = '%s{feature="country",method="%s",window="1h",job="%%s"}' % (name, method)
            fleet = list(query(prom, q % "").values())
            single = list(query(prom, q % "single").values())
            if len(fleet) != 1 or len(single) != 1:
                fail("%s{country, %s}: rules %s, single exporter %s" % (name, method, fleet, single))
            diff = abs(fleet[0] - single[0])
            print("%-36s %-4s country rules %.12f  single exporter %.12f  |diff| %.1e"
                  % (name, method, fleet[0], single[0], diff))
            if diff > 1e-6:
                fail("%s %s country differs by %g" % (name, method, diff))
            if name == "model_feature_drift":
                print("numpy/scipy %-4s country %.12f" % (method, want[method]))
                if abs(fleet[0] - want[method]) > 1e-9 * max(1.0, want[method]):
                    fail("country %s: rules %r, numpy/scipy %r" % (method, fleet[0], want[method]))
            checked += 1
    if want["psi"] < 0.01:
        fail("country: the second half's shift should give PSI above 0.01, got %g" % want["psi"])
    checked += check_output(prom, seen, baseline)
    own = replica_count(replica_proms, 'count({__name__=~"model_feature_drift|'
                        'model_feature_drift_critical_value|model_prediction_drift|'
                        'model_prediction_drift_critical_value",job="replicas",'
                        'method=~"psi|js|ks|chi2"})')
    if own:
        fail("replicas serve their own PSI/JS/KS/chi2: %s" % own)
    wasserstein = replica_count(replica_proms,
                                'count(model_prediction_drift{job="replicas",method="wasserstein",window="1h"})')
    if wasserstein != REPLICAS * 2:
        fail("replicas should serve the output's Wasserstein per replica and version: %s"
             % wasserstein)
    categories = replica_count(replica_proms, 'count(model_feature_category_total{job="replicas"})')
    if categories != REPLICAS * (len(cat["categories"]) + 1):
        fail("each replica should serve one counter per baseline category and __other__: %s"
             % categories)
    wasserstein = replica_count(replica_proms,
                                'count(model_feature_drift{job="replicas",method="wasserstein",'
                                'window="1h"})')
    if wasserstein != REPLICAS * len(FEATURES):
        fail("replicas should serve Wasserstein per replica: %s" % wasserstein)
    checked += check_signals(prom, replica_proms, seen, profile, baseline)
    checked += check_degradation(prom, replica_proms)
    print("OK: %d fleet values equal the single exporter's; PSI, JS, KS and chi2 equal "
          "numpy's and scipy's; replica1 restarted mid-stream%s"
          % (checked, "; two tiers: two local Prometheus servers federated into a global one"
             if TIERS else ""))
    promtool_case()


try:
    main()
finally:
    SERVERS.stop_all()
