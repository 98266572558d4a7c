// The model file parser: one method per section of a model file (docs/config.md), each
// checking its keys and values and reporting errors at their line:column.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/config_loader.h"
#include "core/config_parse.h"
#include "core/yaml_reader.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;
using config_parse::IsName;
using config_parse::ParseYaml;
using config_parse::Resolve;

const std::vector<std::string> kModelKeys = {
    "model",    "description", "owner",     "tier",       "task",    "source",      "baseline",
    "features", "classes",     "threshold", "drift",      "slo",     "degradation", "ground_truth",
    "shadow",   "throughput",  "limits",    "confidence", "entropy", "missing"};
const std::vector<std::string> kOwnerKeys = {"team", "slack", "pagerduty", "email"};
const std::vector<std::string> kSourceKeys = {"paths", "fields", "start_at", "max_line_bytes"};
const std::vector<std::string> kFieldKeys = {
    "model",         "timestamp",  "request_id", "entity_id", "version",  "score",
    "probabilities", "prediction", "latency_ms", "status",    "features", "segment"};
const std::vector<std::string> kFeatureKeys = {"name",      "type",  "pii",
                                               "histogram", "alert", "drift"};
const std::vector<std::string> kFeatureDriftKeys = {"method", "warn", "critical", "windows"};
const std::vector<std::string> kDriftKeys = {"windows",  "method",      "methods", "warn",
                                             "critical", "min_samples", "bins",    "top_categories",
                                             "lateness", "sub_windows", "alpha",   "engine"};
const std::vector<std::string> kMethodNames = {"psi", "js", "ks", "wasserstein", "chi2"};
const std::vector<std::string> kSloKeys = {"latency_p99_ms", "error_rate", "availability",
                                           "period"};
const std::vector<std::string> kDegradationKeys = {"weights", "notify_at", "page_at"};
const std::vector<std::string> kWeightKeys = {"drift", "confidence", "entropy", "anomaly_rate",
                                              "errors"};
const std::vector<std::string> kGroundTruthKeys = {"paths",
                                                   "fields",
                                                   "start_at",
                                                   "join_on",
                                                   "join_tolerance",
                                                   "delay",
                                                   "min_match_rate",
                                                   "windows",
                                                   "segments",
                                                   "retrain_when",
                                                   "retention_buffer",
                                                   "sample_rate",
                                                   "label_grace",
                                                   "recompute_interval",
                                                   "max_segment_values",
                                                   "recompute_memory_mb"};
const std::vector<std::string> kLabelFieldKeys = {"timestamp", "request_id", "entity_id", "label"};
const std::vector<std::string> kRetrainKeys = {"metric", "below", "above", "for", "window"};
const std::vector<std::string> kShadowKeys = {"champion", "challenger", "pairing_timeout",
                                              "min_agreement"};
// min_ratio is listed to give it its own error (replaced by drop), not "unknown key".
const std::vector<std::string> kThroughputKeys = {"compare", "drop", "window", "min_rate",
                                                  "min_ratio"};
const std::vector<std::string> kConfidenceKeys = {"min_ratio"};
const std::vector<std::string> kEntropyKeys = {"compare", "window", "sigmas", "max_ratio"};
const std::vector<std::string> kMissingKeys = {"warn", "critical"};
const std::vector<std::string> kLimitKeys = {"max_versions", "max_classes", "max_error_types",
                                             "sample_size", "sample_every"};

// Metrics that can drive retraining, per task.
std::vector<std::string> RetrainMetrics(Task task) {
  switch (task) {
    case Task::kBinaryClassification:
      return {"auc", "precision", "recall", "f1", "log_loss", "ece", "accuracy"};
    case Task::kMulticlassClassification:
      return {"accuracy", "macro_f1"};
    case Task::kRegression:
      return {"mae", "rmse", "mape", "bias"};
  }
  return {};
}

class ModelParser {
 public:
  ModelParser(YamlReader& r, const LoadOptions& options) : r_(r), options_(options) {}

  ModelConfig Parse(const YAML::Node& root) {
    ModelConfig m;
    m.file = r_.file();
    m.location = r_.Locate(root);
    if (!r_.CheckMapping(root, kModelKeys, "the model")) return m;

    YAML::Node name = r_.Child(root, "model", "the model", true);
    if (auto s = r_.String(name, "model")) {
      m.name = *s;
      m.location = r_.Locate(name);
      if (!IsName(m.name)) {
        r_.AddError(name, "model name \"" + m.name + "\" must match [a-z0-9_-]+");
      } else if (m.name == "overview") {
        r_.AddError(name, "model name \"overview\" is reserved for the fleet dashboard");
      }
    }
    if (auto s = r_.String(r_.Child(root, "description", "the model", false), "description")) {
      m.description = *s;
    }
    ParseOwner(r_.Child(root, "owner", "the model", true), m.owner);

    YAML::Node tier = r_.Child(root, "tier", "the model", true);
    if (auto t = r_.Integer(tier, "tier")) {
      if (r_.InRange(tier, "tier", static_cast<double>(*t), 1, 3)) m.tier = static_cast<int>(*t);
    }
    YAML::Node task = r_.Child(root, "task", "the model", true);
    if (auto t = r_.Choice(task, "task",
                           {"binary_classification", "multiclass_classification", "regression"})) {
      m.task = *t == "binary_classification"       ? Task::kBinaryClassification
               : *t == "multiclass_classification" ? Task::kMulticlassClassification
                                                   : Task::kRegression;
      task_ok_ = true;
    }
    ParseSource(r_.Child(root, "source", "the model", true), m.source);

    YAML::Node baseline = r_.Child(root, "baseline", "the model", false);
    if (auto s = r_.String(baseline, "baseline")) {
      m.baseline = Resolve(r_.file(), *s);
      std::error_code ec;
      if (options_.baseline == BaselineCheck::kRequireExisting &&
          !fs::is_regular_file(m.baseline, ec)) {
        r_.AddError(baseline, "baseline file \"" + *s + "\" does not exist (looked for " +
                                  m.baseline + "); build it with `modelwatch-exporter baseline`");
      }
    }
    ParseFeatures(r_.Child(root, "features", "the model", false), m.features);
    ParseClasses(r_.Child(root, "classes", "the model", false), m);

    YAML::Node threshold = r_.Child(root, "threshold", "the model", false);
    if (auto v = r_.Number(threshold, "threshold")) {
      if (r_.InRange(threshold, "threshold", *v, 0, 1, true, true)) m.threshold = *v;
      if (m.task != Task::kBinaryClassification) {  // would be ignored
        r_.AddError(threshold, "threshold applies to binary_classification models only");
      }
    }
    ParseDrift(r_.Child(root, "drift", "the model", false), root, m);
    ParseFeatureDrift(m);
    YAML::Node slo = r_.Child(root, "slo", "the model", false);
    if (slo.IsDefined()) m.slo = ParseSlo(slo);
    ParseDegradation(r_.Child(root, "degradation", "the model", false), m.degradation);
    YAML::Node gt = r_.Child(root, "ground_truth", "the model", false);
    if (gt.IsDefined()) m.ground_truth = ParseGroundTruth(gt, m.task);
    YAML::Node shadow = r_.Child(root, "shadow", "the model", false);
    if (shadow.IsDefined()) m.shadow = ParseShadow(shadow);
    ParseThroughput(r_.Child(root, "throughput", "the model", false), m);
    ParseConfidence(r_.Child(root, "confidence", "the model", false), m);
    ParseEntropy(r_.Child(root, "entropy", "the model", false), m);
    ParseMissing(r_.Child(root, "missing", "the model", false), m);
    ParseLimits(r_.Child(root, "limits", "the model", false), m);
    return m;
  }

