#!/usr/bin/python3
"""What each drift engine costs Prometheus (not a test).

For each engine (exporter, promql) builds MODELS models of 20 numeric and 2 categorical
features (bench/scrape_fleet_bench.py's fleet), runs one exporter on them and a real
Prometheus that scrapes it every SCRAPE seconds and evaluates the generated rules (the
promql engine's drift, signals and degradation groups at their interval set to SCRAPE), and reports after
WAIT seconds: the series the exporter serves, Prometheus' head series, the rules loaded, the
samples scraped per scrape, and the time Prometheus spent evaluating each rule group (sum of
prometheus_rule_group_last_duration_seconds): the drift groups (at SCRAPE), the promql
engine's baseline groups (their constant series, at their generated interval, 2 minutes) and
all groups (each group's last evaluation, whatever its interval), and the CPU Prometheus used
over the last 2 minutes (in cores: what the groups' overlapping durations cost together).

Column promql-tiers (drift.tiers: 2, docs/scale-out.md "Two tiers") runs the promql engine's
rules split in two: a local Prometheus scraping the exporter with the local tier's files, and
a global one federating the local tier's series (honor_labels) with every other file (the
stand-in for a Thanos Ruler or Mimir ruler); its rows are the local Prometheus' figures, and
the rows "global: ..." the global one's.

With --old-rulegen RULEGEN also measures the promql engine with the rules another build of
modelwatch-rulegen generates (e.g. the previous commit's), on the same fleet and exporter, so
that old and new rules compare in the same run conditions; --engines picks the columns.

usage: bench/promql_drift_cost.py --build BUILD [--models 100] [--scrape 15] [--wait 120]
                                  [--old-rulegen RULEGEN]
                                  [--engines exporter,promql,promql-old,promql-tiers]
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

from scrape_fleet_bench import free_port, prepare_fleet


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read().decode()


def wait_http(url, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            return get(url)
        except OSError:
            time.sleep(0.5)
    raise SystemExit("no answer from " + url)


def query(prom, q):
    body = json.loads(get(prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})))
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def measure(build, column, models, scrape, wait, old_rulegen=None):
    exporter = os.path.join(build, "exporter/modelwatch-exporter")
    rulegen = os.path.join(build, "rulegen/modelwatch-rulegen")
    engine = column
    if column == "promql-old":
        engine, rulegen = "promql", old_rulegen
    tiers = column == "promql-tiers"
    if tiers:
        engine = "promql"
    work = tempfile.mkdtemp(prefix="mw-promql-cost-")
    procs = []
    try:
        prepare_fleet(work, exporter, models, 3000, engine)
        if tiers:
            with open(work + "/models/modelwatch.yaml", "w") as f:
                f.write("drift: {engine: promql, tiers: 2}\n")
        subprocess.run([rulegen, "generate", "--config.dir=" + work + "/models",
                        "--out=" + work + "/generated"], check=True, stdout=subprocess.DEVNULL)
        rule_files, global_files = [], []
        for name in sorted(os.listdir(work + "/generated/rules")):
            path = os.path.join(work, "generated/rules", name)
            rules = yaml.safe_load(open(path))
            for g in rules["groups"]:
                if g["name"].endswith(("-drift-promql", "-signals-promql", "-degradation-promql",
                                       "-promql-local")):
                    g["interval"] = "%ds" % scrape
            with open(path, "w") as f:
                yaml.safe_dump(rules, f)
            (global_files if tiers and name.endswith(".global.rules.yml") else
             rule_files).append(path)
        port, prom_port = free_port(), free_port()
        procs.append(subprocess.Popen(
            [exporter, "--config.dir=" + work + "/models", "--state.dir=" + work,
             "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
            stderr=subprocess.DEVNULL))
        wait_http("http://127.0.0.1:%d/-/ready" % port)
        body = get("http://127.0.0.1:%d/metrics" % port)
        exporter_series = sum(1 for l in body.splitlines() if l and not l.startswith("#"))
        with open(work + "/prometheus.yml", "w") as f:
            yaml.safe_dump({"global": {"scrape_interval": "%ds" % scrape,
                                       "evaluation_interval": "%ds" % scrape},
                            "rule_files": rule_files,
                            "scrape_configs": [
                                {"job_name": "modelwatch", "static_configs": [
                                    {"targets": ["127.0.0.1:%d" % port]}]},
                                {"job_name": "prometheus", "static_configs": [
                                    {"targets": ["127.0.0.1:%d" % prom_port]}]}]}, f)
        prom = "http://127.0.0.1:%d" % prom_port
        procs.append(subprocess.Popen(
            ["/usr/bin/prometheus", "--config.file=" + work + "/prometheus.yml",
             "--storage.tsdb.path=" + work + "/tsdb", "--web.listen-address=127.0.0.1:%d" % prom_port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_http(prom + "/-/ready")
        if tiers:
            global_port = free_port()
            glob = "http://127.0.0.1:%d" % global_port
            with open(work + "/global.yml", "w") as f:
                yaml.safe_dump({"global": {"scrape_interval": "%ds" % scrape,
                                           "evaluation_interval": "%ds" % scrape},
                                "rule_files": global_files,
                                "scrape_configs": [
                                    {"job_name": "federate", "honor_labels": True,
                                     "metrics_path": "/federate",
                                     "params": {"match[]": ['{__name__=~".+:local_increase"}']},
                                     "static_configs": [
                                         {"targets": ["127.0.0.1:%d" % prom_port]}]},
                                    {"job_name": "prometheus", "static_configs": [
                                        {"targets": ["127.0.0.1:%d" % global_port]}]}]}, f)
            procs.append(subprocess.Popen(
                ["/usr/bin/prometheus", "--config.file=" + work + "/global.yml",
                 "--storage.tsdb.path=" + work + "/tsdb-global",
                 "--web.listen-address=127.0.0.1:%d" % global_port],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_http(glob + "/-/ready")
        time.sleep(wait)
        slowest = []
        for g in json.loads(get(prom + "/api/v1/rules"))["data"]["groups"]:
            for r in g["rules"]:
                slowest.append((r.get("evaluationTime", 0), r["name"], str(r.get("labels", {}))))
        for t, name, labels in sorted(slowest, reverse=True)[:6]:
            print("  slowest rule (%s): %.4f s %s %s" % (column, t, name, labels))
        row = {
            "engine": column,
            "exporter series": exporter_series,
            "prometheus head series": query(prom, "prometheus_tsdb_head_series"),
            "rules": query(prom, "sum(prometheus_rule_group_rules)"),
            "samples per scrape": query(prom, 'scrape_samples_scraped{job="modelwatch"}'),
            "drift rule groups, s per evaluation": query(
                prom, 'sum(prometheus_rule_group_last_duration_seconds{rule_group=~".*drift-promql"})'),
            "signals rule groups, s per evaluation": query(
                prom, 'sum(prometheus_rule_group_last_duration_seconds{rule_group=~".*signals-promql"})'),
            "signals rule groups, rules": query(
                prom, 'sum(prometheus_rule_group_rules{rule_group=~".*signals-promql"})'),
            "degradation rule groups, s per evaluation": query(
                prom, 'sum(prometheus_rule_group_last_duration_seconds{rule_group=~".*degradation-promql"})'),
            "degradation rule groups, rules": query(
                prom, 'sum(prometheus_rule_group_rules{rule_group=~".*degradation-promql"})'),
            "baseline groups, s per evaluation": query(
                prom, 'sum(prometheus_rule_group_last_duration_seconds{rule_group=~".*drift-promql-baseline"})'),
            "baseline groups' interval, s": query(
                prom, 'max(prometheus_rule_group_interval_seconds{rule_group=~".*drift-promql-baseline"})'),
            "all rule groups, s per evaluation": query(
                prom, "sum(prometheus_rule_group_last_duration_seconds)"),
            "drift series recorded": query(prom, 'count(model_feature_drift{job=""})'),
            # Groups run concurrently, so their durations overlap on a busy machine: the CPU
            # Prometheus used is the cost that adds up.
            "prometheus CPU, cores (last 2 min)": query(
                prom, 'rate(process_cpu_seconds_total{job="prometheus"}[2m])'),
            "local-tier series recorded": query(prom, 'count({__name__=~".+:local_increase"})'),
        }
        other = glob if tiers else None
        row.update({
            "global: head series": query(other, "prometheus_tsdb_head_series") if other else 0.0,
            "global: rules": query(other, "sum(prometheus_rule_group_rules)") if other else 0.0,
            "global: series federated per scrape": query(
                other, 'scrape_samples_scraped{job="federate"}') if other else 0.0,
            "global: all rule groups, s per evaluation": query(
                other, "sum(prometheus_rule_group_last_duration_seconds)") if other else 0.0,
            "global: drift series recorded": query(
                other, 'count(model_feature_drift{job=""})') if other else 0.0,
            "global: prometheus CPU, cores (last 2 min)": query(
                other, 'rate(process_cpu_seconds_total{job="prometheus"}[2m])') if other else 0.0,
        })
        return row
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--scrape", type=int, default=15)
    ap.add_argument("--wait", type=int, default=120)
    ap.add_argument("--old-rulegen", help="another modelwatch-rulegen, for a promql-old column")
    ap.add_argument("--engines", help="comma-separated columns (default: exporter, promql and, "
                    "with --old-rulegen, promql-old)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    columns = (args.engines.split(",") if args.engines else
               ["exporter", "promql"] + (["promql-old"] if args.old_rulegen else []))
    if "promql-old" in columns and not args.old_rulegen:
        ap.error("promql-old needs --old-rulegen")
    old = os.path.abspath(args.old_rulegen) if args.old_rulegen else None
    rows = []
    for c in columns:
        rows.append(measure(build, c, args.models, args.scrape, args.wait, old))
        print("uptime after %s: %s" % (c, subprocess.run(["uptime"], capture_output=True,
                                                           text=True).stdout.strip()))
    print("%d models x 20 numeric + 2 categorical features, scrape and drift rules every %d s"
          % (args.models, args.scrape))
    for key in rows[0]:
        print("%-38s %s" % (key, "  ".join("%14s" % (r[key] if isinstance(r[key], str)
                                                      else "%.4g" % r[key]) for r in rows)))


if __name__ == "__main__":
    main()
