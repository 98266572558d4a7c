#!/usr/bin/python3
"""Soak benchmark of modelwatch-exporter (not a test: it runs for half an hour).

A model server is simulated at a steady rate (default 50,000 prediction lines per second,
event time = the wall clock) with rotation by rename every 10 s (generations older than a
minute are deleted, as logrotate would), a label for every second prediction with an
extreme score (about 5 %; those are always stored whatever `sample_rate`) in a label log, a
scrape of /metrics every second and a SIGHUP every minute. At the end the writer stops, the exporter
is given time to drain, and every counter is compared with what was written.

It reports RSS over time (is it flat?), CPU, scrape latency and whether every count is exact.

usage: bench/soak.py --build BUILD_DIR [--minutes 30] [--rate 50000]
"""

import argparse
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

FEATURES = 10


def write_model(work, baseline):
    feats = "\n".join(f"  - {{name: f{k}, type: numeric}}" for k in range(1, FEATURES + 1))
    with open(os.path.join(work, "models", "soak.yaml"), "w") as f:
        f.write(f"""model: soak
owner: {{team: soak, email: soak@example.com}}
tier: 2
task: binary_classification
threshold: 0.5
baseline: {baseline}
source:
  paths: ["{work}/logs/*.jsonl"]
  start_at: beginning
features:
{feats}
  - {{name: country, type: categorical}}
drift:
  windows: [1m, 10m]
  min_samples: 500
slo:
  error_rate: 0.01
  latency_p99_ms: 200
ground_truth:
  paths: ["{work}/labels/*.jsonl"]
  join_on: request_id
  start_at: beginning
  windows: [5m]
  retention_buffer: 2m
  sample_rate: 0.1
""")


def line_pool(seed):
    """Pre-drawn feature blocks: formatting 50 k lines/s in Python needs most of the work done once."""
    rnd = random.Random(seed)
    countries = ["DE", "FR", "US", "GB", "IT", "ES", "NL", "PL"]
    pool = []
    for i in range(4096):
        nums = ",".join('"f%d":%.4g' % (k, rnd.gauss(k, 1 + k / 4)) for k in range(1, FEATURES + 1))
        score = rnd.random()
        pool.append(('"latency_ms":%.2f,"status":"ok","score":%.4f,"features":{%s,"country":"%s"}}\n'
                     % (rnd.expovariate(1 / 40.0), score, nums, countries[i % 8]), score))
    return pool


def make_reference(path, n):
    pool = line_pool(1)
    t0 = time.time() - 86400
    with open(path, "w") as f:
        for i in range(n):
            body, _ = pool[(i * 7919) % 4096]
            f.write('{"ts":%.3f,"model":"soak","model_version":"v1","request_id":"ref%d",%s'
                    % (t0 + i, i, body))


def writer(work, rate, seconds, rotate_s, keep_s, counts):
    """Writes predictions at `rate` lines/s (in 10 ms ticks) and their labels."""
    pool = line_pool(2)
    logs, labels = os.path.join(work, "logs"), os.path.join(work, "labels")
    current = os.path.join(logs, "predictions.jsonl")
    out = open(current, "w", buffering=1 << 20)
    lab = open(os.path.join(labels, "labels.jsonl"), "w", buffering=1 << 16)
    generations = []  # (rotated at, path)
    start = time.time()
    next_rotate = start + rotate_s
    written = labelled = gen = 0
    while True:
        now = time.time()
        if now - start >= seconds:
            break
        due = int((now - start) * rate) - written
        for _ in range(max(0, min(due, rate))):
            body, score = pool[(written * 7919) % 4096]
            rid = "r%d" % written
            out.write('{"ts":%.3f,"model":"soak","model_version":"v1","request_id":"%s",%s'
                      % (now, rid, body))
            # Only predictions with an extreme score are labelled: those are always kept by
            # the store's sampling (sample_rate), so every label must match.
            if (score < 0.05 or score > 0.95) and written % 2 == 0:
                lab.write('{"ts":%.3f,"request_id":"%s","label":%d}\n'
                          % (now, rid, 1 if random.random() < score else 0))
                labelled += 1
            written += 1
        out.flush()
        lab.flush()
        if now >= next_rotate:
            gen += 1
            rotated = current + ".%d" % gen
            out.close()
            os.rename(current, rotated)
            out = open(current, "w", buffering=1 << 20)
            generations.append((now, rotated))
            next_rotate += rotate_s
            while generations and now - generations[0][0] > keep_s:
                os.unlink(generations.pop(0)[1])
        time.sleep(0.01)
    out.close()
    lab.close()
    counts["written"] = written
    counts["labelled"] = labelled


def scrape(port, timeout=10):
    t = time.time()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        body = r.read().decode()
    return time.time() - t, body


