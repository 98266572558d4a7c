#!/usr/bin/env python3
"""The docs say what the programs do: defaults, config snippets and flags, checked automatically.

    check_docs.py SOURCE_DIR BUILD_DIR WORK_DIR

1. Defaults. Every key of docs/config.md's tables whose default is a literal (`0.5`, `""`,
   `[1h, 24h]`, `30s`, ...) is written out explicitly into the example configs wherever the key
   is absent (sections with defaults are created; sections that are off by default are filled
   only where a config has them; the tier table per tier) — both into the example configs and
   into the same models cut to their required keys. Each directory must validate, `generate`
   must write byte-for-byte what it writes for the configs as they were, and a replay of a day
   of fraud-detector traffic must serve the same series. (Defaults that this traffic cannot
   reach, such as limits.max_versions with one version, are checked for validity only.)
2. Metrics. Replays of a day of each example model's traffic: every family the exporter serves
   is named in the docs, and every model_* row of docs/exporter.md's tables is served.
3. Snippets. Every ```yaml block of docs/*.md that is modelwatch configuration validates
   (a model file alone, a fleet file with the example models, a section merged into one).
4. Flags. Every `--flag` in a flag table of the docs or README (`| --flag |` rows) and in a
   command line of `modelwatch-exporter` / `modelwatch-rulegen` in their code blocks is one
   the command's --help lists.
Prints each mismatch; exit 1 when there is one, or when fewer keys or flags were checked than
the docs obviously hold (a parser that silently found nothing would otherwise pass).
"""
import copy
import filecmp
import glob
import os
import re
import subprocess
import sys

import yaml

src, build, work = sys.argv[1:4]
exporter = os.path.join(build, "exporter", "modelwatch-exporter")
rulegen = os.path.join(build, "rulegen", "modelwatch-rulegen")
problems = []

# ---------------------------------------------------------------- 1. defaults in config.md
CELL_SPLIT = re.compile(r"(?<!\\)\|")
LITERAL = re.compile(r"^`([^`]*)`(?:$|\s+(?:\(|—))")
DURATION = re.compile(r"^\d+[smhdw]$")


def tables(path):
    """(heading, header cells, row cells) for every table row of a Markdown file."""
    heading, header = None, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        m = re.match(r"^#+ (.*)", line)
        if m:
            heading, header = m.group(1).strip(), None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip().replace("\\|", "|") for c in CELL_SPLIT.split(line.strip().strip("|"))]
        if header is None:
            header = cells
        elif not set(line) <= set("|- :"):
            yield heading, header, cells


def literal(cell):
    """The default a cell states as one literal, else None."""
    m = LITERAL.match(cell)
    if m:
        text = m.group(1)
    elif DURATION.match(cell):
        text = cell
    else:
        return None
    if re.fullmatch(r"[a-z_]+\.[a-z_.]+", text):  # another key's value ("drift.warn")
        return None
    return yaml.safe_load(text) if text != "" else ""


# heading -> (where in a model file, create the section when absent)
MODEL_SECTIONS = {
    "Top level": ((), True), "owner": (("owner",), True), "source": (("source",), True),
    "features": (("features", "*"), False), "drift": (("drift",), True),
    "slo": (("slo",), False), "degradation": (("degradation",), True),
    "ground_truth": (("ground_truth",), False), "confidence": (("confidence",), True),
    "entropy": (("entropy",), True), "missing": (("missing",), True),
    "shadow": (("shadow",), False), "throughput": (("throughput",), True),
    "limits": (("limits",), True),
}
FLEET_SECTIONS = {"receivers": (("receivers",), True), "platform": (("platform",), True),
                  "routing": (("routing",), True), "links": (("links",), True),
                  "fleet drift": (("drift",), True)}
# Keys whose default applies only to some models (the docs say so in words).
def entropy_rule(m):
    """The EntropyRise rule a model's config selects (docs/config.md#entropy)."""
    compare = (m.get("entropy") or {}).get("compare")
    return compare or ("baseline" if m.get("baseline") else "windows")


