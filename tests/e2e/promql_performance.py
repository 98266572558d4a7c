#!/usr/bin/python3
"""drift.engine: promql, label-based performance on real servers: three exporter replicas, each
tailing a third of the prediction logs of a binary classifier ("scoring", two versions) and a
regressor ("eta") and the whole label log of each, scraped by a real Prometheus that evaluates
the rules modelwatch-rulegen generated.

Each replica joins the labels of the predictions it read; a label whose prediction another
replica read waits there and is given up on. Checks, over the 1h window:
  - model_performance{metric="precision"|"recall"|"f1"|"accuracy"} per version, recorded from
    the replicas' model_labelled_predictions_total, equal scikit-learn's on the whole log
    (every joined prediction, the first label of a request standing) within 1e-9;
  - model_performance{metric="mae"|"rmse"} from the replicas' error summaries equal
    scikit-learn's within 1e-9;
  - the fleet's series carry no instance; the replicas serve none of these metrics
    themselves but still their own AUC (and MAPE, bias);
  - one replica is killed (SIGKILL) after reading labels it had not checkpointed and
    restarted on its state: every join is still counted exactly once;
  - no rule of the models' rule files fails to evaluate.
Then `promtool test rules` on the generated rules with hand-computed values: replicas'
counters before and inside the window, one reset inside it, one that appears inside it, a
version whose precision has a zero denominator, and no series while the window holds no joined
prediction.

usage: promql_performance.py BUILD_DIR WORK_DIR
"""
import json
import os
import random
import subprocess
import sys
import time

import numpy as np
import yaml
from sklearn.metrics import (accuracy_score, f1_score, mean_absolute_error, mean_squared_error,
                             precision_score, recall_score)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from exposition import free_port  # noqa: E402
from servers import Servers, fail, get, query  # noqa: E402

BUILD, WORK = sys.argv[1], sys.argv[2]
EXPORTER = os.path.join(BUILD, "exporter/modelwatch-exporter")
RULEGEN = os.path.join(BUILD, "rulegen/modelwatch-rulegen")
REPLICAS = 3
MODELS = ("scoring", "eta")
BINARY = ("precision", "recall", "f1", "accuracy")
REGRESSION = ("mae", "rmse")
SERVERS = Servers(WORK)


def model_yaml(model, engine, paths, labels):
    task = "binary_classification" if model == "scoring" else "regression"
    return "\n".join([
        "model: %s" % model,
        "owner: {team: e2e}",
        "tier: 2",
        "task: %s" % task,
        "baseline: %s/%s.baseline.json" % (WORK, model),
        "source: {paths: %s, start_at: beginning}" % json.dumps(paths),
        "features:",
        "  - {name: f1, type: numeric}",
        "drift: {engine: %s, windows: [1h], min_samples: 100}" % engine,
        "ground_truth: {paths: [%s], start_at: beginning, windows: [1h]}" % labels,
    ]) + "\n"


def prediction(rnd, model, ts, i):
    rec = {"ts": round(ts, 3), "model_version": "v2" if i % 4 == 0 else "v1", "status": "ok",
           "request_id": "%s-%d" % (model, i), "features": {"f1": round(rnd.gauss(0, 1), 4)}}
    if model == "scoring":
        rec["score"] = round(rnd.random(), 4)
    else:
        rec["prediction"] = round(rnd.uniform(5, 60), 3)
    return rec


def label_for(rnd, model, rec):
    if model == "scoring":
        return 1 if rnd.random() < rec["score"] else 0
    return round(rec["prediction"] + rnd.gauss(0, 4), 3)


def scrape(port):
    """Every sample of a replica's /metrics, as (name, labels dict, value)."""
    out = []
    for line in get("http://127.0.0.1:%d/metrics" % port).splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name, _, rest = head.partition("{")
        labels = {}
        for part in rest.rstrip("}").split('",') if rest else []:
            k, _, v = part.partition('="')
            labels[k] = v.rstrip('"')
        out.append((name, labels, float(value)))
    return out


def counter(samples, name, model):
    return sum(v for n, l, v in samples if n == name and l.get("model") == model)


