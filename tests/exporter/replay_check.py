#!/usr/bin/python3
"""`modelwatch-exporter replay`: OpenMetrics with timestamps that promtool can backfill, counts
and drift per step that follow the input, label-based values that follow their definition
(scikit-learn for the AUC), the final step equal to what the daemon serves after tailing the
same files, and clean failures (usage 2, bad input 1, no output file either way).
Usage: replay_check.py BUILD_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from exposition import running_exporter, scrape  # noqa: E402

T0 = 1795939200  # whole hour
STEP = 60
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def parse_openmetrics(text):
    """{(name, labels-tuple): [(ts, value), ...]} and the TYPE of each family."""
    series, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+) (\S+)$', line)
        if not m:
            failures.append("unparseable line: " + line)
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
        series.setdefault((m.group(1), labels), []).append((float(m.group(4)), float(m.group(3))))
    return series, types


def pick(series, name, **want):
    out = []
    for (n, labels), points in series.items():
        d = dict(labels)
        if n == name and all(d.get(k) == v for k, v in want.items()):
            out.append((d, points))
    return out


def at(points, ts):
    for t, v in points:
        if t == ts:
            return v
    return None






def main():
    build = os.path.abspath(sys.argv[1])
    exporter = os.path.join(build, "exporter", "modelwatch-exporter")
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as work:
        models = os.path.join(work, "models")
        logs = os.path.join(work, "logs")
        labels_dir = os.path.join(work, "labels")
        for d in (models, logs, labels_dir):
            os.makedirs(d)
        with open(os.path.join(models, "rp.yaml"), "w") as f:
            f.write("""model: rp
owner: {team: qa}
tier: 3
task: binary_classification
baseline: ../baseline.json
source: {paths: ["../logs/*.jsonl"], start_at: beginning}
features:
  - {name: x, type: numeric}
drift: {windows: [10m], min_samples: 50, lateness: 1h}
ground_truth: {paths: ["../labels/*.jsonl"], start_at: beginning, windows: [1h],
               recompute_interval: 1s}
""")
        with open(os.path.join(models, "other.yaml"), "w") as f:
            f.write("""model: other