def total(body, name, **labels):
    s = 0.0
    pat = re.compile(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", re.M)
    for m in pat.finditer(body):
        lab = m.group(1) or ""
        if all(f'{k}="{v}"' in lab for k, v in labels.items()):
            s += float(m.group(2))
    return s


def proc_stat(pid):
    with open(f"/proc/{pid}/status") as f:
        status = dict(l.split(":", 1) for l in f if ":" in l)
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--build", required=True)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=int, default=50000)
    ap.add_argument("--rotate", type=float, default=10)
    ap.add_argument("--sighup", type=float, default=60)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--log-level", default="warn", help="the exporter's --log.level")
    args = ap.parse_args()
    exporter = os.path.join(args.build, "exporter", "modelwatch-exporter")
    work = tempfile.mkdtemp(prefix="mw-soak.")
    for d in ("models", "logs", "labels", "state", "ref"):
        os.mkdir(os.path.join(work, d))
    make_reference(os.path.join(work, "ref", "reference.jsonl"), 20000)
    write_model(work, os.path.join(work, "ref", "baseline.json"))
    subprocess.run([exporter, "baseline", f"--config.dir={work}/models", "--model=soak",
                    f"--input={work}/ref/reference.jsonl", f"--output={work}/ref/baseline.json"],
                   check=True, stdout=subprocess.DEVNULL)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(os.path.join(work, "exporter.log"), "w")
    ex = subprocess.Popen([exporter, f"--config.dir={work}/models", f"--state.dir={work}/state",
                           f"--web.listen-address=127.0.0.1:{port}", f"--log.level={args.log_level}"],
                          stderr=log)
    try:
        for _ in range(100):
            try:
                scrape(port)
                break
            except OSError:
                time.sleep(0.1)
        seconds = args.minutes * 60
        counts = multiprocessing.Manager().dict()
        w = multiprocessing.Process(target=writer,
                                    args=(work, args.rate, seconds, args.rotate, 60, counts))
        start = time.time()
        w.start()
        latencies, samples, failures, slow = [], [], 0, []
        next_hup, next_sample, hups, last_hup = start + args.sighup, start, 0, None
        cpu0 = proc_stat(ex.pid)[2]
        while w.is_alive():
            now = time.time()
            reloads = None
            try:
                took, body = scrape(port)
                latencies.append(took)
                reloads = total(body, "modelwatch_config_reloads_total")
            except OSError:
                took = None
                failures += 1
            if took is None or took > 1:
                slow.append((now - start, took, None if last_hup is None else now - last_hup))
            if now >= next_sample:
                rss, hwm, cpu = proc_stat(ex.pid)
                samples.append((now - start, rss, cpu))
                next_sample += 60
            # Signals sent while a reload is pending merge into one (as for any daemon), so
            # the next SIGHUP waits until the previous one is counted.
            if now >= next_hup and reloads == hups:
                ex.send_signal(signal.SIGHUP)
                hups += 1
                last_hup = now
                next_hup += args.sighup
            time.sleep(max(0.0, 1.0 - (time.time() - now)))
        w.join()
        written, labelled = counts["written"], counts["labelled"]
        # Drain: wait until every written line is read (or 5 minutes pass).
        deadline = time.time() + 300
        while time.time() < deadline:
            _, body = scrape(port, timeout=30)
            if (total(body, "modelwatch_lines_read_total", kind="predictions") >= written and
                    total(body, "modelwatch_lines_read_total", kind="labels") >= labelled):
                break
            time.sleep(1)
        time.sleep(3)
        _, body = scrape(port, timeout=30)
        rss, hwm, cpu = proc_stat(ex.pid)
        samples.append((time.time() - start, rss, cpu))
        elapsed = time.time() - start
    finally:
        ex.send_signal(signal.SIGTERM)
        ex.wait(timeout=30)
        log.close()
    got = {
        "lines read (predictions)": total(body, "modelwatch_lines_read_total", kind="predictions"),
        "model_predictions_total": total(body, "model_predictions_total"),
        "lines rejected": total(body, "modelwatch_lines_rejected_total"),
        "lines read (labels)": total(body, "modelwatch_lines_read_total", kind="labels"),
        "model_labels_total": total(body, "model_labels_total"),
        "model_labels_matched_total": total(body, "model_labels_matched_total"),
        "reloads ok": total(body, "modelwatch_config_reloads_total", result="success"),
        "reloads failed": total(body, "modelwatch_config_reloads_total", result="failure"),
        "file rotations seen": total(body, "modelwatch_file_rotations_total"),
    }
    want = {"lines read (predictions)": written, "model_predictions_total": written,
            "lines rejected": 0, "lines read (labels)": labelled, "model_labels_total": labelled,
            "model_labels_matched_total": labelled, "reloads ok": hups, "reloads failed": 0}
    print(f"soak: {args.minutes:g} min at {args.rate} lines/s, rotation every {args.rotate:g} s, "
          f"{hups} SIGHUPs, {len(latencies)} scrapes ({failures} failed); load average "
          f"{open('/proc/loadavg').read().split()[0]}")
    print("\n| minute | RSS (MB) | exporter CPU since start (s) |\n|---|---|---|")
    for t, r, c in samples:
        print(f"| {t / 60:.1f} | {r:.1f} | {c - cpu0:.1f} |")
    lat = sorted(latencies)
    if lat:
        print(f"\nscrape latency: p50 {1000 * lat[len(lat) // 2]:.1f} ms, "
              f"p99 {1000 * lat[int(len(lat) * 0.99)]:.1f} ms, max {1000 * lat[-1]:.1f} ms")
    if slow:
        print(f"scrapes slower than 1 s or failed (10 s timeout): {len(slow)}; the slowest:")
        for t, took, since in sorted(slow, key=lambda x: -(x[1] or 99))[:10]:
            print(f"  at {t:7.1f} s: {'failed' if took is None else f'{took:.2f} s'}"
                  f"{'' if since is None else f', {since:.1f} s after the last SIGHUP'}")
    print(f"peak RSS {hwm:.1f} MB; exporter CPU {samples[-1][2] - cpu0:.0f} s over {elapsed:.0f} s "
          f"= {(samples[-1][2] - cpu0) / elapsed:.2f} cores; "
          f"{written / max(1e-9, samples[-1][2] - cpu0):.0f} lines per CPU-second")
    print("\n| counter | written | exporter | |\n|---|---|---|---|")
    ok = True
    for k, v in got.items():
        exp = want.get(k)
        mark = "" if exp is None else ("exact" if v == exp else "**MISMATCH**")
        ok &= exp is None or v == exp
        print(f"| {k} | {'' if exp is None else int(exp)} | {v:.0f} | {mark} |")
    if args.keep:
        print(f"\nwork directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
