#!/usr/bin/python3
"""Synthetic traffic for the modelwatch example models.

Writes prediction-log records (JSON Lines, the modelwatch record format) and delayed
ground-truth label records for every model of a config directory, at a chosen rate, with
a schedule of anomalies between clean periods. Field names, features, task, classes and
log paths come from each model's YAML file, so the records are exactly what that model's
exporter configuration expects.

Modes
  live (default)  writes records in real time (event time = wall-clock time) for
                  --duration seconds, applying the anomaly schedule; logs every anomaly
                  start/end to --events as JSON lines.
  --reference     writes a clean reference data set for one model (for
                  `modelwatch-exporter baseline`) spread over --days UTC days with a small
                  day-to-day variation, deterministic, no wall clock involved.

Anomaly kinds (start/end in seconds after the generator starts):
  feature_drift   numeric features shift by `magnitude` standard deviations (default 4);
                  categorical features move `magnitude`/10 (max 0.9) of their mass to a
                  category never seen in the reference. `features`: which (default all
                  non-PII features).
  score_shift     binary: logit + `magnitude` (default 3); multiclass: logits divided by
                  `magnitude` (default 6, flatter probabilities: confidence drops, entropy
                  rises) and pushed towards the last class; regression: prediction +
                  `magnitude` reference standard deviations (default 3).
  latency_spike   latency multiplied by `factor` (default 25).
  error_burst     a share `error_rate` (default 0.9) of requests fail with status
                  "error" or "timeout" and carry no output.
  model_down      the model logs nothing (and receives no labels).
  label_delay     labels of predictions made during the anomaly are held back `delay`
                  seconds (default 3600), i.e. effectively missing for the demo.

Scenario YAML (--scenario):
  rate: 40            # records per second per model
  duration: 240       # seconds
  seed: 7
  label_lag: 2        # seconds between a prediction and its label
  label_share: 1.0    # share of predictions that ever get a label
  anomalies:
    - {model: fraud-detector, kind: feature_drift, start: 60, end: 110, features: [amount]}
Command-line --anomaly MODEL:KIND:START:END[:key=value,...] adds to the scenario's list.

Output paths: by default each model's first `source.paths` glob with `*` replaced by
`traffic` (labels: the first `ground_truth.paths` glob likewise); --log-dir overrides both
with LOGDIR/<model>.jsonl and LOGDIR/<model>.labels.jsonl.

Deterministic with --seed: the same seed gives the same record contents (in live mode
timestamps follow the wall clock; in --reference mode they follow --start-time).
"""

import argparse
import glob
import hashlib
import json
import math
import os
import signal
import sys
import time

import numpy as np
import yaml

ANOMALY_KINDS = ("feature_drift", "score_shift", "latency_spike", "error_burst",
                 "model_down", "label_delay")

