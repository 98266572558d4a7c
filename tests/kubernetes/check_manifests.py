#!/usr/bin/env python3
"""Consistency of the exporter's Kubernetes manifests (generate --format=prometheus-operator).

    check_manifests.py GENERATED_DIR CONFIG_DIR OBJECTS_JSON POD_ROOT

Reads GENERATED_DIR/kubernetes/**/*.yaml and checks, independently of the generator:
- the models ConfigMap holds every model file of CONFIG_DIR byte for byte, and each baseline
  ConfigMap the baseline file its model names;
- every volumeMount names a volume of its pod, every ConfigMap volume an emitted ConfigMap, every
  subPath a key of it; Service -> DaemonSet pods, ServiceMonitor -> Service, PodMonitor -> the
  sidecar's pods select each other, by labels and port name;
- the container's file system, rebuilt under POD_ROOT from the DaemonSet's mounts (ConfigMap data
  written where it is mounted), holds each model's baseline where the config, read from its
  mount, points, and each source and label glob falls inside the log volume's mount.
Writes every object (the sidecar patch wrapped in a Deployment) to OBJECTS_JSON for the schema
validator. Exit 1 with one line per problem.
"""
import glob
import json
import os
import sys

import yaml

gen, config_dir, objects_json, root = sys.argv[1:5]
problems = []
objects = []
docs = {}
for path in sorted(glob.glob(os.path.join(gen, "kubernetes", "**", "*.yaml"), recursive=True)):
    rel = os.path.relpath(path, gen)
    for doc in yaml.safe_load_all(open(path, encoding="utf-8")):
        if doc is None:
            continue
        docs.setdefault(rel, []).append(doc)
        if "kind" in doc:
            objects.append({"file": rel, "object": doc})

config_maps = {o["object"]["metadata"]["name"]: o["object"] for o in objects
               if o["object"]["kind"] == "ConfigMap"}
by_kind = {}
for o in objects:
    by_kind.setdefault(o["object"]["kind"], []).append(o["object"])


def one(kind, name):
    found = [o for o in by_kind.get(kind, []) if o["metadata"]["name"] == name]
    if len(found) != 1:
        problems.append(f"want one {kind} {name}, found {len(found)}")
        return None
    return found[0]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


# The models ConfigMap is the config directory.
models = one("ConfigMap", "modelwatch-models")
want_files = sorted(f for f in os.listdir(config_dir) if f.endswith((".yaml", ".yml")))
if models is not None:
    if sorted(models["data"]) != want_files:
        problems.append(f"modelwatch-models holds {sorted(models['data'])}, not {want_files}")
    for f in want_files:
        if models["data"].get(f) != open(os.path.join(config_dir, f), encoding="utf-8").read():
            problems.append(f"modelwatch-models: {f} differs from the file")


def check_pod(what, pod_spec, container_name):
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    containers = [c for c in pod_spec["containers"] if c["name"] == container_name]
    if len(containers) != 1:
        problems.append(f"{what}: no container {container_name}")
        return None, volumes
    c = containers[0]
    for m in c.get("volumeMounts", []):
        v = volumes.get(m["name"])
        if v is None:
            problems.append(f"{what}: mount {m['name']} has no volume")
            continue
        if "configMap" in v:
            cm = config_maps.get(v["configMap"]["name"])
            if cm is None:
                problems.append(f"{what}: volume {m['name']} names no emitted ConfigMap")
            elif "subPath" in m and m["subPath"] not in cm["data"]:
                problems.append(f"{what}: subPath {m['subPath']} not in {cm['metadata']['name']}")
    if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
        problems.append(f"{what}: the root file system is writable")
    return c, volumes


ds = one("DaemonSet", "modelwatch-exporter")
svc = one("Service", "modelwatch-exporter")
sm = one("ServiceMonitor", "modelwatch-exporter")
pm = one("PodMonitor", "modelwatch-exporter-sidecars")
container = None
if ds is not None:
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    if not selects(ds["spec"]["selector"]["matchLabels"], pod_labels):
        problems.append("DaemonSet selector does not match its pods")
    container, volumes = check_pod("DaemonSet", ds["spec"]["template"]["spec"], "exporter")
    ports = {p["name"] for p in container["ports"]} if container else set()
    if svc is not None:
        if not selects(svc["spec"]["selector"], pod_labels):
            problems.append("Service does not select the DaemonSet's pods")
        if {p["targetPort"] for p in svc["spec"]["ports"]} - ports:
            problems.append("Service targets a port the container does not name")
    if sm is not None and svc is not None:
        if not selects(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]):
            problems.append("ServiceMonitor does not select the Service")
        if {e["port"] for e in sm["spec"]["endpoints"]} - {p["name"] for p in svc["spec"]["ports"]}:
            problems.append("ServiceMonitor scrapes a port the Service does not name")

patch = docs.get("kubernetes/exporter/sidecar-patch.yaml", [None])[0]
if patch is None:
    problems.append("no sidecar-patch.yaml")
else:
    template = patch["spec"]["template"]
    sidecar, _ = check_pod("sidecar patch", template["spec"], "modelwatch-exporter")
    if pm is not None and not selects(pm["spec"]["selector"]["matchLabels"],
                                      template["metadata"]["labels"]):
        problems.append("PodMonitor does not select the patched pods")
    # Validated as the Deployment it would patch (a minimal one).
    objects.append({"file": "kubernetes/exporter/sidecar-patch.yaml", "object": {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "model-server"},
        "spec": {"selector": {"matchLabels": template["metadata"]["labels"]},
                 "template": template}}})

# The DaemonSet's container file system, rebuilt from its mounts.
if container is not None:
    log_mount = None
    for m in container["volumeMounts"]:
        v = volumes[m["name"]]
        target = os.path.join(root, m["mountPath"].lstrip("/"))
        if "configMap" in v:
            data = config_maps[v["configMap"]["name"]]["data"]
            if "subPath" in m:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "w", encoding="utf-8").write(data[m["subPath"]])
            else:
                os.makedirs(target, exist_ok=True)
                for k, text in data.items():
                    open(os.path.join(target, k), "w", encoding="utf-8").write(text)
        else:
            os.makedirs(target, exist_ok=True)
            if m["name"] == "logs":
                log_mount = os.path.normpath(target)
    args = dict(a.lstrip("-").split("=", 1) for a in container["args"])
    cfg = os.path.join(root, args["config.dir"].lstrip("/"))
    for f in sorted(os.listdir(cfg)):
        if not f.endswith((".yaml", ".yml")) or f.startswith("modelwatch."):
            continue
        m = yaml.safe_load(open(os.path.join(cfg, f), encoding="utf-8"))
        if m.get("baseline"):
            b = os.path.normpath(os.path.join(cfg, m["baseline"]))
            if not os.path.isfile(b):
                problems.append(f"{f}: baseline {m['baseline']} is not in the pod ({b})")
        globs = list(m.get("source", {}).get("paths", []))
        globs += list((m.get("ground_truth") or {}).get("paths", []))
        for g in globs:
            p = os.path.normpath(os.path.join(cfg, g))
            if log_mount is None or not p.startswith(log_mount + os.sep):
                problems.append(f"{f}: {g} is outside the log volume ({log_mount})")

json.dump(objects, open(objects_json, "w"))
for p in problems:
    print("FAIL:", p)
print(f"{len(objects)} objects, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
