#!/usr/bin/python3
"""What checkpoints cost an exporter (not a test).

Builds the fleet of bench/scrape_fleet_bench.py (MODELS models of 20 numeric and 2
categorical features, a log of LINES records each), starts each --exporter on it with
--state.checkpoint-interval=1s and, once every line is read:

  idle   for SECONDS: nothing is written to the logs;
  busy   for SECONDS: one model's log grows by RATE records a second, the others stay idle;

and reports per phase the bytes the exporter wrote (/proc/PID/io wchar: the checkpoint and
its logs), its CPU time, and the last checkpoint's duration and size; then its resident
memory (VmRSS) and peak (VmHWM). Each --exporter runs in turn on the same files, ROUNDS
times interleaved (A/B).

usage: bench/checkpoint_bench.py --exporter BUILD/exporter/modelwatch-exporter
           [--exporter B] [--models 100] [--lines 3000] [--seconds 15] [--rate 2000]
           [--rounds 1]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import random

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scrape_fleet_bench as fleet  # noqa: E402


def proc_field(pid, path, key):
    with open("/proc/%d/%s" % (pid, path)) as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def metric(port, name):
    body = fleet.scrape(port).decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return float("nan")


def measure(pid, port, seconds):
    w0, c0 = proc_field(pid, "io", "wchar:"), fleet.cpu_seconds(pid)
    time.sleep(seconds)
    return {"write_mb_s": (proc_field(pid, "io", "wchar:") - w0) / seconds / 1e6,
            "cpu_pct": (fleet.cpu_seconds(pid) - c0) / seconds * 100,
            "ck_ms": metric(port, "modelwatch_checkpoint_duration_seconds") * 1e3,
            "ck_mb": metric(port, "modelwatch_checkpoint_size_bytes") / 1e6}


def append(path, rate, seconds, stop):
    rnd = random.Random(7)
    end = time.time() + seconds
    i = 0
    with open(path, "a") as f:
        while time.time() < end and not stop.is_set():
            t = time.time()
            for _ in range(rate // 10):
                nums = ",".join('"f%d":%.4g' % (k, rnd.gauss(k, 1 + k / 4)) for k in range(1, 21))
                f.write('{"ts":%.3f,"model_version":"v1","request_id":"b%d","latency_ms":5,'
                        '"status":"ok","score":%.4f,"features":{%s,"country":"DE",'
                        '"device":"ios"}}\n' % (t, i, rnd.random(), nums))
                i += 1
            f.flush()
            time.sleep(max(0.0, 0.1 - (time.time() - t)))


def run(exporter, work, args):
    state = tempfile.mkdtemp(dir=work)
    port = fleet.free_port()
    proc = subprocess.Popen([exporter, "--config.dir=" + work + "/models", "--state.dir=" + state,
                             "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn",
                             "--state.checkpoint-interval=1s"], stderr=subprocess.DEVNULL)
    busy_log = os.path.join(work, "logs", "m000.jsonl")
    size_before = os.path.getsize(busy_log)
    try:
        deadline = time.time() + 900
        while time.time() < deadline:
            try:
                if metric(port, "modelwatch_ready") == 1:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        time.sleep(3)  # past the checkpoint after the catch-up
        idle = measure(proc.pid, port, args.seconds)
        stop = threading.Event()
        writer = threading.Thread(target=append, args=(busy_log, args.rate, args.seconds, stop))
        writer.start()
        busy = measure(proc.pid, port, args.seconds)
        stop.set()
        writer.join()
        rss = proc_field(proc.pid, "status", "VmRSS:") / 1024
        hwm = proc_field(proc.pid, "status", "VmHWM:") / 1024
        return idle, busy, rss, hwm
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)
        with open(busy_log, "r+") as f:  # the next exporter reads the same files
            f.truncate(size_before)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", action="append", required=True)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--lines", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mw-checkpoint-bench-", dir="/var/tmp")
    try:
        fleet.prepare_fleet(work, args.exporter[0], args.models, args.lines, "exporter")
        results = {e: [] for e in args.exporter}
        for _ in range(args.rounds):
            for e in args.exporter:
                results[e].append(run(e, work, args))
        print("%d models x 22 features, %d records each; busy: one model +%d records/s; "
              "checkpoint every 1 s; load average %s"
              % (args.models, args.lines, args.rate, open("/proc/loadavg").read().split()[0]))
        for e, runs in results.items():
            for name, k in (("idle", 0), ("busy", 1)):
                med = {key: statistics.median(r[k][key] for r in runs) for key in runs[0][k]}
                print("%s %s: writes %.2f MB/s  CPU %.0f %%  checkpoint %.0f ms, %.1f MB" % (
                    e, name, med["write_mb_s"], med["cpu_pct"], med["ck_ms"], med["ck_mb"]))
            print("%s: RSS %.1f MB, peak %.1f MB" % (
                e, statistics.median(r[2] for r in runs), statistics.median(r[3] for r in runs)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
