#!/usr/bin/python3
"""Compares modelwatch's drift statistics with numpy/scipy on generated data.

Usage: drift_oracle.py BUILD_DIR [--seed N]

Generates reference and current prediction logs with numpy (shifted normal, lognormal,
identical, discrete with ties, categorical, binary scores), builds the baseline with the real
baseline command, replays the current log through the drift tracker (drift_oracle replay)
and checks every exported value against the contract:
  bin edges        numpy.quantile (linear) at k/bins, duplicates merged      rel 1e-9
  psi, js          the formula on the baseline's bins, eps 1e-4               1e-9
  ks               scipy.stats.ks_2samp statistic                              0.01
  wasserstein      scipy.stats.wasserstein_distance / std(ref)    0.02*w + 0.005
  chi2             scipy.stats.chi2_contingency statistic                     rel 1e-9
  ratios, means, positive-rate z                     exact formulas            1e-9
Identical distributions must raise no alarm (psi < warn). Exits 1 on any mismatch.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

EPS = 1e-4
BINS = 10
T_END = 1_790_000_000 + 150.0  # newest event time: 150 s into a 5-minute sub-window
DAY = 86400.0

failures = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def close(a, b, tol, what):
    ok = abs(a - b) <= tol * max(1.0, abs(b))
    check(ok, f"{what}: got {a!r}, want {b!r} (tol {tol})")


CONFIG = """\
model: oracle
owner: {{team: oracle}}
tier: 3
task: binary_classification
threshold: 0.5
source: {{paths: ["unused/*.jsonl"]}}
baseline: baseline.json
features:
{features}
drift:
  windows: [1h, 24h]
  method: psi
  warn: 0.1
  critical: 0.2
  min_samples: 500
  bins: {bins}
  lateness: 5m
  sub_windows: 12
degradation:
  weights: {{drift: 0.3, confidence: 0.2, entropy: 0.2, anomaly_rate: 0.2, errors: 0.1}}
