#include "rulegen/grafana_emitter.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/duration.h"
#include "core/metric_catalogue.h"
#include "rulegen/rule_model.h"
#include "rulegen/series.h"
#include "rulegen/text.h"

namespace modelwatch {

namespace {

constexpr int kGridWidth = 24;
constexpr const char* kGeneratedMark = "generated \u2014 do not edit";

// Shortest round-tripping decimal form, as PromQL and people read it (0.25, 1e-05).
std::string Num(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// A window as the recording rules spell it in their names: whole days as "30d", else
// Prometheus' own form.
std::string WindowLabel(Seconds s) {
  if (s.count() > 0 && s.count() % 86400 == 0) return std::to_string(s.count() / 86400) + "d";
  return FormatDuration(s);
}

std::string Percent(double ratio) { return Num(ratio * 100) + "%"; }

std::string BaseName(const std::string& path) {
  std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Json Datasource() { return Json{{"type", "prometheus"}, {"uid", "${datasource}"}}; }

struct Query {
  std::string expr;
  std::string legend;  // empty: Grafana's automatic legend
  bool instant = false;
  std::string format = "time_series";  // "table", "heatmap"
};

struct Step {
  std::optional<double> value;  // nullopt: the base step (-Infinity)
  std::string color;
};

// What distinguishes one panel; the rest comes from panels.json.
struct PanelSpec {
  std::string type = "timeseries";
  std::string title;
  std::string description;
  std::string unit;
  int w = 12;
  int h = 8;
  std::vector<Query> queries;
  std::vector<Step> steps;       // empty: the template's thresholds
  std::string thresholds_style;  // timeseries: "line", "dashed", "line+area"; empty: off
  std::string stacking;          // timeseries: "normal" or "percent"; empty: none
  std::optional<double> min;
  std::optional<double> max;
  std::optional<int> decimals;
  Json mappings;         // array, or null for none
  Json options;          // merged into the template's options
  Json custom;           // merged into the template's fieldConfig.defaults.custom
  Json transformations;  // array, or null for none
  Json overrides;        // array appended to fieldConfig.overrides, or null
};

Json ThresholdSteps(const std::vector<Step>& steps) {
  Json out = Json::array();
  for (const Step& s : steps) {
    Json step = Json::object();
    step["color"] = s.color;
    step["value"] = s.value ? Json(*s.value) : Json(nullptr);
    out.push_back(std::move(step));
  }
  return Json{{"mode", "absolute"}, {"steps", std::move(out)}};
}

// Places panels left to right, wrapping at the grid width, and numbers them.
class Layout {
 public:
  explicit Layout(const DashboardTemplates& templates) : templates_(templates) {}

  void Row(const std::string& title) {
    NewLine();
    Json row = PanelFromTemplate(templates_, "row");
    Json panel = Json::object();
    panel["type"] = "row";
    panel["id"] = next_id_++;
    panel["title"] = title;
    panel["collapsed"] = row.value("collapsed", false);
    panel["gridPos"] = GridPos(0, y_, kGridWidth, 1);
    panel["panels"] = Json::array();
    panels_.push_back(std::move(panel));
    y_ += 1;
  }

  void Add(const PanelSpec& spec) {
    int w = std::clamp(spec.w, 1, kGridWidth);
    if (x_ + w > kGridWidth) NewLine();
    Json tpl = PanelFromTemplate(templates_, spec.type);
    Json panel = Json::object();
    panel["type"] = spec.type;
    panel["id"] = next_id_++;
    panel["title"] = spec.title;
    panel["description"] = spec.description;
    if (!spec.queries.empty()) panel["datasource"] = Datasource();
    panel["gridPos"] = GridPos(x_, y_, w, spec.h);
    if (!spec.queries.empty()) {
      Json targets = Json::array();
      char ref = 'A';
      for (const Query& q : spec.queries) {
        Json t = Json::object();
        t["datasource"] = Datasource();
        t["editorMode"] = "code";
        t["expr"] = q.expr;
        t["format"] = q.format;
        t["instant"] = q.instant;
        t["range"] = !q.instant;
        t["legendFormat"] = q.legend.empty() ? "__auto" : q.legend;
        t["refId"] = std::string(1, ref++);
        targets.push_back(std::move(t));
      }
      panel["targets"] = std::move(targets);
    }
    if (spec.transformations.is_array()) panel["transformations"] = spec.transformations;

    Json options = tpl.value("options", Json::object());
    if (spec.options.is_object()) options.merge_patch(spec.options);
    panel["options"] = std::move(options);

    Json field_config = tpl.value("fieldConfig", Json::object());
    if (!field_config.contains("defaults")) field_config["defaults"] = Json::object();
    if (!field_config.contains("overrides")) field_config["overrides"] = Json::array();
    Json& defaults = field_config["defaults"];
    defaults["unit"] = spec.unit;
    if (spec.min) defaults["min"] = *spec.min;
    if (spec.max) defaults["max"] = *spec.max;
    if (spec.decimals) defaults["decimals"] = *spec.decimals;
    if (spec.mappings.is_array()) defaults["mappings"] = spec.mappings;
    if (!spec.steps.empty()) defaults["thresholds"] = ThresholdSteps(spec.steps);
    if (spec.custom.is_object()) defaults["custom"].merge_patch(spec.custom);
    if (spec.overrides.is_array()) {
      for (const Json& o : spec.overrides) field_config["overrides"].push_back(o);
    }
    if (spec.type == "timeseries") {
      Json& custom = defaults["custom"];
      if (!spec.stacking.empty()) {
        custom["stacking"]["mode"] = spec.stacking;
        custom["fillOpacity"] = 40;
      }
      if (!spec.thresholds_style.empty()) {
        custom["thresholdsStyle"]["mode"] = spec.thresholds_style;
      }
    }
    panel["fieldConfig"] = std::move(field_config);

    panels_.push_back(std::move(panel));
    x_ += w;
    line_height_ = std::max(line_height_, spec.h);
  }

  Json Take() && { return std::move(panels_); }

 private:
  static Json GridPos(int x, int y, int w, int h) {
    return Json{{"h", h}, {"w", w}, {"x", x}, {"y", y}};
  }

  void NewLine() {
    y_ += line_height_;
    x_ = 0;
    line_height_ = 0;
  }

  const DashboardTemplates& templates_;
  Json panels_ = Json::array();
  int next_id_ = 1;
  int x_ = 0;
  int y_ = 0;
  int line_height_ = 0;
};

// Adds `specs` as one line of equally wide panels (stat strips).
void AddStrip(Layout& layout, std::vector<PanelSpec> specs, int h) {
  if (specs.empty()) return;
  int w = kGridWidth / static_cast<int>(specs.size());
  for (PanelSpec& s : specs) {
    s.w = w;
    s.h = h;
    layout.Add(s);
  }
}

Json CustomVariable(const std::string& name, const std::string& label,
                    const std::string& description, const std::vector<std::string>& values) {
  Json var = Json::object();
  var["type"] = "custom";
  var["name"] = name;
  var["label"] = label;
  var["description"] = description;
  std::string query;
  Json options = Json::array();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) query += ",";
    query += values[i];
    options.push_back(Json{{"selected", i == 0}, {"text", values[i]}, {"value", values[i]}});
  }
  var["query"] = query;
  if (!values.empty()) var["current"] = Json{{"text", values[0]}, {"value", values[0]}};
  var["options"] = std::move(options);
  var["hide"] = 0;
  var["multi"] = false;
  var["includeAll"] = false;
  var["skipUrlSync"] = false;
  return var;
}

bool IsClassifier(const ModelConfig& m) { return m.task != Task::kRegression; }

std::string Sel(const std::string& metric, const std::string& matchers) {
  return metric + "{" + matchers + "}";
}

const char* kM = "model=\"$model\"";
const char* kMV = "model=\"$model\", version=~\"$version\"";

void AddSlaRow(Layout& layout, const ModelConfig& model) {
  layout.Row("SLA overview");
  const std::optional<double> error_objective = ErrorObjective(model);
  const bool latency_slo = model.slo && model.slo->latency_p99_ms;
  const std::string period = model.slo ? WindowLabel(model.slo->period) : "30d";

  std::vector<PanelSpec> strip;
  {
    PanelSpec s;
    s.type = "stat";
    s.title = "Predictions per second";
    s.unit = "reqps";
    s.description =
        "Accepted prediction records per second over 5m, summed over the selected versions "
        "(recording rule " +
        std::string(series::kVersionPredictionRate5m) + ").";
    s.queries = {{"sum(" + Sel(series::kVersionPredictionRate5m, kMV) + ")", "predictions/s"}};
    strip.push_back(std::move(s));
  }
  {
    PanelSpec s;
    s.type = "stat";
    s.title = "Error ratio (5m)";
    s.unit = "percentunit";
    s.decimals = 2;
    s.description = "Share of predictions with a status other than ok over 5m, all versions.";
    if (error_objective) {
      s.description +=
          " Red above the SLO's allowed error ratio of " + Percent(*error_objective) + ".";
      s.steps = {{std::nullopt, "green"}, {*error_objective, "red"}};
    }
    s.queries = {{Sel(series::ErrorRatio("5m"), kM), "error ratio"}};
    strip.push_back(std::move(s));
  }
  {
    PanelSpec s;
    s.type = "stat";
    s.title = "p99 latency (5m)";
    s.unit = "s";
    s.description = "99th percentile of the request duration over 5m, all versions.";
    if (latency_slo) {
      double objective = *model.slo->latency_p99_ms / 1000.0;
      s.description += " Red above the SLO's p99 objective of " + Num(objective) + " s.";
      s.steps = {{std::nullopt, "green"}, {objective, "red"}};
    }
    s.queries = {{Sel(series::kLatencyP99, kM), "p99"}};
    strip.push_back(std::move(s));
  }
  if (error_objective) {
    PanelSpec s;
    s.type = "stat";
    s.title = "Availability (" + period + ")";
    s.unit = "percentunit";
    s.decimals = 3;
    s.description = "Share of predictions served without error over the SLO period (" + period +
                    "); green at or above the target of " + Percent(1.0 - *error_objective) + ".";
    s.steps = {{std::nullopt, "red"}, {1.0 - *error_objective, "green"}};
    s.queries = {{"1 - " + Sel(series::ErrorRatio(period), kM), "availability"}};
    strip.push_back(std::move(s));

    PanelSpec b;
    b.type = "stat";
    b.title = "Error budget left";
    b.unit = "percentunit";
    b.decimals = 1;
    b.description = "Share of the error budget of the SLO period (" + period +
                    ") still unspent: 100% untouched, 0 spent, negative overspent.";
    b.steps = {{std::nullopt, "red"}, {0.0, "yellow"}, {0.25, "green"}};
    b.queries = {{Sel(series::kErrorBudgetRemaining, kM), "error budget"}};
    strip.push_back(std::move(b));
  }
  if (latency_slo) {
    PanelSpec s;
    s.type = "stat";
    s.title = "Latency budget left";
    s.unit = "percentunit";
    s.decimals = 1;
    s.description = "Share of the latency budget (1% of requests may be slower than " +
                    Num(*model.slo->latency_p99_ms) + " ms) of the SLO period (" + period +
                    ") still unspent.";
    s.steps = {{std::nullopt, "red"}, {0.0, "yellow"}, {0.25, "green"}};
    s.queries = {{Sel(series::kLatencyBudgetRemaining, kM), "latency budget"}};
    strip.push_back(std::move(s));
  }
  AddStrip(layout, std::move(strip), 4);

  {
    PanelSpec s;
    s.title = "Request rate by version";
    s.unit = "reqps";
    s.w = 8;
    s.description = "Predictions per second over 5m for each selected model version.";
    s.queries = {
        {"sum by (version) (" + Sel(series::kVersionPredictionRate5m, kMV) + ")", "{{version}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Latency p50 / p95 / p99";
    s.unit = "s";
    s.w = 8;
    s.description = "Request-duration quantiles over 5m for each selected version.";
    s.queries = {{Sel(series::kVersionLatencyP50, kMV), "p50 {{version}}"},
                 {Sel(series::kVersionLatencyP95, kMV), "p95 {{version}}"},
                 {Sel(series::kVersionLatencyP99, kMV), "p99 {{version}}"}};
    if (latency_slo) {
      s.description += " The objective line is the SLO's p99 latency (" +
                       Num(*model.slo->latency_p99_ms) + " ms).";
      s.queries.push_back({Sel(series::kLatencyObjectiveSeconds, kM), "p99 objective"});
    }
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Error ratio vs SLO";
    s.unit = "percentunit";
    s.w = 8;
    s.description = "Share of predictions that were serving errors over 5m, per version.";
    s.queries = {{Sel(series::kVersionErrorRatio5m, kMV), "{{version}}"}};
    if (error_objective) {
      s.description += " The objective line is the SLO's allowed error ratio (" +
                       Percent(*error_objective) + ").";
      s.queries.push_back({Sel(series::kErrorObjective, kM), "objective"});
    }
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Errors by type";
    s.unit = "reqps";
    s.w = 8;
    s.stacking = "normal";
    s.description = "Serving errors per second over 5m by error type (the record's status).";
    s.queries = {
        {"sum by (error_type) (" + Sel(series::kErrorTypeRate5m, kMV) + ")", "{{error_type}}"}};
    layout.Add(s);
  }
  const std::vector<Step> burn_steps = {
      {std::nullopt, "green"}, {1.0, "yellow"}, {6.0, "orange"}, {14.4, "red"}};
  const std::vector<std::string> burn_windows = {"1h", "6h", "1d", "3d"};
  if (error_objective) {
    PanelSpec s;
    s.title = "Error-budget burn rate";
    s.unit = "suffix:x";
    s.w = 8;
    s.steps = burn_steps;
    s.thresholds_style = "dashed";
    s.description =
        "Error ratio over each alert window divided by the allowed error ratio: 1 spends the "
        "budget exactly over the SLO period; the multi-window alerts page at 14.4 (1h) and 6 "
        "(6h) and open tickets at 3 (1d) and 1 (3d).";
    for (const std::string& w : burn_windows) {
      s.queries.push_back(
          {Sel(series::ErrorRatio(w), kM) + " / on (model) " + Sel(series::kErrorObjective, kM),
           w});
    }
    layout.Add(s);
  }
  if (latency_slo) {
    PanelSpec s;
    s.title = "Latency-budget burn rate";
    s.unit = "suffix:x";
    s.w = 8;
    s.steps = burn_steps;
    s.thresholds_style = "dashed";
    s.description = "Share of requests slower than the p99 objective (" +
                    Num(*model.slo->latency_p99_ms) +
                    " ms) over each alert window divided by the allowed 1%: 1 spends the "
                    "budget exactly over the SLO period.";
    for (const std::string& w : burn_windows) {
      s.queries.push_back({Sel(series::LatencySlowRatio(w), kM) + " / 0.01", w});
    }
    layout.Add(s);
  }
}

void AddHealthRow(Layout& layout, const ModelConfig& model) {
  layout.Row("Model health");
  const std::string method = DriftMethodName(model.drift.method);
  const std::string drift_sel = std::string(kM) + ", method=\"" + method + "\", window=\"$window\"";
  const std::vector<Step> drift_steps = {
      {std::nullopt, "green"}, {model.drift.warn, "yellow"}, {model.drift.critical, "red"}};
  const std::vector<Step> score_steps = {{std::nullopt, "green"},
                                         {model.degradation.notify_at, "yellow"},
                                         {model.degradation.page_at, "red"}};

  std::vector<PanelSpec> strip;
  {
    PanelSpec s;
    s.type = "stat";
    s.title = "Degradation score";
    s.unit = "none";
    s.min = 0;
    s.max = 100;
    s.steps = score_steps;
    s.description =
        "Composite degradation score (0-100) of the worst selected version: "
        "notifies at " +
        Num(model.degradation.notify_at) + ", pages at " + Num(model.degradation.page_at) + ".";
    s.queries = {{"max(" + Sel(metric::kModelDegradationScore.Name(), kMV) + ")", "score"}};
    strip.push_back(std::move(s));
  }
  {
    PanelSpec s;
    s.type = "stat";
    s.title = "Max feature drift ($window)";
    s.unit = "none";
    s.decimals = 3;
    s.steps = drift_steps;
    s.description = "Largest " + method +
                    " drift over all features in the selected window; "
                    "warns at " +
                    Num(model.drift.warn) + ", critical at " + Num(model.drift.critical) + ".";
    s.queries = {{"max(" + Sel(series::kFeatureDriftMax, drift_sel) + ")", "max drift"}};
    strip.push_back(std::move(s));
  }
  {
    PanelSpec s;
    s.type = "stat";
    s.title = "Features drifting ($window)";
    s.unit = "short";
    s.steps = {{std::nullopt, "green"}, {1.0, "yellow"}};
    s.description = "Number of features whose " + method +
                    " drift is at or above the warn "
                    "threshold (" +
                    Num(model.drift.warn) + ") in the selected window.";
    s.queries = {
        {Sel(series::kFeaturesDrifting, std::string(kM) + ", window=\"$window\""), "features"}};
    strip.push_back(std::move(s));
  }
  {
    PanelSpec s;
    s.type = "stat";
    s.title = "Anomalous requests ($window)";
    s.unit = "percentunit";
    s.decimals = 2;
    s.description =
        "Share of requests with at least one feature outside the training range "
        "in the selected window.";
    s.queries = {
        {Sel(metric::kModelAnomalousRequestsRatio.Name(), std::string(kM) + ", window=\"$window\""),
         "anomalous"}};
    strip.push_back(std::move(s));
  }
  if (IsClassifier(model)) {
    PanelSpec c;
    c.type = "stat";
    c.title = "Confidence ratio";
    c.unit = "none";
    c.decimals = 2;
    const std::string min_ratio = FormatNumber(model.confidence_min_ratio);
    c.steps = {{std::nullopt, "red"}, {model.confidence_min_ratio, "green"}};
    c.description =
        "Mean confidence over the shortest drift window divided by the longest, "
        "worst selected version; 1 = unchanged, ConfidenceDrop fires below " +
        min_ratio + ".";
    c.queries = {{"min(" + Sel(series::kConfidenceRatio, kMV) + ")", "confidence ratio"}};
    strip.push_back(std::move(c));

    // EntropyRise's own signal and threshold (entropy.compare).
    PanelSpec e;
    e.type = "stat";
    e.unit = "none";
    e.decimals = 2;
    const EntropyConfig& ent = model.entropy;
    if (ent.Effective(!model.baseline.empty()) == EntropyCompare::kBaseline) {
      const std::string window =
          ent.window.empty() ? SortedDriftWindows(model).back().label : ent.window;
      e.title = "Entropy vs. baseline (" + window + ")";
      e.steps = {{std::nullopt, "green"}, {ent.sigmas, "red"}};
      e.description = "Mean prediction entropy over " + window +
                      " minus the baseline's mean, in standard deviations of the baseline's "
                      "records, worst selected version; EntropyRise fires above " +
                      FormatNumber(ent.sigmas) + ".";
      e.queries = {
          {"max(" + Sel(series::kEntropyShift, std::string(kMV) + ", window=\"" + window + "\"") +
               ")",
           "entropy shift"}};
    } else {
      e.title = "Entropy ratio";
      e.steps = {{std::nullopt, "green"}, {ent.max_ratio, "red"}};
      e.description =
          "Mean prediction entropy over the shortest drift window divided by the "
          "longest, worst selected version; 1 = unchanged, EntropyRise fires above " +
          FormatNumber(ent.max_ratio) + ".";
      e.queries = {{"max(" + Sel(series::kEntropyRatio, kMV) + ")", "entropy ratio"}};
    }
    strip.push_back(std::move(e));
  }
  AddStrip(layout, std::move(strip), 4);

  // Only binary classifiers log a score (model_prediction_score); multiclass models show
  // the volume per predicted class (model_predicted_class_total) in its place.
  if (model.task == Task::kBinaryClassification) {
    PanelSpec s;
    s.type = "heatmap";
    s.title = "Score distribution";
    s.unit = "short";
    s.description =
        "Predictions per score bucket and interval (the " + metric::kModelPredictionScore.Name() +
        " histogram of "
        "the selected versions); a shift of the mass is a change in the model's output.";
    s.queries = {{"sum by (le) (increase(" + Sel(metric::kModelPredictionScore.Bucket(), kMV) +
                      "[$__rate_interval]))",
                  "{{le}}", false, "heatmap"}};
    s.options = Json{{"calculate", false},
                     {"rowsFrame", {{"layout", "le"}, {"value", "predictions"}}},
                     {"yAxis", {{"unit", "none"}, {"decimals", 2}}},
                     {"cellValues", {{"unit", "short"}}}};
    layout.Add(s);
  }
  if (model.task == Task::kMulticlassClassification) {
    PanelSpec s;
    s.title = "Predictions by class";
    s.unit = "reqps";
    s.stacking = "normal";
    s.description = "Predictions per second by predicted class (" +
                    metric::kModelPredictedClassTotal.Name() +
                    ") over the "
                    "selected versions; a shift between classes is a change in the model's output.";
    s.queries = {{"sum by (class) (rate(" + Sel(metric::kModelPredictedClassTotal.Name(), kMV) +
                      "[$__rate_interval]))",
                  "{{class}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Traffic share by version";
    s.unit = "percentunit";
    s.stacking = "normal";
    s.min = 0;
    s.max = 1;
    s.description =
        "Share of predictions served by each version (all versions, regardless of "
        "the version selection), to follow rollouts and canaries.";
    s.queries = {{"sum by (version) (" + Sel(series::kVersionPredictionRate5m, kM) +
                      ") / ignoring (version) group_left sum(" +
                      Sel(series::kVersionPredictionRate5m, kM) + ")",
                  "{{version}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Feature drift (" + method + ", $window)";
    s.unit = "none";
    s.steps = drift_steps;
    s.thresholds_style = "dashed";
    s.description = "Drift of each feature against the baseline (" + method +
                    ", the alerting method) in the selected window; dashed lines at the warn (" +
                    Num(model.drift.warn) + ") and critical (" + Num(model.drift.critical) +
                    ") thresholds. PII features are never exported.";
    // Features with their own drift settings (features[].drift) are drawn with their own
    // method and thresholds, so each line is judged as its alert judges it.
    std::map<DriftMethod, std::vector<std::string>> own_method;
    std::string own;
    s.overrides = Json::array();
    for (const FeatureConfig& f : model.features) {
      if (f.pii) continue;
      const FeatureDriftSettings e = EffectiveFeatureDrift(model.drift, f);
      if (!f.alert) {
        own += std::string(own.empty() ? "" : "; ") + f.name + ": no alert";
        continue;
      }
      if (!e.overridden) continue;
      if (e.method != model.drift.method) own_method[e.method].push_back(f.name);
      own += std::string(own.empty() ? "" : "; ") + f.name + ": " + DriftMethodName(e.method) +
             ", " + Num(e.warn) + "/" + Num(e.critical);
      if (e.windows.size() != model.drift.windows.size()) {
        std::string ws;
        for (const Window& w : e.windows) ws += (ws.empty() ? "" : ", ") + w.label;
        own += " (alerts on " + ws + " only)";
      }
      s.overrides.push_back(Json{
          // byNames (options an object, as the dashboard schema requires; byName's is a
          // string).
          {"matcher",
           {{"id", "byNames"},
            {"options", {{"mode", "include"}, {"names", Json::array({f.name})}}}}},
          {"properties", Json::array({Json{{"id", "thresholds"},
                                           {"value", ThresholdSteps({{std::nullopt, "green"},
                                                                     {e.warn, "yellow"},
                                                                     {e.critical, "red"}})}}})}});
    }
    if (!own.empty()) s.description += " Features with their own settings: " + own + ".";
    s.queries = {{Sel(metric::kModelFeatureDrift.Name(), drift_sel), "{{feature}}"}};
    for (const auto& [m, names] : own_method) {
      std::string re;
      for (const std::string& n : names) re += (re.empty() ? "" : "|") + n;
      s.queries.push_back({Sel(metric::kModelFeatureDrift.Name(),
                               std::string(kM) + ", feature=~\"" + re + "\", method=\"" +
                                   DriftMethodName(m) + "\", window=\"$window\""),
                           "{{feature}}"});
    }
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Prediction drift ($window)";
    s.unit = "none";
    s.steps = drift_steps;
    s.thresholds_style = "dashed";
    s.description = "Drift of the model's output distribution against the baseline (" + method +
                    ") per selected version in the selected window.";
    s.queries = {{Sel(metric::kModelPredictionDrift.Name(),
                      std::string(kMV) + ", method=\"" + method + "\", window=\"$window\""),
                  "{{version}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Degradation score by version";
    s.unit = "none";
    s.min = 0;
    s.max = 100;
    s.steps = score_steps;
    s.thresholds_style = "dashed";
    s.description =
        "Composite degradation score (0-100) per version; dashed lines at the "
        "notify (" +
        Num(model.degradation.notify_at) + ") and page (" + Num(model.degradation.page_at) +
        ") levels.";
    s.queries = {{Sel(metric::kModelDegradationScore.Name(), kMV), "{{version}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Degradation signals";
    s.unit = "none";
    s.stacking = "normal";
    s.min = 0;
    std::string weights;
    for (const auto& [signal, weight] : model.degradation.weights) {
      if (!weights.empty()) weights += ", ";
      weights += signal + " " + Num(weight);
    }
    s.description =
        "The weighted inputs of the degradation score (weight x normalised input x "
        "100); stacked, they add up to the score. Weights: " +
        weights + ".";
    s.queries = {{Sel(metric::kModelDegradationSignal.Name(), kMV), "{{signal}} ({{version}})"}};
    layout.Add(s);
  }
  if (IsClassifier(model)) {
    PanelSpec c;
    c.title = "Mean confidence ($window)";
    c.unit = "percentunit";
    c.w = 8;
    c.description =
        "Mean confidence (largest class probability) per version in the selected "
        "window; a drop means the model is less sure of its predictions.";
    c.queries = {{Sel(metric::kModelPredictionConfidenceMean.Name(),
                      std::string(kMV) + ", window=\"$window\""),
                  "{{version}}"}};
    layout.Add(c);

    PanelSpec e;
    e.title = "Mean entropy ($window)";
    e.unit = "none";
    e.w = 8;
    e.description =
        "Mean entropy of the class probabilities (natural log) per version in the "
        "selected window; a rise means less decisive predictions.";
    e.queries = {
        {Sel(metric::kModelPredictionEntropyMean.Name(), std::string(kMV) + ", window=\"$window\""),
         "{{version}}"}};
    layout.Add(e);

    PanelSpec r;
    r.title = "Confidence and entropy vs. baseline window";
    r.unit = "none";
    r.w = 8;
    r.description =
        "Shortest over longest drift window for mean confidence (ConfidenceDrop below " +
        FormatNumber(model.confidence_min_ratio) + ") and mean entropy" +
        (model.entropy.Effective(!model.baseline.empty()) == EntropyCompare::kWindows
             ? " (EntropyRise above " + FormatNumber(model.entropy.max_ratio) + ")"
             : "") +
        "; 1 = unchanged.";
    r.queries = {{Sel(series::kConfidenceRatio, kMV), "confidence {{version}}"},
                 {Sel(series::kEntropyRatio, kMV), "entropy {{version}}"}};
    layout.Add(r);
  }
  {
    PanelSpec s;
    s.title = "Anomalies and data quality ($window)";
    s.unit = "percentunit";
    s.description =
        "Share of anomalous requests (any feature outside the training range), and "
        "per feature the share of missing and of out-of-range values in the "
        "selected window.";
    const std::string sel = std::string(kM) + ", window=\"$window\"";
    s.queries = {
        {Sel(metric::kModelAnomalousRequestsRatio.Name(), sel), "anomalous requests"},
        {Sel(metric::kModelFeatureMissingRatio.Name(), sel), "missing {{feature}}"},
        {Sel(metric::kModelFeatureOutOfRangeRatio.Name(), sel), "out of range {{feature}}"}};
    layout.Add(s);
  }
  if (model.task == Task::kBinaryClassification) {
    PanelSpec s;
    s.title = "Positive rate ($window)";
    s.unit = "percentunit";
    s.w = 12;
    s.description = "Share of predictions at or above the decision threshold (" +
                    Num(model.threshold) + ") per version in the selected window.";
    s.queries = {{Sel(metric::kModelPositiveRate.Name(), std::string(kMV) + ", window=\"$window\""),
                  "{{version}}"}};
    layout.Add(s);

    PanelSpec z;
    z.title = "Positive-rate shift (z-score, $window)";
    z.unit = "none";
    z.w = 12;
    z.steps = {
        {std::nullopt, "red"}, {-5.0, "yellow"}, {-2.0, "green"}, {2.0, "yellow"}, {5.0, "red"}};
    z.thresholds_style = "dashed";
    z.description =
        "z-score of the positive rate against the baseline rate; "
        "PositiveRateShift opens a ticket beyond 2 sigma and pages beyond 5 sigma.";
    z.queries = {
        {Sel(metric::kModelPositiveRateZscore.Name(), std::string(kMV) + ", window=\"$window\""),
         "{{version}}"}};
    layout.Add(z);
  }
  if (model.task == Task::kMulticlassClassification) {
    PanelSpec s;
    s.title = "Predicted class share (1h)";
    s.unit = "percentunit";
    s.stacking = "normal";
    s.w = 12;
    s.description = "Share of predictions per predicted class over 1h, per version.";
    s.queries = {{Sel(series::kClassShare1h, kMV), "{{class}} ({{version}})"}};
    layout.Add(s);
  }
  // Estimated from confidence (and binned scores): classifiers only.
  if (IsClassifier(model)) {
    PanelSpec s;
    s.title = "Estimated performance (without labels)";
    s.unit = "none";
    s.w = 12;
    s.description =
        "Performance estimated from the model's own outputs (e.g. confidence-based "
        "accuracy), per metric, version and window; available before labels "
        "arrive.";
    s.queries = {{Sel(metric::kModelEstimatedPerformance.Name(), kMV),
                  "{{metric}} {{version}} ({{window}})"}};
    layout.Add(s);
  }
}

void AddGroundTruthRow(Layout& layout, const ModelConfig& model) {
  const GroundTruthConfig& gt = *model.ground_truth;
  layout.Row("Ground truth");
  {
    PanelSpec s;
    s.title = "Performance from labels";
    s.unit = "none";
    s.description =
        "Performance computed from joined ground-truth labels, per metric, version "
        "and window (labels arrive after a delay of " +
        WindowLabel(gt.delay) +
        "), next to the baseline's performance on its labelled reference data (when the "
        "baseline was built with --labels).";
    s.queries = {
        {Sel(metric::kModelPerformance.Name(), kMV), "{{metric}} {{version}} ({{window}})"},
        {Sel(metric::kModelBaselinePerformance.Name(), kM), "{{metric}} baseline"}};
    layout.Add(s);
  }
  if (gt.retrain_when) {
    const RetrainConfig& r = *gt.retrain_when;
    PanelSpec s;
    s.title = "Retrain metric: " + r.metric;
    s.unit = "none";
    s.thresholds_style = "dashed";
    const bool above = r.above.has_value();
    const double limit = above ? *r.above : r.below;
    if (above) {
      s.steps = {{std::nullopt, "green"}, {limit, "red"}};
    } else {
      s.steps = {{std::nullopt, "red"}, {limit, "green"}};
    }
    s.description =
        "The metric that decides retraining: PerformanceBelowRetrainThreshold "
        "fires when " +
        r.metric + (above ? " stays above " : " stays below ") + Num(limit) + " for " +
        WindowLabel(r.for_duration) + "; the baseline's value for comparison.";
    s.queries = {
        {Sel(metric::kModelPerformance.Name(), std::string(kMV) + ", metric=\"" + r.metric + "\""),
         "{{version}} ({{window}})"},
        {Sel(metric::kModelBaselinePerformance.Name(),
             std::string(kM) + ", metric=\"" + r.metric + "\""),
         "baseline"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Label match ratio";
    s.unit = "percentunit";
    s.min = 0;
    s.max = 1;
    s.steps = {{std::nullopt, "red"}, {gt.min_match_rate, "green"}};
    s.thresholds_style = "dashed";
    s.description =
        "Of the predictions at least the label delay old, the share that received "
        "a label; LowLabelMatchRate fires below " +
        Percent(gt.min_match_rate) + ".";
    s.queries = {{Sel(metric::kModelLabelMatchRatio.Name(), kM), "{{window}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Unmatched labels";
    s.unit = "cps";
    s.description =
        "Labels per second that matched no prediction (wrong join key, or the "
        "prediction is older than the join window).";
    s.queries = {
        {"sum(rate(" + Sel(metric::kModelLabelsUnmatchedTotal.Name(), kM) + "[$__rate_interval]))",
         "unmatched labels/s"}};
    layout.Add(s);
  }
  if (!gt.segments.empty()) {
    PanelSpec s;
    s.title = "Performance by segment";
    s.unit = "none";
    s.w = 24;
    std::string keys;
    for (const std::string& k : gt.segments) keys += (keys.empty() ? "" : ", ") + k;
    s.description = "Performance from labels per segment value, for the segment keys " + keys + ".";
    s.queries = {{Sel(metric::kModelSegmentPerformance.Name(), kMV),
                  "{{segment}}={{value}} {{metric}} {{version}} ({{window}})"}};
    layout.Add(s);
  }
}

void AddShadowRow(Layout& layout, const ModelConfig& model) {
  const ShadowConfig& sh = *model.shadow;
  layout.Row("Shadow: " + sh.challenger + " vs " + sh.champion);
  const std::string sel =
      std::string(kM) + ", champion=\"" + sh.champion + "\", challenger=\"" + sh.challenger + "\"";
  {
    PanelSpec s;
    s.title = "Agreement";
    s.unit = "percentunit";
    s.w = 8;
    s.min = 0;
    s.max = 1;
    s.steps = {{std::nullopt, "red"}, {sh.min_agreement, "green"}};
    s.thresholds_style = "dashed";
    s.description = "Share of paired requests on which challenger " + sh.challenger +
                    " and champion " + sh.champion +
                    " predict the same class; ShadowDisagreement fires below " +
                    Percent(sh.min_agreement) + ".";
    s.queries = {{Sel(metric::kModelShadowAgreementRatio.Name(), sel), "{{window}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Score correlation";
    s.unit = "none";
    s.w = 8;
    s.max = 1;
    s.description =
        "Pearson correlation of the challenger's and the champion's scores on "
        "paired requests, per window.";
    s.queries = {{Sel(metric::kModelShadowScoreCorrelation.Name(), sel), "{{window}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Score distribution distance (KS)";
    s.unit = "none";
    s.w = 8;
    s.min = 0;
    s.max = 1;
    s.description =
        "Kolmogorov-Smirnov distance between the challenger's and the champion's "
        "score distributions, per window (0 = identical).";
    s.queries = {{Sel(metric::kModelShadowScoreKs.Name(), sel), "{{window}}"}};
    layout.Add(s);
  }
}

void AddExporterRow(Layout& layout) {
  layout.Row("Exporter");
  // Self-metrics without a model label belong to the whole exporter: match them too.
  const char* kSelf = "model=~\"$model|\"";
  {
    PanelSpec s;
    s.title = "Lines read and rejected";
    s.unit = "cps";
    s.w = 8;
    s.description =
        "Log lines read per second, and lines rejected per second by reason "
        "(invalid_json, missing_field, bad_type, too_long, unknown_model, ...).";
    s.queries = {
        {"sum(rate(" + Sel(metric::kModelwatchLinesReadTotal.Name(), kSelf) +
             "[$__rate_interval]))",
         "read"},
        {"sum by (reason) (rate(" + Sel(metric::kModelwatchLinesRejectedTotal.Name(), kSelf) +
             "[$__rate_interval]))",
         "rejected {{reason}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Source lag";
    s.unit = "bytes";
    s.w = 8;
    s.description =
        "Bytes written to the tailed log files but not yet read; a growing lag "
        "means the exporter falls behind.";
    s.queries = {{Sel(metric::kModelwatchSourceLagBytes.Name(), kSelf), ""}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "File rotations";
    s.unit = "short";
    s.w = 8;
    s.description = "Log-file rotations (rename and copytruncate) the tailer followed.";
    s.queries = {{"sum(increase(" + Sel(metric::kModelwatchFileRotationsTotal.Name(), kSelf) +
                      "[$__rate_interval]))",
                  "rotations"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Late records";
    s.unit = "cps";
    s.w = 8;
    s.description =
        "Records per second older than their window's start minus the allowed "
        "lateness; they are counted but enter no window.";
    s.queries = {
        {"sum(rate(" + Sel(metric::kModelLateRecordsTotal.Name(), kM) + "[$__rate_interval]))",
         "late records/s"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Samples per window";
    s.unit = "short";
    s.w = 8;
    s.description =
        "Records in each drift window; below min_samples the window's drift and "
        "proxy gauges are absent.";
    s.queries = {{Sel(metric::kModelWindowSamples.Name(), kM), "{{window}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.type = "table";
    s.title = "Baseline in use";
    s.unit = "none";
    s.w = 8;
    s.description = "The baseline profile the exporter compares against (" +
                    metric::kModelBaselineInfo.Name() + ").";
    s.queries = {{Sel(metric::kModelBaselineInfo.Name(), kM), "", true, "table"}};
    s.transformations = Json::array({Json{
        {"id", "organize"},
        {"options", {{"excludeByName", {{"Time", true}, {"Value", true}, {"__name__", true}}}}}}});
    layout.Add(s);
  }
}

std::vector<std::string> DriftWindowLabels(const ModelConfig& model) {
  std::vector<std::string> out;
  for (const Window& w : model.drift.windows) out.push_back(w.label);
  if (out.empty()) out = {"1h", "24h"};
  return out;
}

std::string DashboardDescription(const std::string& what, const std::string& source) {
  return what + " Generated by modelwatch-rulegen from " + source + " \u2014 " + kGeneratedMark +
         ".";
}

}  // namespace

Json ModelDashboard(const ConfigSet& config, const ModelConfig& model,
                    const DashboardTemplates& templates) {
  (void)config;
  Json dash = templates.model;
  std::string what = "Model " + model.name + " (" + TaskName(model.task) + ", tier " +
                     std::to_string(model.tier) + ", team " + model.owner.team + ").";
  if (!model.description.empty()) what += " " + model.description;
  FillTokens(dash, {{"uid", series::DashboardUid(model.name)},
                    {"title", "modelwatch / " + model.name},
                    {"description", DashboardDescription(what, BaseName(model.file))},
                    {"model", model.name},
                    {"tier", std::to_string(model.tier)},
                    {"team", model.owner.team}});

  Json& vars = dash["templating"]["list"];
  if (!vars.is_array()) vars = Json::array();
  vars.push_back(CustomVariable("window", "Drift window",
                                "The drift window (the `window` label) of drift, proxy and "
                                "data-quality panels.",
                                DriftWindowLabels(model)));

  Layout layout(templates);
  AddSlaRow(layout, model);
  AddHealthRow(layout, model);
  if (model.ground_truth) AddGroundTruthRow(layout, model);
  if (model.shadow) AddShadowRow(layout, model);
  AddExporterRow(layout);
  dash["panels"] = std::move(layout).Take();
  return dash;
}

Json OverviewDashboard(const ConfigSet& config, const DashboardTemplates& templates) {
  Json dash = templates.overview;
  std::string models_regex;
  std::vector<std::string> windows;
  std::vector<std::string> methods;
  auto add_unique = [](std::vector<std::string>& v, const std::string& s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
  };
  for (const ModelConfig& m : config.models) {
    if (!models_regex.empty()) models_regex += "|";
    models_regex += m.name;
    for (const std::string& w : DriftWindowLabels(m)) add_unique(windows, w);
    add_unique(methods, DriftMethodName(m.drift.method));
  }
  if (methods.empty()) methods = {"psi"};
  if (windows.empty()) windows = {"1h", "24h"};
  for (const ModelConfig& m : config.models) {
    for (DriftMethod dm : m.drift.methods) add_unique(methods, DriftMethodName(dm));
  }
  FillTokens(dash,
             {{"uid", series::kOverviewDashboardUid},
              {"title", "modelwatch / overview"},
              {"description",
               DashboardDescription(
                   "Health, drift and serving of the " + std::to_string(config.models.size()) +
                       (config.models.size() == 1 ? " monitored model." : " monitored models."),
                   "the model configuration directory")},
              {"models_regex", models_regex.empty() ? "^$" : models_regex}});
  Json& vars = dash["templating"]["list"];
  if (!vars.is_array()) vars = Json::array();
  vars.push_back(CustomVariable("method", "Drift method",
                                "Drift method compared across models (each model's alerting "
                                "method comes first).",
                                methods));
  vars.push_back(
      CustomVariable("window", "Drift window", "Drift window compared across models.", windows));

  const char* kModels = "model=~\"$model\"";
  Layout layout(templates);
  layout.Row("Fleet health");
  {
    PanelSpec s;
    s.type = "table";
    s.title = "Model health";
    s.unit = "none";
    s.w = 12;
    s.h = 10;
    s.description =
        "One row per model: red (Critical) while a page-severity alert fires for it, "
        "yellow (Warning) while only ticket-severity alerts fire, green (OK) "
        "otherwise.";
    s.queries = {
        {"max by (model) (\n  2 * max by (model) (ALERTS{alertstate=\"firing\", "
         "severity=\"page\", " +
             std::string(kModels) +
             "})\n  or 1 * max by (model) (ALERTS{alertstate=\"firing\", "
             "severity=\"ticket\", " +
             kModels + "})\n  or 0 * max by (model) (" +
             Sel(metric::kModelPredictionsTotal.Name(), kModels) + ")\n)",
         "", true, "table"}};
    s.mappings =
        Json::array({Json{{"type", "value"},
                          {"options",
                           {{"0", {{"text", "OK"}, {"color", "green"}, {"index", 0}}},
                            {"1", {{"text", "Warning"}, {"color", "yellow"}, {"index", 1}}},
                            {"2", {{"text", "Critical"}, {"color", "red"}, {"index", 2}}}}}}});
    s.steps = {{std::nullopt, "green"}, {1.0, "yellow"}, {2.0, "red"}};
    s.custom = Json{
        {"cellOptions", {{"type", "color-background"}, {"mode", "basic"}, {"applyToRow", true}}}};
    s.options = Json{{"sortBy", Json::array({Json{{"displayName", "Health"}, {"desc", true}}})}};
    s.transformations =
        Json::array({Json{{"id", "organize"},
                          {"options",
                           {{"excludeByName", {{"Time", true}}},
                            {"renameByName", {{"model", "Model"}, {"Value", "Health"}}}}}}});
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.type = "table";
    s.title = "Firing alerts";
    s.unit = "short";
    s.w = 12;
    s.h = 10;
    s.description = "Alerts firing now, by model, alert name and severity (page, ticket, info).";
    s.queries = {{"count by (model, alertname, severity) (ALERTS{alertstate=\"firing\", " +
                      std::string(kModels) + "})",
                  "", true, "table"}};
    s.transformations = Json::array(
        {Json{{"id", "organize"},
              {"options",
               {{"excludeByName", {{"Time", true}, {"Value", true}}},
                {"renameByName",
                 {{"model", "Model"}, {"alertname", "Alert"}, {"severity", "Severity"}}}}}}});
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.type = "text";
    s.title = "Model dashboards";
    s.unit = "none";
    s.w = 24;
    s.h = 2 + static_cast<int>((config.models.size() + 3) / 4);
    s.description = "Links to the per-model dashboards.";
    std::string content;
    for (const ModelConfig& m : config.models) {
      content += (content.empty() ? "" : " | ");
      content += "[" + m.name + "](/d/" + series::DashboardUid(m.name) + ") (tier " +
                 std::to_string(m.tier) + ", " + m.owner.team + ")";
    }
    if (content.empty()) content = "No models are configured.";
    s.options = Json{{"mode", "markdown"}, {"content", content}};
    layout.Add(s);
  }

  layout.Row("Drift across models");
  const std::string drift_sel = std::string(kModels) + ", method=\"$method\", window=\"$window\"";
  {
    PanelSpec s;
    s.title = "Max feature drift by model ($method, $window)";
    s.unit = "none";
    s.w = 16;
    s.description =
        "Largest feature drift of each model over time, side by side, for the "
        "selected method and window. Thresholds differ per model; see each "
        "model's dashboard.";
    s.queries = {{"max by (model) (" + Sel(metric::kModelFeatureDrift.Name(), drift_sel) + ")",
                  "{{model}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.type = "bargauge";
    s.title = "Current max feature drift";
    s.unit = "none";
    s.w = 8;
    s.decimals = 3;
    s.description =
        "Largest feature drift of each model now, for the selected method and "
        "window.";
    s.queries = {{"max by (model) (" + Sel(metric::kModelFeatureDrift.Name(), drift_sel) + ")",
                  "{{model}}", true, "time_series"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Features drifting by model ($window)";
    s.unit = "short";
    s.w = 12;
    s.description =
        "Number of features at or above each model's warn threshold (alerting "
        "method) in the selected window.";
    s.queries = {
        {"sum by (model) (" +
             Sel(series::kFeaturesDrifting, std::string(kModels) + ", window=\"$window\"") + ")",
         "{{model}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Degradation score by model";
    s.unit = "none";
    s.w = 12;
    s.min = 0;
    s.max = 100;
    s.description = "Composite degradation score (0-100) of each model's worst version.";
    s.queries = {{"max by (model) (" + Sel(metric::kModelDegradationScore.Name(), kModels) + ")",
                  "{{model}}"}};
    layout.Add(s);
  }

  layout.Row("Serving across models");
  {
    PanelSpec s;
    s.title = "Request rate by model";
    s.unit = "reqps";
    s.w = 8;
    s.description = "Predictions per second over 5m per model.";
    s.queries = {{Sel(series::kPredictionRate5m, kModels), "{{model}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "Error ratio by model";
    s.unit = "percentunit";
    s.w = 8;
    s.description = "Share of predictions that were serving errors over 5m per model.";
    s.queries = {{Sel(series::ErrorRatio("5m"), kModels), "{{model}}"}};
    layout.Add(s);
  }
  {
    PanelSpec s;
    s.title = "p99 latency by model";
    s.unit = "s";
    s.w = 8;
    s.description = "99th percentile request duration over 5m per model.";
    s.queries = {{Sel(series::kLatencyP99, kModels), "{{model}}"}};
    layout.Add(s);
  }
  dash["panels"] = std::move(layout).Take();
  return dash;
}

std::string DashboardText(const Json& dashboard) { return dashboard.dump(2) + "\n"; }

GrafanaEmitter::GrafanaEmitter(std::string template_dir) : template_dir_(std::move(template_dir)) {}

void GrafanaEmitter::Emit(const ConfigSet& config, OutputFiles& out) const {
  auto templates = LoadDashboardTemplates(template_dir_);
  if (!templates) throw std::runtime_error(templates.error().ToString());
  for (const ModelConfig& model : config.models) {
    out["dashboards/" + model.name + ".json"] =
        DashboardText(ModelDashboard(config, model, *templates));
  }
  out["dashboards/overview.json"] = DashboardText(OverviewDashboard(config, *templates));
  out["dashboards/provisioning.yml"] = FillTokens(
      templates->provisioning,
      {{"generated_mark", std::string(kGeneratedMark) + " (modelwatch-rulegen generate)"},
       {"path", kGrafanaDashboardPath}});
}

void AddGrafanaConfigMaps(OutputFiles& out, const std::string& namespace_name) {
  OutputFiles maps;
  const std::string prefix = "dashboards/";
  const std::string suffix = ".json";
  for (const auto& [path, content] : out) {
    if (path.size() <= prefix.size() + suffix.size() ||
        path.compare(0, prefix.size(), prefix) != 0 ||
        path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string file = path.substr(prefix.size());
    if (file.find('/') != std::string::npos) continue;
    const std::string name = file.substr(0, file.size() - suffix.size());
    // Kubernetes object names are DNS subdomains: no underscores.
    std::string object_name = "modelwatch-dashboard-" + name;
    std::replace(object_name.begin(), object_name.end(), '_', '-');
    std::string yaml = "# " + std::string(kGeneratedMark) + " (modelwatch-rulegen generate)\n";
    yaml += "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + object_name + "\n";
    if (!namespace_name.empty()) yaml += "  namespace: " + namespace_name + "\n";
    yaml +=
        "  labels:\n    grafana_dashboard: \"1\"\n    app.kubernetes.io/part-of: modelwatch\n"
        "  annotations:\n    grafana_folder: modelwatch\ndata:\n  " +
        file + ": |\n";
    std::size_t pos = 0;
    while (pos < content.size()) {
      std::size_t end = content.find('\n', pos);
      if (end == std::string::npos) end = content.size();
      if (end > pos) yaml += "    " + content.substr(pos, end - pos);
      yaml += "\n";
      pos = end + 1;
    }
    maps["kubernetes/grafana-dashboard-" + name + ".yaml"] = std::move(yaml);
  }
  for (auto& [path, content] : maps) out[path] = std::move(content);
}

}  // namespace modelwatch
