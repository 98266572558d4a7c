#!/usr/bin/python3
"""Checks the baseline's performance (`modelwatch-exporter baseline --labels`) against
scikit-learn, and that the exporter serves it as model_baseline_performance.

For a binary, a multiclass and a regression model: reference records of two versions, labels
for ~70 % of them (in shuffled order, some duplicated with a conflicting value, some for
requests that are not in the reference, one invalid line). The performance in the written
baseline must equal scikit-learn's on the records whose first label joined (AUC within 0.005,
the rest within 1e-6); a baseline built without --labels has none. Then the exporter runs with
the binary model's baseline and must serve the same values.
Usage: baseline_performance.py BUILD_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_oracle import check, expected_metrics, failures  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from exposition import running_exporter, scrape  # noqa: E402

T0 = 1795939200
CLASSES = ["billing", "refund", "other"]


def model_yaml(name, task):
    extra = "classes: [%s]\n" % ", ".join(CLASSES) if task == "multiclass_classification" else ""
    return f"""model: {name}
owner: {{team: qa}}
tier: 3
task: {task}
{extra}baseline: ../{name}.baseline.json
source: {{paths: ["../logs/{name}.jsonl"], start_at: beginning}}
features:
  - {{name: x, type: numeric}}
ground_truth: {{paths: ["../labels/{name}.jsonl"]}}
"""


def make_case(rng, task, n=3000):
    records, labels_by_id = [], {}
    for i in range(n):
        rid = f"r{i}"
        x = float(rng.normal())
        rec = {"ts": T0 + i * 30, "request_id": rid, "model_version": "v1" if i % 3 else "v2",
               "features": {"x": x}}
        if task == "binary_classification":
            s = round(float(1 / (1 + np.exp(-(x + rng.normal(0, 1))))), 3)
            rec["score"] = s
            y = int(rng.random() < s)
        elif task == "multiclass_classification":
            logits = rng.normal(0, 1, 3) + np.array([x, 0, -x])
            p = np.exp(logits) / np.exp(logits).sum()
            rec["probabilities"] = [round(float(v), 6) for v in p]
            y = CLASSES[int(rng.choice(3, p=p))]
        else:
            pred = round(20 + 5 * x + float(rng.normal(0, 2)), 3)
            rec["prediction"] = pred
            y = round(pred + float(rng.normal(0.5, 3)), 3)
        records.append(rec)
        if rng.random() < 0.7:
            labels_by_id[rid] = y
    lines = []
    for rid, y in labels_by_id.items():
        i = int(rid[1:])
        lines.append({"ts": T0 + i * 30 + 3600, "request_id": rid, "label": y})
    # Conflicting duplicates (the first label stands), unknown requests, an invalid line.
    dups = []
    for line in lines[::40]:
        flip = dict(line)
        if task == "binary_classification":
            flip["label"] = 1 - line["label"]
        elif task == "multiclass_classification":
            flip["label"] = CLASSES[(CLASSES.index(line["label"]) + 1) % 3]
        else:
            flip["label"] = line["label"] + 10
        flip["ts"] += 60
        dups.append(flip)
    unknown = [{"ts": T0 + 5000, "request_id": f"ghost{k}", "label": lines[0]["label"]}
               for k in range(7)]
    order = rng.permutation(len(lines))
    text = [json.dumps(lines[k]) for k in order] + [json.dumps(d) for d in dups]
    text += [json.dumps(u) for u in unknown] + ['{"ts": "not a time", "request_id": "r1"']
    return records, labels_by_id, "\n".join(text) + "\n"






def main():
    build = os.path.abspath(sys.argv[1])
    exporter = os.path.join(build, "exporter", "modelwatch-exporter")
    rng = np.random.default_rng(23)
    checked = 0
    with tempfile.TemporaryDirectory() as work:
        models = os.path.join(work, "models")
        for d in ("models", "logs", "labels"):
            os.makedirs(os.path.join(work, d))
        perf = {}
        for name, task in (("bin", "binary_classification"),
                           ("multi", "multiclass_classification"), ("reg", "regression")):
            with open(os.path.join(models, name + ".yaml"), "w") as f:
                f.write(model_yaml(name, task))
            records, labels_by_id, label_text = make_case(rng, task)
            ref = os.path.join(work, name + ".reference.jsonl")
            with open(ref, "w") as f:
                f.write("\n".join(json.dumps(r) for r in records) + "\n")
            label_path = os.path.join(work, name + ".reference-labels.jsonl")
            with open(label_path, "w") as f:
                f.write(label_text)
            out = os.path.join(work, name + ".baseline.json")
            # Without labels: no performance.
            subprocess.run([exporter, "baseline", "--config.dir=" + models, "--model=" + name,
                            "--input=" + ref, "--output=" + out], check=True,
                           stderr=subprocess.DEVNULL)
            if "performance" in json.load(open(out)):
                failures.append(f"{name}: performance without --labels")
            run = subprocess.run([exporter, "baseline", "--config.dir=" + models,
                                  "--model=" + name, "--input=" + ref, "--output=" + out,
                                  "--labels=" + label_path],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"{name}: baseline --labels exited {run.returncode}: {run.stderr}")
                continue
            doc = json.load(open(out))
            got = doc.get("performance", {})
            labelled = [r for r in records if r["request_id"] in labels_by_id]
            check(f"{name} labelled", got.get("labelled"), len(labelled), 0)
            if task == "binary_classification":
                preds = [r["score"] for r in labelled]
                ys = [labels_by_id[r["request_id"]] for r in labelled]
            elif task == "multiclass_classification":
                preds = [r["probabilities"] for r in labelled]
                ys = [CLASSES.index(labels_by_id[r["request_id"]]) for r in labelled]
            else:
                preds = [r["prediction"] for r in labelled]
                ys = [labels_by_id[r["request_id"]] for r in labelled]
            want = expected_metrics(task, preds, ys, 0.5, CLASSES)
            metrics = got.get("metrics", {})
            for metric, w in want.items():
                check(f"{name} {metric}", metrics.get(metric),
                      w, 0.005 if metric == "auc" else 1e-6)
                checked += 1
            extra = sorted(set(metrics) - set(want))
            if task == "multiclass_classification":
                extra = [m for m in extra if m not in ("log_loss", "ece")]
            if extra:
                failures.append(f"{name}: unexpected metrics {extra}")
            if "7 matching no record" not in run.stderr:
                failures.append(f"{name}: stderr does not report the unknown labels: {run.stderr}")
            perf[name] = metrics

        # The exporter serves the binary model's baseline performance.
        for name in ("multi", "reg"):
            os.remove(os.path.join(models, name + ".yaml"))
        open(os.path.join(work, "logs", "bin.jsonl"), "w").close()
        open(os.path.join(work, "labels", "bin.jsonl"), "w").close()
        served = {}
        with running_exporter(exporter, models, os.path.join(work, "state")) as port:
            deadline = time.time() + 30
            while time.time() < deadline and not served:
                try:
                    served = {(dict(lab)["model"], dict(lab)["metric"]): v
                              for (name, lab), v in scrape(port).items()
                              if name == "model_baseline_performance"}
                except OSError:
                    time.sleep(0.2)
        for metric, value in perf.get("bin", {}).items():
            check(f"served bin {metric}", served.get(("bin", metric)), value, 1e-12)
            checked += 1
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        print(f"{len(failures)} of {checked} checks failed")
        return 1
    print(f"baseline performance: {checked} values agree with scikit-learn and the exporter")
    return 0


if __name__ == "__main__":
    sys.exit(main())