# Realistic distributions for features of the example models, by feature name. Anything
# not listed gets a distribution derived from a hash of its name (stable across runs).
KNOWN_NUMERIC = {
    # name: (kind, a, b): normal(mean=a, sd=b), lognormal(mu=a, sigma=b), uniform(a, b),
    # poisson(lam=a)
    "amount": ("lognormal", 4.0, 1.0),
    "transaction_amount": ("lognormal", 4.0, 1.0),
    "age": ("normal", 41.0, 12.0),
    "customer_age": ("normal", 41.0, 12.0),
    "account_age_days": ("lognormal", 6.0, 1.0),
    "hour": ("uniform", 0.0, 24.0),
    "hour_of_day": ("uniform", 0.0, 24.0),
    "num_transactions_24h": ("poisson", 3.0, 0.0),
    "tx_count_24h": ("poisson", 3.0, 0.0),
    "distance_from_home_km": ("lognormal", 2.0, 1.2),
    "text_length": ("lognormal", 4.0, 0.6),
    "num_tokens": ("lognormal", 3.0, 0.5),
    "token_count": ("lognormal", 3.0, 0.5),
    "distance_km": ("lognormal", 1.5, 0.7),
    "traffic_index": ("normal", 0.5, 0.15),
    "courier_load": ("poisson", 4.0, 0.0),
    "prep_time_min": ("normal", 12.0, 4.0),
    "temperature_c": ("normal", 14.0, 8.0),
    "card_age_days": ("lognormal", 6.0, 1.0),
    "txn_count_24h": ("poisson", 3.0, 0.0),
    "avg_amount_30d": ("lognormal", 4.0, 0.6),
    "message_length": ("lognormal", 5.0, 0.7),
    "word_count": ("lognormal", 3.5, 0.6),
    "customer_tenure_days": ("lognormal", 5.5, 1.1),
    "open_tickets": ("poisson", 1.0, 0.0),
    "sentiment": ("normal", 0.1, 0.4),
    "items": ("poisson", 4.0, 0.0),
    "basket_weight_kg": ("lognormal", 1.5, 0.6),
}
KNOWN_CATEGORICAL = {
    "country": ["DE", "FR", "US", "GB", "ES", "IT", "NL", "PL"],
    "merchant_category": ["grocery", "electronics", "travel", "fashion", "gaming", "fuel"],
    "channel": ["web", "ios", "android", "call_center"],
    "device": ["ios", "android", "web"],
    "language": ["en", "de", "fr", "es"],
    "locale": ["en", "de", "fr", "es"],
    "weather": ["clear", "rain", "snow", "fog"],
    "city": ["berlin", "paris", "madrid", "london", "warsaw"],
    "vehicle": ["bike", "scooter", "car"],
    "vehicle_type": ["bike", "scooter", "car"],
    "payment_method": ["card", "paypal", "bank_transfer", "wallet"],
    "region": ["eu", "us", "apac"],
    "device_type": ["mobile", "desktop", "pos_terminal"],
    "plan": ["free", "plus", "pro", "enterprise"],
    "has_attachment": ["false", "true"],
    "weekday": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "store_id": ["store-%03d" % i for i in range(1, 25)],
}
SEGMENT_VALUES = {"region": ["eu", "us", "apac"], "device": ["ios", "android", "web"]}


def name_hash(name):
    return int(hashlib.sha256(name.encode()).hexdigest()[:12], 16)