owner: {team: qa}
tier: 3
task: regression
source: {paths: ["../other/*.jsonl"]}
ground_truth: {paths: ["../other-labels/*.jsonl"]}
""")
        # Reference: x ~ N(0, 1).
        ref = os.path.join(work, "ref.jsonl")
        with open(ref, "w") as f:
            for i in range(5000):
                f.write(json.dumps({"ts": T0 - 86400 + i * 10, "model": "rp",
                                    "score": float(rng.uniform()),
                                    "features": {"x": float(rng.normal())}}) + "\n")
        subprocess.run([exporter, "baseline", "--config.dir=" + models, "--model=rp",
                        "--input=" + ref, "--output=" + os.path.join(work, "baseline.json")],
                       check=True, stderr=subprocess.DEVNULL)
        # History: two hours, one record every 2 s (shuffled a little within 10 s); x shifts
        # by 1.5 in the second hour. 80 % get a label 5 minutes later.
        records, labels = [], []
        for i in range(3600):
            ts = T0 + 2 * i + 0.5
            x = float(rng.normal()) + (1.5 if i >= 1800 else 0.0)
            s = float(1 / (1 + np.exp(-x)))
            rid = "q%d" % i
            records.append({"ts": ts, "model": "rp", "request_id": rid,
                            "model_version": "v1" if i % 4 else "v2", "score": round(s, 4),
                            "features": {"x": x}})
            if rng.random() < 0.8:
                labels.append({"ts": ts + 300, "request_id": rid,
                               "label": int(rng.random() < s)})
        hist = os.path.join(logs, "history.jsonl")
        with open(hist, "w") as f:
            for k, r in enumerate(records):
                f.write(json.dumps(r) + "\n")
                if k in (10, 2000, 3000):
                    f.write('{"ts": "garbage", "model": "rp"\n')
        label_path = os.path.join(labels_dir, "labels.jsonl")
        with open(label_path, "w") as f:
            for lab in labels:
                f.write(json.dumps(lab) + "\n")

        out = os.path.join(work, "series.om")
        run = subprocess.run([exporter, "replay", "--config.dir=" + models, "--model=rp",
                              "--input=" + hist, "--labels=" + label_path, "--step=1m",
                              "--output=" + out], capture_output=True, text=True)
        check(run.returncode == 0, "replay exited %d: %s" % (run.returncode, run.stderr))
        if run.returncode != 0:
            return report()
        print(run.stderr.strip())
        text = open(out).read()
        check(text.endswith("# EOF\n"), "no # EOF at the end")
        blocks = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", out,
                                 os.path.join(work, "blocks")], capture_output=True, text=True)
        check(blocks.returncode == 0, "promtool create-blocks-from openmetrics failed: " +
              blocks.stdout[-500:] + blocks.stderr[-500:])
        series, types = parse_openmetrics(text)
        check(types.get("model_predictions") == "counter", "model_predictions TYPE")
        check(types.get("model_request_duration_seconds", "histogram") == "histogram",
              "histogram TYPE")

        # Steps: every minute from the first record's minute to the last label.
        preds = pick(series, "model_predictions_total", model="rp")
        steps = sorted({t for _, pts in preds for t, _ in pts})
        last_label = max(lab["ts"] for lab in labels)
        check(steps[0] == T0 + STEP, "first step %s" % steps[0])
        check(steps[-1] == (last_label // STEP + 1) * STEP, "last step %s" % steps[-1])
        check(all(b - a == STEP for a, b in zip(steps, steps[1:])), "steps not 1m apart")
        # Counts per step: records with ts <= step.
        ts_all = np.array([r["ts"] for r in records])
        bad = 0
        for t in steps:
            got = sum(at(pts, t) or 0 for _, pts in preds)
            bad += got != int((ts_all <= t).sum())
        check(bad == 0, "%d steps with wrong model_predictions_total" % bad)
        rej = sum(at(pts, steps[-1]) or 0 for _, pts in
                  pick(series, "modelwatch_lines_rejected_total"))
        check(rej == 3, "rejected lines %s, want 3" % rej)
        # Drift: none while the window holds first-hour records, large once it is all shifted.
        psi = pick(series, "model_feature_drift", model="rp", feature="x", method="psi",
                   window="10m")
        check(len(psi) == 1, "one PSI series")
        if psi:
            pts = dict(psi[0][1])
            check(pts.get(T0 + 1800.0, 1) < 0.1, "PSI at 30 min %s" % pts.get(T0 + 1800.0))
            check(pts.get(T0 + 7200.0, 0) > 0.5, "PSI at 2 h %s" % pts.get(T0 + 7200.0))
            check(T0 + 60.0 not in pts, "PSI present before min_samples (30 records)")
        # Labels at the last step: match ratio and AUC over the predictions of the last hour.
        newest = ts_all.max()
        in_window = [r for r in records if r["ts"] >= newest - 3600]
        labelled = {lab["request_id"]: lab["label"] for lab in labels}
        want_ratio = sum(r["request_id"] in labelled for r in in_window) / len(in_window)
        ratio = pick(series, "model_label_match_ratio", model="rp", window="1h")
        got_ratio = at(ratio[0][1], steps[-1]) if ratio else None
        check(got_ratio is not None and abs(got_ratio - want_ratio) < 1e-9,
              "match ratio %s, want %s" % (got_ratio, want_ratio))
        lab_v1 = [r for r in in_window if r["request_id"] in labelled and r["model_version"] == "v1"]
        want_auc = roc_auc_score([labelled[r["request_id"]] for r in lab_v1],
                                 [r["score"] for r in lab_v1])
        auc = pick(series, "model_performance", model="rp", version="v1", metric="auc", window="1h")
        got_auc = at(auc[0][1], steps[-1]) if auc else None
        check(got_auc is not None and abs(got_auc - want_auc) < 0.005,
              "auc %s, want %s" % (got_auc, want_auc))
        # Halfway through, labels of the last 5 minutes have not arrived yet.
        mid = T0 + 3600.0
        got_mid = at(ratio[0][1], mid) if ratio else None
        mid_window = [r for r in records if mid - 3600 <= r["ts"] <= mid]
        want_mid = sum(r["request_id"] in labelled and r["ts"] + 300 <= mid
                       for r in mid_window) / len(mid_window)
        check(got_mid is not None and abs(got_mid - want_mid) < 1e-9,
              "match ratio at 1 h %s, want %s" % (got_mid, want_mid))

        # Without --model every model with ground truth reads the labels: rp's series are the
        # same (the records name their model), the other model has none.
        out_all = os.path.join(work, "all.om")
        run = subprocess.run([exporter, "replay", "--config.dir=" + models, "--input=" + hist,
                              "--labels=" + label_path, "--output=" + out_all],
                             capture_output=True, text=True)
        check(run.returncode == 0, "replay of all models exited %d: %s" % (run.returncode,
                                                                           run.stderr))
        if run.returncode == 0:
            series_all, _ = parse_openmetrics(open(out_all).read())
            for key in [k for k in series if k[0] in ("model_label_match_ratio",
                                                      "model_performance")]:
                check(series_all.get(key) == series[key], "all-model replay differs: %s" % (key,))

        # Models replay in parallel, each on one thread: the output is the same for any number
        # of threads (but for the wall-clock recompute durations). Both models have records
        # and labels here, so both threads work at every step.
        mixed_hist = os.path.join(work, "mixed.jsonl")
        mixed_labels = os.path.join(work, "mixed-labels.jsonl")
        with open(mixed_hist, "w") as f, open(mixed_labels, "w") as g:
            for i, r in enumerate(records):
                f.write(json.dumps(r) + "\n")
                y = float(rng.normal(2.0, 1.0))
                f.write(json.dumps({"ts": r["ts"] + 0.25, "model": "other", "request_id": "o%d" % i,
                                    "prediction": round(y + float(rng.normal(0, 0.3)), 3)}) + "\n")
            for i, lab in enumerate(labels):
                g.write(json.dumps(lab) + "\n")
                g.write(json.dumps({"ts": lab["ts"] + 0.25,
                                    "request_id": "o" + lab["request_id"][1:],
                                    "label": round(float(rng.normal(2.0, 1.0)), 3)}) + "\n")
        by_threads = {}
        for threads in (1, 2, 3):
            out_t = os.path.join(work, "threads-%d.om" % threads)
            run = subprocess.run([exporter, "replay", "--config.dir=" + models,
                                  "--input=" + mixed_hist, "--labels=" + mixed_labels,
                                  "--threads=%d" % threads, "--output=" + out_t],
                                 capture_output=True, text=True)
            check(run.returncode == 0, "replay --threads=%d exited %d: %s" % (
                threads, run.returncode, run.stderr))
            if run.returncode == 0:
                by_threads[threads] = [line for line in open(out_t)
                                       if not line.startswith(
                                           "model_performance_recompute_duration_seconds")]
        if len(by_threads) == 3:
            text = "".join(by_threads[1])
            check('model_performance{model="other",version="unknown",metric="mae"' in text
                  and 'model_performance{model="rp",version="v1",metric="auc"' in text,
                  "the mixed replay lacks a model's performance")
            for threads in (2, 3):
                diff = [a for a, b in zip(by_threads[1], by_threads[threads]) if a != b]
                check(len(by_threads[1]) == len(by_threads[threads]) and not diff,
                      "--threads=%d differs from --threads=1: %d of %d lines, first %s" % (
                          threads, len(diff), len(by_threads[1]), diff[:1]))

        # The daemon, tailing the same files, serves what the last step says.
        os.remove(os.path.join(models, "other.yaml"))
        served = {}
        with running_exporter(exporter, models, os.path.join(work, "state")) as port:
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    served = scrape(port)
                except OSError:
                    time.sleep(0.3)
                    continue
                read = served.get(("modelwatch_lines_read_total",
                                   (("kind", "predictions"), ("source", "rp"))), 0)
                lread = served.get(("modelwatch_lines_read_total",
                                    (("kind", "labels"), ("source", "rp"))), 0)
                if read == len(records) + 3 and lread == len(labels):
                    # Performance is recomputed in the background after the store's next
                    # commit (every checkpoint, 5 s): wait until it covers every label.
                    samples = [(k, pts[-1][1]) for k, pts in series.items()
                               if k[0] == "model_performance_samples"]
                    if samples and all(served.get(k) == v for k, v in samples):
                        break
                time.sleep(0.3)
        compared = 0
        for name in ("model_predictions_total", "model_feature_drift", "model_window_samples",
                     "model_label_match_ratio", "model_performance", "model_positive_rate",
                     "model_prediction_confidence_mean", "model_labels_matched_total"):
            for (n, lab), pts in series.items():
                if n != name:
                    continue
                want = served.get((n, lab))
                got = pts[-1][1]
                compared += 1
                if want is None or abs(got - want) > 1e-9 * max(1.0, abs(want)):
                    failures.append("daemon %s%s = %s, replay %s" % (n, dict(lab), want, got))
        check(compared >= 10, "only %d series compared with the daemon" % compared)
        print("compared %d series with the daemon" % compared)

        # Failures: usage 2, bad input 1, and no output file.
        bad_out = os.path.join(work, "none.om")
        for argv, code in (
                (["--config.dir=" + models, "--input=" + hist], 2),                 # no --output
                (["--config.dir=" + models, "--input=" + hist, "--output=" + bad_out,
                  "--step=soon"], 2),
                (["--config.dir=" + models, "--input=" + hist, "--output=" + bad_out,
                  "--model=nope"], 1),                                              # no such model
                (["--config.dir=" + models, "--input=" + os.path.join(work, "missing.jsonl"),
                  "--output=" + bad_out], 1),
        ):
            r = subprocess.run([exporter, "replay"] + argv, capture_output=True, text=True)
            check(r.returncode == code, "replay %s exited %d, want %d: %s" % (
                argv[-1], r.returncode, code, r.stderr.strip()))
            check(not os.path.exists(bad_out), "output written on failure (%s)" % argv[-1])
        # Fine steps are fine: the reference's 14 hours at 1 s steps (50 000 steps).
        r = subprocess.run([exporter, "replay", "--config.dir=" + models, "--input=" + ref,
                            "--output=" + bad_out, "--step=1s"], capture_output=True, text=True)
        check(r.returncode == 0 and os.path.exists(bad_out),
              "replay at 1s steps exited %d: %s" % (r.returncode, r.stderr[-300:]))
    return report()


def report():
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        return 1
    print("replay: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