 private:
  void ParseOwner(const YAML::Node& node, Owner& owner) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kOwnerKeys, "owner")) return;
    YAML::Node team = r_.Child(node, "team", "owner", true);
    if (auto s = r_.String(team, "owner.team")) {
      owner.team = *s;
      if (!IsName(owner.team)) {
        r_.AddError(team, "team \"" + owner.team +
                              "\" must match [a-z0-9_-]+ (it names Alertmanager receivers)");
      }
    }
    if (auto s = r_.String(r_.Child(node, "slack", "owner", false), "owner.slack")) {
      owner.slack = *s;
    }
    if (auto s = r_.String(r_.Child(node, "pagerduty", "owner", false), "owner.pagerduty")) {
      owner.pagerduty = *s;
    }
    YAML::Node email = r_.Child(node, "email", "owner", false);
    if (auto s = r_.String(email, "owner.email")) {
      owner.email = *s;
      if (!owner.email.empty() && owner.email.find('@') == std::string::npos) {  // "": none
        r_.AddError(email, "owner.email \"" + owner.email + "\" is not an email address");
      }
    }
  }

  void ParseFieldMap(const YAML::Node& node, FieldMap& f) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kFieldKeys, "source.fields")) return;
    std::map<std::string, std::string*> targets = {{"model", &f.model},
                                                   {"timestamp", &f.timestamp},
                                                   {"request_id", &f.request_id},
                                                   {"entity_id", &f.entity_id},
                                                   {"version", &f.version},
                                                   {"score", &f.score},
                                                   {"probabilities", &f.probabilities},
                                                   {"prediction", &f.prediction},
                                                   {"latency_ms", &f.latency_ms},
                                                   {"status", &f.status},
                                                   {"features", &f.features},
                                                   {"segment", &f.segment}};
    for (const auto& [key, target] : targets) {
      YAML::Node v = r_.Child(node, key, "source.fields", false);
      if (auto s = r_.String(v, "source.fields." + key)) {
        if (s->empty()) {
          r_.AddError(v, "source.fields." + key + " must not be empty");
        } else {
          *target = *s;
        }
      }
    }
  }

  std::optional<StartAt> ParseStartAt(const YAML::Node& node, const std::string& key_path) {
    auto s = r_.Choice(node, key_path, {"end", "beginning"});
    if (!s) return std::nullopt;
    return *s == "end" ? StartAt::kEnd : StartAt::kBeginning;
  }

  void ParsePaths(const YAML::Node& node, const std::string& key_path,
                  std::vector<std::string>& out) {
    auto paths = r_.StringList(node, key_path);
    if (!paths) return;
    if (paths->empty()) r_.AddError(node, "\"" + key_path + "\" must list at least one path");
    for (const auto& p : *paths) {
      if (p.empty()) {
        r_.AddError(node, "\"" + key_path + "\" has an empty path");
        continue;
      }
      out.push_back(Resolve(r_.file(), p));
    }
  }

  void ParseSource(const YAML::Node& node, SourceConfig& src) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kSourceKeys, "source")) return;
    ParsePaths(r_.Child(node, "paths", "source", true), "source.paths", src.paths);
    ParseFieldMap(r_.Child(node, "fields", "source", false), src.fields);
    if (auto s = ParseStartAt(r_.Child(node, "start_at", "source", false), "source.start_at")) {
      src.start_at = *s;
    }
    YAML::Node max = r_.Child(node, "max_line_bytes", "source", false);
    if (auto v = r_.Integer(max, "source.max_line_bytes")) {
      if (r_.InRange(max, "source.max_line_bytes", static_cast<double>(*v), 64, 64 << 20)) {
        src.max_line_bytes = static_cast<std::size_t>(*v);
      }
    }
  }

  void ParseFeatures(const YAML::Node& node, std::vector<FeatureConfig>& features) {
    if (!node.IsDefined()) return;
    if (!node.IsSequence()) {
      r_.AddError(node, "\"features\" must be a list, got " + DescribeNode(node));
      return;
    }
    std::map<std::string, SourceLocation> seen;
    for (const auto& item : node) {
      FeatureConfig f;
      f.location = r_.Locate(item);
      if (!r_.CheckMapping(item, kFeatureKeys, "a feature")) continue;
      YAML::Node name = r_.Child(item, "name", "a feature", true);
      if (auto s = r_.String(name, "features[].name")) {
        f.name = *s;
        if (f.name.empty()) {
          r_.AddError(name, "feature name must not be empty");
        } else if (auto [it, inserted] = seen.emplace(f.name, r_.Locate(name)); !inserted) {
          r_.AddError(name, "feature \"" + f.name + "\" is defined twice (first at line " +
                                std::to_string(it->second.line) + ")");
        }
      }
      if (auto t = r_.Choice(r_.Child(item, "type", "a feature", false), "features[].type",
                             {"numeric", "categorical"})) {
        f.type = *t == "numeric" ? FeatureType::kNumeric : FeatureType::kCategorical;
      }
      if (auto b = r_.Bool(r_.Child(item, "pii", "a feature", false), "features[].pii")) {
        f.pii = *b;
      }
      YAML::Node hist = r_.Child(item, "histogram", "a feature", false);
      if (auto b = r_.Bool(hist, "features[].histogram")) {
        f.histogram = *b;
        if (f.histogram && f.pii) {
          r_.AddError(hist, "feature \"" + f.name +
                                "\" is pii: true and cannot be exported (histogram: true)");
        } else if (f.histogram && f.type == FeatureType::kCategorical) {
          r_.AddError(hist, "feature \"" + f.name +
                                "\" is categorical; histogram: true needs a numeric feature");
        }
      }
      if (auto b = r_.Bool(r_.Child(item, "alert", "a feature", false), "features[].alert")) {
        f.alert = *b;
      }
      // Read once the model's drift settings are known (ParseFeatureDrift).
      feature_drift_.push_back(r_.Child(item, "drift", "a feature", false));
      features.push_back(std::move(f));
    }
  }

  // features[].drift, read against the model's drift settings; then every alerting feature
  // needs an alerting method that applies to its type, else FeatureDrift never fires for it.
  void ParseFeatureDrift(ModelConfig& m) {
    const DriftConfig& d = m.drift;
    for (std::size_t i = 0; i < m.features.size() && i < feature_drift_.size(); ++i) {
      FeatureConfig& f = m.features[i];
      const YAML::Node& node = feature_drift_[i];
      const std::string what = "feature \"" + f.name + "\"";
      if (node.IsDefined()) {
        if (!r_.CheckMapping(node, kFeatureDriftKeys, "features[].drift")) continue;
        if (f.pii) {
          r_.AddError(node, what +
                                " is pii: true: its drift is never exported, so it takes "
                                "no drift settings");
          continue;
        }
        if (!f.alert) {
          r_.AddError(node, what +
                                " has alert: false: no alert would use its drift settings "
                                "(remove one of the two)");
          continue;
        }
        f.drift = ParseFeatureDriftOverride(node, d, f, what);
        if (f.drift->method || node["method"].IsDefined()) continue;  // checked there
      }
      if (f.pii || !f.alert || MethodApplies(d.method, f.type)) continue;
      // The fix to suggest: the first exported method that applies (psi unless methods omit it).
      DriftMethod fix = DriftMethod::kPsi;
      for (DriftMethod c : {DriftMethod::kPsi, DriftMethod::kJs, DriftMethod::kChi2,
                            DriftMethod::kKs, DriftMethod::kWasserstein}) {
        if (MethodApplies(c, f.type) &&
            (d.methods.empty() ||
             std::find(d.methods.begin(), d.methods.end(), c) != d.methods.end())) {
          fix = c;
          break;
        }
      }
      const std::string type = FeatureTypeName(f.type);
      r_.AddError(node.IsDefined() ? r_.Locate(node) : f.location,
                  what + " can never alert: drift.method " + DriftMethodName(d.method) +
                      " does not apply to " + type +
                      " features; give the feature a method of its own (drift: {method: " +
                      DriftMethodName(fix) + "}) or set alert: false");
    }
  }

  FeatureDriftOverride ParseFeatureDriftOverride(const YAML::Node& node, const DriftConfig& d,
                                                 const FeatureConfig& f, const std::string& what) {
    FeatureDriftOverride o;
    YAML::Node method = r_.Child(node, "method", "features[].drift", false);
    if (auto s = r_.Choice(method, "features[].drift.method", kMethodNames)) {
      const DriftMethod dm = *MethodFrom(*s);
      if (!MethodApplies(dm, f.type)) {
        r_.AddError(method, "drift method " + *s + " does not apply to " + what + ", which is " +
                                FeatureTypeName(f.type) +
                                " (chi2: categorical only; ks, wasserstein: numeric only)");
      } else if (!d.methods.empty() &&
                 std::find(d.methods.begin(), d.methods.end(), dm) == d.methods.end()) {
        r_.AddError(method, "drift method " + *s + " of " + what +
                                " is not exported: add it to drift.methods");
      } else {
        o.method = dm;
      }
    }
    const DriftMethod m = o.method.value_or(d.method);
    const double hi = m == DriftMethod::kChi2 ? 1e12 : 1e6;
    YAML::Node warn = r_.Child(node, "warn", "features[].drift", false);
    YAML::Node critical = r_.Child(node, "critical", "features[].drift", false);
    if (auto v = r_.Number(warn, "features[].drift.warn")) {
      if (r_.InRange(warn, "features[].drift.warn", *v, 0, hi, true)) o.warn = *v;
    }
    if (auto v = r_.Number(critical, "features[].drift.critical")) {
      if (r_.InRange(critical, "features[].drift.critical", *v, 0, hi, true)) o.critical = *v;
    }
    const double w = o.warn.value_or(d.warn);
    const double c = o.critical.value_or(d.critical);
    const char* inherited = o.critical ? "" : " (the model's drift.critical)";
    if ((o.warn || o.critical) && !(w < c)) {
      r_.AddError(
          o.critical ? critical : warn,
          "features[].drift.warn of " + what + " must be below its critical " + Num(c) + inherited);
    } else if ((o.method || o.critical) && (m == DriftMethod::kKs || m == DriftMethod::kJs) &&
               c > 1) {
      r_.AddError(o.critical ? critical : method, "critical " + Num(c) + " of " + what +
                                                      " must be at most 1 for method " +
                                                      DriftMethodName(m) + inherited);
    }
    YAML::Node windows = r_.Child(node, "windows", "features[].drift", false);
    if (!windows.IsDefined()) return o;
    if (!windows.IsSequence() || windows.size() == 0) {
      r_.AddError(windows, "\"features[].drift.windows\" must list some of drift.windows, got " +
                               (windows.IsSequence() ? std::string("an empty list")
                                                     : DescribeNode(windows)));
      return o;
    }
    for (const auto& item : windows) {
      // The exporter computes drift over the model's windows only.
      const Window* dw = DriftWindow(item, "features[].drift.windows[]", d.windows,
                                     "window " + item.Scalar() + " of " + what);
      if (!dw) continue;
      if (std::find(o.windows.begin(), o.windows.end(), dw->label) != o.windows.end()) {
        r_.AddError(item, "window " + item.Scalar() + " is listed twice");
      } else {
        o.windows.push_back(dw->label);
      }
    }
    return o;
  }

  // The drift window `item` names (a duration equal to one of `windows`); nullptr after a
  // located error ("<subject> is not one of drift.windows (...)") or an invalid duration.
  const Window* DriftWindow(const YAML::Node& item, const std::string& key,
                            const std::vector<Window>& windows, const std::string& subject) {
    auto len = r_.Duration(item, key);
    if (!len) return nullptr;
    for (const Window& w : windows) {
      if (w.length == *len) return &w;
    }
    std::string known;
    for (const Window& w : windows) known += (known.empty() ? "" : ", ") + w.label;
    r_.AddError(item, subject + " is not one of drift.windows (" + known + ")");
    return nullptr;
  }

  static std::string Num(double v) {
    std::ostringstream ss;
    ss << v;
    return ss.str();
  }

  void ParseClasses(const YAML::Node& node, ModelConfig& m) {
    auto classes = r_.StringList(node, "classes");
    if (!classes) return;
    if (task_ok_ && m.task != Task::kMulticlassClassification) {
      r_.AddError(node, "\"classes\" is only for multiclass_classification models");
      return;
    }
    std::set<std::string> seen;
    for (const auto& c : *classes) {
      if (!seen.insert(c).second) r_.AddError(node, "class \"" + c + "\" is listed twice");
    }
    if (classes->size() < 2) r_.AddError(node, "\"classes\" needs at least two classes");
    m.classes = *classes;
  }

  std::vector<Window> ParseWindows(const YAML::Node& node, const std::string& key_path) {
    std::vector<Window> out;
    if (!node.IsDefined()) return out;
    if (!node.IsSequence() || node.size() == 0) {
      r_.AddError(node, "\"" + key_path + "\" must be a non-empty list of durations, got " +
                            DescribeNode(node));
      return out;
    }
    std::set<std::int64_t> seen;
    for (const auto& item : node) {
      auto d = r_.Duration(item, key_path + "[]");
      if (!d) continue;
      if (!seen.insert(d->count()).second) {
        r_.AddError(item, "window " + item.Scalar() + " is listed twice");
        continue;
      }
      out.push_back(Window{item.Scalar(), *d});
    }
    return out;
  }

  std::optional<DriftMethod> MethodFrom(const std::string& s) {
    for (DriftMethod m : {DriftMethod::kPsi, DriftMethod::kJs, DriftMethod::kKs,
                          DriftMethod::kWasserstein, DriftMethod::kChi2}) {
      if (s == DriftMethodName(m)) return m;
    }
    return std::nullopt;
  }

  // The model's drift.engine, else modelwatch.yaml's (options_), else `exporter`.
  void ParseEngine(const YAML::Node& node, const YAML::Node& root, ModelConfig& m) {
    DriftConfig& d = m.drift;
    d.engine = options_.default_drift_engine;
    YAML::Node engine = node.IsDefined() && node.IsMap() ? r_.Child(node, "engine", "drift", false)
                                                         : YAML::Node(YAML::NodeType::Undefined);
    if (auto s = r_.Choice(engine, "drift.engine", {"exporter", "promql"})) {
      d.engine = *s == "promql" ? DriftEngine::kPromql : DriftEngine::kExporter;
    } else if (engine.IsDefined()) {
      return;  // reported by Choice
    }
    if (d.engine != DriftEngine::kPromql) return;
    if (m.baseline.empty()) {
      if (engine.IsDefined()) {
        r_.AddError(engine,
                    "drift.engine: promql needs a baseline profile (the model's `baseline` "
                    "key): the rules compare the replicas' histograms with its bins");
      } else {
        // The fleet's default: the missing key is reported at the model's mapping.
        const std::string& origin = options_.default_drift_engine_origin;
        r_.AddError(root, "drift.engine: promql (the default" +
                              (origin.empty() ? std::string() : " set in " + origin) +
                              ") needs a baseline profile (the model's `baseline` key): set "
                              "`drift: {engine: exporter}` in this file to keep the model on "
                              "the exporter engine");
      }
    }
    // The rules read every binned numeric feature's histogram.
    for (FeatureConfig& f : m.features) {
      if (f.type == FeatureType::kNumeric && !f.pii) f.histogram = true;
    }
  }

  void ParseDrift(const YAML::Node& node, const YAML::Node& root, ModelConfig& m) {
    DriftConfig& d = m.drift;
    ParseEngine(node, root, m);
    if (!node.IsDefined()) {
      d.windows = {Window{"1h", Seconds(3600)}, Window{"24h", Seconds(86400)}};
      return;
    }
    if (!r_.CheckMapping(node, kDriftKeys, "drift")) return;
    YAML::Node windows = r_.Child(node, "windows", "drift", false);
    d.windows = ParseWindows(windows, "drift.windows");
    if (!windows.IsDefined())
      d.windows = {Window{"1h", Seconds(3600)}, Window{"24h", Seconds(86400)}};
    YAML::Node method = r_.Child(node, "method", "drift", false);
    if (auto s = r_.Choice(method, "drift.method", kMethodNames)) d.method = *MethodFrom(*s);
    YAML::Node methods = r_.Child(node, "methods", "drift", false);
    if (methods.IsDefined()) {
      if (!methods.IsSequence()) {
        r_.AddError(methods, "\"drift.methods\" must be a list, got " + DescribeNode(methods));
      } else {
        for (const auto& item : methods) {
          if (auto s = r_.Choice(item, "drift.methods[]", kMethodNames)) {
            DriftMethod dm = *MethodFrom(*s);
            if (std::find(d.methods.begin(), d.methods.end(), dm) != d.methods.end()) {
              r_.AddError(item, "drift method \"" + *s + "\" is listed twice");
            } else {
              d.methods.push_back(dm);
            }
          }
        }
        if (method.IsDefined() && !d.methods.empty() &&
            std::find(d.methods.begin(), d.methods.end(), d.method) == d.methods.end()) {
          r_.AddError(method, std::string("drift.method \"") + DriftMethodName(d.method) +
                                  "\" must also be listed in drift.methods");
        }
      }
    }
    YAML::Node warn = r_.Child(node, "warn", "drift", false);
    YAML::Node critical = r_.Child(node, "critical", "drift", false);
    double hi = d.method == DriftMethod::kChi2 ? 1e12 : 1e6;
    if (auto v = r_.Number(warn, "drift.warn")) {
      if (r_.InRange(warn, "drift.warn", *v, 0, hi, true)) d.warn = *v;
    }
    if (auto v = r_.Number(critical, "drift.critical")) {
      if (r_.InRange(critical, "drift.critical", *v, 0, hi, true)) d.critical = *v;
    }
    if ((warn.IsDefined() || critical.IsDefined()) && !(d.warn < d.critical)) {
      r_.AddError(critical.IsDefined() ? critical : warn,
                  "drift.warn must be below drift.critical");
    }
    if (d.method == DriftMethod::kKs || d.method == DriftMethod::kJs) {
      if (d.critical > 1) {
        r_.AddError(critical.IsDefined() ? critical : node,
                    std::string("drift.critical must be at most 1 for method ") +
                        DriftMethodName(d.method));
      }
    }
    YAML::Node min = r_.Child(node, "min_samples", "drift", false);
    if (auto v = r_.Integer(min, "drift.min_samples")) {
      if (r_.InRange(min, "drift.min_samples", static_cast<double>(*v), 1, 1e9)) d.min_samples = *v;
    }
    YAML::Node bins = r_.Child(node, "bins", "drift", false);
    if (auto v = r_.Integer(bins, "drift.bins")) {
      if (r_.InRange(bins, "drift.bins", static_cast<double>(*v), 2, 100)) {
        d.bins = static_cast<int>(*v);
      }
    }
    YAML::Node top = r_.Child(node, "top_categories", "drift", false);
    if (auto v = r_.Integer(top, "drift.top_categories")) {
      if (r_.InRange(top, "drift.top_categories", static_cast<double>(*v), 1, 1000)) {
        d.top_categories = static_cast<int>(*v);
      }
    }
    if (auto v = r_.Duration(r_.Child(node, "lateness", "drift", false), "drift.lateness")) {
      d.lateness = *v;
    }
    YAML::Node alpha = r_.Child(node, "alpha", "drift", false);
    if (auto v = r_.Number(alpha, "drift.alpha")) {
      if (r_.InRange(alpha, "drift.alpha", *v, 0, 1, true, true)) d.alpha = *v;
    }
    YAML::Node sub = r_.Child(node, "sub_windows", "drift", false);
    if (auto v = r_.Integer(sub, "drift.sub_windows")) {
      if (r_.InRange(sub, "drift.sub_windows", static_cast<double>(*v), 1, 1440)) {
        d.sub_windows = static_cast<int>(*v);
      }
    }
  }

  SloConfig ParseSlo(const YAML::Node& node) {
    SloConfig s;
    if (!r_.CheckMapping(node, kSloKeys, "slo")) return s;
    YAML::Node lat = r_.Child(node, "latency_p99_ms", "slo", false);
    if (auto v = r_.Number(lat, "slo.latency_p99_ms")) {
      if (r_.InRange(lat, "slo.latency_p99_ms", *v, 0, 3.6e6, true)) s.latency_p99_ms = *v;
    }
    YAML::Node err = r_.Child(node, "error_rate", "slo", false);
    if (auto v = r_.Number(err, "slo.error_rate")) {
      if (r_.InRange(err, "slo.error_rate", *v, 0, 1, true, true)) s.error_rate = *v;
    }
    YAML::Node avail = r_.Child(node, "availability", "slo", false);
    if (auto v = r_.Number(avail, "slo.availability")) {
      if (r_.InRange(avail, "slo.availability", *v, 0, 1, true, true)) s.availability = *v;
    }
    YAML::Node period = r_.Child(node, "period", "slo", false);
    if (auto v = r_.Duration(period, "slo.period")) {
      if (*v < Seconds(86400)) {
        r_.AddError(period, "slo.period must be at least 1d, got " + period.Scalar());
      } else {
        s.period = *v;
      }
    }
    if (!lat.IsDefined() && !err.IsDefined() && !avail.IsDefined()) {
      r_.AddError(node, "slo needs at least one of latency_p99_ms, error_rate, availability");
    }
    return s;
  }

  void ParseDegradation(const YAML::Node& node, DegradationConfig& d) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kDegradationKeys, "degradation")) return;
    YAML::Node weights = r_.Child(node, "weights", "degradation", false);
    if (weights.IsDefined() && r_.CheckMapping(weights, kWeightKeys, "degradation.weights")) {
      d.weights.clear();
      double sum = 0;
      bool all_ok = true;
      for (const auto& key : kWeightKeys) {
        YAML::Node w = r_.Child(weights, key, "degradation.weights", false);
        if (!w.IsDefined()) continue;
        auto v = r_.Number(w, "degradation.weights." + key);
        if (!v || !r_.InRange(w, "degradation.weights." + key, *v, 0, 1)) {
          all_ok = false;
          continue;
        }
        d.weights[key] = *v;
        sum += *v;
      }
      if (all_ok && std::fabs(sum - 1.0) > 1e-6) {
        std::ostringstream msg;
        msg << "degradation.weights must sum to 1, got " << sum;
        r_.AddError(weights, msg.str());
      }
    }
    YAML::Node notify = r_.Child(node, "notify_at", "degradation", false);
    YAML::Node page = r_.Child(node, "page_at", "degradation", false);
    if (auto v = r_.Number(notify, "degradation.notify_at")) {
      if (r_.InRange(notify, "degradation.notify_at", *v, 0, 100, true)) d.notify_at = *v;
    }
    if (auto v = r_.Number(page, "degradation.page_at")) {
      if (r_.InRange(page, "degradation.page_at", *v, 0, 100, true)) d.page_at = *v;
    }
    if ((notify.IsDefined() || page.IsDefined()) && !(d.notify_at < d.page_at)) {
      r_.AddError(page.IsDefined() ? page : notify,
                  "degradation.notify_at must be below degradation.page_at");
    }
  }

  GroundTruthConfig ParseGroundTruth(const YAML::Node& node, Task task) {
    GroundTruthConfig g;
    g.windows = {Window{"30d", Seconds(30 * 86400)}};
    if (!r_.CheckMapping(node, kGroundTruthKeys, "ground_truth")) return g;
    ParsePaths(r_.Child(node, "paths", "ground_truth", true), "ground_truth.paths", g.paths);
    YAML::Node fields = r_.Child(node, "fields", "ground_truth", false);
    if (fields.IsDefined() && r_.CheckMapping(fields, kLabelFieldKeys, "ground_truth.fields")) {
      std::map<std::string, std::string*> targets = {{"timestamp", &g.timestamp_field},
                                                     {"request_id", &g.request_id_field},
                                                     {"entity_id", &g.entity_id_field},
                                                     {"label", &g.label_field}};
      for (const auto& [key, target] : targets) {
        if (auto s = r_.String(r_.Child(fields, key, "ground_truth.fields", false),
                               "ground_truth.fields." + key)) {
          *target = *s;
        }
      }
    }
    if (auto s = ParseStartAt(r_.Child(node, "start_at", "ground_truth", false),
                              "ground_truth.start_at")) {
      g.start_at = *s;
    }
    if (auto s = r_.Choice(r_.Child(node, "join_on", "ground_truth", false), "ground_truth.join_on",
                           {"request_id", "entity_id"})) {
      g.join_on = *s == "request_id" ? JoinKey::kRequestId : JoinKey::kEntityId;
    }
    if (auto v = r_.Duration(r_.Child(node, "join_tolerance", "ground_truth", false),
                             "ground_truth.join_tolerance")) {
      g.join_tolerance = *v;
    }
    if (auto v = r_.DurationOrZero(r_.Child(node, "delay", "ground_truth", false),
                                   "ground_truth.delay")) {
      g.delay = *v;
    }
    YAML::Node rate = r_.Child(node, "min_match_rate", "ground_truth", false);
    if (auto v = r_.Number(rate, "ground_truth.min_match_rate")) {
      if (r_.InRange(rate, "ground_truth.min_match_rate", *v, 0, 1)) g.min_match_rate = *v;
    }
    YAML::Node windows = r_.Child(node, "windows", "ground_truth", false);
    if (windows.IsDefined()) g.windows = ParseWindows(windows, "ground_truth.windows");
    // A window no longer than the label delay holds no prediction old enough to have its
    // label: its match ratio and performance never get a value, and alerts on it never fire.
    if (g.delay.count() > 0) {
      YAML::Node delay_node = r_.Child(node, "delay", "ground_truth", false);
      std::size_t i = 0;
      for (const Window& w : g.windows) {
        if (w.length <= g.delay) {
          const YAML::Node at = windows.IsDefined() && windows.IsSequence() && i < windows.size()
                                    ? windows[i]
                                    : delay_node;
          r_.AddError(at,
                      "ground_truth window " + w.label + " is not longer than the label delay " +
                          (delay_node.IsScalar() ? delay_node.Scalar() : FormatDuration(g.delay)) +
                          ": no prediction in it is old enough to have its label, so its "
                          "match ratio and performance never get a value (use a window "
                          "longer than the delay, e.g. delay + 7d)");
        }
        ++i;
      }
    }
    if (auto s = r_.StringList(r_.Child(node, "segments", "ground_truth", false),
                               "ground_truth.segments")) {
      g.segments = *s;
    }
    if (auto v = r_.Duration(r_.Child(node, "retention_buffer", "ground_truth", false),
                             "ground_truth.retention_buffer")) {
      g.retention_buffer = *v;
    }
    YAML::Node sample = r_.Child(node, "sample_rate", "ground_truth", false);
    if (auto v = r_.Number(sample, "ground_truth.sample_rate")) {
      if (r_.InRange(sample, "ground_truth.sample_rate", *v, 0, 1, true)) g.sample_rate = *v;
    }
    if (auto v = r_.Duration(r_.Child(node, "label_grace", "ground_truth", false),
                             "ground_truth.label_grace")) {
      g.label_grace = *v;
    }
    if (auto v = r_.Duration(r_.Child(node, "recompute_interval", "ground_truth", false),
                             "ground_truth.recompute_interval")) {
      g.recompute_interval = *v;
    }
    YAML::Node max_values = r_.Child(node, "max_segment_values", "ground_truth", false);
    if (auto v = r_.Integer(max_values, "ground_truth.max_segment_values")) {
      if (r_.InRange(max_values, "ground_truth.max_segment_values", static_cast<double>(*v), 1,
                     10000)) {
        g.max_segment_values = static_cast<int>(*v);
      }
    }
    YAML::Node memory = r_.Child(node, "recompute_memory_mb", "ground_truth", false);
    if (auto v = r_.Integer(memory, "ground_truth.recompute_memory_mb")) {
      if (r_.InRange(memory, "ground_truth.recompute_memory_mb", static_cast<double>(*v), 2,
                     65536)) {
        g.recompute_memory_mb = static_cast<int>(*v);
      }
    }
    YAML::Node retrain = r_.Child(node, "retrain_when", "ground_truth", false);
    if (retrain.IsDefined() &&
        r_.CheckMapping(retrain, kRetrainKeys, "ground_truth.retrain_when")) {
      RetrainConfig rc;
      YAML::Node metric = r_.Child(retrain, "metric", "ground_truth.retrain_when", true);
      if (task_ok_) {
        if (auto s = r_.Choice(metric, "ground_truth.retrain_when.metric", RetrainMetrics(task))) {
          rc.metric = *s;
        }
      }
      YAML::Node below = r_.Child(retrain, "below", "ground_truth.retrain_when", false);
      YAML::Node above = r_.Child(retrain, "above", "ground_truth.retrain_when", false);
      const bool lower_is_better = rc.metric == "mae" || rc.metric == "rmse" ||
                                   rc.metric == "mape" || rc.metric == "log_loss" ||
                                   rc.metric == "ece";
      const bool unit_range = !lower_is_better && rc.metric != "bias";
      if (below.IsDefined() == above.IsDefined()) {
        r_.AddError(below.IsDefined() ? above : retrain,
                    "ground_truth.retrain_when needs exactly one of \"below\" or \"above\"");
      } else if (below.IsDefined()) {
        if (lower_is_better) {
          r_.AddError(below, "retrain metric \"" + rc.metric +
                                 "\" is better when lower; use \"above\" instead of \"below\"");
        } else if (auto v = r_.Number(below, "ground_truth.retrain_when.below")) {
          if (!unit_range || r_.InRange(below, "ground_truth.retrain_when.below", *v, 0, 1, true)) {
            rc.below = *v;
          }
        }
      } else {
        if (unit_range) {
          r_.AddError(above, "retrain metric \"" + rc.metric +
                                 "\" is better when higher; use \"below\" instead of \"above\"");
        } else if (auto v = r_.Number(above, "ground_truth.retrain_when.above")) {
          rc.above = *v;
        }
      }
      if (auto v = r_.Duration(r_.Child(retrain, "for", "ground_truth.retrain_when", false),
                               "ground_truth.retrain_when.for")) {
        rc.for_duration = *v;
      }
      if (!g.windows.empty()) rc.window = g.windows.front().label;
      YAML::Node window = r_.Child(retrain, "window", "ground_truth.retrain_when", false);
      if (auto v = r_.Duration(window, "ground_truth.retrain_when.window")) {
        auto it = std::find_if(g.windows.begin(), g.windows.end(),
                               [&](const Window& w) { return w.length == *v; });
        if (it == g.windows.end()) {
          std::string listed;
          for (const Window& w : g.windows) listed += (listed.empty() ? "" : ", ") + w.label;
          r_.AddError(window, "ground_truth.retrain_when.window " + window.Scalar() +
                                  " is not one of ground_truth.windows (" + listed + ")");
        } else {
          rc.window = it->label;
        }
      }
      g.retrain_when = rc;
    }
    return g;
  }

  ShadowConfig ParseShadow(const YAML::Node& node) {
    ShadowConfig s;
    if (!r_.CheckMapping(node, kShadowKeys, "shadow")) return s;
    if (auto v = r_.String(r_.Child(node, "champion", "shadow", true), "shadow.champion")) {
      s.champion = *v;
    }
    YAML::Node challenger = r_.Child(node, "challenger", "shadow", true);
    if (auto v = r_.String(challenger, "shadow.challenger")) {
      s.challenger = *v;
      if (!s.champion.empty() && s.champion == s.challenger) {
        r_.AddError(challenger, "shadow.challenger must differ from shadow.champion");
      }
    }
    if (auto v = r_.Duration(r_.Child(node, "pairing_timeout", "shadow", false),
                             "shadow.pairing_timeout")) {
      s.pairing_timeout = *v;
    }
    YAML::Node agree = r_.Child(node, "min_agreement", "shadow", false);
    if (auto v = r_.Number(agree, "shadow.min_agreement")) {
      if (r_.InRange(agree, "shadow.min_agreement", *v, 0, 1)) s.min_agreement = *v;
    }
    return s;
  }

  void ParseThroughput(const YAML::Node& node, ModelConfig& m) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kThroughputKeys, "throughput")) return;
    ThroughputConfig& t = m.throughput;
    YAML::Node old_ratio = r_.Child(node, "min_ratio", "throughput", false);
    if (old_ratio.IsDefined()) {
      r_.AddError(old_ratio,
                  "throughput.min_ratio was replaced by throughput.drop, the share the rate must "
                  "fall by (min_ratio 0.2 is drop 0.8); the same-time-yesterday comparison is "
                  "throughput.compare: day");
    }
    if (auto v = r_.Choice(r_.Child(node, "compare", "throughput", false), "throughput.compare",
                           {"hour", "day"})) {
      t.compare = *v == "day" ? ThroughputCompare::kDay : ThroughputCompare::kHour;
    }
    YAML::Node drop = r_.Child(node, "drop", "throughput", false);
    if (auto v = r_.Number(drop, "throughput.drop")) {
      if (r_.InRange(drop, "throughput.drop", *v, 0, 1, true, true)) t.drop = *v;
    }
    YAML::Node window = r_.Child(node, "window", "throughput", false);
    if (auto v = r_.Duration(window, "throughput.window")) {
      if (t.compare == ThroughputCompare::kHour && *v >= Seconds(3600)) {
        r_.AddError(window, "throughput.window " + window.Scalar() +
                                " must be shorter than the hour it is compared with "
                                "(throughput.compare: hour)");
      } else {
        t.window = *v;
      }
    }
    YAML::Node floor = r_.Child(node, "min_rate", "throughput", false);
    if (auto v = r_.Number(floor, "throughput.min_rate")) {
      if (r_.InRange(floor, "throughput.min_rate", *v, 0, 1e9)) t.min_rate = *v;
    }
  }

  void ParseConfidence(const YAML::Node& node, ModelConfig& m) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kConfidenceKeys, "confidence")) return;
    if (m.task == Task::kRegression) {  // would be ignored: a regressor has no confidence
      r_.AddError(node,
                  "confidence applies to classifiers only (ConfidenceDrop); this model's task "
                  "is regression");
      return;
    }
    YAML::Node ratio = r_.Child(node, "min_ratio", "confidence", false);
    if (auto v = r_.Number(ratio, "confidence.min_ratio")) {
      if (r_.InRange(ratio, "confidence.min_ratio", *v, 0, 1, true, true)) {
        m.confidence_min_ratio = *v;
      }
    }
  }

  void ParseMissing(const YAML::Node& node, ModelConfig& m) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kMissingKeys, "missing")) return;
    YAML::Node warn = r_.Child(node, "warn", "missing", false);
    if (auto v = r_.Number(warn, "missing.warn")) {
      if (r_.InRange(warn, "missing.warn", *v, 0, 1, true, false)) m.missing_warn = *v;
    }
    YAML::Node critical = r_.Child(node, "critical", "missing", false);
    if (auto v = r_.Number(critical, "missing.critical")) {
      if (r_.InRange(critical, "missing.critical", *v, 0, 1, true, false)) {
        m.missing_critical = *v;
      }
    }
    if (m.missing_warn >= m.missing_critical) {
      r_.AddError(warn.IsDefined() ? warn : (critical.IsDefined() ? critical : node),
                  "missing.warn " + Num(m.missing_warn) + " must be below missing.critical " +
                      Num(m.missing_critical));
    }
    if (m.baseline.empty()) {
      r_.AddError(node,
                  "missing needs a baseline profile (the model's `baseline` key): the "
                  "alert compares each feature's missing ratio with the baseline's");
    }
  }

  void ParseEntropy(const YAML::Node& node, ModelConfig& m) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kEntropyKeys, "entropy")) return;
    if (m.task == Task::kRegression) {
      r_.AddError(node,
                  "entropy applies to classifiers only (EntropyRise); this model's task "
                  "is regression");
      return;
    }
    EntropyConfig& e = m.entropy;
    YAML::Node compare = r_.Child(node, "compare", "entropy", false);
    if (auto v = r_.Choice(compare, "entropy.compare", {"baseline", "windows"})) {
      e.compare = *v == "baseline" ? EntropyCompare::kBaseline : EntropyCompare::kWindows;
      if (*e.compare == EntropyCompare::kBaseline && m.baseline.empty()) {
        r_.AddError(compare,
                    "entropy.compare: baseline needs a baseline profile (the model's `baseline` "
                    "key); without one use entropy.compare: windows");
      }
    }
    YAML::Node window = r_.Child(node, "window", "entropy", false);
    if (window.IsDefined()) {
      if (const Window* w = DriftWindow(window, "entropy.window", m.drift.windows,
                                        "entropy.window " + window.Scalar())) {
        e.window = w->label;
      }
    }
    YAML::Node sigmas = r_.Child(node, "sigmas", "entropy", false);
    if (auto v = r_.Number(sigmas, "entropy.sigmas")) {
      if (r_.InRange(sigmas, "entropy.sigmas", *v, 0, 100, true)) e.sigmas = *v;
    }
    YAML::Node ratio = r_.Child(node, "max_ratio", "entropy", false);
    if (auto v = r_.Number(ratio, "entropy.max_ratio")) {
      if (r_.InRange(ratio, "entropy.max_ratio", *v, 1, 100, true)) e.max_ratio = *v;
    }
    if (e.Effective(!m.baseline.empty()) == EntropyCompare::kBaseline &&
        node["max_ratio"].IsDefined()) {
      r_.AddError(ratio, "entropy.max_ratio applies to entropy.compare: windows only");
    }
    if (e.Effective(!m.baseline.empty()) == EntropyCompare::kWindows &&
        (node["sigmas"].IsDefined() || node["window"].IsDefined())) {
      r_.AddError(node["sigmas"].IsDefined() ? sigmas : window,
                  std::string("entropy.") + (node["sigmas"].IsDefined() ? "sigmas" : "window") +
                      " applies to entropy.compare: baseline only");
    }
  }

  void ParseLimits(const YAML::Node& node, ModelConfig& m) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kLimitKeys, "limits")) return;
    struct Target {
      int* value;
      double lo, hi;
    };
    std::map<std::string, Target> targets = {{"max_versions", {&m.max_versions, 1, 10000}},
                                             {"max_classes", {&m.max_classes, 1, 10000}},
                                             {"max_error_types", {&m.max_error_types, 1, 10000}},
                                             {"sample_size", {&m.sample_size, 0, 1000}},
                                             {"sample_every", {&m.sample_every, 1, 1000000}}};
    for (const auto& [key, target] : targets) {
      YAML::Node v = r_.Child(node, key, "limits", false);
      if (auto i = r_.Integer(v, "limits." + key)) {
        if (r_.InRange(v, "limits." + key, static_cast<double>(*i), target.lo, target.hi)) {
          *target.value = static_cast<int>(*i);
        }
      }
    }
  }

  YamlReader& r_;
  const LoadOptions& options_;
  bool task_ok_ = false;
  std::vector<YAML::Node> feature_drift_;  // features[i].drift (undefined when absent)
};

