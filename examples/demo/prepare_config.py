#!/usr/bin/python3
"""Builds the config directory of the local demo stack from the example models.

For every model file in --models-dir it writes a copy to --out with the demo overrides
(overrides.yaml: log paths under --log-dir, baselines under --baseline-dir, start at the
beginning of the logs, windows of seconds) merged in, and writes --out/modelwatch.yaml from
modelwatch.yaml.in with the local receiver's URLs. Secret files (the PagerDuty routing key,
the Slack webhook URL) go to --secrets-dir. Prints the models it wrote.

Sections of overrides.yaml are merged only into models that have that section (a model
without ground truth gets none); scalar keys are set. A feature's own drift windows follow the
model's (the model's second window becomes the overrides' second). `@MODEL@`, `@LOG_DIR@` and
`@BASELINE_DIR@` are replaced per model.
"""

import argparse
import glob
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def substitute(value, subs):
    if isinstance(value, str):
        for k, v in subs.items():
            value = value.replace(k, v)
        return value
    if isinstance(value, list):
        return [substitute(v, subs) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, subs) for k, v in value.items()}
    return value


def merge(base, over, top=False):
    for key, val in over.items():
        if isinstance(val, dict):
            if key not in base or not isinstance(base[key], dict):
                if top and key != "source":
                    continue  # the model does not use this section
                base[key] = {}
            merge(base[key], val)
        else:
            base[key] = val


def remap_feature_windows(cfg, original):
    """A feature's own drift windows name some of the model's; when the overrides shrink the
    model's windows, each keeps its position (the model's second window stays the second)."""
    new = (cfg.get("drift") or {}).get("windows") or []
    if not original or not new or new == original:
        return
    for feature in cfg.get("features") or []:
        own = (feature.get("drift") or {}).get("windows") if isinstance(feature, dict) else None
        if own:
            feature["drift"]["windows"] = [
                new[min(original.index(w), len(new) - 1)] if w in original else new[-1]
                for w in own]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--models-dir", default=os.path.join(HERE, "..", "models"))
    p.add_argument("--out", required=True)
    p.add_argument("--log-dir", required=True)
    p.add_argument("--baseline-dir", required=True)
    p.add_argument("--secrets-dir", required=True)
    p.add_argument("--receiver-url", required=True, help="e.g. http://127.0.0.1:9095")
    p.add_argument("--smtp", required=True, help="host:port of the SMTP stand-in")
    p.add_argument("--runbook-base-url", default="https://runbooks.example.com/modelwatch")
    p.add_argument("--overrides", default=os.path.join(HERE, "overrides.yaml"))
    p.add_argument("--fleet-template", default=os.path.join(HERE, "modelwatch.yaml.in"))
    args = p.parse_args()

    for d in (args.out, args.log_dir, args.baseline_dir, args.secrets_dir):
        os.makedirs(d, exist_ok=True)
    with open(args.overrides) as fh:
        overrides = yaml.safe_load(fh) or {}
    paths = sorted(glob.glob(os.path.join(args.models_dir, "*.yaml")) +
                   glob.glob(os.path.join(args.models_dir, "*.yml")))
    written = []
    teams_of = {}
    for path in paths:
        if os.path.basename(path) in ("modelwatch.yaml", "modelwatch.yml"):
            continue
        with open(path) as fh:
            cfg = yaml.safe_load(fh)
        if not isinstance(cfg, dict) or "model" not in cfg:
            continue
        name = cfg["model"]
        subs = {"@MODEL@": name, "@LOG_DIR@": os.path.abspath(args.log_dir),
                "@BASELINE_DIR@": os.path.abspath(args.baseline_dir)}
        original_windows = list((cfg.get("drift") or {}).get("windows") or [])
        merge(cfg, substitute(overrides, subs), top=True)
        remap_feature_windows(cfg, original_windows)
        for sub in (name, name + "-labels"):
            os.makedirs(os.path.join(args.log_dir, sub), exist_ok=True)
        out = os.path.join(args.out, os.path.basename(path))
        with open(out, "w") as fh:
            fh.write("# Demo copy of %s with examples/demo/overrides.yaml merged in.\n"
                     % os.path.basename(path))
            yaml.safe_dump(cfg, fh, sort_keys=False, default_flow_style=None, width=100)
        written.append(name)
        teams_of[name] = cfg["owner"]["team"]
    if not written:
        sys.exit("prepare_config: no model files in %s" % args.models_dir)

    with open(os.path.join(args.secrets_dir, "pagerduty-routing-key"), "w") as fh:
        fh.write("demo-routing-key\n")
    with open(os.path.join(args.secrets_dir, "slack-api-url"), "w") as fh:
        fh.write(args.receiver_url.rstrip("/") + "/slack\n")
    # Every team gets its own PagerDuty routing key and Slack webhook (a path of the receiver
    # naming the team), so the end-to-end test can tell the teams' notifications apart.
    teams = sorted(set(teams_of.values()) | {"ml-platform"})
    team_lines = ["teams:"]
    for team in teams:
        tdir = os.path.join(os.path.abspath(args.secrets_dir), team)
        os.makedirs(tdir, exist_ok=True)
        with open(os.path.join(tdir, "pagerduty-routing-key"), "w") as fh:
            fh.write("demo-routing-key-%s\n" % team)
        with open(os.path.join(tdir, "slack-api-url"), "w") as fh:
            fh.write("%s/slack/%s\n" % (args.receiver_url.rstrip("/"), team))
        team_lines += ["  %s:" % team,
                       "    pagerduty: {routing_key_file: %s/pagerduty-routing-key}" % tdir,
                       "    slack: {api_url_file: %s/slack-api-url}" % tdir]
    with open(args.fleet_template) as fh:
        fleet = fh.read()
    fleet += "\n".join(team_lines) + "\n"
    for k, v in {"@RECEIVER_URL@": args.receiver_url.rstrip("/"), "@SMTP_HOSTPORT@": args.smtp,
                 "@SECRETS_DIR@": os.path.abspath(args.secrets_dir),
                 "@RUNBOOK_BASE_URL@": args.runbook_base_url}.items():
        fleet = fleet.replace(k, v)
    with open(os.path.join(args.out, "modelwatch.yaml"), "w") as fh:
        fh.write(fleet)
    print(" ".join(written))


if __name__ == "__main__":
    main()
