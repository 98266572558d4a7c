#!/usr/bin/python3
"""Judges one run of the end-to-end alerting scenario.

Inputs: the receiver's notification log, the generator's anomaly events, the poller's
Alertmanager/Prometheus snapshots, the demo config dir (owners, tiers), the scenario (its
`expect*` keys) and the live Prometheus (for the control period). Prints one PASS/FAIL line
per check and a detection-latency table; exits 1 if any check failed.

Checks
  control     no alert other than Watchdog was pending or firing in Prometheus, and no
              notification other than the heartbeat arrived, before the first anomaly
  detect      every `expect` alert of every anomaly reached a receiver after the anomaly
              started, with labels model, team (the owner's), tier, severity, and at the
              receiver its severity routes to (page -> <team>-pagerduty and a copy to
              <team>-slack, ticket -> <team>-slack, info -> <team>-email), as notified and
              as Alertmanager shows
  grouping    `expect_grouped`: the alerts for all listed label values arrived in one
              notification
  dedup       no receiver got the same notification twice
  inhibition  `expect_inhibits`: while ModelDown was active in Alertmanager, every other
              alert of that model there was suppressed (inhibitedBy set), at least one such
              alert existed, and no notification for one arrived
  resolution  `expect_resolved`: a resolved notification arrived after the anomaly ended
  heartbeat   the Watchdog reached the heartbeat receiver
  team files  every PagerDuty event used the routing key of the team it pages, every Slack
              message the webhook of the team it is for (per-team secret files)
  paging      one incident = one page. PagerDuty is simulated from the events it received: a
              trigger whose dedup_key has no open incident opens one (a page: someone's phone
              rings); a trigger on an open incident only updates it; a resolve closes it. The
              scenario's anomalies are grouped into incidents (`incident`, default: one per
              anomaly); a page belongs to the incident of its model whose time span (first
              start to last end + `settle` seconds) holds it. Printed per incident:
              notifications, page events, pages and time to first page. Asserted: every
              incident that expects a page (`expect_pages`) got exactly that many pages,
              every other incident at most one, no page outside any incident, and zero pages
              in the clean control period.
"""

import argparse
import glob
import json
import os
import re
import sys
import urllib.parse
import urllib.request

import yaml

KIND_FOR_SEVERITY = {"page": "pagerduty", "ticket": "slack", "info": "email"}
RESULTS = []


def result(ok, name, msg):
    RESULTS.append(ok)
    print("%s: %-11s %s" % ("PASS" if ok else "FAIL", name, msg), flush=True)


def load_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as fh:
            for line in fh:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    return out


def load_models(config_dir):
    models = {}
    for path in glob.glob(os.path.join(config_dir, "*.yaml")):
        if os.path.basename(path) == "modelwatch.yaml":
            continue
        with open(path) as fh:
            cfg = yaml.safe_load(fh)
        models[cfg["model"]] = {"team": cfg["owner"]["team"], "tier": str(cfg.get("tier", 2)),
                                "slack": cfg["owner"].get("slack")}
    return models


TITLE_RE = re.compile(r"\[(FIRING|RESOLVED)(?::(\d+))?\]\s*(\S+)(?:\s+(\S+))?")


def note_alerts(note, models):
    """(alertname, model, labels-or-None, status) for each alert a notification carries, as
    the receiver parsed them from the rendered text. Falls back to the subject line
    ("[FIRING:3] FeatureDrift fraud-detector (page)") when the text carries no alert list."""
    alerts = note.get("alerts") or []
    if alerts:
        out = []
        for a in alerts:
            lb = dict(a["labels"])
            # The modelwatch template names the feature only in the summary.
            m = re.match(r"Feature (\S+) of ", a.get("summary") or "")
            if m and "feature" not in lb:
                lb["feature"] = m.group(1)
            out.append((lb.get("alertname"), lb.get("model"), lb, a.get("status") or
                        note.get("status")))
        return out
    m = TITLE_RE.search(note.get("title") or "")
    if not m:
        return []
    status = "firing" if m.group(1) == "FIRING" else "resolved"
    model = m.group(4) if m.group(4) in models else None
    n = int(m.group(2)) if m.group(2) else 1
    return [(m.group(3), model, None, status)] * max(1, n)


