#!/usr/bin/python3
"""The benchmarks' prediction log: one binary model ("fraud" unless MODEL is given), 20
numeric features, 2 categorical, a segment; 100 records per second of event time.

usage: bench/prediction_log.py PATH LINES [MODEL]
"""
import random
import sys

path, n = sys.argv[1], int(sys.argv[2])
model = sys.argv[3] if len(sys.argv) > 3 else "fraud"
rnd = random.Random(7)
countries = ["DE", "FR", "US", "GB", "IT", "ES", "NL", "PL"]
# A pool of pre-drawn feature blocks keeps generation fast for 10 M lines.
pool = []
for _ in range(4096):
    pool.append(",".join('"f%d":%.4g' % (k, rnd.gauss(k, 1 + k / 4)) for k in range(1, 21)))
with open(path, "w", buffering=1 << 20) as f:
    for i in range(n):
        t = 1795341600 + i // 100
        f.write('{"ts":%d.%03d,"model":"%s","model_version":"v%d","request_id":"r%d",'
                '"latency_ms":%.2f,"status":"ok","score":%.4f,"features":{%s,'
                '"country":"%s","device":"%s"},"segment":{"region":"eu"}}\n' % (
                    t, i % 1000, model, 1 + i % 3, i, rnd.expovariate(1 / 40.0), rnd.random(),
                    pool[(i * 7919) % 4096], countries[i % 8], "ios" if i % 3 else "android"))
