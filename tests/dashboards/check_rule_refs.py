#!/usr/bin/python3
"""Checks that every recording rule a generated dashboard reads is defined.

usage: check_rule_refs.py OUT_DIR

OUT_DIR is the output of `modelwatch-rulegen generate`. A model's dashboard may read only
the recording rules of rules/<model>.rules.yml; the overview those of any model. Prints
one line per unknown rule and exits 1 if there is any.
"""
import glob
import json
import os
import re
import sys

import yaml

RULE_NAME = re.compile(r"\b[a-z_]+:[a-z_]+:[a-z0-9_]+\b")


def records(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return {r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}


def used(dashboard_path):
    with open(dashboard_path, encoding="utf-8") as f:
        dash = json.load(f)
    names = set()
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            names |= set(RULE_NAME.findall(target["expr"]))
    return names


def main(out_dir):
    per_model = {
        os.path.basename(p)[: -len(".rules.yml")]: records(p)
        for p in glob.glob(os.path.join(out_dir, "rules", "*.rules.yml"))
    }
    every = set().union(*per_model.values()) if per_model else set()
    problems = 0
    checked = 0
    for path in sorted(glob.glob(os.path.join(out_dir, "dashboards", "*.json"))):
        model = os.path.basename(path)[: -len(".json")]
        known = every if model == "overview" else per_model.get(model, set())
        names = used(path)
        checked += len(names)
        for name in sorted(names - known):
            print(f"{path}: reads recording rule {name}, which rules/ does not define")
            problems += 1
    print(f"{checked} recording-rule references checked, {problems} unknown")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
