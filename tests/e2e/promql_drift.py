#!/usr/bin/python3
"""drift.engine: promql on real servers: three exporter replicas, each tailing a third of a
prediction log, and one exporter tailing the whole log (drift.engine: exporter), scraped by a
real Prometheus that evaluates the drift rules modelwatch-rulegen generated.

Checks, per numeric feature over the 1h window:
  - PSI and JS the rules compute from the three replicas equal the single exporter's within
    1e-6, and their critical values too;
  - PSI and JS equal numpy's on the whole log (the baseline's edges, right-closed bins, the
    ε floor) within 1e-9: a check that shares no code with the exporter;
  - the replicas serve no PSI/JS of their numeric features (KS, and the categorical
    features' drift, stay per replica);
  - one replica is killed (SIGKILL) mid-stream and restarted on its state: the equality holds.
Then `promtool test rules` on the rules generated for a hand-made three-bin baseline: two
replicas' counters before and inside the window, PSI and JS computed here by hand.

usage: promql_drift.py BUILD_DIR WORK_DIR
"""
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import yaml

BUILD, WORK = sys.argv[1], sys.argv[2]
EXPORTER = os.path.join(BUILD, "exporter/modelwatch-exporter")
RULEGEN = os.path.join(BUILD, "rulegen/modelwatch-rulegen")
FEATURES = ["f1", "f2", "f3"]
REPLICAS = 3
procs = {}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_http(url, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            get(url, 2)
            return
        except Exception:
            time.sleep(0.2)
    fail(what + " did not answer " + url)


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
    lines += ["drift: {engine: %s, windows: [1h], min_samples: 300}" % engine]
    return "\n".join(lines) + "\n"


def record(rnd, ts, i, shift):
    feats = {
        "f1": round(rnd.gauss(shift, 1), 4),
        "f2": round(rnd.expovariate(1 / (3 + shift)), 4),
        # Discrete: most values sit exactly on a bin edge (the bins are closed on the right).
        "f3": rnd.choice([0, 1, 2, 2, 3, 5] if shift == 0 else [0, 2, 3, 3, 5, 6]),
        "country": rnd.choice(["DE", "FR", "US"]),
    }
    if i % 37 == 0:
        feats["f1"] = None  # missing values count in no bin
    return json.dumps({"ts": round(ts, 3), "model_version": "v1", "request_id": "r%d" % i,
                       "status": "ok", "score": round(rnd.random(), 4), "features": feats})


def start_exporter(name, config_dir, port):
    state = os.path.join(WORK, "state-" + name)
    os.makedirs(state, exist_ok=True)
    log = open(os.path.join(WORK, name + ".log"), "a")
    procs[name] = subprocess.Popen(
        [EXPORTER, "--config.dir=" + config_dir, "--state.dir=" + state,
         "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
        stdout=log, stderr=log)
    wait_http("http://127.0.0.1:%d/-/healthy" % port, name)


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


def query(prom, q):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    body = json.loads(get(url))
    if body["status"] != "success":
        fail("query %s: %s" % (q, body))
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in body["data"]["result"]}


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


PROMTOOL_MODEL = """model: tiny
owner: {team: e2e}
tier: 2
task: binary_classification
baseline: %s/tiny/baseline.json
source: {paths: [/nonexistent/*.jsonl]}
features:
  - {name: amount, type: numeric}
drift: {engine: promql, windows: [1h], min_samples: 50}
"""


def promtool_case():
    """Hand-computed PSI and JS of two replicas' counters over a 1h window, checked by
    promtool against the generated rules."""
    os.makedirs(os.path.join(WORK, "tiny"))
    q = [0.25, 0.5, 0.15, 0.1]
    with open(os.path.join(WORK, "tiny/baseline.json"), "w") as f:
        json.dump({"features": [{"name": "amount", "type": "numeric", "numeric": {
            "count": 1000, "edges": [10, 20, 30], "proportions": q}}],
            "prediction": {"kind": "score", "numeric": {"count": 0}}}, f)
    with open(os.path.join(WORK, "tiny/tiny.yaml"), "w") as f:
        f.write(PROMTOOL_MODEL % WORK)
    subprocess.run([RULEGEN, "generate", "--config.dir=" + WORK + "/tiny",
                    "--out=" + WORK + "/tiny-out"], check=True, stdout=subprocess.DEVNULL)
    rules = yaml.safe_load(open(os.path.join(WORK, "tiny-out/rules/tiny.rules.yml")))
    groups = [g for g in rules["groups"] if g["name"].endswith("-drift-promql")]
    with open(os.path.join(WORK, "tiny/drift.rules.yml"), "w") as f:
        yaml.safe_dump({"groups": groups}, f)
    # Cumulative bucket counters (le 10, 20, 30, +Inf) of replicas a and b: flat for the first
    # hour (outside the window evaluated at 120m), then stepping up; the bin (20, 30] gets
    # nothing in the window (it takes the ε floor).
    before = {"a": (100, 150, 150, 200), "b": (7, 9, 9, 9)}
    after = {"a": (130, 200, 200, 260), "b": (17, 39, 39, 49)}
    series = []
    for inst in ("a", "b"):
        for k, le in enumerate(("10", "20", "30", "+Inf")):
            series.append({"series": 'model_feature_value_bucket{model="tiny",feature="amount",'
                                     'le="%s",instance="%s"}' % (le, inst),
                           "values": "%dx60 %dx60" % (before[inst][k], after[inst][k])})
        series.append({"series": 'model_predictions_total{model="tiny",instance="%s"}' % inst,
                       "values": "%dx60 %dx60" % (before[inst][3], after[inst][3])})
    c = [sum(after[i][k] - before[i][k] for i in after) for k in range(4)]  # 40, 80, 80, 100
    p = [c[0] / c[3]] + [(c[k] - c[k - 1]) / c[3] for k in (1, 2, 3)]
    p = [pi if pi > 0 else 1e-4 for pi in p]  # the exporter's ε floor
    psi = sum((pi - qi) * math.log(pi / qi) for pi, qi in zip(p, q))
    m = [(pi + qi) / 2 for pi, qi in zip(p, q)]
    js = math.sqrt(0.5 * sum(pi * math.log(pi / mi) for pi, mi in zip(p, m)) +
                   0.5 * sum(qi * math.log(qi / mi) for qi, mi in zip(q, m)))
    labels = 'model="tiny",feature="amount",window="1h"'
    test = {"rule_files": ["drift.rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        # promtool compares values exactly: the rules' last bit may differ from Python's.
        "promql_expr_test": [
            {"expr": 'abs(model_feature_drift{method="%s"} - %.17g) < bool 1e-9' % (method, want),
             "eval_time": "120m",
             "exp_samples": [{"labels": '{%s,method="%s"}' % (labels, method), "value": 1}]}
            for method, want in (("psi", psi), ("js", js))
        ]}]}
    with open(os.path.join(WORK, "tiny/drift.test.yml"), "w") as f:
        yaml.safe_dump(test, f)
    run = subprocess.run(["/usr/bin/promtool", "test", "rules", "drift.test.yml"],
                         cwd=os.path.join(WORK, "tiny"), capture_output=True, text=True)
    if run.returncode != 0:
        fail("promtool test of the drift rules (psi %r, js %r):\n%s%s"
             % (psi, js, run.stdout, run.stderr))
    print("promtool: hand-computed PSI %.9f and JS %.9f of two replicas over the window: SUCCESS"
          % (psi, js))


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
    rules = yaml.safe_load(open(os.path.join(WORK, "generated/rules/scoring.rules.yml")))
    groups = [g for g in rules["groups"] if g["name"].endswith("-drift-promql")]
    if len(groups) != 1:
        fail("no drift-promql group in the generated rules")
    groups[0]["interval"] = "1s"
    with open(os.path.join(WORK, "drift.rules.yml"), "w") as f:
        yaml.safe_dump({"groups": groups}, f)

    prom_port = free_port()
    prom = "http://127.0.0.1:%d" % prom_port
    with open(os.path.join(WORK, "prometheus.yml"), "w") as f:
        yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [os.path.join(WORK, "drift.rules.yml")],
            "scrape_configs": [
                {"job_name": "replicas", "static_configs": [
                    {"targets": ["127.0.0.1:%d" % ports["replica%d" % r] for r in range(REPLICAS)]}]},
                {"job_name": "single", "static_configs": [
                    {"targets": ["127.0.0.1:%d" % ports["single"]]}]},
            ]}, f)
    for name in ports:
        start_exporter(name, os.path.join(WORK, name), ports[name])
    log = open(os.path.join(WORK, "prometheus.log"), "w")
    procs["prometheus"] = subprocess.Popen(
        ["/usr/bin/prometheus", "--config.file=" + WORK + "/prometheus.yml",
         "--storage.tsdb.path=" + WORK + "/tsdb", "--web.listen-address=127.0.0.1:%d" % prom_port],
        stdout=log, stderr=log)
    wait_http(prom + "/-/ready", "prometheus")

    # Three batches of traffic, the last drifted. After the first a checkpoint is written;
    # replica 1 reads the second and is killed (SIGKILL) at once, before its next checkpoint,
    # then restarted on its state: it reads the second batch again from its checkpoint.
    values = {f: [] for f in FEATURES}
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
            feats = json.loads(line)["features"]
            for f in FEATURES:
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
            procs["replica1"].send_signal(signal.SIGKILL)
            procs["replica1"].wait()
            start_exporter("replica1", os.path.join(WORK, "replica1"), ports["replica1"])
    wait_read(ports["single"], total, "single")
    for r in range(REPLICAS):
        wait_read(ports["replica%d" % r], written[r], "replica%d" % r)

    # Prometheus scrapes every second and evaluates the rules every second: wait until the
    # recorded counts have every record (f2 is never missing; only the replicas serve the
    # histograms, while the single exporter's model_predictions_total counts in the
    # min_samples gate too).
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
    numeric = "|".join(FEATURES)
    own = query(prom, 'count(model_feature_drift{job="replicas",method=~"psi|js",feature=~"%s"})'
                % numeric)
    if own:
        fail("replicas serve their own PSI/JS: %s" % own)
    ks = query(prom, 'count(model_feature_drift{job="replicas",method="ks"})')
    if not ks or list(ks.values())[0] != REPLICAS * len(FEATURES):
        fail("replicas should serve KS per replica: %s" % ks)
    print("OK: %d fleet values equal the single exporter's; PSI and JS equal numpy's; "
          "replica1 restarted mid-stream" % checked)
    promtool_case()


try:
    main()
finally:
    for p in procs.values():
        if p.poll() is None:
            p.terminate()
    for p in procs.values():
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
