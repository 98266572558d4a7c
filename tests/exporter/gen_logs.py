"""Deterministic prediction logs for the exporter script tests.

usage: gen_logs.py scrape DIR        -> DIR/fraud.jsonl, DIR/shared.jsonl, DIR/reference.jsonl
       gen_logs.py stream FILE N START [LABELS] -> appends records START..START+N-1 to FILE
           (flushes every 100), and to LABELS a label line for each record with status ok
"""
import json
import time
import sys


def fraud_record(i):
    rec = {
        "ts": "2026-11-22T10:%02d:%02d.%03dZ" % (i // 60 % 60, i % 60, i % 1000),
        "model": "fraud",
        "model_version": "v%d" % (1 + i % 2),
        "request_id": "r%d" % i,
        "latency_ms": (i * 37) % 700 / 2.0,
        "score": (i * 7919 % 1000) / 1000.0,
        "features": {"amount": (i * 31) % 500 + 0.5, "country": ["DE", "FR", "US"][i % 3]},
    }
    if i % 17 == 0:
        rec["status"] = "timeout" if i % 2 else "oom"
        del rec["score"]
    return rec


def scrape(out):
    with open(out + "/fraud.jsonl", "w") as f:
        for i in range(300):
            f.write(json.dumps(fraud_record(i)) + "\n")
        # One line per reject reason the parser knows, plus NaN tokens that are accepted.
        f.write("this is not json\n")
        f.write('{"ts":"2026-11-22T11:00:00Z","model_version":"v1"}\n')
        f.write('{"ts":"2026-11-22T11:00:00Z","score":"high"}\n')
        f.write('{"ts":"2026-11-22T11:00:00Z","score":1.5}\n')
        f.write('{"ts":"last tuesday","score":0.5}\n')
        f.write('{"ts":"2026-11-22T11:00:00Z","score":0.5,"pad":"%s"}\n' % ("x" * 3000))
        f.write('{"ts":1795345200000,"model_version":"v1","score":0.25,'
                '"features":{"amount":NaN,"country":"DE"}}\n')
    with open(out + "/shared.jsonl", "w") as f:
        for i in range(120):
            if i % 2 == 0:
                probs = [((i + k) % 5) / 10.0 + 0.05 for k in range(3)]
                rec = {"ts": 1795341600 + i, "model": "intent", "model_version": "2024.1",
                       "probabilities": {c: p for c, p in zip(["buy", "sell", "hold"], probs)},
                       "latency_ms": i}
            else:
                rec = {"ts": 1795341600 + i, "model": "eta", "eta_minutes": 10 + i % 30,
                       "latency_ms": i * 3}
            f.write(json.dumps(rec) + "\n")
        f.write('{"ts":1795341600,"model":"nobody","prediction":3}\n')
    with open(out + "/reference.jsonl", "w") as f:
        for i in range(1000):
            rec = fraud_record(i + 5000)
            rec.pop("status", None)
            rec.setdefault("score", 0.5)
            f.write(json.dumps(rec) + "\n")


def stream(path, n, start, labels_path=None):
    # About 100 records every 60 ms, so that a kill lands in the middle of the stream.
    labels = open(labels_path, "a") if labels_path else None
    with open(path, "a") as f:
        for i in range(start, start + n):
            rec = fraud_record(i)
            f.write(json.dumps(rec) + "\n")
            if labels and "status" not in rec:
                labels.write(json.dumps({"ts": rec["ts"], "request_id": rec["request_id"],
                                         "label": i % 2}) + "\n")
            if i % 100 == 99:
                f.flush()
                if labels:
                    labels.flush()
                time.sleep(0.06)
    if labels:
        labels.close()


if __name__ == "__main__":
    if sys.argv[1] == "scrape":
        scrape(sys.argv[2])
    else:
        stream(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
               sys.argv[5] if len(sys.argv) > 5 else None)