def wait_labels(port, want, what):
    """Until the replica has read every label line (model_labels_total counts the distinct
    valid labels, joined or waiting)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        s = scrape(port)
        if all(counter(s, "model_labels_total", m) >= want[m] for m in MODELS):
            return
        time.sleep(0.2)
    fail("%s did not read the labels %s" % (what, want))


def sklearn_values(predictions, labels):
    """model -> version -> metric -> value over every labelled prediction (the first label of
    a request standing)."""
    first = {}
    for model, request, label in labels:
        first.setdefault((model, request), label)
    want = {}
    for model in MODELS:
        for version in ("v1", "v2"):
            rows = [(r, first[(model, r["request_id"])]) for r in predictions[model]
                    if r["model_version"] == version and (model, r["request_id"]) in first]
            if model == "scoring":
                y = np.array([l for _, l in rows])
                p = np.array([1 if r["score"] >= 0.5 else 0 for r, _ in rows])
                want[model, version] = {
                    "precision": precision_score(y, p, zero_division=0),
                    "recall": recall_score(y, p, zero_division=0),
                    "f1": f1_score(y, p, zero_division=0),
                    "accuracy": accuracy_score(y, p)}
            else:
                y = np.array([l for _, l in rows])
                p = np.array([r["prediction"] for r, _ in rows])
                want[model, version] = {"mae": mean_absolute_error(y, p),
                                        "rmse": float(np.sqrt(mean_squared_error(y, p)))}
            want[model, version]["_n"] = len(rows)
    return want


# Hand-computed counters of two replicas for promtool: (value at 0-30m, at 60m, at 61-121m),
# one less than the 60m value at 31-59m, so that the window at 120m (starting at 60m) counts
# differently when it is a step longer or shorter, halved or doubled. Replica b's counters
# were reset inside the window (its state lost): it counts from zero.
PROMTOOL_BINARY = {
    # version: outcome: replica: (at 0m, at 60m, at 120m)
    # Replica c appears at 91m (a new pod): it counts from zero.
    "v1": {"tp": {"a": (1, 10, 30), "b": (30, 40, 8), "c": (None, None, 3)},
           "fp": {"a": (0, 5, 10), "b": (2, 9, 2), "c": (None, None, 1)},
           "tn": {"a": (2, 20, 50), "b": (10, 30, 12), "c": (None, None, 2)},
           "fn": {"a": (0, 4, 6), "b": (1, 2, 1), "c": (None, None, 0)}},
    # No positive prediction in the window: precision's denominator is 0.
    "v2": {"tp": {"a": (0, 0, 0)}, "fp": {"a": (1, 1, 1)}, "tn": {"a": (0, 3, 7)},
           "fn": {"a": (0, 1, 2)}},
}
PROMTOOL_REGRESSION = {  # series: replica: (0m, 60m, 120m)
    "model_prediction_absolute_error_count": {"a": (2, 10, 30), "b": (20, 50, 10)},
    "model_prediction_absolute_error_sum": {"a": (3, 15, 45), "b": (30, 80, 12)},
    "model_prediction_squared_error_count": {"a": (2, 10, 30), "b": (20, 50, 10)},
    "model_prediction_squared_error_sum": {"a": (5, 40, 100), "b": (60, 200, 30)},
}


def window_count(values):
    """The rules' count over the window at 120m: now minus an hour ago, or now after a reset."""
    _, before, now = values
    return now - before if before is not None and now >= before else now