def prom_query_range(prom, query, start, end, step=1):
    url = "%s/api/v1/query_range?%s" % (prom, urllib.parse.urlencode(
        {"query": query, "start": start, "end": end, "step": step}))
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())["data"]["result"]


def fmt_labels(labels):
    return "{%s}" % ",".join("%s=%s" % kv for kv in sorted(labels.items())
                             if kv[0] not in ("alertname",))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--notifications", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--poll", required=True)
    p.add_argument("--config-dir", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--prom", required=True)
    p.add_argument("--latency-out", help="write the detection-latency table here too")
    args = p.parse_args()

    notes = load_jsonl(args.notifications)
    events = load_jsonl(args.events)
    polls = [s for s in load_jsonl(args.poll) if isinstance(s.get("am"), list)]
    models = load_models(args.config_dir)
    with open(args.scenario) as fh:
        scenario = yaml.safe_load(fh)
    anomalies = scenario["anomalies"]
    gen = [e for e in events if e["kind"] == "generator" and e["phase"] == "start"]
    if not gen:
        result(False, "setup", "the generator logged no start event")
        return 1
    gen_start = gen[0]["time"]
    times = {}
    for e in events:
        if e.get("index") is not None:
            times.setdefault(e["index"], {})[e["phase"]] = e["time"]
    for i, a in enumerate(anomalies):
        a["t_start"] = times.get(i, {}).get("start")
        a["t_end"] = times.get(i, {}).get("end")
        if a["t_start"] is None:
            result(False, "setup", "anomaly %d (%s %s) never started" % (i, a["kind"], a["model"]))
            return 1
    print("notifications received: %d (%s)" % (len(notes), ", ".join(
        "%s=%d" % (k, sum(1 for n in notes if n["kind"] == k))
        for k in ("pagerduty", "slack", "email", "heartbeat", "webhook"))))

    # Labels and receivers as Alertmanager saw them, per (alertname, model), and each alert's
    # own receivers.
    am_seen, am_receivers = {}, {}
    for snap in polls:
        for al in snap["am"]:
            lab = al.get("labels", {})
            key = (lab.get("alertname"), lab.get("model"))
            ent = am_seen.setdefault(key, {"labels": [], "receivers": set()})
            recv = sorted(r.get("name") for r in al.get("receivers") or [])
            if lab not in ent["labels"]:
                ent["labels"].append(lab)
                am_receivers.setdefault(key, []).append((lab, recv))
            ent["receivers"].update(recv)

    # --- control period: after the warm-up, before the first anomaly
    first = min(a["t_start"] for a in anomalies)
    control = gen_start + float(scenario.get("warmup", 0))
    series = prom_query_range(args.prom, 'ALERTS{alertname!="Watchdog"}', control, first)

    def describe(ss):
        return sorted({"%s%s" % (x["metric"].get("alertname"), fmt_labels(
            {k: v for k, v in x["metric"].items() if k in ("model", "feature", "severity",
                                                             "window")})) for x in ss})

    names = describe([x for x in series if x["metric"].get("alertstate") == "firing"])
    pending = describe([x for x in series if x["metric"].get("alertstate") == "pending"])
    if pending:
        print("note: pending (never firing) in the control period: %s" % ", ".join(pending))
    result(not names, "control", "no alert firing in the %.0f s control period" % (
        first - control) if not names else "alerts in the clean control period: %s" %
        ", ".join(names))
    warm = [n.get("title") or n["kind"] for n in notes
            if n["received_at"] < control and n["kind"] != "heartbeat"]
    if warm:
        print("note: %d notifications during the %.0f s warm-up: %s" % (
            len(warm), control - gen_start, "; ".join(warm[:6])))
    early = [n for n in notes if control <= n["received_at"] < first and n["kind"] != "heartbeat"
             and n.get("status") != "resolved"]
    result(not early, "control", "no firing notification in the control period" if not early
           else "%d firing notifications in the control period: %s" % (
               len(early), "; ".join(n.get("title") or n["kind"] for n in early[:5])))

    # --- detection, labels, receivers, latency
    latency_rows = []
    for a in anomalies:
        model = a["model"]
        own = models.get(model)
        for alertname in a.get("expect") or []:
            hits = []
            for n in notes:
                if n["received_at"] < a["t_start"] or n["kind"] == "heartbeat":
                    continue
                for (an, am_, labels, status) in note_alerts(n, models):
                    if an == alertname and am_ == model and status == "firing":
                        hits.append((n, labels))
            what = "%s for %s (%s %g-%g s)" % (alertname, model, a["kind"], a["start"], a["end"])
            if not hits:
                seen = am_seen.get((alertname, model))
                prom_fired = any(al.get("labels", {}).get("alertname") == alertname and
                                 al.get("labels", {}).get("model") == model
                                 for s in polls for al in s["prom"])
                result(False, "detect", "%s: no notification arrived (%s)" % (
                    what, "Alertmanager had it, receivers %s" % sorted(seen["receivers"])
                    if seen else "Prometheus had it but Alertmanager did not" if prom_fired
                    else "never pending or firing in Prometheus"))
                latency_rows.append((model, a["kind"], alertname, None, "-"))
                continue
            n0, _ = hits[0]
            lat = n0["received_at"] - a["t_start"]
            latency_rows.append((model, a["kind"], alertname, lat, n0["kind"]))
            problems = []
            # Label sets: from the notification if it carries them, else from Alertmanager.
            label_sets = [lb for (_, lb) in hits if lb] or (am_seen.get((alertname, model)) or
                                                            {}).get("labels", [])
            if not label_sets:
                problems.append("no label set visible (neither in the notification nor in "
                                "Alertmanager)")
            for lb in label_sets:
                if lb.get("team") != own["team"]:
                    problems.append("team=%r, want %r" % (lb.get("team"), own["team"]))
                if lb.get("tier") != own["tier"]:
                    problems.append("tier=%r, want %r" % (lb.get("tier"), own["tier"]))
                if lb.get("severity") not in KIND_FOR_SEVERITY:
                    problems.append("severity=%r" % lb.get("severity"))
            for (n, lb) in hits:
                sevs = {lb.get("severity")} if lb else {
                    x.get("severity") for x in label_sets}
                kinds = {KIND_FOR_SEVERITY.get(s) for s in sevs}
                if "page" in sevs:
                    kinds.add("slack")  # every page is also posted to the team's Slack
                if n["kind"] not in kinds:
                    problems.append("arrived at %s but severity %s routes to %s" % (
                        n["kind"], "/".join(sorted(str(s) for s in sevs)),
                        "/".join(sorted(str(k) for k in kinds))))
                if n["kind"] == "slack" and own.get("slack") and n.get("channel") not in (
                        None, own["slack"]):
                    problems.append("Slack channel %r, want %r" % (n.get("channel"),
                                                                   own["slack"]))
            for lb, recv in am_receivers.get((alertname, model), []):
                want = ["%s-%s" % (own["team"], KIND_FOR_SEVERITY.get(lb.get("severity"), "?"))]
                if lb.get("severity") == "page":
                    want.append("%s-slack" % own["team"])
                if recv != sorted(want):
                    problems.append("Alertmanager routed severity=%s to %s, want %s" % (
                        lb.get("severity"), recv, want))
            for key, want in (a.get("expect_labels") or {}).items():
                vals = {lb.get(key) for lb in label_sets}
                if want not in vals:
                    problems.append("no alert with %s=%s (saw %s)" % (key, want, sorted(
                        str(v) for v in vals)))
            uniq = []
            for x in problems:
                if x not in uniq:
                    uniq.append(x)
            result(not uniq, "detect", "%s: %s after %.1f s at %s%s" % (
                what, "notified" if not uniq else "notified but", lat, n0["kind"],
                "" if not uniq else ": " + "; ".join(uniq[:6])))

    # --- grouping
    for a in anomalies:
        g = a.get("expect_grouped")
        if not g:
            continue
        key = [k for k in g if k != "alertname"][0]
        want = set(g[key])
        first_seen = {}
        for n in notes:
            if n["received_at"] < a["t_start"]:
                continue
            for (an, am_, lb, status) in note_alerts(n, models):
                if an == g["alertname"] and am_ == a["model"] and lb and status == "firing":
                    v = lb.get(key)
                    if v in want and v not in first_seen:
                        first_seen[v] = id(n), n
        got = {v for v in first_seen}
        nids = {first_seen[v][0] for v in got}
        if got != want:
            # Labels may be invisible in the text (Slack default): fall back to the count.
            cands = [n for n in notes if n["received_at"] >= a["t_start"] and any(
                an == g["alertname"] and am_ == a["model"] for (an, am_, _, _) in
                note_alerts(n, models))]
            ok = bool(cands) and (cands[0].get("num_firing") or 0) >= len(want)
            result(ok, "grouping", "%s %s: first notification carries %s firing alerts "
                   "(labels not visible; want >= %d)%s" % (
                       g["alertname"], a["model"], cands[0].get("num_firing") if cands else 0,
                       len(want), "" if got == set() else "; saw %s=%s only" % (key,
                                                                               sorted(got))))
        else:
            # Alertmanager sends a group's notification group_wait after the group appears and
            # then every group_interval, each with every alert of the group it holds by then;
            # an alert that arrives after a flush goes out with the next one. So each alert
            # that was in Alertmanager before the first notification went out must be in it.
            # When each reached Alertmanager comes from the poller (1 s steps: 2 s of slack).
            arrived = {}
            for snap in polls:
                for al in snap["am"]:
                    lb = al.get("labels", {})
                    if (lb.get("alertname") == g["alertname"] and lb.get("model") == a["model"]
                            and lb.get(key) in want and snap["time"] >= a["t_start"]):
                        arrived.setdefault(lb[key], snap["time"])
            first_note = min((first_seen[v][1] for v in got), key=lambda n: n["received_at"])
            in_first = {v for v in got if first_seen[v][0] == id(first_note)}
            t0 = min(arrived.values()) if arrived else None
            together = {v for v in arrived if arrived[v] < first_note["received_at"] - 2.0}
            missing = together - in_first
            ok = not missing
            if len(together) < 2:
                print("note: grouping untested this run: only %s reached Alertmanager well "
                      "before the first notification" % "+".join(sorted(together)))
            when = ", ".join("%s +%.0f s" % (v, arrived[v] - t0) for v in sorted(arrived)) \
                if arrived else "never seen in Alertmanager"
            result(ok, "grouping", "%s %s for %s=%s: %s (reached Alertmanager: %s; "
                   "first notification +%.0f s)" % (
                       g["alertname"], a["model"], key, "+".join(sorted(want)),
                       "one notification (%d firing alerts, at %s)" % (
                           first_note.get("num_firing") or 0, first_note["kind"])
                       if len(nids) == 1 else
                       "first notification carries %s, the rest followed%s" % (
                           "+".join(sorted(in_first)),
                           "" if not missing else "; missing from it although Alertmanager "
                           "held them before it was sent: %s" % "+".join(sorted(missing))),
                       when, first_note["received_at"] - t0 if t0 is not None else 0))

    # --- dedup: the same notification content twice at one receiver
    seen, dups = {}, []
    for n in notes:
        raw = dict(n.get("raw") or {})
        sig = json.dumps([n["kind"], n["path"], raw], sort_keys=True)
        if sig in seen and n["kind"] != "heartbeat":
            dups.append(n)
        seen[sig] = n
    result(not dups, "dedup", "no notification repeated (%d notifications)" % len(notes)
           if not dups else "%d repeated notifications, e.g. %s at %s" % (
               len(dups), dups[0].get("title"), dups[0]["kind"]))
    hb = [n for n in notes if n["kind"] == "heartbeat"]

    # --- inhibition
    for a in anomalies:
        if not a.get("expect_inhibits"):
            continue
        model = a["model"]
        windows, suppressed, leaked = 0, set(), set()
        for snap in polls:
            down = [al for al in snap["am"] if al["labels"].get("alertname") == "ModelDown"
                    and al["labels"].get("model") == model
                    and al.get("status", {}).get("state") == "active"]
            if not down:
                continue
            windows += 1
            for al in snap["am"]:
                lb = al["labels"]
                if lb.get("model") != model or lb.get("alertname") in ("ModelDown", "Watchdog"):
                    continue
                st = al.get("status", {})
                tag = "%s%s" % (lb.get("alertname"), fmt_labels(
                    {k: v for k, v in lb.items() if k in ("feature", "window", "severity")}))
                if st.get("state") == "suppressed" and st.get("inhibitedBy"):
                    suppressed.add(tag)
                else:
                    leaked.add("%s(%s)" % (tag, st.get("state")))
        if windows == 0:
            result(False, "inhibition", "ModelDown for %s never active in Alertmanager" % model)
            continue
        # Notifications for symptom alerts of the model while ModelDown was notified firing.
        down_notes = sorted(n["received_at"] for n in notes for (an, am_, _, st) in
                            note_alerts(n, models) if an == "ModelDown" and am_ == model)
        t0 = down_notes[0] if down_notes else None
        t1 = next((n["received_at"] for n in notes for (an, am_, _, st) in note_alerts(n, models)
                   if an == "ModelDown" and am_ == model and st == "resolved"), None)
        during = []
        if t0 is not None:
            for n in notes:
                if n["received_at"] <= t0 + 0.5 or (t1 is not None and n["received_at"] >= t1):
                    continue
                for (an, am_, _, st) in note_alerts(n, models):
                    if am_ == model and an not in ("ModelDown", "Watchdog") and st == "firing":
                        during.append("%s at %s" % (an, n["kind"]))
        ok = bool(suppressed) and not leaked and not during
        result(ok, "inhibition", "ModelDown %s: %d snapshots with ModelDown active; suppressed: "
               "%s; not suppressed: %s; notified meanwhile: %s" % (
                   model, windows, ", ".join(sorted(suppressed)) or "none (nothing to inhibit)",
                   ", ".join(sorted(leaked)) or "none", ", ".join(sorted(set(during))) or "none"))

    # --- resolution
    for a in anomalies:
        for alertname in a.get("expect_resolved") or []:
            t_end = a["t_end"] or 1e18
            res = [n for n in notes if n["received_at"] >= t_end and any(
                an == alertname and am_ == a["model"] and st == "resolved"
                for (an, am_, _, st) in note_alerts(n, models))]
            result(bool(res), "resolution", "%s %s: %s" % (
                alertname, a["model"], "resolved notification %.1f s after the anomaly ended "
                "(at %s)" % (res[0]["received_at"] - t_end, res[0]["kind"]) if res else
                "no resolved notification after the anomaly ended"))

    # --- per-team secret files: routing keys and Slack webhooks of the right team
    wrong = []
    checked = 0
    for n in notes:
        teams = {lb.get("team") for (_, _, lb, _) in note_alerts(n, models) if lb and
                 lb.get("team")}
        if n["kind"] == "pagerduty":
            teams |= {models[m]["team"] for (_, m, _, _) in note_alerts(n, models) if m in models}
            if len(teams) == 1:
                checked += 1
                want = "demo-routing-key-%s" % next(iter(teams))
                if n.get("routing_key") != want:
                    wrong.append("PagerDuty key %r for %s" % (n.get("routing_key"), want))
        elif n["kind"] == "slack":
            teams |= {models[m]["team"] for (_, m, _, _) in note_alerts(n, models) if m in models}
            if len(teams) == 1:
                checked += 1
                want = "/slack/%s" % next(iter(teams))
                if n["path"] != want:
                    wrong.append("Slack webhook %s for %s" % (n["path"], want))
    result(checked > 0 and not wrong, "team files", "%d PagerDuty/Slack notifications, %s" % (
        checked, "each through its own team's key or webhook" if not wrong else
        "wrong: " + "; ".join(sorted(set(wrong))[:5])))

    # --- paging: one incident = one page
    settle = float(scenario.get("settle", 60))
    incidents = {}
    for i, a in enumerate(anomalies):
        name = a.get("incident") or "%s %s" % (a["model"], a["kind"])
        inc = incidents.setdefault(name, {"model": a["model"], "start": a["t_start"],
                                          "end": a["t_end"] or a["t_start"], "expect": None,
                                          "kinds": []})
        if inc["model"] != a["model"]:
            result(False, "setup", "incident %r spans two models" % name)
            return 1
        inc["start"] = min(inc["start"], a["t_start"])
        inc["end"] = max(inc["end"], a["t_end"] or a["t_start"])
        inc["kinds"].append(a["kind"])
        if a.get("expect_pages") is not None:
            inc["expect"] = int(a["expect_pages"])
    open_keys, pages, page_events = set(), [], []
    for n in sorted((n for n in notes if n["kind"] == "pagerduty"),
                    key=lambda n: n["received_at"]):
        key = n.get("group_key")
        pmodels = {m for (_, m, _, _) in note_alerts(n, models) if m}
        if n.get("status") == "resolved":
            open_keys.discard(key)
            continue
        page_events.append((n["received_at"], pmodels))
        if key not in open_keys:
            open_keys.add(key)
            pages.append((n["received_at"], pmodels, n.get("title")))

    def owner(t, ms):
        best = None
        for name, inc in incidents.items():
            if inc["model"] in ms and inc["start"] <= t <= inc["end"] + settle:
                if best is None or inc["start"] > incidents[best]["start"]:
                    best = name
        return best

    control_pages = [p for p in pages if control <= p[0] < first]
    print("paging (PagerDuty incidents opened; notifications = every notification with a "
          "firing alert of the model):")
    print("  %-36s %13s %11s %5s %14s" % ("incident", "notifications", "page events", "pages",
                                          "first page"))
    print("  %-36s %13s %11s %5d %14s" % ("clean control (%.0f s)" % (first - control), "-",
                                          "-", len(control_pages), "-"))
    unowned = [p for p in pages if p[0] >= first and owner(p[0], p[1]) is None]
    for name, inc in sorted(incidents.items(), key=lambda kv: kv[1]["start"]):
        lo, hi = inc["start"], inc["end"] + settle
        mine = [p for p in pages if owner(p[0], p[1]) == name]
        events = [e for e in page_events if lo <= e[0] <= hi and inc["model"] in e[1]]
        nn = [n for n in notes if lo <= n["received_at"] <= hi and n["kind"] != "heartbeat" and
              any(m == inc["model"] and st == "firing" for (_, m, _, st) in
                  note_alerts(n, models))]
        first_page = "%.1f s" % (mine[0][0] - inc["start"]) if mine else "-"
        print("  %-36s %13d %11d %5d %14s" % (name[:36], len(nn), len(events), len(mine),
                                              first_page))
        inc["pages"] = len(mine)
    result(not control_pages, "paging", "clean control: %d pages" % len(control_pages))
    for name, inc in sorted(incidents.items(), key=lambda kv: kv[1]["start"]):
        want = inc["expect"]
        ok = inc["pages"] == want if want is not None else inc["pages"] <= 1
        result(ok, "paging", "%s (%s): %d page%s, want %s" % (
            name, "+".join(inc["kinds"]), inc["pages"], "" if inc["pages"] == 1 else "s",
            want if want is not None else "at most 1"))
    result(not unowned, "paging", "no page outside the incidents" if not unowned else
           "%d pages outside any incident: %s" % (len(unowned), "; ".join(
               "%s at +%.0f s" % (p[2], p[0] - gen_start) for p in unowned[:4])))

    # --- heartbeat
    wd = [n for n in hb if any(an == "Watchdog" for (an, _, _, _) in note_alerts(n, models))]
    result(bool(wd), "heartbeat", "%d Watchdog notifications at the heartbeat receiver" % len(wd))

    # --- latency table
    lines = ["detection latency (anomaly start -> first notification):",
             "  %-18s %-14s %-18s %9s  %s" % ("model", "anomaly", "alert", "latency", "receiver")]
    for (m, k, an, lat, kind) in latency_rows:
        lines.append("  %-18s %-14s %-18s %9s  %s" % (m, k, an, "%.1f s" % lat if lat is not None
                                                       else "none", kind))
    print("\n".join(lines))
    if args.latency_out:
        with open(args.latency_out, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    failed = RESULTS.count(False)
    print("%d checks, %d failed" % (len(RESULTS), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