APPLIES = {
    ("entropy", "sigmas"): lambda m: m.get("task") != "regression" and entropy_rule(m) == "baseline",
    ("entropy", "max_ratio"): lambda m: m.get("task") != "regression" and entropy_rule(m) == "windows",
    ("Top level", "threshold"): lambda m: m.get("task") == "binary_classification",
    ("Top level", "classes"): lambda m: False,
    ("entropy", "*"): lambda m: m.get("task") != "regression",
    ("missing", "*"): lambda m: bool(m.get("baseline")),
    ("confidence", "*"): lambda m: m.get("task") != "regression",
}

defaults = {"model": [], "fleet": [], "fields": [], "tiers": {}}
for heading, header, cells in tables(os.path.join(src, "docs", "config.md")):
    key = cells[0].strip("`")
    if heading == "tiers":
        for i, tier in enumerate(header[2:], start=2):
            defaults["tiers"].setdefault(int(tier), {})[key] = cells[i]
        continue
    if header[:2] == ["canonical", "default field"]:
        defaults["fields"].append((key, cells[1].strip("`")))
        continue
    if "default" not in header:
        continue
    value = literal(cells[header.index("default")])
    if value is None or not re.fullmatch(r"[a-z_.]+", key):
        continue
    if heading in MODEL_SECTIONS:
        defaults["model"].append((heading, key, value))
    elif heading in FLEET_SECTIONS:
        defaults["fleet"].append((heading, key, value))


def put(mapping, dotted, value):
    """Sets mapping[a][b]... = value unless set; returns True when it wrote."""
    *parents, last = dotted.split(".")
    for p in parents:
        if mapping.get(p) is None:
            mapping[p] = {}
        mapping = mapping[p]
        if not isinstance(mapping, dict):
            return False
    if last in mapping:
        return False
    mapping[last] = copy.deepcopy(value)
    return True


def fill(doc, sections, entries, applies):
    written = 0
    for heading, key, value in entries:
        path, create = sections[heading]
        rule = applies.get((heading, key)) or applies.get((heading, "*"))
        if rule and not rule(doc):
            continue
        targets = [doc]
        if path == ("features", "*"):
            targets = doc.get("features") or []
        elif path:
            if path[0] not in doc:
                if not create:
                    continue
                doc[path[0]] = {}
            targets = [doc[path[0]]]
        for t in targets:
            written += put(t, key, value)
    return written


def minimal(doc):
    """What a model file cannot do without (and its baseline, features, classes, ground-truth
    paths and shadow pair, so that those sections' defaults apply): everything else is left to
    the defaults."""
    keep = {k: doc[k] for k in ("model", "tier", "task", "baseline", "classes") if k in doc}
    keep["owner"] = {"team": doc["owner"]["team"]}
    keep["source"] = {"paths": doc["source"]["paths"]}
    if doc.get("features"):
        keep["features"] = [{k: f[k] for k in ("name", "type", "pii") if k in f}
                            for f in doc["features"]]
    if doc.get("ground_truth"):
        keep["ground_truth"] = {"paths": doc["ground_truth"]["paths"]}
    if doc.get("shadow"):
        keep["shadow"] = {k: doc["shadow"][k] for k in ("champion", "challenger")}
    return keep


configs = os.path.join(src, "examples", "models")
# The example configs, and the same models cut to what they cannot do without (an empty fleet
# file), so that every documented default is written out somewhere.
variants = ["examples", "minimal"]
written = 0
for variant in variants:
  as_is = os.path.join(work, variant, "as-is")
  explicit = os.path.join(work, variant, "explicit")
  for d in (as_is, explicit):
    os.makedirs(os.path.join(d, "models"))
    os.symlink(os.path.join(src, "examples", "baselines"), os.path.join(d, "baselines"))
  for path in sorted(glob.glob(os.path.join(configs, "*.yaml"))):
    name = os.path.basename(path)
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    if variant == "minimal":
        doc = {} if name == "modelwatch.yaml" else minimal(doc)
    yaml.safe_dump(doc, open(os.path.join(as_is, "models", name), "w"), sort_keys=False)
    if name == "modelwatch.yaml":
        written += fill(doc, FLEET_SECTIONS, defaults["fleet"], {})
        if "tiers" not in doc:
            doc["tiers"] = defaults["tiers"]
            written += sum(len(t) for t in defaults["tiers"].values())
    else:
        written += fill(doc, MODEL_SECTIONS, defaults["model"], APPLIES)
        for canonical, field in defaults["fields"]:
            written += put(doc.setdefault("source", {}).setdefault("fields", {}), canonical, field)
    yaml.safe_dump(doc, open(os.path.join(explicit, "models", name), "w"), sort_keys=False)