void CheckCrossFields(YamlReader& r, const YAML::Node& root, ModelConfig& m) {
  if (!root.IsMap()) return;
  if (m.ground_truth && m.ground_truth->join_on == JoinKey::kEntityId &&
      m.ground_truth->join_tolerance <= Seconds(0)) {
    r.AddError(root, "ground_truth.join_tolerance must be positive");
  }
}

}  // namespace

MultiResult<ModelConfig> ParseModelConfig(std::string_view yaml_text, const std::string& file,
                                          const LoadOptions& options) {
  YamlReader r(file);
  ModelConfig m;
  try {
    auto doc = ParseYaml(yaml_text, r);
    if (doc) {
      if (!doc->IsDefined() || doc->IsNull()) {
        r.AddError(SourceLocation{file, 1, 1},
                   "the file is empty; a model file needs at least "
                   "model, owner, tier, task and source");
      } else {
        ModelParser parser(r, options);
        m = parser.Parse(*doc);
        CheckCrossFields(r, *doc, m);
      }
    }
  } catch (const std::exception& e) {
    // yaml-cpp may throw from accessors on malformed trees; never let it escape.
    r.AddError(SourceLocation{file, 0, 0}, std::string("cannot read the file: ") + e.what());
  }
  if (!r.errors().empty()) {
    SortErrors(r.errors());
    return tl::unexpected(std::move(r.errors()));
  }
  return m;
}

}  // namespace modelwatch
