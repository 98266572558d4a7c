#!/usr/bin/python3
"""Scrape latency of an idle exporter with many models (not a test).

Builds MODELS models of 20 numeric and 2 categorical features, each with its own baseline
(built by `modelwatch-exporter baseline` from one reference log) and a log of LINES records
inside its drift windows; starts the exporter, waits until every line is read, then scrapes
/metrics back to back SCRAPES times (one client) and prints the median, 99th percentile and
maximum latency, the body size and the exporter's CPU time per scrape. Each --exporter given
is run in turn on the same files, ROUNDS times interleaved (A/B).

With --catch-up the scrapes run while the exporter reads the logs from the beginning (back to
back until every line is read) instead of after: what a scrape costs during a backlog.

With --gzip every scrape asks for a gzip answer (`Accept-Encoding: gzip`), as Prometheus does
unless its scrape config sets `enable_compression: false` (Prometheus 2.49 and later; earlier
versions always ask); the body size printed is then the compressed one.

usage: bench/scrape_fleet_bench.py --exporter BUILD/exporter/modelwatch-exporter
           [--exporter B] [--models 100] [--lines 3000] [--scrapes 40] [--rounds 2]
           [--catch-up] [--gzip]
"""
import argparse
import gzip
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

MODEL = """model: %(name)s
owner: {team: bench}
tier: 2
task: binary_classification
baseline: %(work)s/base/%(name)s.json
source: {paths: ["%(work)s/logs/%(name)s.jsonl"], start_at: beginning}
features:
%(features)s
  - {name: country, type: categorical}
  - {name: device, type: categorical}
drift: {%(engine)swindows: [1h, 24h], min_samples: 500}
"""


def write_log(path, n, seed, t0, span):
    rnd = random.Random(seed)
    countries = ["DE", "FR", "US", "GB", "IT", "ES", "NL", "PL"]
    with open(path, "w") as f:
        for i in range(n):
            nums = ",".join('"f%d":%.4g' % (k, rnd.gauss(k, 1 + k / 4)) for k in range(1, 21))
            f.write('{"ts":%.3f,"model_version":"v1","request_id":"r%d","latency_ms":%.2f,'
                    '"status":"ok","score":%.4f,"features":{%s,"country":"%s","device":"%s"}}\n'
                    % (t0 + i * span / n, i, rnd.expovariate(1 / 40.0), rnd.random(), nums,
                       countries[rnd.randrange(8)], "ios" if rnd.random() < 0.6 else "android"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


GZIP = False  # --gzip


def scrape(port):
    """The answer's body as sent (gzip with --gzip)."""
    request = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    if GZIP:
        request.add_header("Accept-Encoding", "gzip")
    with urllib.request.urlopen(request, timeout=60) as r:
        body = r.read()
        if GZIP and r.headers.get("Content-Encoding") != "gzip":
            raise SystemExit("asked for gzip, got an uncompressed answer")
        return body


def text(body):
    return (gzip.decompress(body) if GZIP else body).decode()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lines_read(body):
    return sum(float(l.rsplit(" ", 1)[1]) for l in body.splitlines()
               if l.startswith("modelwatch_lines_read_total{"))


def run(exporter, work, models, lines, scrapes, catch_up=False):
    state = tempfile.mkdtemp(dir=work)
    port = free_port()
    proc = subprocess.Popen([exporter, "--config.dir=" + work + "/models", "--state.dir=" + state,
                             "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 600
        latencies = []
        while time.time() < deadline:
            try:
                t = time.perf_counter()
                body = scrape(port)
                if catch_up:
                    latencies.append(time.perf_counter() - t)
                if lines_read(text(body)) >= models * lines:
                    break
            except OSError:
                time.sleep(0.1)
                continue
            if not catch_up:
                time.sleep(0.5)
        else:
            raise SystemExit("the exporter did not read every line in 10 minutes")
        if catch_up:
            return latencies, len(body), float("nan")
        time.sleep(6)  # past the first checkpoint after the catch-up
        cpu0 = cpu_seconds(proc.pid)
        latencies = []
        size = 0
        for _ in range(scrapes):
            t = time.perf_counter()
            size = len(scrape(port))
            latencies.append(time.perf_counter() - t)
        cpu = (cpu_seconds(proc.pid) - cpu0) / scrapes
        return latencies, size, cpu
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)


def prepare_fleet(work, exporter, models, lines, engine):
    """Writes WORK/models (MODELS model files of drift.engine ENGINE), their baselines in
    WORK/base and a log of LINES records each in WORK/logs, inside the drift windows."""
    for d in ("models", "logs", "base", "one"):
        os.makedirs(os.path.join(work, d))
    features = "\n".join("  - {name: f%d, type: numeric}" % k for k in range(1, 21))
    t0 = time.time() - 900
    write_log(os.path.join(work, "base/reference.jsonl"), 20000, 1, t0 - 86400, 3600)
    for i in range(models):
        name = "m%03d" % i
        text = MODEL % {"name": name, "work": work, "features": features,
                        "engine": "" if engine == "exporter" else "engine: %s, " % engine}
        with open(os.path.join(work, "models", name + ".yaml"), "w") as f:
            f.write(text)
        shutil.rmtree(os.path.join(work, "one"))
        os.makedirs(os.path.join(work, "one"))
        with open(os.path.join(work, "one", name + ".yaml"), "w") as f:
            f.write(text)
        subprocess.run([exporter, "baseline", "--config.dir=" + work + "/one", "--model=" + name,
                        "--input=" + work + "/base/reference.jsonl",
                        "--output=" + work + "/base/" + name + ".json"],
                       check=True, stdout=subprocess.DEVNULL)
        write_log(os.path.join(work, "logs", name + ".jsonl"), lines, 10 + i, t0, 600)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", action="append", required=True)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--lines", type=int, default=3000)
    ap.add_argument("--scrapes", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--catch-up", action="store_true")
    ap.add_argument("--gzip", action="store_true")
    args = ap.parse_args()
    global GZIP
    GZIP = args.gzip
    work = tempfile.mkdtemp(prefix="mw-scrape-fleet-")
    try:
        prepare_fleet(work, args.exporter[0], args.models, args.lines, "exporter")
        results = {e: [] for e in args.exporter}
        for _ in range(args.rounds):
            for e in args.exporter:
                results[e].append(run(e, work, args.models, args.lines, args.scrapes,
                                      args.catch_up))
        print("%d models x 22 features, %d records each, %s%s; load average %s"
              % (args.models, args.lines, "during the catch-up" if args.catch_up else "idle",
                 ", gzip" if args.gzip else "",
                 open("/proc/loadavg").read().split()[0]))
        for e, runs in results.items():
            lat = sorted(l for r in runs for l in r[0])
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print("%s: %d scrapes  p50 %.0f ms  p99 %.0f ms  max %.0f ms  body %.1f MB  "
                  "exporter CPU %.0f ms per scrape" % (
                      e, len(lat), statistics.median(lat) * 1e3, p99 * 1e3, lat[-1] * 1e3,
                      runs[-1][1] / 1e6, statistics.median(r[2] for r in runs) * 1e3))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