"""


def make_data(rng, n_ref, n_cur):
    """Returns dicts name -> (ref values, cur values, type)."""
    f = {}
    f["x_shift"] = (rng.normal(0, 1, n_ref), rng.normal(0.5, 1.2, n_cur), "numeric")
    f["x_lognormal"] = (rng.lognormal(0, 1, n_ref), rng.lognormal(0.3, 1.1, n_cur), "numeric")
    f["x_identical"] = (rng.normal(10, 3, n_ref), rng.normal(10, 3, n_cur), "numeric")
    f["x_ties"] = (rng.poisson(3, n_ref).astype(float), rng.poisson(3.6, n_cur).astype(float),
                   "numeric")
    f["x_ties_identical"] = (rng.poisson(2, n_ref).astype(float),
                             rng.poisson(2, n_cur).astype(float), "numeric")
    # A discrete reference and a current window between its values (issue: KS too low when
    # only the right-closed CDF is known at each cut).
    f["x_ties_between"] = (rng.integers(0, 10, n_ref).astype(float),
                           rng.integers(0, 10, n_cur).astype(float) - 0.3, "numeric")
    zero_inflated = lambda n: np.where(rng.random(n) < 0.4, 0.0, rng.exponential(5, n))
    f["x_zero_inflated"] = (zero_inflated(n_ref), zero_inflated(n_cur) * 1.3, "numeric")
    cats = np.array(["a", "b", "c", "d", "e"])
    f["c_shift"] = (rng.choice(cats, n_ref, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
                    rng.choice(np.append(cats, "zz"), n_cur, p=[0.3, 0.3, 0.2, 0.1, 0.05, 0.05]),
                    "categorical")
    f["c_identical"] = (rng.choice(cats, n_ref, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
                        rng.choice(cats, n_cur, p=[0.4, 0.3, 0.15, 0.1, 0.05]), "categorical")
    return f


def missing_mask(rng, n, rate):
    return rng.random(n) < rate


def write_log(path, ts, features, masks, scores, statuses):
    names = list(features)
    with open(path, "w") as out:
        for i in range(len(ts)):
            feats = {}
            for name in names:
                if masks[name][i]:
                    feats[name] = None
                    continue
                v = features[name][i]
                feats[name] = v.item() if hasattr(v, "item") else v
            rec = {"ts": float(ts[i]), "model": "oracle", "model_version": "v1",
                   "status": statuses[i], "features": feats}
            if statuses[i] == "ok":
                rec["score"] = float(scores[i])
            out.write(json.dumps(rec) + "\n")


def bins_of(edges, x):
    return np.searchsorted(np.asarray(edges), x, side="left")


def proportions(edges, x):
    return np.bincount(bins_of(edges, x), minlength=len(edges) + 1) / len(x)


def psi(p, q):
    p = np.where(p > 0, p, EPS)
    q = np.where(q > 0, q, EPS)
    return float(np.sum((p - q) * np.log(p / q)))


def js(p, q):
    p = np.where(p > 0, p, EPS)
    q = np.where(q > 0, q, EPS)
    m = 0.5 * (p + q)
    return float(np.sqrt(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))))


def chi2(ref_counts, cur_counts):
    table = np.array([ref_counts, cur_counts], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0
    return float(stats.chi2_contingency(table)[0])


def main():
    build = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 7
    tool = os.path.join(build, "tests", "oracle", "drift_oracle")
    rng = np.random.default_rng(seed)
    n_ref, n_cur = 20000, 6000
    data = make_data(rng, n_ref, n_cur)
    names = list(data)
    ref_masks = {n: missing_mask(rng, n_ref, 0.02) for n in names}
    cur_masks = {n: missing_mask(rng, n_cur, 0.05 if n == "x_shift" else 0.0) for n in names}
    ref_scores = rng.beta(2, 5, n_ref)
    cur_scores = rng.beta(2.6, 4.5, n_cur)
    ref_status = np.array(["ok"] * n_ref, dtype=object)
    cur_status = np.where(rng.random(n_cur) < 0.02, "timeout", "ok").astype(object)
    # Reference: five days. Current: the last 50 minutes before T_END, in time order so the
    # window end moves with the log; T_END itself is the last record's time.
    ref_ts = T_END - 30 * DAY + np.sort(rng.uniform(0, 5 * DAY, n_ref))
    cur_ts = np.sort(rng.uniform(T_END - 3000, T_END, n_cur))
    cur_ts[-1] = T_END

    with tempfile.TemporaryDirectory() as tmp:
        feature_yaml = "".join(f"  - {{name: {n}, type: {data[n][2]}}}\n" for n in names)
        feature_yaml += "  - {name: secret, type: categorical, pii: true}\n"
        with open(os.path.join(tmp, "oracle.yaml"), "w") as f:
            f.write(CONFIG.format(features=feature_yaml, bins=BINS))
        ref_path = os.path.join(tmp, "ref.jsonl")
        cur_path = os.path.join(tmp, "cur.jsonl")
        write_log(ref_path, ref_ts, {n: data[n][0] for n in names}, ref_masks, ref_scores,
                  ref_status)
        write_log(cur_path, cur_ts, {n: data[n][1] for n in names}, cur_masks, cur_scores,
                  cur_status)
        # Out-of-order records after the newest one: inside the lateness (ignored by the 1h
        # window, not late) and beyond it (late), relative to the 1h window's start.
        width = 300.0
        start_1h = (math.floor(T_END / width) - 11) * width
        old = [start_1h - 10, start_1h - 299, start_1h - 301, start_1h - 5000, T_END - 30 * 3600]
        late_1h = sum(1 for t in old if t < start_1h - 300)
        with open(cur_path, "a") as out:
            for t in old:
                out.write(json.dumps({"ts": t, "model_version": "v1", "score": 0.9,
                                      "features": {"x_shift": 1e9}}) + "\n")
        baseline_path = os.path.join(tmp, "baseline.json")
        subprocess.run([tool, "baseline", f"--config.dir={tmp}", "--model=oracle",
                        f"--input={ref_path}", f"--output={baseline_path}"], check=True)
        with open(baseline_path) as f:
            baseline = json.load(f)
        results = {}
        for checkpoint in (False, True):
            cmd = [tool, "replay", f"--config.dir={tmp}", "--model=oracle",
                   f"--baseline={baseline_path}", f"--input={cur_path}"]
            if checkpoint:
                cmd.append("--checkpoint")
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            samples = {}
            for line in out.splitlines():
                s = json.loads(line)
                samples[(s["name"], tuple(sorted(s["labels"].items())))] = s["value"]
            results[checkpoint] = samples
        check(results[False] == results[True], "checkpoint round trip changes the samples")
        samples = results[False]

    def get(name, **labels):
        labels = {"model": "oracle", **labels}
        key = (name, tuple(sorted(labels.items())))
        if key not in samples:
            check(False, f"missing sample {name}{labels}")
            return float("nan")
        return samples[key]

    # --- baseline file -----------------------------------------------------------------
    feats = {f["name"]: f for f in baseline["features"]}
    check("secret" not in feats, "PII feature in the baseline")
    check(len(baseline["id"]) == 16, "baseline id")
    for name in names:
        ref, _, kind = data[name]
        ref_present = ref[~ref_masks[name]]
        close(feats[name]["missing_rate"], float(ref_masks[name].mean()), 1e-12,
              f"{name} missing_rate")
        if kind == "numeric":
            num = feats[name]["numeric"]
            want = np.unique(np.quantile(ref_present, np.arange(1, BINS) / BINS))
            check(len(num["edges"]) == len(want), f"{name} edge count {len(num['edges'])}")
            for a, b in zip(num["edges"], want):
                close(a, float(b), 1e-9, f"{name} edge")
            close(num["min"], float(ref_present.min()), 0, f"{name} min")
            close(num["max"], float(ref_present.max()), 0, f"{name} max")
            close(num["mean"], float(ref_present.mean()), 1e-9, f"{name} mean")
            close(num["std"], float(ref_present.std()), 1e-9, f"{name} std")
            for a, b in zip(num["proportions"], proportions(num["edges"], ref_present)):
                close(a, float(b), 1e-12, f"{name} proportion")
        else:
            cat = feats[name]["categorical"]
            values, counts = np.unique(ref_present, return_counts=True)
            order = sorted(zip(values, counts), key=lambda vc: (-vc[1], vc[0]))
            check(cat["categories"] == [v for v, _ in order][:20], f"{name} categories")

    # --- drift per feature (1h window) -----------------------------------------------------
    w = "1h"
    n_window = n_cur
    close(get("model_window_samples", window=w), n_window, 0, "window samples")
    close(get("model_late_records_total", window=w), late_1h, 0, "late records")
    for name in names:
        ref, cur, kind = data[name]
        ref_present = ref[~ref_masks[name]]
        cur_present = cur[~cur_masks[name]]
        close(get("model_feature_missing_ratio", feature=name, window=w),
              float(cur_masks[name].mean()), 1e-12, f"{name} missing ratio")
        lab = dict(feature=name, window=w)
        if kind == "numeric":
            edges = feats[name]["numeric"]["edges"]
            p = proportions(edges, cur_present)
            q = proportions(edges, ref_present)
            close(get("model_feature_drift", method="psi", **lab), psi(p, q), 1e-9, f"{name} psi")
            close(get("model_feature_drift", method="js", **lab), js(p, q), 1e-9, f"{name} js")
            if not (p == 0).any() and not (q == 0).any():
                close(get("model_feature_drift", method="js", **lab),
                      float(jensenshannon(p, q)), 1e-9, f"{name} js (scipy)")
            ks = stats.ks_2samp(ref_present, cur_present).statistic
            got_ks = get("model_feature_drift", method="ks", **lab)
            check(abs(got_ks - ks) <= 0.01, f"{name} ks: got {got_ks}, scipy {ks}")
            wd = stats.wasserstein_distance(ref_present, cur_present) / np.std(ref_present)
            got_w = get("model_feature_drift", method="wasserstein", **lab)
            check(abs(got_w - wd) <= 0.02 * wd + 0.005,
                  f"{name} wasserstein: got {got_w}, scipy {wd}")
            if "ties" in name:  # every distinct reference value is a fine cut: exact
                close(got_w, wd, 1e-9, f"{name} wasserstein (discrete, exact)")
                close(got_ks, ks, 1e-9, f"{name} ks (discrete, exact)")
            print(f"{name:18s} psi={psi(p, q):.5f} ks={got_ks:.5f}/{ks:.5f} "
                  f"w={got_w:.5f}/{wd:.5f}")
            lo, hi = ref_present.min(), ref_present.max()
            oor = float(((cur_present < lo) | (cur_present > hi)).mean())
            close(get("model_feature_out_of_range_ratio", **lab), oor, 1e-12, f"{name} oor")
            check(("model_feature_drift", tuple(sorted({"model": "oracle", "method": "chi2",
                                                        **lab}.items()))) not in samples,
                  f"{name}: chi2 exported for a numeric feature")
        else:
            cats = feats[name]["categorical"]["categories"]
            def cat_counts(x):
                idx = {c: i for i, c in enumerate(cats)}
                counts = np.zeros(len(cats) + 1)
                for v in x:
                    counts[idx.get(v, len(cats))] += 1
                return counts
            pc, qc = cat_counts(cur_present), cat_counts(ref_present)
            p, q = pc / pc.sum(), qc / qc.sum()
            close(get("model_feature_drift", method="psi", **lab), psi(p, q), 1e-9, f"{name} psi")
            close(get("model_feature_drift", method="js", **lab), js(p, q), 1e-9, f"{name} js")
            close(get("model_feature_drift", method="chi2", **lab), chi2(qc, pc), 1e-9,
                  f"{name} chi2")
            if "ties" in name:  # every distinct reference value is a fine cut: exact
                close(got_w, wd, 1e-9, f"{name} wasserstein (discrete, exact)")
                close(got_ks, ks, 1e-9, f"{name} ks (discrete, exact)")
            print(f"{name:18s} psi={psi(p, q):.5f} chi2={chi2(qc, pc):.3f}")
        if "identical" in name:
            got = get("model_feature_drift", method="psi", **lab)
            check(got < 0.1, f"{name}: false alarm, psi {got} on identical distributions")
            if kind == "numeric":
                check(get("model_feature_drift", method="ks", **lab) < 0.05,
                      f"{name}: ks false alarm")
    check(all(k[1] != s for k in samples for s in [("feature", "secret")]) and
          not any(dict(k[1]).get("feature") == "secret" for k in samples),
          "PII feature exported")

    # Anomalous requests: any numeric feature outside its training range.
    anomalous = np.zeros(n_cur, dtype=bool)
    for name in names:
        ref, cur, kind = data[name]
        if kind != "numeric":
            continue
        rp = ref[~ref_masks[name]]
        out = (cur < rp.min()) | (cur > rp.max())
        anomalous |= out & ~cur_masks[name]
    close(get("model_anomalous_requests_ratio", window=w), float(anomalous.mean()), 1e-12,
          "anomalous ratio")

    # --- prediction side ----------------------------------------------------------------
    ok = cur_status == "ok"
    s = cur_scores[ok]
    vl = dict(version="v1", window=w)
    conf = np.maximum(s, 1 - s)
    ent = -(s * np.log(s) + (1 - s) * np.log(1 - s))
    close(get("model_prediction_confidence_mean", **vl), float(conf.mean()), 1e-9, "confidence")
    close(get("model_prediction_entropy_mean", **vl), float(ent.mean()), 1e-9, "entropy")
    rate = float((s >= 0.5).mean())
    close(get("model_positive_rate", **vl), rate, 1e-12, "positive rate")
    ref_rate = float((ref_scores >= 0.5).mean())
    days = np.floor(ref_ts / DAY)
    daily = [float((ref_scores[days == d] >= 0.5).mean()) for d in np.unique(days)]
    sigma = float(np.std(daily))
    close(baseline["prediction"]["positive_rate_daily_std"], sigma, 1e-9, "daily std")
    # Overdispersion-aware z: binomial variance of both rates plus a between-period spread τ,
    # at least a Cohen's-h floor of 0.1 (docs/statistics.md, "Proxy signals").
    m_eff = n_ref * baseline["reference"]["distinct_records"] / baseline["reference"]["records"]
    n_out = len(cur_scores[cur_status == "ok"])
    pooled = (rate * n_out + ref_rate * m_eff) / (n_out + m_eff)
    def batch_between(values, per_record_std):
        # Reference in time order cut into 20 batches (record i of N in batch i*20//N): the
        # ddof-1 variance of the batch means beyond per_record_std²/b.
        order = np.argsort(ref_ts, kind="stable")
        batch = np.arange(len(values)) * 20 // len(values)
        means = np.array([values[order][batch == b].mean() for b in range(20)])
        return math.sqrt(max(0.0, means.var(ddof=1) - per_record_std**2 / (len(values) / 20)))

    positive_ref = (ref_scores >= 0.5).astype(float)
    rate_between = batch_between(positive_ref, math.sqrt(ref_rate * (1 - ref_rate)))
    close(baseline["prediction"]["positive_rate_batch_between_std"], rate_between, 1e-9,
          "positive-rate batch between std")
    tau = max(sigma, rate_between, 0.1 * math.sqrt(ref_rate * (1 - ref_rate)))
    z_want = (rate - ref_rate) / math.sqrt(pooled * (1 - pooled) * (1 / n_out + 1 / m_eff) + tau**2)
    close(get("model_positive_rate_zscore", **vl), z_want, 1e-9, "z-score")
    edges = baseline["prediction"]["numeric"]["edges"]
    p, q = proportions(edges, s), proportions(edges, ref_scores)
    close(get("model_prediction_drift", method="psi", **vl), psi(p, q), 1e-9, "score psi")
    ks = stats.ks_2samp(ref_scores, s).statistic
    check(abs(get("model_prediction_drift", method="ks", **vl) - ks) <= 0.01, "score ks")
    close(get("model_estimated_performance", metric="accuracy", **vl),
          float(np.where(s >= 0.5, s, 1 - s).mean()), 1e-9, "estimated accuracy")
    # CBPE intervals: each record is right with probability c (Bernoulli), 95 % normal interval.
    c = np.where(s >= 0.5, s, 1 - s)
    predicted = s >= 0.5
    tp, fn = s[predicted].sum(), s[~predicted].sum()
    var_tp, var_fn = (s[predicted] * (1 - s[predicted])).sum(), (s[~predicted] * (1 - s[~predicted])).sum()
    want = {
        "accuracy": (c.mean(), math.sqrt((c * (1 - c)).sum()) / len(c)),
        "precision": (tp / predicted.sum(), math.sqrt(var_tp) / predicted.sum()),
        "recall": (tp / (tp + fn), math.sqrt(fn**2 * var_tp + tp**2 * var_fn) / (tp + fn) ** 2),
    }
    z975 = stats.norm.ppf(0.975)
    for metric, (value, sd) in want.items():
        close(get("model_estimated_performance", metric=metric, **vl), float(value), 1e-9,
              "estimated " + metric)
        close(get("model_estimated_performance_lower", metric=metric, **vl),
              float(min(1, max(0, value - z975 * sd))), 1e-9, "estimated %s lower" % metric)
        close(get("model_estimated_performance_upper", metric=metric, **vl),
              float(min(1, max(0, value + z975 * sd))), 1e-9, "estimated %s upper" % metric)
    # CBPE AUC without binning: expected concordant pairs over expected pos × neg.
    order = np.argsort(s)
    ss, pos = s[order], s[order]
    neg = 1 - ss
    below = np.concatenate([[0], np.cumsum(neg)[:-1]])
    auc = float(np.sum(pos * below) / (pos.sum() * neg.sum()))
    got_auc = get("model_estimated_performance", metric="auc", **vl)
    check(abs(got_auc - auc) <= 0.01, f"estimated auc: got {got_auc}, want {auc}")

    # --- degradation --------------------------------------------------------------------
    score = get("model_degradation_score", version="v1")
    sig = [get("model_degradation_signal", version="v1", signal=k)
           for k in ["drift", "confidence", "entropy", "anomaly_rate", "errors"]]
    close(sum(sig), score, 1e-9, "signals sum to the score")
    check(0 <= score <= 100, "score range")
    err = float((cur_status != "ok").mean())
    close(sig[4], 0.1 * min(1.0, err / 0.1) * 100, 1e-9, "error signal")
    # Anomalies beyond the no-drift expectation Σ 2/(m+1) and its binomial noise at n.
    z999 = stats.norm.ppf(1 - 0.001)
    distinct = baseline["reference"]["distinct_records"] / baseline["reference"]["records"]
    p0 = min(1.0, sum(2 / (f["numeric"]["count"] * distinct + 1)
                      for f in baseline["features"] if f["type"] == "numeric"))
    excess = float(anomalous.mean()) - p0 - z999 * math.sqrt(p0 * (1 - p0) / n_cur)
    close(sig[3], 0.2 * min(1.0, max(0.0, excess) / 0.1) * 100, 1e-9, "anomaly signal")
    # Confidence drop / entropy rise beyond z·σ, σ = sqrt(daily² + std²(1/n + 1/m)), in units
    # of half a baseline standard deviation.
    for k, (key, values, direction) in enumerate([("confidence", conf, -1), ("entropy", ent, 1)]):
        mom = baseline["prediction"][key]
        ref_c = np.maximum(ref_scores, 1 - ref_scores)
        ref_values = ref_c if key == "confidence" else -(
            ref_scores * np.log(ref_scores) + (1 - ref_scores) * np.log(1 - ref_scores))
        between = batch_between(ref_values, float(ref_values.std()))
        close(mom["batch_between_std"], between, 1e-9, key + " batch between std")
        daily_mom = max(mom["daily_std"] or 0.0, between)
        m_mom = mom["count"] * distinct
        noise = z999 * math.sqrt(daily_mom**2 + mom["std"]**2 * (1 / len(values) + 1 / m_mom))
        effect = max(0.0, direction * (float(values.mean()) - mom["mean"]) - noise) / max(
            mom["std"], 0.01)
        close(sig[1 + k], 0.2 * min(1.0, effect / 0.5) * 100, 1e-9, key + " signal")

    print(f"{checks} checks, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