def promtool_case():
    os.makedirs(os.path.join(WORK, "tiny"))
    for model in MODELS:
        with open(os.path.join(WORK, "tiny/%s.yaml" % model), "w") as f:
            f.write(model_yaml(model, "promql", ["/nonexistent/*.jsonl"], "/nonexistent/l.jsonl"))
    subprocess.run([RULEGEN, "generate", "--config.dir=" + WORK + "/tiny",
                    "--out=" + WORK + "/tiny-out"], check=True, stdout=subprocess.DEVNULL)
    groups = []
    for model in MODELS:
        rules = yaml.safe_load(open(os.path.join(WORK, "tiny-out/rules/%s.rules.yml" % model)))
        groups += [g for g in rules["groups"] if g["name"].endswith("-performance-promql")]
    if len(groups) != 2:
        fail("expected one performance group per model, got %d" % len(groups))
    with open(os.path.join(WORK, "tiny/performance.rules.yml"), "w") as f:
        yaml.safe_dump({"groups": groups}, f)

    def values(v):
        if v[0] is None:  # a series that begins at 91m
            return "_x90 %dx30" % v[2]
        return "%dx30 %dx28 %d %dx60" % (v[0], max(v[0], v[1] - 1), v[1], v[2])

    series, tests, want = [], [], {}
    for version, outcomes in PROMTOOL_BINARY.items():
        for outcome, by_inst in outcomes.items():
            for inst, v in by_inst.items():
                series.append({"series": 'model_labelled_predictions_total{model="scoring",'
                                         'version="%s",outcome="%s",instance="%s"}'
                                         % (version, outcome, inst), "values": values(v)})
        c = {o: sum(window_count(v) for v in by_inst.values()) for o, by_inst in outcomes.items()}
        tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
        want["scoring", version] = {
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0,
            "accuracy": (tp + tn) / (tp + fp + tn + fn)}
    for name, by_inst in PROMTOOL_REGRESSION.items():
        for inst, v in by_inst.items():
            series.append({"series": '%s{model="eta",version="v1",instance="%s"}' % (name, inst),
                           "values": values(v)})
    n = sum(window_count(v) for v in PROMTOOL_REGRESSION[
        "model_prediction_absolute_error_count"].values())
    want["eta", "v1"] = {
        "mae": sum(window_count(v) for v in PROMTOOL_REGRESSION[
            "model_prediction_absolute_error_sum"].values()) / n,
        "rmse": (sum(window_count(v) for v in PROMTOOL_REGRESSION[
            "model_prediction_squared_error_sum"].values()) / n) ** 0.5}
    # By hand: v1 tp 20 + 8 + 3, fp 5 + 2 + 1, tn 30 + 12 + 2, fn 2 + 1 + 0; v2 tp 0, fp 0,
    # tn 4, fn 1; eta: 20 + 10 errors, absolute 30 + 12, squared 60 + 30.
    hand = {("scoring", "v1"): {"precision": 31 / 39, "recall": 31 / 34, "f1": 62 / 73,
                                "accuracy": 75 / 86},
            ("scoring", "v2"): {"precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": 0.8},
            ("eta", "v1"): {"mae": 1.4, "rmse": 3 ** 0.5}}
    for key, metrics in hand.items():
        for metric, value in metrics.items():
            if abs(want[key][metric] - value) > 1e-15:
                fail("promtool case: %s %s by hand %r, from the counters %r"
                     % (key, metric, value, want[key][metric]))
    for (model, version), metrics in want.items():
        for metric, value in metrics.items():
            sel = 'model="%s",version="%s",metric="%s",window="1h"' % (model, version, metric)
            tests.append({"expr": "abs(model_performance{%s} - %.17g) < bool 1e-12" % (sel, value),
                          "eval_time": "120m",
                          "exp_samples": [{"labels": "{%s}" % sel, "value": 1}]})
    # The same series standing still for two hours: no joined prediction in the window at
    # 120m, no value (the exporter serves none either).
    still = [dict(x, values="%dx120" % int(x["values"].split()[2])) for x in series
             if not x["values"].startswith("_")]
    absent = [{"expr": 'model_performance{model="%s"}' % model, "eval_time": "120m",
               "exp_samples": []} for model in MODELS]
    test = {"rule_files": ["performance.rules.yml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests},
                      {"interval": "1m", "input_series": still, "promql_expr_test": absent}]}
    with open(os.path.join(WORK, "tiny/performance.test.yml"), "w") as f:
        yaml.safe_dump(test, f)
    run = subprocess.run(["/usr/bin/promtool", "test", "rules", "performance.test.yml"],
                         cwd=os.path.join(WORK, "tiny"), capture_output=True, text=True)
    if run.returncode != 0:
        fail("promtool test of the performance rules:\n%s%s" % (run.stdout, run.stderr))
    print("promtool: %d hand-computed values (%s): SUCCESS" % (len(tests), ", ".join(
        "%s %s %s %.6g" % (m, v, k, x) for (m, v), d in sorted(want.items())
        for k, x in d.items())))


