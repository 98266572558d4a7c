#!/usr/bin/python3
"""Scrape latency while the exporter catches up on a backlog (not a test).

Writes LINES prediction records (one model, 20 numeric and 2 categorical features, drift on,
no labels) and starts the exporter on them from the beginning; while it reads, /metrics is
scraped back to back (one client, 10 s timeout) until every line is read. Prints the scrape
latency's median, 99th percentile and maximum, and the read rate. Each --exporter given is
run in turn on the same log (A/B).

usage: bench/scrape_bench.py --exporter BUILD/exporter/modelwatch-exporter [--exporter B]
                             [--lines 2000000]
"""
import argparse
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

MODEL = """model: fraud
owner: {team: bench}
tier: 2
task: binary_classification
baseline: ../baseline.json
source: {paths: ["%s/logs/*.jsonl"], start_at: beginning}
features:
%s
  - {name: country, type: categorical}
  - {name: device, type: categorical}
drift: {windows: [5m, 1h], min_samples: 500}
"""


def write_log(path, n, t0):
    rnd = random.Random(7)
    countries = ["DE", "FR", "US", "GB", "IT", "ES", "NL", "PL"]
    pool = [",".join('"f%d":%.4g' % (k, rnd.gauss(k, 1 + k / 4)) for k in range(1, 21))
            for _ in range(4096)]
    with open(path, "w", buffering=1 << 20) as f:
        for i in range(n):
            f.write('{"ts":%.3f,"model_version":"v1","request_id":"r%d","latency_ms":%.2f,'
                    '"status":"ok","score":%.4f,"features":{%s,"country":"%s","device":"%s"}}\n'
                    % (t0 + i / 1000, i, rnd.expovariate(1 / 40.0), rnd.random(),
                       pool[(i * 7919) % 4096], countries[i % 8], "ios" if i % 3 else "android"))


def lines_read(body):
    return sum(float(l.rsplit(" ", 1)[1]) for l in body.splitlines()
               if l.startswith("modelwatch_lines_read_total{"))


def run(exporter, work, lines):
    shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ex = subprocess.Popen([exporter, f"--config.dir={work}/models", f"--state.dir={work}/state",
                           f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                          stderr=subprocess.DEVNULL)
    lat, failed = [], 0
    start = time.time()
    try:
        while True:
            t = time.time()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    body = r.read().decode()
            except OSError:
                if time.time() - start < 5:
                    time.sleep(0.05)
                    continue
                failed += 1
                continue
            lat.append(time.time() - t)
            if lines_read(body) >= lines:
                break
        took = time.time() - start
    finally:
        ex.terminate()
        ex.wait(timeout=30)
    lat.sort()
    print(f"{exporter}: {lines / took:,.0f} lines/s over {took:.1f} s; {len(lat)} scrapes "
          f"({failed} failed): p50 {1000 * lat[len(lat) // 2]:.0f} ms, "
          f"p99 {1000 * lat[int(len(lat) * 0.99)]:.0f} ms, max {1000 * lat[-1]:.0f} ms; "
          f"load average {open('/proc/loadavg').read().split()[0]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", action="append", required=True)
    ap.add_argument("--lines", type=int, default=2000000)
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds of the A/B")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mw-scrape-bench.")
    try:
        for d in ("models", "logs"):
            os.mkdir(os.path.join(work, d))
        t0 = time.time() - 3 * 86400
        write_log(os.path.join(work, "reference.jsonl"), 20000, t0 - 86400)
        feats = "\n".join("  - {name: f%d, type: numeric}" % k for k in range(1, 21))
        with open(os.path.join(work, "models", "fraud.yaml"), "w") as f:
            f.write(MODEL % (work, feats))
        subprocess.run([args.exporter[0], "baseline", f"--config.dir={work}/models",
                        "--model=fraud", f"--input={work}/reference.jsonl",
                        f"--output={work}/baseline.json"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        write_log(os.path.join(work, "logs", "predictions.jsonl"), args.lines, t0)
        for _ in range(args.rounds):
            for exporter in args.exporter:
                run(exporter, work, args.lines)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