documented = len(defaults["model"]) + len(defaults["fleet"]) + len(defaults["fields"])
print(f"defaults: {documented} literal defaults in docs/config.md (+ {len(defaults['tiers'])} "
      f"tiers), {written} written into the example configs")
if documented < 60 or written < 60:
    problems.append(f"too few defaults found ({documented} documented, {written} written)")



def differing(cmp, prefix=""):
    out = [prefix + f for f in cmp.diff_files + cmp.left_only + cmp.right_only]
    for sub, c in cmp.subdirs.items():
        out += differing(c, prefix + sub + "/")
    return out


# A day of fraud-detector traffic and labels (the demo's generator, fixed seed).
history, labels = os.path.join(work, "history.jsonl"), os.path.join(work, "labels.jsonl")
subprocess.run(["/usr/bin/python3", os.path.join(src, "examples", "demo", "traffic_generator.py"),
                "--config-dir", configs, "--reference", "--model", "fraud-detector",
                "--count", "4000", "--rate", "0.05", "--seed", "8", "--days", "1",
                "--start-time", "1763000000", "--output", history, "--labels-output", labels],
               check=True, capture_output=True)

for variant in variants:
    as_is = os.path.join(work, variant, "as-is")
    explicit = os.path.join(work, variant, "explicit")
    for d in (as_is, explicit):
        what = f"{variant} configs ({os.path.basename(d)})"
        r = subprocess.run([rulegen, "validate", "--config.dir=" + os.path.join(d, "models")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"validate of the {what} failed:\n{r.stdout}{r.stderr}")
        r = subprocess.run([rulegen, "generate", "--config.dir=" + os.path.join(d, "models"),
                            "--out=" + os.path.join(d, "out")], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"generate of the {what} failed:\n{r.stderr}")
    # The exporter's side: a replay of the same day of fraud-detector traffic serves the
    # same series either way (the recomputation's own wall-clock duration aside).
    served = []
    for d in (as_is, explicit):
        out = os.path.join(d, "replay.om")
        r = subprocess.run([exporter, "replay", "--config.dir=" + os.path.join(d, "models"),
                            "--model=fraud-detector", "--input=" + history, "--labels=" + labels,
                            "--output=" + out], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"replay over the {variant} configs failed:\n{r.stderr}")
            break
        served.append([line for line in open(out, encoding="utf-8")
                       if not line.startswith("model_performance_recompute_duration_seconds")])
    if len(served) == 2 and served[0] != served[1]:
        first = next(i for i, (a, b) in enumerate(zip(served[0], served[1])) if a != b) \
            if len(served[0]) == len(served[1]) else min(len(served[0]), len(served[1]))
        problems.append(f"{variant}: writing the documented defaults out changed what the "
                        f"exporter serves (first difference at line {first + 1} of its replay)")
    if os.path.isdir(os.path.join(as_is, "out")) and os.path.isdir(os.path.join(explicit, "out")):
        diff = differing(filecmp.dircmp(os.path.join(as_is, "out"), os.path.join(explicit, "out")))
        if diff:
            problems.append(f"{variant}: writing the documented defaults out changed the "
                            "generated files: " + ", ".join(diff[:10]))

# ----------------------------------------------------------- 2. metric names in the docs
# A day of each example model's traffic replayed: every family the exporter serves is named
# somewhere in the docs, and every model_* row of docs/exporter.md's metric tables is served.
documented_text = "".join(open(p, encoding="utf-8").read()
                          for p in glob.glob(os.path.join(src, "docs", "*.md")))
mentioned = set(re.findall(r"(?<![:\w])((?:model|modelwatch)_[a-z0-9_]+)(?![:\w])", documented_text))
served = set()
served_labels = {}  # family (a counter with its _total) -> label-name sets of its series


def exposition_labels(path, out):
    """Adds the label names of every sample of an exposition file to `out`, by family."""
    types = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^# TYPE (\S+) (\S+)", line)
        if m:
            types[m.group(1)] = m.group(2)
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ", line)
        if not m:
            continue
        name, family = m.group(1), None
        for suffix in ("", "_total", "_bucket", "_sum", "_count", "_created"):
            base = name[:len(name) - len(suffix)] if suffix else name
            if name.endswith(suffix) and base in types:
                family = base + ("_total" if types[base] == "counter" and
                                 not base.endswith("_total") else "")
                break
        if family is None:
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(2) or "")) - {"le"}
        out.setdefault(family, set()).add(labels)