def main():
    rnd = random.Random(7)
    now = time.time()
    os.makedirs(os.path.join(WORK, "ref"))
    for model in MODELS:
        with open(os.path.join(WORK, "ref/%s.yaml" % model), "w") as f:
            f.write(model_yaml(model, "exporter", [WORK + "/none.jsonl"], WORK + "/none-l.jsonl"))
    for model in MODELS:
        with open(os.path.join(WORK, "reference-%s.jsonl" % model), "w") as f:
            for i in range(1000):
                f.write(json.dumps(prediction(rnd, model, now - 7200 + i, i)) + "\n")
        subprocess.run([EXPORTER, "baseline", "--config.dir=" + WORK + "/ref", "--model=" + model,
                        "--input=" + WORK + "/reference-%s.jsonl" % model,
                        "--output=" + WORK + "/%s.baseline.json" % model],
                       check=True, stdout=subprocess.DEVNULL)

    os.makedirs(os.path.join(WORK, "logs"))
    part = {(m, r): os.path.join(WORK, "logs/%s-part%d.jsonl" % (m, r))
            for m in MODELS for r in range(REPLICAS)}
    label_log = {m: os.path.join(WORK, "logs/%s-labels.jsonl" % m) for m in MODELS}
    for p in list(part.values()) + list(label_log.values()):
        open(p, "w").close()
    ports = {}
    for r in range(REPLICAS):
        name = "replica%d" % r
        os.makedirs(os.path.join(WORK, name))
        for m in MODELS:
            with open(os.path.join(WORK, name, m + ".yaml"), "w") as f:
                f.write(model_yaml(m, "promql", [part[m, r]], label_log[m]))
        ports[name] = free_port()

    subprocess.run([RULEGEN, "generate", "--config.dir=" + WORK + "/replica0",
                    "--out=" + WORK + "/generated"], check=True, stdout=subprocess.DEVNULL)
    groups = []
    for m in MODELS:
        rules = yaml.safe_load(open(os.path.join(WORK, "generated/rules/%s.rules.yml" % m)))
        names = [g["name"] for g in rules["groups"]]
        if "modelwatch-%s-performance-promql" % m not in names:
            fail("no performance group in the rules of %s: %s" % (m, names))
        groups += rules["groups"]
    for g in groups:
        g["interval"] = "1s"
    with open(os.path.join(WORK, "rules.yml"), "w") as f:
        yaml.safe_dump({"groups": groups}, f)

    for name in ports:
        SERVERS.start_exporter(EXPORTER, name, os.path.join(WORK, name), ports[name])
    prom = SERVERS.start_prometheus("prometheus", ["rules.yml"], [{
        "job_name": "replicas", "static_configs": [
            {"targets": ["127.0.0.1:%d" % ports["replica%d" % r] for r in range(REPLICAS)]}]}])

    # Two batches. Of each batch's predictions 80 % get a label, some of them before the
    # prediction is written (they wait), 5 % of those a second, conflicting one later (the
    # first stands), plus labels of requests nobody predicted. After the first batch a
    # checkpoint is written; replica 1 reads the second batch's labels and is killed at once,
    # then restarted on its state: it reads them again from its checkpoint.
    predictions = {m: [] for m in MODELS}
    labels = []  # (model, request, label) in file order
    distinct = {m: 0 for m in MODELS}
    total = 0
    for batch, count in enumerate((1500, 900)):
        for m in MODELS:
            recs = [prediction(rnd, m, now - 900 + (total + i) * 0.2, total + i)
                    for i in range(count)]
            early, late, again = [], [], []
            for i, rec in enumerate(recs):
                if rnd.random() < 0.8:
                    value = label_for(rnd, m, rec)
                    line = {"ts": rec["ts"] + 30, "request_id": rec["request_id"], "label": value}
                    (early if i % 10 == 0 else late).append(line)
                    if rnd.random() < 0.05:
                        other = (1 - value) if m == "scoring" else value + 1.5
                        again.append(dict(line, ts=rec["ts"] + 60, label=other))
            unknown = [{"ts": now - 800 + k, "request_id": "%s-nobody-%d-%d" % (m, batch, k),
                        "label": 1} for k in range(10)]
            with open(label_log[m], "a") as f:
                f.write("".join(json.dumps(x) + "\n" for x in early))
            for r in range(REPLICAS):
                with open(part[m, r], "a") as f:
                    f.write("".join(json.dumps(rec) + "\n"
                                    for i, rec in enumerate(recs) if (total + i) % REPLICAS == r))
            with open(label_log[m], "a") as f:
                f.write("".join(json.dumps(x) + "\n" for x in late + again + unknown))
            for x in early + late + again + unknown:
                labels.append((m, x["request_id"], x["label"]))
            # model_labels_total counts every line once when first read: a label that joins,
            # waits, or is a duplicate (the conflicting second labels).
            distinct[m] += len(early) + len(late) + len(again) + len(unknown)
            predictions[m] += recs
        total += count
        if batch == 0:
            for r in range(REPLICAS):
                wait_labels(ports["replica%d" % r], distinct, "replica%d" % r)
            time.sleep(6)  # past a checkpoint (every 5 s)
        else:
            wait_labels(ports["replica1"], distinct, "replica1")
            SERVERS.kill("replica1")
            SERVERS.start_exporter(EXPORTER, "replica1", os.path.join(WORK, "replica1"),
                                   ports["replica1"])
    for r in range(REPLICAS):
        wait_labels(ports["replica%d" % r], distinct, "replica%d" % r)

    want = sklearn_values(predictions, labels)
    joined = sum(want["scoring", v]["_n"] for v in ("v1", "v2"))
    # Every replica counted its own joins: their sum over the replicas is every joined
    # prediction of the whole log, each once (replica1's restart included).
    deadline = time.time() + 60
    while time.time() < deadline:
        got = query(prom, 'sum(model_version_outcome_window:model_labelled_predictions:'
                    'window_count{model="scoring",window="1h"})')
        if got and list(got.values())[0] == joined:
            break
        time.sleep(0.5)
    else:
        fail("the recorded joined predictions never reached %d: %s" % (joined, got))
    time.sleep(3)  # the metrics' rules of that evaluation and the next
    served = {m: sum(counter(scrape(ports["replica%d" % r]), "model_labels_matched_total", m)
                     for r in range(REPLICAS)) for m in MODELS}
    print("joined predictions: scoring %d, eta %d (labels matched per replica, summed: %s)"
          % (joined, sum(want["eta", v]["_n"] for v in ("v1", "v2")), served))

    checked = 0
    for (model, version), metrics in sorted(want.items()):
        for metric, value in sorted(metrics.items()):
            if metric == "_n":
                continue
            got = query(prom, 'model_performance{model="%s",version="%s",metric="%s",'
                        'window="1h"}' % (model, version, metric))
            if len(got) != 1:
                fail("%s %s %s: one fleet series expected, got %s" % (model, version, metric, got))
            labels_of, value_got = next(iter(got.items()))
            if "instance" in dict(labels_of):
                fail("%s %s %s: the fleet's series has an instance: %s"
                     % (model, version, metric, labels_of))
            print("%-8s %-3s %-9s rules %.12f  sklearn %.12f  |diff| %.1e"
                  % (model, version, metric, value_got, value, abs(value_got - value)))
            if abs(value_got - value) > 1e-9:
                fail("%s %s %s: rules %r, sklearn %r" % (model, version, metric, value_got, value))
            checked += 1
    own = query(prom, 'count(model_performance{job="replicas",'
                'metric=~"precision|recall|f1|accuracy|mae|rmse"})')
    if own:
        fail("replicas serve their own summable performance: %s" % own)
    auc = query(prom, 'count(model_performance{job="replicas",metric="auc"})')
    if not auc or list(auc.values())[0] < REPLICAS:
        fail("replicas should serve their own AUC: %s" % auc)
    broken = []
    for g in json.loads(get(prom + "/api/v1/rules"))["data"]["groups"]:
        for r in g["rules"]:
            if r.get("health") == "err" or r.get("lastError"):
                broken.append("%s: %s" % (r["name"], r.get("lastError")))
    if broken:
        fail("rules that fail to evaluate:\n" + "\n".join(broken))
    # The replicas' exposition with the new families passes promtool's lint.
    lint = subprocess.run(["/usr/bin/promtool", "check", "metrics"], capture_output=True,
                          text=True, input=get("http://127.0.0.1:%d/metrics" % ports["replica0"]))
    if lint.returncode != 0:
        fail("promtool check metrics:\n%s%s" % (lint.stdout, lint.stderr))
    print("promtool check metrics: clean")
    print("OK: %d fleet performance values equal scikit-learn's on the whole logs; replica1 "
          "restarted mid-stream" % checked)
    promtool_case()


try:
    main()
finally:
    SERVERS.stop_all()
