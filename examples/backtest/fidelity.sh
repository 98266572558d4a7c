#!/usr/bin/env bash
# The fidelity table of docs/backtest.md: both shipped histories generated, backtested with
# the rules `modelwatch-rulegen generate` writes for their configs and, in the same run, with
# the peer-style fixed thresholds of peer_rules.py (PSI > 0.2; KS p < 0.05), and summarised.
# Usage: examples/backtest/fidelity.sh BUILD_DIR [OUT_DIR]   (needs promtool, prometheus, amtool)
set -euo pipefail
BUILD=$(cd "${1:?usage: fidelity.sh BUILD_DIR [OUT_DIR]}" && pwd)
OUT=${2:-$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-fidelity.XXXXXX")}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
mkdir -p "$OUT"
run() {  # NAME GENERATOR MODEL
  local dir=$OUT/$1
  $PY "$HERE/$2" "$dir" >&2
  "$BUILD/exporter/modelwatch-exporter" baseline --config.dir="$dir/models" --model="$3" \
    --input="$dir/reference.jsonl" --labels="$dir/reference.labels.jsonl" \
    --output="$dir/baseline.json" >&2
  "$BUILD/rulegen/modelwatch-rulegen" generate --config.dir="$dir/models" --out="$dir/generated" >&2
  for t in psi ks; do
    $PY "$HERE/peer_rules.py" --config.dir="$dir/models" --rules.dir="$dir/generated" \
      --tests=$t --out="$dir/peer-$t.rules.yml"
    promtool check rules "$dir/peer-$t.rules.yml" >/dev/null
  done
  local t0=$SECONDS
  "$BUILD/exporter/modelwatch-exporter" backtest --config.dir="$dir/models" \
    --rules.dir="$dir/generated" --input="$dir/history.jsonl" --labels="$dir/labels.jsonl" \
    --incidents="$dir/incidents.yaml" --peer-rules="$dir/peer-psi.rules.yml,$dir/peer-ks.rules.yml" \
    --output="$dir/backtest.json" --html="$dir/backtest.html" >&2
  echo "$1 $((SECONDS - t0))" >>"$OUT/seconds.txt"
}
: >"$OUT/seconds.txt"
run synthetic-week gen_history.py txn-risk
run sklearn-breast-cancer gen_sklearn_history.py tumour-triage
$PY - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
def h(s):
    return "—" if s is None else "%.1f h" % (s / 3600)
print("| history | incidents (labels + owner) | detected | detected by a page | median page lead | median ticket lead | false pages/day | false tickets/day | pages/incident |")
print("|---|---|---|---|---|---|---|---|---|")
for name in ("synthetic-week", "sklearn-breast-cancer"):
    r = json.load(open("%s/%s/backtest.json" % (out, name)))
    t = json.load(open("%s/%s/truth.json" % (out, name)))
    for s in r["summary"]:
        fpd = s["false_pages_per_day"]; ftd = s["false_tickets_per_day"]; ppi = s["pages_per_incident"]
        print("| %s (%d true) | %d | %d | %d | %s | %s | %s | %s | %s |" % (
            name, len(t["incidents"]), s["incidents"], s["detected"], s["detected_by_page"],
            h(s["median_page_lead_seconds"]), h(s["median_ticket_lead_seconds"]),
            "—" if fpd is None else "%.2f" % fpd, "—" if ftd is None else "%.2f" % ftd,
            "—" if ppi is None else "%.1f" % ppi))
print()
print("Peer comparison: the same replay and incidents; lead = first notification of either")
print("severity; 'after cause' = incidents whose first notification came after the true start")
print("(truth.json), i.e. not a chance alert in the look-back window.")
print()
print("| history | rules | detected | detected after cause | median lead | median lead after cause | false pages/day | false notifications/day |")
print("|---|---|---|---|---|---|---|---|")
def caused(r, t, incs):
    # incidents (ids) whose first notification is at or after the true start of the incident
    # it belongs to (owner incidents: their start; label incidents: the truth incident whose
    # [start, end + recovery] holds visible_at).
    out = {}
    for inc, d in incs:
        first = d.get("lead_seconds")
        if not d["detected"]:
            continue
        at = inc["visible_at"] - first
        for ti in t["incidents"]:
            if ti["start"] <= inc["visible_at"] <= ti["end"] + 86400 * 0.5:
                if at >= ti["start"]:
                    out[inc["id"]] = first
                break
    return out
def med(v):
    v = sorted(v)
    return None if not v else (v[len(v)//2] if len(v) % 2 else (v[len(v)//2-1] + v[len(v)//2]) / 2)
for name in ("synthetic-week", "sklearn-breast-cancer"):
    r = json.load(open("%s/%s/backtest.json" % (out, name)))
    t = json.load(open("%s/%s/truth.json" % (out, name)))
    sets = [("modelwatch", r["summary"], r["incidents"])] + \
        [(p["name"], p["summary"], p["incidents"]) for p in r["peers"]]
    for label, summary, incs in sets:
        s = summary[0]
        c = caused(r, t, list(zip(r["incidents"], incs)))
        fpd = s["false_pages_per_day"]; fnd = s["false_notifications_per_day"]
        print("| %s | %s | %d/%d | %d | %s | %s | %s | %s |" % (
            name, label, s["detected"], s["incidents"], len(c), h(s["median_lead_seconds"]),
            h(med(list(c.values()))), "—" if fpd is None else "%.2f" % fpd,
            "—" if fnd is None else "%.2f" % fnd))
print()
print("Per incident (lead: + before the labels showed it):")
print()
print("| history | incident | visible in labels | detected by (first three) | page lead | ticket lead |")
print("|---|---|---|---|---|---|")
for name in ("synthetic-week", "sklearn-breast-cancer"):
    r = json.load(open("%s/%s/backtest.json" % (out, name)))
    for i in r["incidents"]:
        print("| %s | %s %s | %s | %s | %s | %s |" % (
            name, i["id"], i["source"] + (" " + i["name"] if i["name"] else ""),
            i["visible_at_rfc3339"], ", ".join(i["detected_by"][:3]) or "missed",
            h(i["page_lead_seconds"]), h(i["ticket_lead_seconds"])))
PYEOF
echo "results in $OUT" >&2
