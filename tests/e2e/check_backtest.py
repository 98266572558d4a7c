#!/usr/bin/python3
"""Checks a `modelwatch-exporter backtest` result against the truth of
examples/backtest/gen_history.py, and its HTML report in headless Chromium.
Usage: check_backtest.py TRUTH_JSON GENERATED_DIR RESULT_JSON REPORT_HTML MODELS_DIR RULEGEN
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

failures = []
WINDOW = 6 * 3600  # the generated config's performance window


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def main():
    truth = json.load(open(sys.argv[1]))
    result = json.load(open(sys.argv[3]))
    html_path = sys.argv[4]
    delay_max = truth["label_delay_seconds"][1]
    recovery = WINDOW + delay_max  # labels show an incident until its window has left it
    incidents = truth["incidents"]
    spans = [(i["start"], i["end"] + recovery) for i in incidents]
    check(result["schema_version"] == 1, "schema_version")

    # Incidents visible in labels: one per label-visible truth incident, never before its
    # cause, none anywhere else.
    found = [i for i in result["incidents"] if i["source"] == "labels"]
    for inc in incidents:
        if not inc["label_visible"]:
            continue
        hits = [f for f in found if inc["start"] <= f["visible_at"] <= inc["end"] + recovery]
        check(len(hits) == 1, "%s: %d label incidents in [start, end + %ds], want 1: %s" %
              (inc["kind"], len(hits), recovery, [h["visible_at"] for h in hits]))
        inc["found"] = hits[0] if hits else None
        if hits:
            print("%-16s start %d  visible in labels +%.1f h" %
                  (inc["kind"], inc["start"], (hits[0]["visible_at"] - inc["start"]) / 3600))
    for f in found:
        check(any(a <= f["visible_at"] <= b for a, b in spans),
              "label incident at %s outside every true incident" % f["visible_at"])

    # Alerts caused by an incident: a page or ticket label set that starts firing between the
    # incident's start and its visibility in labels, having been quiet for 6 h before the start.
    alerts = result["alerts"]
    for a in alerts:
        if a["severity"] == "page":
            # A page goes to PagerDuty and, as a copy, to the team channel (docs/alerts.md).
            check(a["receiver"] == "risk-ml-pagerduty,risk-ml-slack", "page routed to %s" % a["receiver"])
        elif a["severity"] == "ticket":
            check(a["receiver"] == "risk-ml-slack", "ticket routed to %s" % a["receiver"])

    def caused(inc, until):
        out = []
        for a in alerts:
            if a["severity"] not in ("page", "ticket"):
                continue
            quiet = not any(s < inc["start"] and e > inc["start"] - 6 * 3600
                            for s, e in a["firing"])
            starts = [s for s, _ in a["firing"] if inc["start"] <= s < until]
            if quiet and starts:
                out.append((min(starts), a["alertname"], a["severity"]))
        return sorted(out)

    for inc in incidents:
        f = inc.get("found")
        if inc["kind"] in ("covariate_drift", "missing_feature", "bad_deploy") and f:
            early = caused(inc, f["visible_at"])
            if check(early, "%s: no alert started between its start and its visibility in labels"
                     % inc["kind"]):
                print("%-16s first caused alert %s/%s %.1f h before labels" %
                      (inc["kind"], early[0][1], early[0][2], (f["visible_at"] - early[0][0]) / 3600))
            check(f["detected"], "%s: reported as missed" % inc["kind"])
            # The reported lead times are the caused alerts' (or earlier ones inside its window).
            for kind in ("page", "ticket"):
                lead, at = f[kind + "_lead_seconds"], f["first_%s_at" % kind]
                if at is not None:
                    check(abs(lead - (f["visible_at"] - at)) < 1e-6, "lead time arithmetic")
                    check(at >= f["window_start"], "first %s before the incident window" % kind)
            caused_pages = [c for c in early if c[2] == "page"]
            if caused_pages:
                check(f["page_lead_seconds"] is not None and
                      f["page_lead_seconds"] >= f["visible_at"] - caused_pages[0][0] - 1e-6,
                      "%s: page lead %s shorter than the caused page's" %
                      (inc["kind"], f["page_lead_seconds"]))
        if inc["kind"] == "concept_drift" and f:
            print("%-16s (no input signal) detected_by %s" % (inc["kind"], f["detected_by"]))

    # The outage, listed by the owner: paged by ModelDown within minutes.
    outage = next(i for i in incidents if i["kind"] == "outage")
    owner = [i for i in result["incidents"] if i["source"] == "owner"]
    if check(len(owner) == 1, "owner incidents: %d" % len(owner)):
        o = owner[0]
        check(o["visible_at"] == outage["start"] and o["end"] == outage["end"], "owner times")
        check(o["first_page_at"] is not None and
              outage["start"] <= o["first_page_at"] <= outage["start"] + 900,
              "outage paged at %s, start %d" % (o["first_page_at"], outage["start"]))
        check("ModelDown/page" in o["detected_by"], "outage not paged by ModelDown: %s" %
              o["detected_by"])

    # The missing feature: FeatureMissing pages it, on the feature that went missing, within an
    # hour of the upstream break (its shortest window, 1h, is half missing after 30 minutes;
    # then `for`), never before the break; no other feature is reported missing.
    mf = next(i for i in incidents if i["kind"] == "missing_feature")
    missing = [a for a in alerts if a["alertname"] == "FeatureMissing"]
    starts = sorted(s for a in missing if a["severity"] == "page"
                    and a["labels"].get("feature") == "velocity" for s, _ in a["firing"])
    if check(starts and mf["start"] <= starts[0] <= mf["start"] + 3600,
             "missing feature: FeatureMissing pages for velocity at %s, break at %d" %
             (starts, mf["start"])):
        print("%-16s FeatureMissing/page %.2f h after the break" %
              ("missing_feature", (starts[0] - mf["start"]) / 3600))
    check(all(s >= mf["start"] for a in missing for s, _ in a["firing"]),
          "FeatureMissing fired before the break")
    check(all(a["labels"].get("feature") == "velocity" for a in missing),
          "FeatureMissing for other features: %s" %
          sorted({a["labels"].get("feature") for a in missing}))

    # False pages: a notification the backtest calls false never starts inside a true incident.
    for n in result["notifications"]:
        if n["false"]:
            check(not any(a <= n["start"] < i["end"] for i, (a, _) in zip(incidents, spans)),
                  "%s/%s at %s called false inside a true incident" %
                  (n["alertname"], n["severity"], n["start"]))
    pages_outside_truth = sum(
        1 for n in result["notifications"]
        if n["severity"] == "page" and not any(a <= n["start"] <= b for a, b in spans))
    s = result["summary"][0]
    print("summary: %d/%d incidents detected, %d false pages (%s/day), %d pages outside every "
          "true incident, median page lead %s s" %
          (s["detected"], s["incidents"], s["false_pages"], s["false_pages_per_day"],
           pages_outside_truth, s["median_page_lead_seconds"]))
    check(s["false_pages"] <= pages_outside_truth,
          "false pages %d > pages outside every true incident %d" %
          (s["false_pages"], pages_outside_truth))

    # Peer rule sets: judged against the same incidents, with the same arithmetic.
    peers = {p["name"]: p for p in result.get("peers", [])}
    check(sorted(peers) == ["peer-ks", "peer-psi"], "peer sets: %s" % sorted(peers))
    for name, p in peers.items():
        check([i["id"] for i in p["incidents"]] == [i["id"] for i in result["incidents"]],
              "%s: incident ids differ from the main result's" % name)
        ps = p["summary"][0]
        check(ps["detected"] == sum(1 for i in p["incidents"] if i["detected"]),
              "%s: detected count" % name)
        check(ps["false_pages"] == sum(1 for n in p["notifications"]
                                       if n["false"] and n["severity"] == "page"),
              "%s: false pages count" % name)
        check(all(n["alertname"].startswith("Peer") or n["alertname"] in
                  ("ModelDown", "PerformanceBelowRetrainThreshold") for n in p["notifications"]),
              "%s: foreign alerts in its notifications" % name)
        # The copied ModelDown reads a recording rule of the generated file: evaluated over the
        # same TSDB it pages the outage as the generated one does.
        po = next(i for i, m in zip(p["incidents"], result["incidents"]) if m["source"] == "owner")
        check("ModelDown/page" in po["detected_by"], "%s: outage not paged by ModelDown" % name)
        print("%-8s %d/%d detected, %d false pages (%s/day), median lead %s s" %
              (name, ps["detected"], ps["incidents"], ps["false_pages"], ps["false_pages_per_day"],
               ps["median_lead_seconds"]))
    # amount_z drifts by 3 sd in the covariate drift: the KS test sees it between the true start
    # and the labels.
    cov = next(i for i in incidents if i["kind"] == "covariate_drift")
    if check("peer-ks" in peers and cov.get("found"), "no peer-ks result or covariate incident"):
        ks_amount = [s for a in peers["peer-ks"]["alerts"]
                     if a["alertname"] == "PeerFeatureKS" and a["labels"].get("feature") == "amount_z"
                     for s, _ in a["firing"] if cov["start"] <= s < cov["found"]["visible_at"]]
        check(ks_amount, "peer-ks: no KS alert on amount_z during the covariate drift")

    # Suggestions: page thresholds that met the target (0 false pages/day) at or above their
    # floor, the configured values as "current", weights summing to 1, and a snippet that
    # validates once pasted over the config's drift and degradation blocks.
    sug = result["suggestions"][0]
    check(sug["model"] == "txn-risk" and sug["target_false_pages_per_day"] == 0, "suggestion model")
    configured = {"drift.critical": 0.2, "degradation.page_at": 80}
    for t in sug["thresholds"]:
        check(t["current"]["threshold"] == configured[t["key"]], "%s: current threshold" % t["key"])
        o = t["suggested"]
        if o is not None:
            check(o["false_pages"] == 0 and o["threshold"] >= t["floor"],
                  "%s: suggestion %s misses the target or its floor" % (t["key"], o))
            check(o["incidents"] == len(result["incidents"]), "%s: incidents" % t["key"])
        print("suggested %s: %s (now %s)" % (t["key"], o and o["threshold"],
                                              t["current"]["threshold"]))
    w = sug["weights"]
    if check(w["suggested"] is not None, "no weights suggested"):
        check(abs(sum(w["suggested"].values()) - 1) < 1e-9, "weights sum %s" % w["suggested"])
        # No prediction of this history fails: errors never moves, so it keeps its weight.
        check(w["suggested"].get("errors") == 0.1 and "errors" not in w["correlation"],
              "errors weight %s" % w["suggested"].get("errors"))
        # Three of the four label incidents are input/output drift: drift must correlate.
        check(w["correlation"].get("drift", 0) > 0, "drift correlation %s" % w["correlation"])
        print("suggested weights %s" % w["suggested"])
    models_dir, rulegen = sys.argv[5], sys.argv[6]
    pasted = models_dir.rstrip("/") + "-suggested"
    shutil.copytree(models_dir, pasted)
    path = os.path.join(pasted, "txn-risk.yaml")
    kept, skipping = [], False
    for line in open(path).read().splitlines():
        top = line[:1] not in (" ", "\t", "")
        if top:
            skipping = line.split(":")[0] in ("drift", "degradation")
        if not skipping:
            kept.append(line)
    with open(path, "w") as f:
        f.write("\n".join(kept) + "\n" + sug["yaml"])
    v = subprocess.run([rulegen, "validate", "--config.dir=" + pasted], capture_output=True,
                       text=True, timeout=60)
    check(v.returncode == 0, "pasted suggestion does not validate:\n" + v.stdout + v.stderr)
    check("drift:" in sug["yaml"] and "degradation:" in sug["yaml"], "snippet blocks")

    # The HTML report as a browser renders it.
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
             "--virtual-time-budget=2000", "--dump-dom", "file://" + os.path.abspath(html_path)],
            capture_output=True, text=True, timeout=120).stdout
        shot = os.path.join(profile, "report.png")
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
             "--window-size=1100,2400", "--screenshot=" + shot,
             "file://" + os.path.abspath(html_path)], capture_output=True, timeout=120)
        check(os.path.exists(shot) and os.path.getsize(shot) > 20000, "no screenshot")
    kinds = re.findall(r"<svg class=\"plot\" data-kind=\"([\w-]+)\"", dom)
    check(sorted(set(kinds)) == ["alerts", "degradation", "peer-alerts", "performance"],
          "plots rendered: %s" % kinds)
    points = [int(p) for p in re.findall(r'class="series"[^>]*data-points="(\d+)"', dom)]
    check(points and max(points) > 500, "series drawn with points %s" % points[:10])
    check(len(re.findall(r'class="alert-band" data-severity="page"', dom)) > 0, "no page band")
    check(len(re.findall(r'class="incident"', dom)) >= 4, "incident shading")
    check('id="incidents"' in dom and 'id="summary"' in dom, "tables missing")
    check('id="suggested-thresholds"' in dom and 'id="suggested-weights"' in dom and
          'class="suggestion"' in dom, "suggestion tables missing")
    check('id="peer-comparison"' in dom and 'data-rules="peer-ks"' in dom and
          'id="peer-incidents"' in dom, "peer comparison tables missing")
    check("http://" not in re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", dom) and
          "https://" not in dom, "the report refers to the network")

    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
