#!/usr/bin/python3
"""Records what Alertmanager and Prometheus hold about alerts, once per --interval, as
JSON lines ({"time", "am": [...api/v2/alerts...], "prom": [...api/v1/alerts...]}), until
--duration has passed or it is terminated. The end-to-end test reads the file afterwards
(inhibition state, receivers, labels of alerts whose notification text carries none)."""

import argparse
import json
import signal
import sys
import time
import urllib.request


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.loads(r.read())
    except (OSError, ValueError) as e:
        return {"error": str(e)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--am", required=True)
    p.add_argument("--prom", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=600)
    args = p.parse_args()
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(flag=True))
    end = time.time() + args.duration
    with open(args.out, "a") as out:
        while not stop["flag"] and time.time() < end:
            t = time.time()
            am = get(args.am + "/api/v2/alerts")
            prom = get(args.prom + "/api/v1/alerts")
            prom_alerts = prom.get("data", {}).get("alerts", []) if isinstance(prom, dict) else []
            out.write(json.dumps({"time": round(t, 3), "am": am, "prom": prom_alerts}) + "\n")
            out.flush()
            time.sleep(max(0.0, args.interval - (time.time() - t)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
