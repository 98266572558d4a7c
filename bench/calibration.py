#!/usr/bin/python3
"""Drift-alert calibration benchmark: false alarms on clean windows and power on shifts.

Usage: bench/calibration.py --build BUILD_DIR [--full] [--reps N] [--seed S] [--markdown]
                             [--sizes N,N,...] [--widths F,F,...]

Each trial draws a reference (m records) and a current window (n records) with numpy, builds the
baseline with the real baseline builder and replays the window through the real DriftTracker
(BUILD_DIR/tests/oracle/drift_oracle: the exporter's `baseline` command and DriftTracker), then
evaluates, per window, the alert conditions the generated rules use:

  modelwatch  FeatureDrift/PredictionDrift = value >= warn (ticket) / critical (page)
              AND value > *_critical_value   (drift.method psi, warn 0.1, critical 0.2),
              or FeatureMissing (below)
  missing     FeatureMissing = missing-ratio shift >= 0.1 (ticket) / 0.5 (page)
              AND shift > its critical value (every trial logs 2 % missing values; the
              "missing" shift 20 % in the window)
  guard(M)    value > *_critical_value alone, for every method M (the significance test;
              "guard missing": the missing-ratio shift's)
and, side by side on the same data, fixed thresholds as other tools default to:
  evidently   numeric: KS p < 0.05 (scipy ks_2samp on the raw values) when n <= 1000, else
              Wasserstein/std >= 0.1; categorical: chi2 p < 0.05 when n <= 1000, else JS >= 0.1
  psi 0.1     PSI >= 0.1 (the usual "moderate" line), psi 0.2 ("significant")

A window "alarms" when any of its features (or the model output) meets the condition. Clean
trials draw reference and window from one distribution: every alarm is false. Shift trials move
the window's features: every alarm is a detection. Runs at drift.alpha 0.001 (the default) and
0.05 (so that a false-alarm *rate* is measurable with few trials: it must stay <= 0.05).

The default grid takes about 12 minutes on two busy cores (6 repetitions); --full adds n = 100 000 and 1 000 000 and
50 features (hours); --sizes and --widths run a part of the grid (e.g. only the large windows).
Prints tables (--markdown: for docs/statistics.md).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import stats

SKDATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data"
T_END = 1_790_000_000 + 3000.0
M_REF = 20000

CONFIG = """\
model: calib
owner: {{team: bench}}
tier: 3
task: binary_classification
source: {{paths: ["unused/*.jsonl"]}}
baseline: baseline.json
features:
{features}
drift: {{windows: [1h], method: psi, warn: 0.1, critical: 0.2, min_samples: 50, alpha: {alpha},
        lateness: 1h}}
