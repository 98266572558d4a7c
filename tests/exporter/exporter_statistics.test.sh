#!/bin/bash
# --web.statistics-interval: during a continuous write the drift statistics a scrape serves are
# never older than the bound (the interval plus one computation), and once ingest stops they
# become exactly what an exporter computing at every scrape (--web.statistics-interval=0)
# serves for the same log.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/state-a" "$WORK/state-b"
cat >"$WORK/models/m.yaml" <<YAML
model: m
owner: {team: t}
tier: 2
task: regression
source: {paths: ["$WORK/logs/m.jsonl"], start_at: beginning}
baseline: m.baseline.json
features:
  - {name: x, type: numeric}
drift: {windows: [1h], min_samples: 100}
YAML
$PY - "$WORK/reference.jsonl" <<'PY'
import json, random, sys, time
r = random.Random(7)
t = time.time() - 86400
with open(sys.argv[1], "w") as f:
    for i in range(3000):
        x = r.gauss(0, 1)
        f.write(json.dumps({"ts": t + i, "prediction": 2 * x, "features": {"x": x}}) + "\n")
PY
"$EXPORTER" baseline --config.dir="$WORK/models" --model=m --input="$WORK/reference.jsonl" \
  --output="$WORK/models/m.baseline.json" >"$WORK/baseline.log" 2>&1 || {
  cat "$WORK/baseline.log" >&2
  fail "baseline command failed"
}
: >"$WORK/logs/m.jsonl"

PORT_A=$(free_port)
PORT_B=$(free_port)
PORT=$PORT_A start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state-a" \
  --web.statistics-interval=1s
PORT=$PORT_B start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state-b"
PORT=$PORT_A wait_ready
PORT=$PORT_B wait_ready

$PY - "$WORK/logs/m.jsonl" "$PORT_A" "$PORT_B" <<'PY' || fail "statistics staleness check failed"
import json, random, sys, threading, time, urllib.request

log, port_a, port_b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
INTERVAL = 1.0
# The bound is the interval plus one statistics round; a round of this one model takes
# milliseconds, the rest is room for a loaded machine.
BOUND = INTERVAL + 4.0
WRITE_SECONDS = 12

def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        return r.read().decode()

def value(body, prefix):
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return None

def model_lines(body):
    return sorted(l for l in body.splitlines() if l.startswith("model_"))

written = [0]
def write():
    r = random.Random(11)
    end = time.monotonic() + WRITE_SECONDS
    with open(log, "a") as f:
        while time.monotonic() < end:
            now = time.time()
            # The mean moves with time, so the drift statistics change as records arrive.
            shift = (WRITE_SECONDS - (end - time.monotonic())) / WRITE_SECONDS
            for _ in range(100):
                x = r.gauss(shift, 1)
                f.write(json.dumps({"ts": now, "prediction": 2 * x, "features": {"x": x}}) + "\n")
            f.flush()
            written[0] += 100
            time.sleep(0.05)

writer = threading.Thread(target=write)
writer.start()
history = []  # (scrape start, scrape end, records read, window samples served)
while writer.is_alive():
    t0 = time.monotonic()
    body = scrape(port_a)
    t1 = time.monotonic()
    read = value(body, 'modelwatch_lines_read_total{kind="predictions",source="m"}') or 0
    served = value(body, 'model_window_samples{model="m",window="1h"}') or 0
    history.append((t0, t1, read, served))
    time.sleep(0.1)
writer.join()
total = written[0]

checked = stale = 0
for t0, t1, read, served in history:
    if served > read:
        sys.exit("served %d window samples, more than the %d records read" % (served, read))
    stale += served < read
    # Every record read by a scrape that ended BOUND before this one started is served.
    older = [r for (u0, u1, r, _) in history if u1 <= t0 - BOUND]
    if older:
        checked += 1
        if served < max(older):
            sys.exit("served %d window samples at %.1f s; %d were read by %.1f s" %
                     (served, t0 - history[0][0], max(older), t0 - BOUND - history[0][0]))
if checked < 5:
    sys.exit("only %d scrapes late enough to check the bound" % checked)
print("%d scrapes during the write, %d checked against the bound, %d served fewer records "
      "than read" % (len(history), checked, stale))

# Once every record is read, within the bound A serves exactly what B computes at its scrape.
deadline = time.monotonic() + 60
while True:
    body = scrape(port_a)
    if value(body, 'modelwatch_lines_read_total{kind="predictions",source="m"}') == total:
        break
    if time.monotonic() > deadline:
        sys.exit("the exporter did not read the %d records" % total)
    time.sleep(0.1)
all_read = time.monotonic()
deadline = time.monotonic() + 60
while value(scrape(port_b), 'modelwatch_lines_read_total{kind="predictions",source="m"}') != total:
    if time.monotonic() > deadline:
        sys.exit("the exact exporter did not read the %d records" % total)
    time.sleep(0.1)
time.sleep(max(0.0, all_read + BOUND - time.monotonic()))
a, b = model_lines(scrape(port_a)), model_lines(scrape(port_b))
if not any(l.startswith("model_feature_drift{") for l in b):
    sys.exit("no feature drift served: nothing compared")
if value("\n".join(a), 'model_window_samples{model="m",window="1h"}') != total:
    sys.exit("window samples not up to date after the bound")
if a != b:
    diff = [l for l in a if l not in b][:5] + ["--"] + [l for l in b if l not in a][:5]
    sys.exit("after the bound, served statistics differ from the exact ones:\n" + "\n".join(diff))
print("after the bound: %d model series identical to the exact exporter's" % len(a))
PY
echo "PASS exporter_statistics"