for model in ("eta-predictor", "fraud-detector", "intent-classifier"):
    h, l, om = (os.path.join(work, f"{model}.{x}") for x in ("history.jsonl", "labels.jsonl", "om"))
    subprocess.run(["/usr/bin/python3", os.path.join(src, "examples", "demo", "traffic_generator.py"),
                    "--config-dir", configs, "--reference", "--model", model, "--count", "3000",
                    "--rate", "0.05", "--seed", "8", "--days", "1", "--start-time", "1763000000",
                    "--output", h, "--labels-output", l], check=True, capture_output=True)
    subprocess.run([exporter, "replay", "--config.dir=" + configs, "--model=" + model,
                    "--input=" + h, "--labels=" + l, "--output=" + om], check=True,
                   capture_output=True)
    exposition_labels(om, served_labels)
    for line in open(om, encoding="utf-8"):
        m = re.match(r"^# TYPE (\S+) (\S+)", line)
        if m:
            served.add(m.group(1) + ("_total" if m.group(2) == "counter" else ""))
print(f"metrics: {len(served)} families served by replays of the example models")
# Every series of the replays and of the daemon's golden scrape carries exactly the labels
# its family's entry in the metric catalogue (core/metric_catalogue.h) lists.
exposition_labels(os.path.join(src, "tests", "exporter", "scrape.golden"), served_labels)
catalogue = {name: frozenset(labels.split()) for name, labels in re.findall(
    r'MetricSpec k\w+\{\s*"([a-z0-9_]+)",\s*MetricKind::k\w+,\s*"([a-z0-9_ ]*)"',
    open(os.path.join(src, "core", "metric_catalogue.h"), encoding="utf-8").read())}
if len(catalogue) < 70:
    problems.append(f"read only {len(catalogue)} entries of core/metric_catalogue.h")
for name, label_sets in sorted(served_labels.items()):
    if name not in catalogue:
        problems.append(f"the exporter serves {name}, which the metric catalogue lacks")
        continue
    for labels in sorted(label_sets, key=sorted):
        if labels != catalogue[name]:
            problems.append(f"{name} is served with labels {{{', '.join(sorted(labels))}}}, the "
                            f"catalogue lists {{{', '.join(sorted(catalogue[name]))}}}")
print(f"labels: {len(served_labels)} families' series hold the catalogue's labels")
if len(served_labels) < 45:
    problems.append(f"too few families with labels checked ({len(served_labels)})")
for name in sorted(served - mentioned):
    problems.append(f"the exporter serves {name}, which no doc names")
# Served only when the traffic has them (this generator logs no error statuses).
NEEDS = {"model_prediction_errors_total"}
exporter_doc = open(os.path.join(src, "docs", "exporter.md"), encoding="utf-8").read()
for name in sorted(set(re.findall(r"^\| `(model_[a-z0-9_]+)`", exporter_doc, re.M)) - NEEDS):
    if name not in served:
        problems.append(f"docs/exporter.md documents {name}, which a replay does not serve")
if len(served) < 40:
    problems.append(f"too few metric families served ({len(served)})")

# ----------------------------------------------------- 3. the config snippets of the docs
# Each ```yaml block that is modelwatch configuration validates: a whole model file alone, a
# fleet file with the example models, a model section merged into the fraud-detector example.
FLEET_KEYS = {"receivers", "teams", "platform", "routing", "tiers", "links", "drift"}
MODEL_KEYS = {k for (h, k, _) in defaults["model"] if h == "Top level"} | {
    "model", "owner", "tier", "task", "source", "baseline", "slo", "ground_truth", "shadow",
    "classes", "features"}
