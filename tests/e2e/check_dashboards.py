#!/usr/bin/python3
"""Runs every panel query of every generated Grafana dashboard against a live Prometheus.

Template variables are substituted as Grafana would: query variables
(`label_values(metric, label)`, `label_values(label)`) are resolved against the same
Prometheus (all values joined as a regex for multi/all variables, else the first one; a
per-model dashboard's `model` variable takes that model), custom/constant/interval variables
take their values, and Grafana's built-ins get fixed values ($__rate_interval = 1m,
$__interval = 15s, $__range = the test's span). Each query runs as a range query over
[--start, now], so a panel has data if its query returned any series at any point of the
run. Prints one line per panel without data (and per query error) and a summary; exits 1 if
any panel has no data or a query fails, 2 if there are no dashboards.
"""

import argparse
import glob
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def prom_get(prom, path, params):
    url = "%s%s?%s" % (prom, path, urllib.parse.urlencode(params, doseq=True))
    try:
        with urllib.request.urlopen(url, timeout=15) as r:
            body = json.loads(r.read())
    except urllib.error.HTTPError as e:
        try:
            body = json.loads(e.read())
        except ValueError:
            body = {"status": "error", "error": str(e)}
    except (OSError, ValueError) as e:
        body = {"status": "error", "error": str(e)}
    return body


def iter_panels(panels):
    for p in panels or []:
        yield p
        yield from iter_panels(p.get("panels"))


LABEL_VALUES_RE = re.compile(r"^\s*label_values\(\s*(?:(.*),\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")


def resolve_query_var(prom, query, start, end):
    m = LABEL_VALUES_RE.match(query or "")
    if not m:
        return None
    match, label = m.group(1), m.group(2)
    params = {"start": start, "end": end}
    if match:
        params["match[]"] = match
    body = prom_get(prom, "/api/v1/label/%s/values" % label, params)
    return sorted(body.get("data") or [])


def substitute(expr, values):
    for name in sorted(values, key=len, reverse=True):
        v = values[name]
        expr = re.sub(r"\$\{%s(?::[a-z]+)?\}" % re.escape(name), lambda _m: v, expr)
        expr = re.sub(r"\[\[%s\]\]" % re.escape(name), lambda _m: v, expr)
        expr = re.sub(r"\$%s\b" % re.escape(name), lambda _m: v, expr)
    return expr


def regex_escape(value):
    # Regex metacharacters get a backslash, doubled for the PromQL string literal ("\\.");
    # PromQL rejects unknown escapes such as "\-", so nothing else is escaped.
    return "".join("\\\\" + c if c in ".^$*+?()[]{}|\\" else c for c in value)


def regex_of(vals):
    if len(vals) == 1:
        return regex_escape(vals[0])
    return "(" + "|".join(regex_escape(v) for v in vals) + ")"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dashboards", required=True, help="directory with the dashboards' JSON")
    p.add_argument("--prom", required=True)
    p.add_argument("--start", type=float, required=True, help="epoch seconds")
    p.add_argument("--step", default="5")
    args = p.parse_args()
    end = time.time()
    span = max(60, int(end - args.start))
    builtins = {"__rate_interval": "1m", "__interval": "15s", "__interval_ms": "15000",
                "__range": "%ds" % span, "__range_s": str(span), "__range_ms": str(span * 1000)}
    files = sorted(glob.glob(os.path.join(args.dashboards, "*.json")))
    if not files:
        print("FAIL: no dashboards in %s" % args.dashboards)
        return 2
    total = empty = errors = 0
    for path in files:
        with open(path) as fh:
            dash = json.load(fh)
        dname = os.path.basename(path)
        base = dname[:-5]
        values = dict(builtins)
        for var in (dash.get("templating") or {}).get("list") or []:
            name, vtype = var.get("name"), var.get("type")
            if not name or vtype in ("datasource", "adhoc"):
                continue
            vals = None
            if vtype == "query":
                query = var.get("query")
                if isinstance(query, dict):
                    query = query.get("query", "")
                # A variable's query may use the variables defined before it.
                vals = resolve_query_var(args.prom, substitute(query or "", values), args.start,
                                         end)
                if name == "model" and base != "overview":
                    vals = [base]  # a per-model dashboard shows its own model
            elif vtype in ("custom", "interval"):
                opts = [o.get("value") for o in var.get("options") or [] if o.get("value")]
                vals = opts or [x.strip() for x in str(var.get("query", "")).split(",") if x]
            elif vtype in ("constant", "textbox"):
                vals = [str(var.get("query", ""))]
            if not vals:
                cur = (var.get("current") or {}).get("value")
                vals = cur if isinstance(cur, list) else [cur] if cur else []
            vals = [v for v in vals if v not in ("$__all",)]
            if not vals:
                print("FAIL: %s: variable $%s resolves to no value (query %r)" % (
                    dname, name, var.get("query")))
                errors += 1
                values[name] = "__no_value__"
                continue
            multi = var.get("multi") or var.get("includeAll")
            if vtype == "interval":
                values[name] = vals[0]
            else:
                values[name] = regex_of(vals) if multi else vals[0]
        for panel in iter_panels(dash.get("panels")):
            targets = [t for t in panel.get("targets") or [] if t.get("expr") and not t.get("hide")]
            if not targets:
                continue
            total += 1
            has_data, errs = False, []
            for t in targets:
                expr = substitute(t["expr"], values)
                body = prom_get(args.prom, "/api/v1/query_range",
                                {"query": expr, "start": args.start, "end": end,
                                 "step": args.step})
                if body.get("status") != "success":
                    errs.append("%s -> %s" % (expr, body.get("error")))
                elif body["data"]["result"]:
                    has_data = True
            title = panel.get("title") or "(untitled, id %s)" % panel.get("id")
            if errs:
                errors += 1
                for e in errs:
                    print("FAIL: %s / %s: query error: %s" % (dname, title, e))
            if not has_data:
                empty += 1
                print("NO DATA: %s / %s: %s" % (dname, title, " | ".join(
                    substitute(t["expr"], values) for t in targets)))
    print("dashboards: %d files, %d panels with queries, %d without data, %d query errors"
          % (len(files), total, empty, errors))
    return 1 if (empty or errors or total == 0) else 0


if __name__ == "__main__":
    sys.exit(main())