"""


def load_real(name):
    """Returns the feature matrix of a data set scikit-learn ships (Debian package)."""
    if name == "breast_cancer":
        rows = open(os.path.join(SKDATA, "breast_cancer.csv")).read().splitlines()[1:]
        return np.array([[float(x) for x in r.split(",")[:-1]] for r in rows])
    if name == "wine":
        rows = open(os.path.join(SKDATA, "wine_data.csv")).read().splitlines()[1:]
        return np.array([[float(x) for x in r.split(",")[1:]] for r in rows])
    if name == "diabetes":
        with gzip.open(os.path.join(SKDATA, "diabetes_data_raw.csv.gz"), "rt") as f:
            return np.loadtxt(f)
    if name == "digits":
        with gzip.open(os.path.join(SKDATA, "digits.csv.gz"), "rt") as f:
            data = np.loadtxt(f, delimiter=",")[:, :-1]
        return data[:, data.std(axis=0) > 0]  # constant pixels carry no distribution
    raise ValueError(name)


REAL = {}


def draw(kind, rng, n, f, shift=None):
    """Returns (list of columns, type) for f features of `kind`; `shift` modifies the draw."""
    cols = []
    ftype = "numeric"
    for j in range(f):
        if kind == "normal":
            x = rng.normal(0, 1, n)
        elif kind == "lognormal":
            x = rng.lognormal(0, 1, n)
        elif kind == "heavy_tailed":
            x = rng.standard_t(2, n)
        elif kind == "discrete":
            x = rng.poisson(4, n).astype(float)
        elif kind == "binary":
            x = (rng.random(n) < 0.1).astype(float)
        elif kind == "zipf":
            ftype = "categorical"
            k = np.arange(1, 31)
            p = 1.0 / k ** 1.2
            if shift == "mix":
                p = p * np.where(k <= 3, 0.8, 1.2)  # top categories lose share
            x = rng.choice(30, size=n, p=p / p.sum())
        else:
            if kind not in REAL:
                REAL[kind] = load_real(kind)
            data = REAL[kind]
            x = data[rng.integers(0, len(data), n), j % data.shape[1]]
        if ftype == "numeric" and shift is not None and shift != "missing":
            if shift.startswith("mean"):
                x = x + float(shift[4:]) * REAL_STD.get(kind, 1.0)
            elif shift == "scale":
                x = x * 1.5
        cols.append(x)
    return cols, ftype


REAL_STD = {"normal": 1.0}


def write_log(path, cols, ftype, ts, scores, missing_rate, rng):
    n = len(ts)
    names = ["f%d" % j for j in range(len(cols))]
    if ftype == "categorical":
        vals = [np.char.add('"c', np.char.add(c.astype(str), '"')) for c in cols]
    else:
        vals = [np.char.mod("%.10g", c) for c in cols]
    if missing_rate > 0:
        for v in vals:
            v[rng.random(n) < missing_rate] = "null"
    with open(path, "w") as out:
        for i in range(n):
            feats = ",".join('"%s":%s' % (names[j], vals[j][i]) for j in range(len(cols)))
            out.write('{"ts":%.3f,"model_version":"v1","score":%.6f,"features":{%s}}\n'
                      % (ts[i], scores[i], feats))


def trial(tool, tmp, rng, kind, n, f, shift):
    """Runs one reference/window pair; returns {condition: alarmed} for each alpha."""
    ref_cols, ftype = draw(kind, rng, M_REF, f)
    cur_cols, _ = draw(kind, rng, n, f, shift)
    ref_ts = T_END - 10 * 86400 + np.sort(rng.uniform(0, 5 * 86400, M_REF))
    cur_ts = np.sort(rng.uniform(T_END - 3000, T_END, n))
    write_log(os.path.join(tmp, "ref.jsonl"), ref_cols, ftype, ref_ts, rng.random(M_REF), 0.02,
              rng)
    write_log(os.path.join(tmp, "cur.jsonl"), cur_cols, ftype, cur_ts, rng.random(n),
              0.2 if shift == "missing" else 0.02, rng)
    features = "".join("  - {name: f%d, type: %s}\n" % (j, ftype) for j in range(f))
    result = {}
    for alpha in (0.001, 0.05):
        with open(os.path.join(tmp, "calib.yaml"), "w") as out:
            out.write(CONFIG.format(features=features, alpha=alpha))
        if alpha == 0.001:
            subprocess.run([tool, "baseline", "--config.dir=" + tmp, "--model=calib",
                            "--input=" + os.path.join(tmp, "ref.jsonl"),
                            "--output=" + os.path.join(tmp, "baseline.json")],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = subprocess.run([tool, "replay", "--config.dir=" + tmp, "--model=calib",
                              "--baseline=" + os.path.join(tmp, "baseline.json"),
                              "--input=" + os.path.join(tmp, "cur.jsonl")],
                             check=True, capture_output=True, text=True).stdout
        value, critical = {}, {}
        missing, missing_critical = {}, {}
        for line in out.splitlines():
            s = json.loads(line)
            lab = s["labels"]
            who = lab.get("feature", "__output__")
            if s["name"] == "model_feature_missing_ratio_shift":
                missing[who] = s["value"]
            elif s["name"] == "model_feature_missing_ratio_shift_critical_value":
                missing_critical[who] = s["value"]
            elif s["name"] in ("model_feature_drift", "model_prediction_drift"):
                value[(who, lab["method"])] = s["value"]
            elif s["name"] in ("model_feature_drift_critical_value",
                               "model_prediction_drift_critical_value"):
                critical[(who, lab["method"])] = s["value"]
        r = {}

        def alarm(cond):
            return any(cond(k, v) for k, v in value.items())

        def guarded(k, v, level):
            return k[1] == "psi" and v >= level and k in critical and v > critical[k]

        # FeatureMissing (missing.warn 0.1, missing.critical 0.5, beyond its noise floor).
        def missing_alarm(level):
            return any(v >= level and v > missing_critical.get(k, float("inf"))
                       for k, v in missing.items())

        r["missing ticket"] = missing_alarm(0.1)
        r["missing page"] = missing_alarm(0.5)
        r["guard missing"] = any(v > missing_critical.get(k, float("inf"))
                                 for k, v in missing.items())
        # Every drift-style alert of the model: FeatureDrift/PredictionDrift or FeatureMissing.
        r["modelwatch ticket"] = alarm(lambda k, v: guarded(k, v, 0.1)) or r["missing ticket"]
        r["modelwatch page"] = alarm(lambda k, v: guarded(k, v, 0.2)) or r["missing page"]
        for method in ("psi", "js", "ks", "wasserstein", "chi2"):
            if any(k[1] == method for k in value):
                r["guard " + method] = alarm(
                    lambda k, v, m=method: k[1] == m and k in critical and v > critical[k])
        if alpha == 0.001:
            r["psi >= 0.1"] = alarm(lambda k, v: k[1] == "psi" and v >= 0.1)
            r["psi >= 0.2"] = alarm(lambda k, v: k[1] == "psi" and v >= 0.2)
            ev = False
            for j in range(f):
                name = "f%d" % j
                if n <= 1000:
                    if ftype == "numeric":
                        ev |= stats.ks_2samp(ref_cols[j], cur_cols[j]).pvalue < 0.05
                    else:
                        chi2 = value.get((name, "chi2"), 0.0)
                        dof = max(1, len(np.unique(ref_cols[j])) - 1)
                        ev |= stats.chi2.sf(chi2, dof) < 0.05
                else:
                    key = (name, "wasserstein" if ftype == "numeric" else "js")
                    ev |= value.get(key, 0.0) >= 0.1
            r["evidently"] = bool(ev)
        result[alpha] = r
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--sizes", help="comma-separated window sizes n (overrides the grid's)")
    ap.add_argument("--widths", help="comma-separated feature counts (overrides the grid's)")
    ap.add_argument("--kinds", help="comma-separated distributions of the clean trials "
                    "(default: all ten)")
    args = ap.parse_args()
    tool = os.path.join(os.path.abspath(args.build), "tests", "oracle", "drift_oracle")
    if not os.access(tool, os.X_OK):
        sys.exit("drift_oracle not built under " + args.build)
    for kind in ("breast_cancer", "wine", "diabetes", "digits"):
        REAL[kind] = load_real(kind)
        REAL_STD[kind] = 1.0
    sizes = [100, 1000, 10000] + ([100000, 1000000] if args.full else [])
    widths = [1, 10] + ([50] if args.full else [])
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    if args.widths:
        widths = [int(x) for x in args.widths.split(",")]
    reps = args.reps or (20 if args.full else 6)
    kinds = ["normal", "lognormal", "heavy_tailed", "discrete", "binary", "zipf",
             "breast_cancer", "wine", "diabetes", "digits"]
    if args.kinds:
        kinds = args.kinds.split(",")
    rng = np.random.default_rng(args.seed)
    started = time.time()
    clean = {}   # (alpha, condition) -> [alarms, windows]
    by_n = {}    # (alpha, condition, n) -> [alarms, windows]
    by_kind = {}  # (alpha, condition, kind) -> [alarms, windows]
    power = {}   # (shift, n, condition) -> [alarms, windows]
    with tempfile.TemporaryDirectory(prefix="mw-calib-") as tmp:
        for kind in kinds:
            for n in sizes:
                for f in widths:
                    # The largest windows cost the most: fewer repetitions there.
                    r_here = reps if n * f <= 200000 else max(1, reps // 10)
                    for _ in range(r_here):
                        res = trial(tool, tmp, rng, kind, n, f, None)
                        for alpha, conds in res.items():
                            for c, hit in conds.items():
                                for d, key in ((clean, (alpha, c)), (by_n, (alpha, c, n)),
                                               (by_kind, (alpha, c, kind))):
                                    d.setdefault(key, [0, 0])
                                    d[key][0] += hit
                                    d[key][1] += 1
            print("clean %-14s done at %.0f s" % (kind, time.time() - started), file=sys.stderr)
        shifts = [("normal", "mean0.05"), ("normal", "mean0.1"), ("normal", "mean0.25"),
                  ("normal", "mean0.5"), ("normal", "mean1"), ("normal", "scale"),
                  ("zipf", "mix"), ("normal", "missing"), ("breast_cancer", "scale")]
        for kind, shift in shifts:
            for n in sizes:
                r_here = reps if n <= 100000 else max(1, reps // 10)
                for _ in range(r_here):
                    res = trial(tool, tmp, rng, kind, n, 1, shift)
                    for c, hit in res[0.001].items():
                        key = ("%s %s" % (kind, shift), n, c)
                        power.setdefault(key, [0, 0])
                        power[key][0] += hit
                        power[key][1] += 1
            print("shift %s %s done at %.0f s" % (kind, shift, time.time() - started),
                  file=sys.stderr)
    report(clean, by_n, by_kind, kinds, power, sizes)


def report(clean, by_n, by_kind, kinds, power, sizes):
    def cell(x):
        return "%d/%d" % (x[0], x[1])
    conds = ["modelwatch ticket", "modelwatch page", "missing ticket", "guard psi", "guard js",
             "guard ks", "guard wasserstein", "guard chi2", "guard missing", "psi >= 0.1",
             "psi >= 0.2", "evidently"]
    print("\n### False alarms on clean windows (windows alarmed / windows)\n")
    print("| condition | alpha | " + " | ".join("n=%d" % n for n in sizes) + " | all |")
    print("|---|---|" + "---|" * (len(sizes) + 1))
    for alpha in (0.001, 0.05):
        for c in conds:
            if (alpha, c) not in clean:
                continue
            row = [cell(by_n.get((alpha, c, n), [0, 0])) for n in sizes]
            print("| %s | %s | %s | %s |" % (c, alpha if c.startswith(("modelwatch", "guard",
                                                                        "missing"))
                                               else "-", " | ".join(row), cell(clean[(alpha, c)])))
    print("\n### False alarms on clean windows by distribution, alpha 0.001 (all n and widths)\n")
    kconds = ["modelwatch ticket", "guard psi", "guard js", "guard ks", "guard wasserstein",
              "guard chi2", "guard missing", "psi >= 0.1", "evidently"]
    print("| distribution | " + " | ".join(kconds) + " |")
    print("|---|" + "---|" * len(kconds))
    for kind in kinds:
        print("| %s | %s |" % (kind, " | ".join(
            cell(by_kind[(0.001, c, kind)]) if (0.001, c, kind) in by_kind else "-"
            for c in kconds)))
    print("\n### Detection power, one feature, alpha 0.001 (windows alarmed / windows)\n")
    pconds = ["modelwatch ticket", "modelwatch page", "missing ticket", "guard ks",
              "guard wasserstein", "psi >= 0.1", "evidently"]
    print("| shift | n | " + " | ".join(pconds) + " |")
    print("|---|---|" + "---|" * len(pconds))
    for key in sorted({(k[0], k[1]) for k in power}, key=lambda t: (t[0], t[1])):
        row = [cell(power.get((key[0], key[1], c), [0, 0])) if (key[0], key[1], c) in power
               else "-" for c in pconds]
        print("| %s | %d | %s |" % (key[0], key[1], " | ".join(row)))
    fa_mw = clean.get((0.001, "modelwatch ticket"), [0, 1])
    for c in ("psi >= 0.1", "psi >= 0.2", "evidently"):
        fa = clean.get((0.001, c), [0, 1])
        print("\nfalse alarms, %s : modelwatch ticket = %d : %d" % (c, fa[0], fa_mw[0]))


if __name__ == "__main__":
    main()