snippets = 0
os.makedirs(os.path.join(work, "snippets"))
# Beside each snippet directory, as beside examples/models: `../baselines/...` resolves.
os.symlink(os.path.join(src, "examples", "baselines"), os.path.join(work, "snippets", "baselines"))
for path in sorted(glob.glob(os.path.join(src, "docs", "*.md"))):
    rel = os.path.relpath(path, src)
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", open(path, encoding="utf-8").read(),
                                         re.S)):
        doc = yaml.safe_load(block)
        if not isinstance(doc, dict) or not (set(doc) <= MODEL_KEYS or set(doc) <= FLEET_KEYS):
            continue  # not modelwatch configuration (Alertmanager, web config, incidents)
        d = os.path.join(work, "snippets", f"{os.path.basename(path)}-{i}")
        os.makedirs(d)
        if "model" in doc:
            open(os.path.join(d, "model.yaml"), "w").write(block)
        else:
            for f in glob.glob(os.path.join(configs, "*.yaml")):
                text = open(f, encoding="utf-8").read()
                name = os.path.basename(f)
                if set(doc) <= FLEET_KEYS and name == "modelwatch.yaml":
                    text = block
                elif set(doc) <= MODEL_KEYS and name == "fraud-detector.yaml":
                    merged = yaml.safe_load(text)
                    merged.update(doc)
                    text = yaml.safe_dump(merged, sort_keys=False)
                open(os.path.join(d, name), "w").write(text)
        r = subprocess.run([rulegen, "validate", "--config.dir=" + d], capture_output=True,
                           text=True)
        snippets += 1
        if r.returncode != 0:
            problems.append(f"{rel}: yaml block {i + 1} does not validate:\n{r.stdout}{r.stderr}")
print(f"snippets: {snippets} configuration blocks of docs/*.md validated")
if snippets < 3:
    problems.append(f"too few configuration snippets found ({snippets})")

# ---------------------------------------------------------------- 4. flags
def help_flags(*cmd):
    r = subprocess.run(list(cmd) + ["--help"], capture_output=True, text=True)
    return set(re.findall(r"^\s+--([a-z][a-z0-9._-]*)", r.stdout + r.stderr, re.M))


commands = {
    ("modelwatch-exporter",): help_flags(exporter),
    **{("modelwatch-exporter", s): help_flags(exporter, s)
       for s in ("baseline", "shadow-report", "replay", "backtest")},
    **{("modelwatch-rulegen", s): help_flags(rulegen, s)
       for s in ("validate", "generate", "check", "mutate")},
}
for key, flags in commands.items():
    if not flags:
        problems.append(f"{' '.join(key)} --help lists no flags")
all_flags = set().union(*commands.values())
checked = 0
docs = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
for path in docs:
    rel = os.path.relpath(path, src)
    text = open(path, encoding="utf-8").read()
    # Flag tables: the flag is one of some command's (which one the table's page says).
    for flag in re.findall(r"^\| `--([a-z][a-z0-9._-]*)", text, re.M):
        checked += 1
        if flag not in all_flags:
            problems.append(f"{rel}: flag table row --{flag} is no command's flag")
    # Command lines in code blocks (with their continuation lines).
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for command in block.replace("\\\n", " ").split("\n"):
            words = command.split()
            # The program is the command's first word (after a prompt, sudo, VAR=value).
            while words and (words[0] in ("$", "sudo") or re.match(r"^[A-Z_]+=", words[0])):
                words = words[1:]
            for i, w in enumerate(words[:1]):
                prog = os.path.basename(w)
                if prog not in ("modelwatch-exporter", "modelwatch-rulegen"):
                    continue
                rest = words[i + 1:]
                sub = rest[0] if rest and not rest[0].startswith("-") else None
                flags = commands.get((prog, sub) if sub else (prog,))
                if flags is None:
                    if prog == "modelwatch-rulegen" and sub == "version":
                        break
                    problems.append(f"{rel}: `{prog} {sub}` is no command")
                    break
                for token in rest:
                    if token in ("|", "&&", ";", ">", "2>&1") or token.startswith(">"):
                        break
                    m = re.match(r"^\[?--([a-z][a-z0-9._-]*)", token)
                    if m:
                        checked += 1
                        if m.group(1) not in flags and m.group(1) != "help":
                            problems.append(f"{rel}: `{prog}{' ' + sub if sub else ''} "
                                            f"--{m.group(1)}` is not in its --help")
                break
print(f"flags: {checked} flag mentions checked in {len(docs)} files")
if checked < 40:
    problems.append(f"too few flag mentions found ({checked})")

for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