def deep_get(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


class FeatureGen:
    """Samples one feature, clean or drifted; knows the reference mean/sd."""

    def __init__(self, name, ftype, pii):
        self.name = name
        self.categorical = ftype == "categorical"
        self.pii = pii
        h = name_hash(name)
        if self.pii:
            return
        if self.categorical:
            cats = KNOWN_CATEGORICAL.get(name)
            if cats is None:
                cats = ["%s_%d" % (name, i) for i in range(4 + h % 4)]
            self.cats = cats
            w = 1.0 / np.arange(1, len(cats) + 1) ** 0.8  # Zipf-like popularity
            self.probs = w / w.sum()
        else:
            spec = KNOWN_NUMERIC.get(name)
            if spec is None:
                mean = 5.0 + h % 200
                spec = ("normal", float(mean), float(mean) / 5.0)
            self.spec = spec
            kind, a, b = spec
            if kind == "normal":
                self.mean, self.sd = a, b
            elif kind == "lognormal":
                self.mean = math.exp(a + b * b / 2)
                self.sd = math.sqrt((math.exp(b * b) - 1) * math.exp(2 * a + b * b))
            elif kind == "uniform":
                self.mean, self.sd = (a + b) / 2, (b - a) / math.sqrt(12)
            else:
                self.mean, self.sd = a, math.sqrt(a)

    def sample(self, rng, n, drift=0.0):
        """Returns a list of n values; `drift` is the anomaly magnitude (0 = clean)."""
        if self.pii:
            ids = rng.integers(0, 10**6, size=n)
            if "ip" in self.name:
                return ["10.%d.%d.%d" % (i % 250, (i // 250) % 250, i % 199) for i in ids]
            if "address" in self.name:
                return ["%d Example Street" % (i % 5000) for i in ids]
            return ["user%06d@example.com" % i for i in ids]
        if self.categorical:
            idx = rng.choice(len(self.cats), size=n, p=self.probs)
            vals = [self.cats[i] for i in idx]
            if drift > 0:
                share = min(0.9, drift / 10.0)
                moved = rng.random(n) < share
                vals = ["unseen_%s" % self.name if m else v for v, m in zip(vals, moved)]
            return vals
        kind, a, b = self.spec
        if kind == "normal":
            x = rng.normal(a, b, size=n)
        elif kind == "lognormal":
            x = rng.lognormal(a, b, size=n)
        elif kind == "uniform":
            x = rng.uniform(a, b, size=n)
        else:
            x = rng.poisson(a, size=n).astype(float)
        if drift > 0:
            x = x + drift * self.sd
        return x.tolist()

    def standardized(self, vals):
        """Values mapped to roughly N(0,1) so that the model's output depends on them."""
        if self.pii:
            return np.zeros(len(vals))
        if self.categorical:
            rank = {c: i for i, c in enumerate(self.cats)}
            k = len(self.cats)
            return np.array([(rank.get(v, k) - (k - 1) / 2) / max(1.0, k / 2) for v in vals])
        return (np.asarray(vals, dtype=float) - self.mean) / self.sd


class ModelSim:
    """One model: turns (time, count, active anomalies) into records and labels."""

    def __init__(self, cfg, path, seed):
        self.cfg = cfg
        self.name = cfg["model"]
        self.path = path
        self.task = cfg.get("task", "binary_classification")
        self.classes = [str(c) for c in cfg.get("classes") or []]
        if self.task == "multiclass_classification" and not self.classes:
            self.classes = ["class_a", "class_b", "class_c"]
        self.threshold = float(cfg.get("threshold", 0.5))
        fields = deep_get(cfg, "source", "fields", default={}) or {}
        self.f = {
            "model": fields.get("model", "model"),
            "timestamp": fields.get("timestamp", "ts"),
            "request_id": fields.get("request_id", "request_id"),
            "entity_id": fields.get("entity_id", "entity_id"),
            "version": fields.get("version", "model_version"),
            "score": fields.get("score", "score"),
            "probabilities": fields.get("probabilities", "probabilities"),
            "prediction": fields.get("prediction", "prediction"),
            "latency_ms": fields.get("latency_ms", "latency_ms"),
            "status": fields.get("status", "status"),
            "features": fields.get("features", "features"),
            "segment": fields.get("segment", "segment"),
        }
        gt = cfg.get("ground_truth") or {}
        self.gt = bool(gt)
        self.segment_keys = [str(k) for k in gt.get("segments") or []]
        self.lf = {
            "timestamp": gt.get("timestamp_field", "ts"),
            "request_id": gt.get("request_id_field", "request_id"),
            "entity_id": gt.get("entity_id_field", "entity_id"),
            "label": gt.get("label_field", "label"),
        }
        shadow = cfg.get("shadow") or {}
        self.version = str(shadow.get("champion", "v1")) if shadow else "v1"
        self.challenger = str(shadow["challenger"]) if shadow.get("challenger") else None
        self.features = []
        for fc in cfg.get("features") or []:
            self.features.append(FeatureGen(str(fc["name"]), fc.get("type", "numeric"),
                                            bool(fc.get("pii", False))))
        # The model itself (its weights) depends on the model's name only, so that the
        # reference data and live traffic come from the same model whatever the seed; the
        # traffic (feature values, noise) depends on the seed.
        model_rng = np.random.default_rng(name_hash(self.name))
        nf = max(1, len(self.features))
        k = max(1, len(self.classes))
        self.w = model_rng.normal(0, 1.0 / math.sqrt(nf), size=(nf, k))
        self.bias = model_rng.normal(0, 0.3, size=k)
        self.rng = np.random.default_rng(name_hash(self.name) + 7919 * (seed + 1))
        if self.task == "binary_classification":
            self.bias[0] = -1.2  # ~25% positives: a fraud-like base rate
        self.seq = 0

    def _outputs(self, X, anomalies, n):
        """Model outputs for standardized features X (n x nf)."""
        rng = self.rng
        out = {}
        if self.task == "binary_classification":
            truth = 1.5 * X @ self.w[:, 0] + self.bias[0] + rng.normal(0, 0.5, size=n)
            logit = truth + rng.normal(0, 0.4, size=n)
            if "day_effect" in anomalies:
                logit = logit + float(anomalies["day_effect"]["offset"])
            if "score_shift" in anomalies:
                logit = logit + float(anomalies["score_shift"].get("magnitude", 3.0))
            out["score"] = 1 / (1 + np.exp(-logit))
            # Labels follow the unshifted truth, sharper than the score: a good model.
            out["label"] = (rng.random(n) < 1 / (1 + np.exp(-3.0 * truth))).astype(int)
        elif self.task == "multiclass_classification":
            k = self.w.shape[1]
            truth = 2.0 * X @ self.w + self.bias + rng.normal(0, 0.3, size=(n, k))
            logits = 1.8 * (truth + rng.normal(0, 0.3, size=(n, k)))  # confident by default
            if "day_effect" in anomalies:
                logits = logits * (1 + float(anomalies["day_effect"]["offset"]))
            if "score_shift" in anomalies:
                mag = float(anomalies["score_shift"].get("magnitude", 6.0))
                logits = logits / mag
                logits[:, -1] += 0.8
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            out["probs"] = e / e.sum(axis=1, keepdims=True)
            # The true class: the truth's arg-max, 4% of the time a random class.
            lab = truth.argmax(axis=1)
            noise = rng.random(n) < 0.04
            out["label"] = np.where(noise, rng.integers(0, k, size=n), lab)
        else:
            base = 25.0 + 8.0 * (X @ self.w[:, 0])
            truth = np.maximum(1.0, base + rng.normal(0, 3.0, size=n))
            pred = np.maximum(1.0, base + rng.normal(0, 1.0, size=n))
            if "score_shift" in anomalies:
                pred = pred + 8.0 * float(anomalies["score_shift"].get("magnitude", 3.0))
            out["prediction"] = pred
            out["label"] = truth
        return out

    def generate(self, t0, dt, n, anomalies, shadow=True):
        """n records with timestamps spread over [t0, t0+dt). Returns (lines, labels) where
        labels is a list of (prediction_ts, label_record_without_ts, anomaly-dict)."""
        if n <= 0 or "model_down" in anomalies:
            return [], []
        rng = self.rng
        drift = anomalies.get("feature_drift")
        drifted = None
        if drift is not None:
            drifted = set(drift.get("features") or [f.name for f in self.features if not f.pii])
            mag = float(drift.get("magnitude", 4.0))
        cols, Xcols = [], []
        for f in self.features:
            d = mag if drifted is not None and f.name in drifted else 0.0
            vals = f.sample(rng, n, d)
            cols.append(vals)
            Xcols.append(f.standardized(vals))
        X = np.column_stack(Xcols) if Xcols else np.zeros((n, 1))
        out = self._outputs(X, anomalies, n)
        lat = rng.lognormal(math.log(18.0), 0.35, size=n)
        if "latency_spike" in anomalies:
            lat = lat * float(anomalies["latency_spike"].get("factor", 25.0))
        err_share = 0.0
        if "error_burst" in anomalies:
            err_share = float(anomalies["error_burst"].get("error_rate", 0.9))
        errs = rng.random(n) < err_share
        err_kind = rng.random(n) < 0.7
        ts = t0 + np.sort(rng.random(n)) * dt
        seg_region = rng.choice(SEGMENT_VALUES["region"], size=n, p=[0.5, 0.35, 0.15])
        seg_device = rng.choice(SEGMENT_VALUES["device"], size=n)
        lines, labels = [], []
        f = self.f
        for i in range(n):
            self.seq += 1
            rid = "%s-%08d" % (self.name, self.seq)
            rec = {
                f["timestamp"]: rfc3339(ts[i]),
                f["model"]: self.name,
                f["version"]: self.version,
                f["request_id"]: rid,
                f["entity_id"]: "ent-%05d" % rng.integers(0, 50000),
                f["latency_ms"]: round(float(lat[i]), 3),
            }
            if errs[i]:
                rec[f["status"]] = "error" if err_kind[i] else "timeout"
            else:
                rec[f["status"]] = "ok"
                if self.task == "binary_classification":
                    rec[f["score"]] = round(float(out["score"][i]), 6)
                elif self.task == "multiclass_classification":
                    rec[f["probabilities"]] = {
                        c: round(float(out["probs"][i][j]), 6)
                        for j, c in enumerate(self.classes)}
                else:
                    rec[f["prediction"]] = round(float(out["prediction"][i]), 3)
            feats = {}
            for fg, col in zip(self.features, cols):
                v = col[i]
                feats[fg.name] = round(v, 4) if isinstance(v, float) else v
            rec[f["features"]] = feats
            seg = {"region": str(seg_region[i]), "device": str(seg_device[i])}
            for key in self.segment_keys:
                if key not in seg and key in feats:
                    seg[key] = str(feats[key])
            rec[f["segment"]] = seg
            lines.append(json.dumps(rec, separators=(",", ":")))
            if self.gt and not errs[i]:
                if self.task == "binary_classification":
                    lab = int(out["label"][i])
                elif self.task == "multiclass_classification":
                    lab = self.classes[int(out["label"][i])]
                else:
                    lab = round(float(out["label"][i]), 3)
                labels.append((float(ts[i]), {self.lf["request_id"]: rid,
                                              self.lf["entity_id"]: rec[f["entity_id"]],
                                              self.lf["label"]: lab}))
            if shadow and self.challenger and not errs[i] and i % 2 == 0:
                # A shadow copy of the request scored by the challenger (same request id).
                rec2 = dict(rec)
                rec2[f["version"]] = self.challenger
                if f["score"] in rec2:
                    rec2[f["score"]] = round(min(1.0, max(0.0, rec[f["score"]] +
                                                          rng.normal(0, 0.01))), 6)
                lines.append(json.dumps(rec2, separators=(",", ":")))
        return lines, labels


def rfc3339(t):
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def load_models(config_dir, only):
    models = []
    for path in sorted(glob.glob(os.path.join(config_dir, "*.yaml")) +
                       glob.glob(os.path.join(config_dir, "*.yml"))):
        if os.path.basename(path) in ("modelwatch.yaml", "modelwatch.yml"):
            continue
        with open(path) as fh:
            cfg = yaml.safe_load(fh)
        if not isinstance(cfg, dict) or "model" not in cfg:
            continue
        if only and cfg["model"] not in only:
            continue
        models.append((cfg, path))
    if not models:
        sys.exit("traffic_generator: no model configs found in %s" % config_dir)
    return models


def output_path(pattern, yaml_path):
    if not os.path.isabs(pattern):
        pattern = os.path.join(os.path.dirname(os.path.abspath(yaml_path)), pattern)
    return pattern.replace("**/", "").replace("*", "traffic").replace("?", "x")


def parse_anomaly_flag(text):
    parts = text.split(":")
    if len(parts) < 4 or parts[1] not in ANOMALY_KINDS:
        sys.exit("traffic_generator: bad --anomaly %r (MODEL:KIND:START:END[:k=v,...]; kinds: %s)"
                 % (text, ", ".join(ANOMALY_KINDS)))
    a = {"model": parts[0], "kind": parts[1], "start": float(parts[2]), "end": float(parts[3])}
    if len(parts) > 4:
        for kv in ":".join(parts[4:]).split(","):
            k, _, v = kv.partition("=")
            if k == "features":
                a[k] = v.split("+")
            else:
                a[k] = float(v)
    return a


class Writers:
    """Append-mode files, one handle per path (models may share a file)."""

    def __init__(self):
        self.files = {}

    def write(self, path, lines):
        if not lines:
            return
        fh = self.files.get(path)
        if fh is None:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            fh = self.files[path] = open(path, "a")
        fh.write("\n".join(lines) + "\n")

    def flush(self):
        for fh in self.files.values():
            fh.flush()

    def close(self):
        for fh in self.files.values():
            fh.close()


def run_reference(args, models):
    """A reference set as a model owner would take it: the first --days days of production,
    spread evenly, each UTC day with its own small shift of the model's output (the
    day-to-day variation the baseline measures; --day-sigma)."""
    cfg, path = models[0]
    sim = ModelSim(cfg, path, args.seed)
    day_rng = np.random.default_rng(args.seed + 31)
    days = max(1, args.days)
    start = math.floor(float(args.start_time) / 86400.0) * 86400.0
    per_day = [args.count // days + (1 if d < args.count % days else 0) for d in range(days)]
    label_out = open(args.labels_output, "w") if args.labels_output else None
    if label_out and not sim.gt:
        sys.exit("traffic_generator: --labels-output: %s has no ground_truth section" % sim.name)
    with open(args.output, "w") as out:
        for d, n_day in enumerate(per_day):
            effect = {"day_effect": {"offset": float(day_rng.normal(0, args.day_sigma))}}
            t = start + d * 86400.0
            step = 86400.0 / max(1, n_day)
            done = 0
            while done < n_day:
                n = min(1000, n_day - done)
                lines, labels = sim.generate(t, n * step, n, effect, shadow=False)
                out.write("\n".join(lines) + "\n")
                if label_out:
                    # Every label arrives an hour after its prediction.
                    label_out.write("".join(
                        json.dumps(dict({sim.lf["timestamp"]: rfc3339(pts + 3600)}, **rec),
                                   separators=(",", ":")) + "\n" for pts, rec in labels))
                t += n * step
                done += n
    if label_out:
        label_out.close()
    print("traffic_generator: wrote %d reference records for %s over %d days to %s"
          % (args.count, sim.name, days, args.output))


def run_live(args, scenario, models):
    rate = float(scenario.get("rate", 40))
    duration = float(scenario.get("duration", 300))
    label_lag = float(scenario.get("label_lag", 2.0))
    label_share = float(scenario.get("label_share", 1.0))
    anomalies = list(scenario.get("anomalies") or [])
    names = {cfg["model"] for cfg, _ in models}
    for i, a in enumerate(anomalies):
        a["index"] = i
        if a.get("kind") not in ANOMALY_KINDS:
            sys.exit("traffic_generator: unknown anomaly kind %r" % a.get("kind"))
        if a.get("model") not in names:
            sys.exit("traffic_generator: anomaly for unknown model %r" % a.get("model"))
    sims, pred_out, label_out = [], {}, {}
    for cfg, path in models:
        sim = ModelSim(cfg, path, args.seed)
        sims.append(sim)
        if args.log_dir:
            pred_out[sim.name] = os.path.join(args.log_dir, sim.name + ".jsonl")
            label_out[sim.name] = os.path.join(args.log_dir, sim.name + ".labels.jsonl")
        else:
            pats = deep_get(cfg, "source", "paths", default=[]) or []
            if not pats:
                sys.exit("traffic_generator: %s has no source.paths" % sim.name)
            pred_out[sim.name] = output_path(pats[0], path)
            gpats = deep_get(cfg, "ground_truth", "paths", default=[]) or []
            label_out[sim.name] = output_path(gpats[0], path) if gpats else None
    writers = Writers()
    events = open(args.events, "a") if args.events else None
    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    label_rng = np.random.default_rng(args.seed + 99)
    pending = []  # (due_wall_time, label path, record)
    active = {}  # (model, index) -> anomaly
    start = time.time()
    last = start
    carry = {s.name: 0.0 for s in sims}
    tick = 0.1
    print("traffic_generator: %d models, %.0f records/s each, %.0f s, %d anomalies" %
          (len(sims), rate, duration, len(anomalies)), flush=True)
    log_event(events, start, {"model": "", "kind": "generator", "start": 0, "end": duration},
              "start")
    while not stop["flag"]:
        now = time.time()
        t = now - start
        if t >= duration:
            break
        # Anomaly phase changes, logged with the wall time at which they took effect.
        for i, a in enumerate(anomalies):
            key = (a["model"], i)
            on = float(a["start"]) <= t < float(a["end"])
            if on and key not in active:
                active[key] = a
                log_event(events, now, a, "start")
            elif not on and key in active:
                del active[key]
                log_event(events, now, a, "end")
        dt = now - last
        last = now
        for sim in sims:
            acts = {a["kind"]: a for (m, _), a in active.items() if m == sim.name}
            carry[sim.name] += rate * dt
            n = int(carry[sim.name])
            carry[sim.name] -= n
            lines, labels = sim.generate(now - dt, dt, n, acts)
            writers.write(pred_out[sim.name], lines)
            if label_out.get(sim.name):
                delay = label_lag
                if "label_delay" in acts:
                    delay = float(acts["label_delay"].get("delay", 3600))
                for pts, rec in labels:
                    if label_rng.random() < label_share:
                        pending.append((pts + delay, label_out[sim.name], rec, sim.lf))
        due = [p for p in pending if p[0] <= now]
        if due:
            pending = [p for p in pending if p[0] > now]
            by_path = {}
            for _, lpath, rec, lf in due:
                r = {lf["timestamp"]: rfc3339(now)}
                r.update(rec)
                by_path.setdefault(lpath, []).append(json.dumps(r, separators=(",", ":")))
            for lpath, ls in by_path.items():
                writers.write(lpath, ls)
        writers.flush()
        time.sleep(max(0.0, tick - (time.time() - now)))
    now = time.time()
    for (m, i), a in list(active.items()):
        log_event(events, now, a, "end")
    writers.close()
    log_event(events, now, {"model": "", "kind": "generator", "start": 0, "end": duration},
              "end")
    if events:
        events.close()
    print("traffic_generator: stopped after %.1f s" % (now - start), flush=True)


def log_event(events, now, a, phase):
    ev = {"time": round(now, 3), "model": a["model"], "kind": a["kind"], "phase": phase,
          "start": a["start"], "end": a["end"], "index": a.get("index")}
    print("traffic_generator: %s %s %s" % (phase, a["kind"], a["model"]), flush=True)
    if events:
        events.write(json.dumps(ev) + "\n")
        events.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config-dir", required=True, help="model YAML directory")
    p.add_argument("--models", default="", help="comma-separated subset of models")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--rate", type=float, default=None, help="records/s per model")
    p.add_argument("--duration", type=float, default=None, help="seconds (live mode)")
    p.add_argument("--scenario", help="scenario YAML (rate, duration, seed, anomalies)")
    p.add_argument("--anomaly", action="append", default=[],
                   help="MODEL:KIND:START:END[:key=value,...] (repeatable)")
    p.add_argument("--log-dir", help="write LOGDIR/<model>.jsonl and <model>.labels.jsonl")
    p.add_argument("--events", help="append anomaly start/end events (JSON lines) here")
    p.add_argument("--reference", action="store_true", help="write a reference data set")
    p.add_argument("--model", help="--reference: the model")
    p.add_argument("--count", type=int, default=5000, help="--reference: records")
    p.add_argument("--output", help="--reference: output file")
    p.add_argument("--labels-output", help="--reference: also write the records' labels here")
    p.add_argument("--start-time", type=float, default=1795000000.0,
                   help="--reference: a time in the first day (epoch seconds)")
    p.add_argument("--days", type=int, default=7, help="--reference: UTC days covered")
    p.add_argument("--day-sigma", type=float, default=0.15,
                   help="--reference: standard deviation of the per-day output shift")
    args = p.parse_args()

    scenario = {}
    if args.scenario:
        with open(args.scenario) as fh:
            scenario = yaml.safe_load(fh) or {}
    if args.rate is not None:
        scenario["rate"] = args.rate
    if args.duration is not None:
        scenario["duration"] = args.duration
    if args.seed is None:
        args.seed = int(scenario.get("seed", 1))
    scenario.setdefault("anomalies", [])
    scenario["anomalies"] = list(scenario["anomalies"]) + [parse_anomaly_flag(a)
                                                           for a in args.anomaly]
    only = [m for m in args.models.split(",") if m]
    if args.reference:
        if not args.model or not args.output:
            sys.exit("traffic_generator: --reference needs --model and --output")
        args.rate = float(scenario.get("rate", 40))
        run_reference(args, load_models(args.config_dir, [args.model]))
    else:
        run_live(args, scenario, load_models(args.config_dir, only))


if __name__ == "__main__":
    main()
