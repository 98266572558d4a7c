#include "rulegen/rule_model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/duration.h"
#include "core/metric_catalogue.h"
#include "rulegen/meta_rules.h"
#include "rulegen/promql_degradation.h"
#include "rulegen/promql_drift.h"
#include "rulegen/promql_performance.h"
#include "rulegen/promql_signals.h"
#include "rulegen/series.h"
#include "rulegen/text.h"

namespace modelwatch {

// A PromQL double-quoted string literal.
std::string PromQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

namespace {

using Kind = TextPiece::Kind;

TextPiece Lit(std::string s) { return {Kind::kLiteral, std::move(s)}; }
TextPiece Label(std::string name) { return {Kind::kLabel, std::move(name)}; }
TextPiece Pct() { return {Kind::kValuePercent, ""}; }
TextPiece Fmt(std::string f) { return {Kind::kValueFormat, std::move(f)}; }

// Durations in names and ranges: whole days stay days ("30d", not Prometheus' "4w2d").
std::string Dur(Seconds s) {
  if (s.count() > 0 && s.count() % 86400 == 0) return std::to_string(s.count() / 86400) + "d";
  return FormatDuration(s);
}

std::string Pct(double ratio) { return HumanizePercentage(ratio); }

// Burn-rate factors with 4 significant digits: 14.4, 3.36, 0.9333.
std::string FormatFactor(double f) { return GoFormat("%.4g", f); }

// Builds the alerts of one model; each helper appends to `alerts`.
class ModelRuleBuilder {
 public:
  ModelRuleBuilder(const ModelConfig& m, const FleetConfig& fleet)
      : m_(m), fleet_(fleet), tier_(fleet.Tier(m.tier)) {}

  RuleFile Build() {
    RuleFile file;
    file.model = m_.name;
    file.path = "rules/" + m_.name + ".rules.yml";
    RuleGroup rec{"modelwatch-" + m_.name + "-recording", tier_.evaluation_interval, {}, {}};
    AddRecording(rec.recording);
    RuleGroup alerts{"modelwatch-" + m_.name + "-alerts", tier_.evaluation_interval, {}, {}};
    AddAlerts(alerts.alerts);
    file.groups.push_back(std::move(rec));
    file.groups.push_back(std::move(alerts));
    return file;
  }

 private:
  std::string Sel(const std::vector<std::string>& extra = {}) const {
    return Selector(m_.name, extra);
  }

  bool IsClassifier() const { return m_.task != Task::kRegression; }

  void Rec(std::vector<RecordingRule>& out, std::string record, std::string expr,
           std::vector<std::pair<std::string, std::string>> labels = {}) const {
    out.push_back({std::move(record), std::move(expr), std::move(labels)});
  }

  // Sum by `by` of rate(metric[window]) for this model.
  std::string SumRate(const std::string& metric, const std::string& window,
                      const std::string& by = "model",
                      const std::vector<std::string>& extra = {}) const {
    return "sum by (" + by + ") (rate(" + metric + Sel(extra) + "[" + window + "]))";
  }

  std::string ErrorRatioExpr(const std::string& window, const std::string& by) const {
    const std::string errors = SumRate(metric::kModelPredictionErrorsTotal.Name(), window, by);
    const std::string preds = SumRate(metric::kModelPredictionsTotal.Name(), window, by);
    // Without any error yet the error counter does not exist: count that as a 0 ratio.
    return "(" + errors + " or 0 * " + preds + ")\n/\n" + preds;
  }

  std::string SlowRatioExpr(const std::string& window) const {
    return "1 - (\n  " +
           SumRate(metric::kModelRequestDurationSeconds.Bucket(), window, "model",
                   {"le=" + PromQuote(latency_bucket_)}) +
           "\n  /\n  " + SumRate(metric::kModelRequestDurationSeconds.Count(), window) + "\n)";
  }

  void AddRecording(std::vector<RecordingRule>& out) {
    const std::string thr_window = Dur(ThroughputWindow(m_, tier_.evaluation_interval));
    Rec(out, series::kPredictionRate5m, SumRate(metric::kModelPredictionsTotal.Name(), "5m"));
    if (thr_window != "5m") {
      Rec(out, series::PredictionRate(thr_window),
          SumRate(metric::kModelPredictionsTotal.Name(), thr_window));
    }
    {
      const std::string by = "sum by (model, job, instance) ";
      Rec(out, series::kSuccessfulPredictions,
          by + "(" + metric::kModelPredictionsTotal.Name() + Sel() + ")\n- (\n  " + by + "(" +
              metric::kModelPredictionErrorsTotal.Name() + Sel() + ")\n  or\n  0 * " + by + "(" +
              metric::kModelPredictionsTotal.Name() + Sel() + ")\n)");
    }
    Rec(out, series::kErrorRate5m, SumRate(metric::kModelPredictionErrorsTotal.Name(), "5m"));
    for (const std::string& w : SloWindows())
      Rec(out, series::ErrorRatio(w), ErrorRatioExpr(w, "model"));
    for (auto [name, q] : {std::pair{series::kLatencyP50, "0.5"},
                           {series::kLatencyP95, "0.95"},
                           {series::kLatencyP99, "0.99"}}) {
      Rec(out, name,
          std::string("histogram_quantile(") + q + ", " +
              SumRate(metric::kModelRequestDurationSeconds.Bucket(), "5m", "model, le") + ")");
    }
    if (auto objective = ErrorObjective(m_)) {
      const std::string period = Dur(m_.slo->period);
      Rec(out, series::ErrorRatio(period), ErrorRatioExpr(period, "model"));
      Rec(out, series::kErrorObjective, "vector(" + FormatNumber(*objective) + ")",
          {{"model", m_.name}});
      Rec(out, series::kErrorBudgetRemaining,
          "1 - " + series::ErrorRatio(period) + Sel() + " / " + FormatNumber(*objective));
    }
    if (m_.slo && m_.slo->latency_p99_ms) {
      const double objective = *m_.slo->latency_p99_ms / 1000.0;
      latency_bucket_ = LatencyObjectiveBucket(objective);
      std::vector<std::string> windows = SloWindows();
      windows.push_back(Dur(m_.slo->period));
      for (const auto& w : windows) Rec(out, series::LatencySlowRatio(w), SlowRatioExpr(w));
      Rec(out, series::kLatencyObjectiveSeconds, "vector(" + FormatNumber(objective) + ")",
          {{"model", m_.name}});
      Rec(out, series::kLatencyObjectiveBucketSeconds, "vector(" + latency_bucket_ + ")",
          {{"model", m_.name}});
      Rec(out, series::kLatencyBudgetRemaining,
          "1 - " + series::LatencySlowRatio(Dur(m_.slo->period)) + Sel() + " / 0.01");
    }
    // Per version, for dashboards.
    Rec(out, series::kVersionPredictionRate5m,
        SumRate(metric::kModelPredictionsTotal.Name(), "5m", "model, version"));
    Rec(out, series::kVersionErrorRatio5m, ErrorRatioExpr("5m", "model, version"));
    for (auto [name, q] : {std::pair{series::kVersionLatencyP50, "0.5"},
                           {series::kVersionLatencyP95, "0.95"},
                           {series::kVersionLatencyP99, "0.99"}}) {
      Rec(out, name,
          std::string("histogram_quantile(") + q + ", " +
              SumRate(metric::kModelRequestDurationSeconds.Bucket(), "5m", "model, version, le") +
              ")");
    }
    Rec(out, series::kErrorTypeRate5m,
        SumRate(metric::kModelPredictionErrorsTotal.Name(), "5m", "model, version, error_type"));
    if (IsClassifier()) {
      Rec(out, series::kClassShare1h,
          SumRate(metric::kModelPredictedClassTotal.Name(), "1h", "model, version, class") +
              "\n/ ignoring (class) group_left\n" +
              SumRate(metric::kModelPredictedClassTotal.Name(), "1h", "model, version"));
    }
    if (m_.task == Task::kBinaryClassification) {  // the score histogram is binary-only
      Rec(out, series::kScoreMean1h,
          SumRate(metric::kModelPredictionScore.Sum(), "1h", "model, version") + "\n/\n" +
              SumRate(metric::kModelPredictionScore.Count(), "1h", "model, version"));
    }
    if (HasDriftFeature(m_)) {
      Rec(out, series::kFeatureDriftMax,
          "max by (model, method, window) (" + metric::kModelFeatureDrift.Name() + Sel() + ")");
      Rec(out, series::kFeaturesDrifting,
          "sum by (model, window) (\n  " + metric::kModelFeatureDrift.Name() +
              Sel({"method=" + PromQuote(DriftMethodName(m_.drift.method))}) + " >= bool " +
              FormatNumber(m_.drift.warn) + "\n)");
    }
    if (IsClassifier() && !m_.drift.windows.empty()) {
      Rec(out, series::kConfidenceRatio,
          ShortLongRatio(metric::kModelPredictionConfidenceMean.Name()));
      Rec(out, series::kEntropyRatio, ShortLongRatio(metric::kModelPredictionEntropyMean.Name()));
      if (!m_.baseline.empty()) {
        // No value while the baseline's spread is 0 (every reference record equally certain).
        // Every replica serves the same baseline: one per model is taken (the window's mean
        // is per replica or, with drift.engine: promql, the fleet's).
        Rec(out, series::kEntropyShift,
            "(\n  " + metric::kModelPredictionEntropyMean.Name() + Sel() +
                "\n  - on (model) group_left ()\n  max by (model) (" +
                metric::kModelBaselinePredictionEntropyMean.Name() + Sel() +
                ")\n)\n/ on (model) group_left ()\n(max by (model) (" +
                metric::kModelBaselinePredictionEntropyStddev.Name() + Sel() + ") > 0)");
      }
    }
  }

  // The windows of the error and slow-request ratio rules: the dashboards' fixed windows
  // (series::kSloWindows) and the burn-rate pairs' windows for this SLO period, shortest first.
  std::vector<std::string> SloWindows() const {
    std::vector<std::pair<Seconds, std::string>> all;
    for (const char* w : series::kSloWindows) all.emplace_back(*ParseDuration(w), w);
    if (m_.slo) {
      for (const BurnWindow& w : BurnWindows(m_.slo->period, tier_.evaluation_interval)) {
        all.emplace_back(w.long_length, w.long_window);
        all.emplace_back(w.short_length, w.short_window);
      }
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    std::vector<std::string> out;
    for (auto& [len, label] : all) out.push_back(label);
    return out;
  }

  std::string ShortLongRatio(const std::string& metric) const {
    const auto windows = SortedDriftWindows(m_);
    const std::string shortw = metric + Sel({"window=" + PromQuote(windows.front().label)});
    if (windows.size() == 1) {
      return "max by (model, version) (\n  " + shortw + "\n  /\n  " + shortw + " offset 1d\n)";
    }
    const std::string longw = metric + Sel({"window=" + PromQuote(windows.back().label)});
    return "max by (model, version) (\n  " + shortw + "\n  / ignoring (window)\n  " + longw + "\n)";
  }

  AlertRule NewAlert(const std::string& name, Severity severity) const {
    AlertRule a;
    a.name = name;
    a.severity = severity;
    a.labels = {{"severity", SeverityName(severity)},
                {"model", m_.name},
                {"team", m_.owner.team},
                {"tier", std::to_string(m_.tier)}};
    a.runbook_url = RunbookUrl(fleet_, name);
    a.dashboard_url = DashboardUrl(fleet_, m_.name);
    return a;
  }

  // A threshold alert on `signal` with `for` and keep_firing_for (hysteresis).
  AlertRule Threshold(const std::string& name, Severity severity, const std::string& signal,
                      Comparison cmp, double threshold, const std::string& trigger) const {
    AlertRule a = NewAlert(name, severity);
    a.signal = signal;
    a.comparison = cmp;
    a.threshold = threshold;
    const char* op = cmp == Comparison::kAbove     ? " > "
                     : cmp == Comparison::kAtLeast ? " >= "
                                                   : " < ";
    a.expr = signal + op + FormatNumber(threshold);
    a.for_duration = tier_.for_duration;
    a.keep_firing_for = tier_.for_duration;
    a.trigger = trigger;
    return a;
  }

  void AddAlerts(std::vector<AlertRule>& out) {
    AddModelDown(out);
    if (auto objective = ErrorObjective(m_)) {
      AddBurnRate(out, "HighErrorRate", *objective, series::ErrorRatio, "of predictions failed",
                  "error ratio");
    }
    if (m_.slo && m_.slo->latency_p99_ms) {
      AddBurnRate(out, "HighLatency", 0.01, series::LatencySlowRatio,
                  "of requests were slower than " + latency_bucket_ + "s",
                  "share of requests slower than " + FormatNumber(*m_.slo->latency_p99_ms) +
                      "ms (measured at the " + latency_bucket_ + "s bucket)");
    }
    AddLowThroughput(out);
    AddDrift(out);
    if (m_.task == Task::kBinaryClassification) AddPositiveRate(out);
    if (IsClassifier() && !m_.drift.windows.empty()) AddConfidenceEntropy(out);
    if (!m_.baseline.empty() &&
        std::any_of(m_.features.begin(), m_.features.end(),
                    [](const FeatureConfig& f) { return !f.pii && f.alert; })) {
      AddMissing(out);
    }
    AddAnomalous(out);
    AddDegradation(out);
    if (m_.ground_truth) AddGroundTruth(out);
    if (m_.shadow) AddShadow(out);
  }

  // ModelDown: no *successful* prediction for the tier's model_down_after. A server that
  // answers only errors still grows model_predictions_total, so the rule watches the
  // successful-predictions counter. When the exporter's series go stale (exporter down), the
  // increase over the samples still in the window stays 0 and absent_over_time takes over
  // once they have aged out, so the alert does not flap. job and instance are kept so that
  // an alert about the exporter itself can inhibit it.
  void AddModelDown(std::vector<AlertRule>& out) const {
    const std::string d = Dur(tier_.model_down_after);
    AlertRule a = NewAlert("ModelDown", m_.tier <= 2 ? Severity::kPage : Severity::kTicket);
    const std::string succeeded =
        "increase(" + std::string(series::kSuccessfulPredictions) + Sel() + "[" + d + "])";
    a.expr = succeeded + " == 0\nor\nabsent_over_time(" + metric::kModelPredictionsTotal.Name() +
             Sel() + "[" + d + "])";
    // Bridges the evaluation at which the recorded counter has one sample left in the window
    // and the raw series have not yet aged out of it (series gone stale mid-incident).
    a.keep_firing_for = 2 * tier_.evaluation_interval;
    a.signal = succeeded;
    a.trigger = "no successful prediction counted for " + d + " (the tier's model_down_after)";
    a.summary = {Lit("Model "), Label("model"),
                 Lit(" has served no successful prediction for " + d)};
    a.description = {Lit("No successful prediction of "), Label("model"),
                     Lit(" has been counted in the last " + d +
                         ": every request failed, or the model server, its log shipping or the "
                         "exporter is down.")};
    out.push_back(std::move(a));
  }

  template <typename SeriesFn>
  void AddBurnRate(std::vector<AlertRule>& out, const std::string& name, double objective,
                   SeriesFn series_fn, const std::string& what, const std::string& trigger_what) {
    const Seconds period = m_.slo->period;
    for (Severity sev : {Severity::kPage, Severity::kTicket}) {
      AlertRule a = NewAlert(name, sev);
      std::string expr;
      std::string trigger;
      std::string factors;
      for (const BurnWindow& w : BurnWindows(period, tier_.evaluation_interval)) {
        if (w.severity != sev) continue;
        const double factor = w.factor;
        const std::string thr = "(" + FormatFactor(factor) + " * " + FormatNumber(objective) + ")";
        if (!expr.empty()) expr += "\nor\n";
        expr += "(\n  " + series_fn(w.long_window) + Sel() + " > " + thr + "\n  and\n  " +
                series_fn(w.short_window) + Sel() + " > " + thr + "\n)";
        if (!trigger.empty()) trigger += ", or ";
        trigger += trigger_what + " above " + FormatFactor(factor) + " x " + Pct(objective) +
                   " over both " + w.long_window + " and " + w.short_window;
        if (!factors.empty()) factors += " / ";
        factors += FormatFactor(factor) + "x over " + w.long_window + "+" + w.short_window;
      }
      a.expr = expr;
      a.signal = series_fn("1h");
      a.trigger = trigger + " (windows scaled to the " + Dur(period) + " SLO period)";
      a.summary = {Lit("Model "), Label("model"),
                   Lit(std::string(" is burning its ") + Dur(period) + " " +
                       (name == "HighErrorRate" ? "error" : "latency") + " budget" +
                       (sev == Severity::kPage ? " fast" : ""))};
      a.description = {Pct(), Lit(" " + what +
                                  " over the long window of the firing pair; the objective "
                                  "allows " +
                                  Pct(objective) + " (burn rate " + factors + ").")};
      out.push_back(std::move(a));
    }
  }

  // LowThroughput (docs/alerts.md): the request rate over the short window S below
  // (1 - drop) x the reference, while the reference is at least min_rate. The default
  // reference is the seeds' "1-hour average": the mean of the recorded 5m rate over an hour
  // (avg_over_time, so a model younger than an hour is compared with the traffic it has had,
  // and nothing a day old is needed) that ends S + `for` ago, so that while the drop is
  // pending the hour still holds only traffic from before it (an hour ending now would absorb
  // the drop and clear the condition before `for` passed). `compare: day` uses the same
  // window one day earlier.
  void AddLowThroughput(std::vector<AlertRule>& out) const {
    const ThroughputConfig& t = m_.throughput;
    const Seconds window = ThroughputWindow(m_, tier_.evaluation_interval);
    const std::string w = Dur(window);
    const std::string rate = series::PredictionRate(w) + Sel();
    const double keep = ThroughputKeepRatio(m_);
    const bool hour = t.compare == ThroughputCompare::kHour;
    const std::string reference = hour ? "avg_over_time(" + std::string(series::kPredictionRate5m) +
                                             Sel() + "[1h] offset " +
                                             Dur(ThroughputReferenceOffset(m_, tier_)) + ")"
                                       : "(" + rate + " offset 1d)";
    const std::string versus = hour ? "the average rate over the hour that ended " +
                                          Dur(ThroughputReferenceOffset(m_, tier_)) + " earlier"
                                    : "the rate over " + w + " a day earlier";
    AlertRule a = Threshold("LowThroughput", Severity::kTicket, rate, Comparison::kBelow, 0, "");
    a.threshold.reset();
    a.expr = rate + " < " + FormatNumber(keep) + " * " + reference;
    if (t.min_rate > 0) a.expr += "\nand\n" + reference + " >= " + FormatNumber(t.min_rate);
    a.trigger = "predictions/s over " + w + " below " + FormatNumber(keep) + " x " + versus +
                (t.min_rate > 0
                     ? " (only while that reference is at least " + FormatNumber(t.min_rate) + "/s)"
                     : std::string()) +
                ", for " + Dur(tier_.for_duration);
    a.summary = {Lit("Model "), Label("model"),
                 Lit(hour ? " receives far fewer predictions than in the last hour"
                          : " receives far fewer predictions than a day ago")};
    a.description = {Fmt("%.3g"), Lit(" predictions/s over " + w + ", less than " + Pct(keep) +
                                      " of " + versus + ".")};
    out.push_back(std::move(a));
  }

  // The drift alerts' noise guard: the effect must also exceed what sampling noise reaches at
  // the window's size with probability drift.alpha (the exporter's *_critical_value gauge of
  // the same series; docs/statistics.md, "Noise floors and significance").
  void RequireBeyondNoise(AlertRule& a) const {
    const std::size_t brace = a.signal.find('{');
    a.expr += " and " + a.signal + " > " + a.signal.substr(0, brace) + "_critical_value" +
              (brace == std::string::npos ? "" : a.signal.substr(brace));
    a.trigger += ", and above the critical value of sampling noise (alpha " +
                 FormatNumber(m_.drift.alpha) + ")";
  }

  // FeatureDrift (docs/alerts.md): a ticket and a page rule on the model's drift settings for
  // the features that use them, and a ticket and a page rule for each group of features that
  // share the same per-feature settings (features[].drift), on their method, thresholds and
  // windows. The model-wide rules exclude by name the features they must not watch: those
  // with alert: false and those with settings of their own.
  void AddFeatureDrift(std::vector<AlertRule>& out) const {
    struct Group {
      FeatureDriftSettings settings;
      std::vector<std::string> features;
    };
    std::vector<Group> groups;
    std::string muted;
    std::string own;  // overridden features the model-wide selector would otherwise match
    bool any_default = false;
    for (const FeatureConfig& f : m_.features) {
      if (f.pii) continue;
      const FeatureDriftSettings s = EffectiveFeatureDrift(m_.drift, f);
      const bool model_method = MethodApplies(m_.drift.method, f.type);
      if (!FeatureDriftAlerts(m_, f)) {
        if (model_method) muted += (muted.empty() ? "" : "|") + RegexEscape(f.name);
        continue;
      }
      if (!s.overridden) {
        any_default = true;
        continue;
      }
      if (model_method) own += (own.empty() ? "" : "|") + RegexEscape(f.name);
      auto same = [&](const Group& g) {
        const FeatureDriftSettings& o = g.settings;
        if (o.method != s.method || o.warn != s.warn || o.critical != s.critical ||
            o.windows.size() != s.windows.size()) {
          return false;
        }
        for (std::size_t i = 0; i < s.windows.size(); ++i) {
          if (o.windows[i].label != s.windows[i].label) return false;
        }
        return true;
      };
      auto g = std::find_if(groups.begin(), groups.end(), same);
      if (g == groups.end()) {
        groups.push_back({s, {}});
        g = std::prev(groups.end());
      }
      g->features.push_back(f.name);
    }
    if (any_default) {
      const std::string excluded = muted + (muted.empty() || own.empty() ? "" : "|") + own;
      std::vector<std::string> sel = {"method=" + PromQuote(DriftMethodName(m_.drift.method))};
      if (!excluded.empty()) sel.push_back("feature!~" + PromQuote(excluded));
      std::string note;
      if (!muted.empty()) note += " (not for features with alert: false: " + muted + ")";
      if (!own.empty()) note += " (not for features with their own drift settings: " + own + ")";
      FeatureDriftSettings model{m_.drift.method, m_.drift.warn, m_.drift.critical,
                                 m_.drift.windows, false};
      AddFeatureDriftRules(out, model, sel, {}, "", note);
    }
    for (const Group& g : groups) {
      const FeatureDriftSettings& s = g.settings;
      std::vector<std::string> sel = {"method=" + PromQuote(DriftMethodName(s.method))};
      std::string names;
      for (const std::string& f : g.features) names += (names.empty() ? "" : "|") + RegexEscape(f);
      sel.push_back(g.features.size() == 1 ? "feature=" + PromQuote(g.features.front())
                                           : "feature=~" + PromQuote(names));
      std::string windows;
      for (const Window& w : s.windows) windows += (windows.empty() ? "" : "|") + w.label;
      if (s.windows.size() != m_.drift.windows.size()) {
        sel.push_back(s.windows.size() == 1 ? "window=" + PromQuote(windows)
                                            : "window=~" + PromQuote(windows));
      }
      std::string who;
      for (const std::string& f : g.features) who += (who.empty() ? "" : ", ") + f;
      std::string scope = " of " + who;
      if (s.windows.size() != m_.drift.windows.size()) {
        for (std::size_t i = 0; i < s.windows.size(); ++i) {
          scope += (i == 0 ? " over " : ", ") + s.windows[i].label;
        }
      }
      AddFeatureDriftRules(out, s, sel, g.features, scope, " (the features' own drift settings)");
    }
  }

  void AddFeatureDriftRules(std::vector<AlertRule>& out, const FeatureDriftSettings& s,
                            const std::vector<std::string>& sel,
                            const std::vector<std::string>& features, const std::string& scope,
                            const std::string& note) const {
    const std::string method = DriftMethodName(s.method);
    for (auto [sev, thr, level] : {std::tuple{Severity::kTicket, s.warn, "warn"},
                                   {Severity::kPage, s.critical, "critical"}}) {
      AlertRule a =
          Threshold("FeatureDrift", sev, metric::kModelFeatureDrift.Name() + Sel(sel),
                    Comparison::kAtLeast, thr,
                    "feature drift (" + method + ")" + scope + " at or above the " + level +
                        " threshold " + FormatNumber(thr) + " for " + Dur(tier_.for_duration));
      a.summary = {Lit("Feature "), Label("feature"), Lit(" of "), Label("model"),
                   Lit(std::string(" drifted (") + level + ")")};
      a.description = {
          Lit(method + " drift of feature "),
          Label("feature"),
          Lit(" over "),
          Label("window"),
          Lit(" is "),
          Fmt("%.3f"),
          Lit(" (warn " + FormatNumber(s.warn) + ", critical " + FormatNumber(s.critical) + ").")};
      RequireBeyondNoise(a);
      a.trigger += note;
      a.features = features;
      out.push_back(std::move(a));
    }
  }

  void AddDrift(std::vector<AlertRule>& out) const {
    const std::string method = DriftMethodName(m_.drift.method);
    const std::string by_method = "method=" + PromQuote(method);
    AddFeatureDrift(out);
    for (auto [sev, thr, level] : {std::tuple{Severity::kTicket, m_.drift.warn, "warn"},
                                   {Severity::kPage, m_.drift.critical, "critical"}}) {
      AlertRule a =
          Threshold("PredictionDrift", sev, metric::kModelPredictionDrift.Name() + Sel({by_method}),
                    Comparison::kAtLeast, thr,
                    "prediction drift (" + method + ") at or above the " + level + " threshold " +
                        FormatNumber(thr) + " for " + Dur(tier_.for_duration));
      a.summary = {Lit("Predictions of "), Label("model"), Lit(" "), Label("version"),
                   Lit(std::string(" drifted (") + level + ")")};
      a.description = {Lit(method + " drift of the prediction distribution over "), Label("window"),
                       Lit(" is "), Fmt("%.3f"),
                       Lit(" (warn " + FormatNumber(m_.drift.warn) + ", critical " +
                           FormatNumber(m_.drift.critical) + ").")};
      RequireBeyondNoise(a);
      out.push_back(std::move(a));
    }
  }

  // PositiveRateShift: |z| above 2 (ticket) / 5 (page) on any drift window. A page on a longer
  // window also needs the shortest window above the ticket's 2: a long window keeps the shift
  // of traffic that has already recovered for up to its length, and paging on that echo
  // wakes someone for nothing (the backtest's synthetic week measured one such page, 9 h
  // after a covariate drift ended). The ticket still reports the long window.
  void AddPositiveRate(std::vector<AlertRule>& out) const {
    const auto windows = SortedDriftWindows(m_);
    for (auto [sev, thr] : {std::pair{Severity::kTicket, 2.0}, {Severity::kPage, 5.0}}) {
      AlertRule a = Threshold("PositiveRateShift", sev,
                              "abs(" + metric::kModelPositiveRateZscore.Name() + Sel() + ")",
                              Comparison::kAbove, thr,
                              "|z| of the positive rate against the baseline above " +
                                  FormatNumber(thr) + " for " + Dur(tier_.for_duration));
      if (sev == Severity::kPage && windows.size() > 1) {
        a.expr += " and on(model, version) abs(" + metric::kModelPositiveRateZscore.Name() +
                  Sel({"window=" + PromQuote(windows.front().label)}) + ") > 2";
        a.trigger += ", while |z| over " + windows.front().label + " is above 2";
      }
      a.summary = {Lit("Positive rate of "), Label("model"), Lit(" "), Label("version"),
                   Lit(" shifted by more than " + FormatNumber(thr) + " sigma")};
      a.description = {Lit("The positive rate over "), Label("window"), Lit(" is "), Fmt("%.2f"),
                       Lit(" standard deviations away from the baseline rate (ticket above 2, "
                           "page above 5).")};
      out.push_back(std::move(a));
    }
  }

  void AddConfidenceEntropy(std::vector<AlertRule>& out) const {
    const auto windows = SortedDriftWindows(m_);
    const std::string versus =
        windows.size() == 1 ? "one day earlier" : "over " + windows.back().label;
    const double min_ratio = m_.confidence_min_ratio;
    AlertRule c =
        Threshold("ConfidenceDrop", Severity::kTicket,
                  std::string(series::kConfidenceRatio) + Sel(), Comparison::kBelow, min_ratio,
                  "mean confidence over " + windows.front().label + " below " + Pct(min_ratio) +
                      " of its level " + versus + ", for " + Dur(tier_.for_duration));
    c.summary = {Lit("Confidence of "), Label("model"), Lit(" "), Label("version"),
                 Lit(" dropped")};
    c.description = {Lit("Mean prediction confidence over " + windows.front().label + " is "),
                     Pct(),
                     Lit(" of its level " + versus + " (alert below " + Pct(min_ratio) + ").")};
    out.push_back(std::move(c));
    out.push_back(EntropyAlert(windows, versus));
  }

  // EntropyRise. `baseline`: the seeds' rule, the mean entropy over entropy.window (default:
  // the longest drift window) above the baseline's mean + entropy.sigmas of its per-record
  // standard deviation: an effect size, so the window's n cannot raise it (the window mean's
  // noise is std/sqrt(n)). `windows`: the shortest window against the longest (or a day
  // earlier), above entropy.max_ratio; blind to a slow rise but needs no baseline.
  AlertRule EntropyAlert(const std::vector<Window>& windows, const std::string& versus) const {
    const EntropyConfig& cfg = m_.entropy;
    if (cfg.Effective(!m_.baseline.empty()) == EntropyCompare::kBaseline) {
      const std::string window = cfg.window.empty() ? windows.back().label : cfg.window;
      AlertRule e = Threshold(
          "EntropyRise", Severity::kTicket,
          std::string(series::kEntropyShift) + Sel({"window=" + PromQuote(window)}),
          Comparison::kAbove, cfg.sigmas,
          "mean prediction entropy over " + window + " more than " + FormatNumber(cfg.sigmas) +
              " standard deviation" + (cfg.sigmas == 1 ? "" : "s") +
              " of the baseline's records above the baseline's mean, for " +
              Dur(tier_.for_duration));
      e.summary = {Lit("Prediction entropy of "), Label("model"), Lit(" "), Label("version"),
                   Lit(" rose")};
      e.description = {Lit("Mean prediction entropy over " + window + " is "), Fmt("%.2f"),
                       Lit(" baseline standard deviations above the baseline's mean (alert above " +
                           FormatNumber(cfg.sigmas) + ").")};
      return e;
    }
    const double ratio = cfg.max_ratio;
    AlertRule e =
        Threshold("EntropyRise", Severity::kTicket, std::string(series::kEntropyRatio) + Sel(),
                  Comparison::kAbove, ratio,
                  "mean prediction entropy over " + windows.front().label + " above " + Pct(ratio) +
                      " of its level " + versus + ", for " + Dur(tier_.for_duration));
    e.summary = {Lit("Prediction entropy of "), Label("model"), Lit(" "), Label("version"),
                 Lit(" rose")};
    e.description = {Lit("Mean prediction entropy over " + windows.front().label + " is "), Pct(),
                     Lit(" of its level " + versus + " (alert above " + Pct(ratio) + ").")};
    return e;
  }

  // FeatureMissing: a feature's missing ratio above the baseline's by missing.warn (ticket) /
  // missing.critical (page), beyond the sampling noise of a two-proportion test at
  // drift.alpha — an upstream field going missing, which no drift method sees (drift is
  // computed over the values present). Features with alert: false are left out.
  void AddMissing(std::vector<AlertRule>& out) const {
    std::string muted;
    for (const FeatureConfig& f : m_.features) {
      if (!f.pii && !f.alert) muted += (muted.empty() ? "" : "|") + RegexEscape(f.name);
    }
    std::vector<std::string> sel;
    if (!muted.empty()) sel.push_back("feature!~" + PromQuote(muted));
    for (auto [sev, thr, level] : {std::tuple{Severity::kTicket, m_.missing_warn, "warn"},
                                   {Severity::kPage, m_.missing_critical, "critical"}}) {
      AlertRule a = Threshold(
          "FeatureMissing", sev, metric::kModelFeatureMissingRatioShift.Name() + Sel(sel),
          Comparison::kAtLeast, thr,
          "missing ratio of a feature at least " + Pct(thr) + " above the baseline's (missing." +
              level + ") for " + Dur(tier_.for_duration));
      a.summary = {Lit("Feature "), Label("feature"), Lit(" of "), Label("model"),
                   Lit(std::string(" is missing (") + level + ")")};
      a.description = {Lit("The share of records missing feature "),
                       Label("feature"),
                       Lit(" over "),
                       Label("window"),
                       Lit(" is "),
                       Pct(),
                       Lit(" above the baseline's (ticket from " + Pct(m_.missing_warn) +
                           ", page from " + Pct(m_.missing_critical) + ").")};
      RequireBeyondNoise(a);
      out.push_back(std::move(a));
    }
  }

  void AddAnomalous(std::vector<AlertRule>& out) const {
    for (auto [sev, thr] : {std::pair{Severity::kTicket, 0.05}, {Severity::kPage, 0.2}}) {
      AlertRule a =
          Threshold("AnomalousRequests", sev, metric::kModelAnomalousRequestsRatio.Name() + Sel(),
                    Comparison::kAbove, thr,
                    "share of requests with a feature outside the training range "
                    "above " +
                        Pct(thr) + " for " + Dur(tier_.for_duration));
      a.summary = {Lit("Many requests to "), Label("model"),
                   Lit(" are outside the training range")};
      a.description = {Pct(), Lit(" of the requests over "), Label("window"),
                       Lit(" have at least one feature outside the training range (ticket above "
                           "5%, page above 20%).")};
      out.push_back(std::move(a));
    }
  }

  void AddDegradation(std::vector<AlertRule>& out) const {
    for (auto [sev, thr, level] :
         {std::tuple{Severity::kTicket, m_.degradation.notify_at, "notify_at"},
          {Severity::kPage, m_.degradation.page_at, "page_at"}}) {
      AlertRule a =
          Threshold("DegradationScore", sev, metric::kModelDegradationScore.Name() + Sel(),
                    Comparison::kAtLeast, thr,
                    "degradation score at or above " + std::string(level) + " = " +
                        FormatNumber(thr) + " for " + Dur(tier_.for_duration));
      a.summary = {Lit("Degradation score of "),
                   Label("model"),
                   Lit(" "),
                   Label("version"),
                   Lit(" is "),
                   Fmt("%.1f")};
      a.description = {Lit("Degradation score "),
                       Fmt("%.1f"),
                       Lit(" (notify at " + FormatNumber(m_.degradation.notify_at) + ", page at " +
                           FormatNumber(m_.degradation.page_at) + "); change over the last hour: "),
                       {Kind::kDegradationTrend, ""},
                       Lit(". Contributing signals: "),
                       {Kind::kDegradationSignals, ""},
                       Lit(".")};
      if (m_.sample_size > 0) a.sample_url = SampleUrlTemplate();
      out.push_back(std::move(a));
    }
  }

  void AddGroundTruth(std::vector<AlertRule>& out) const {
    const GroundTruthConfig& gt = *m_.ground_truth;
    AlertRule a = Threshold("LowLabelMatchRate", Severity::kTicket,
                            metric::kModelLabelMatchRatio.Name() + Sel(), Comparison::kBelow,
                            gt.min_match_rate,
                            "share of predictions (older than the label delay " + Dur(gt.delay) +
                                ") that received a label below " + Pct(gt.min_match_rate) +
                                " for " + Dur(tier_.for_duration));
    a.summary = {Lit("Few predictions of "), Label("model"), Lit(" receive ground-truth labels")};
    a.description = {Lit("Only "), Pct(), Lit(" of the predictions over "), Label("window"),
                     Lit(" were matched to a label (minimum " + Pct(gt.min_match_rate) +
                         "): performance metrics are unreliable.")};
    out.push_back(std::move(a));
    if (gt.retrain_when) out.push_back(RetrainAlert(gt, *gt.retrain_when));
    if (m_.task == Task::kBinaryClassification) out.push_back(CalibrationAlert());
  }

  // CalibrationDrift: the calibration guard of the label-free estimates (CBPE assumes
  // calibrated scores). The labelled predictions' ECE exceeds the labelled baseline's by more
  // than kCalibrationMargin plus the ECE sampling noise can reach at the window's n
  // (kCalibrationNoise / sqrt(n): above the 99.9 % quantile for calibrated and miscalibrated
  // scores alike, bench/ece_noise.py), so a small labelled window cannot raise it.
  AlertRule CalibrationAlert() const {
    const std::string by = "max by (model, version, window) ";
    const std::string increase =
        "(\n  " + by + "(" + metric::kModelPerformance.Name() + Sel({"metric=\"ece\""}) +
        ")\n- on (model) group_left ()\n  max by (model) "
        "(" +
        metric::kModelBaselinePerformance.Name() + Sel({"metric=\"ece\""}) + ")\n)";
    AlertRule a = Threshold(
        "CalibrationDrift", Severity::kTicket, increase, Comparison::kAbove, kCalibrationMargin,
        "expected calibration error of the labelled predictions above the labelled baseline's by "
        "more than " +
            FormatNumber(kCalibrationMargin) + " + " + FormatNumber(kCalibrationNoise) +
            "/sqrt(labelled predictions) for " + Dur(tier_.for_duration));
    a.expr += " + " + FormatNumber(kCalibrationNoise) + " / sqrt(" + by + "(" +
              metric::kModelPerformanceSamples.Name() + Sel() + "))";
    a.summary = {Lit("Scores of "), Label("model"), Lit(" "), Label("version"),
                 Lit(" are no longer calibrated")};
    a.description = {
        Lit("The expected calibration error over "), Label("window"),
        Lit(" exceeds the baseline's by "), Fmt("%.3f"),
        Lit(" (alert above " + FormatNumber(kCalibrationMargin) + " + " +
            FormatNumber(kCalibrationNoise) +
            "/sqrt(labelled predictions)): label-free performance estimates and their intervals "
            "assume calibrated scores and are no longer reliable.")};
    return a;
  }

  // PerformanceBelowRetrainThreshold on the owner's window only. Not `for` on the raw gauge:
  // one missed scrape or stale sample would restart days of `for`. Instead the worst value
  // over the whole `retrain_when.for` range (max_over_time for "below", min_over_time for
  // "above") must be past the threshold, and the series must have existed at the start of
  // that range (a sample in its first hour), so a series younger than `for` stays silent.
  AlertRule RetrainAlert(const GroundTruthConfig& gt, const RetrainConfig& r) const {
    const bool above = r.above.has_value();
    const double thr = above ? *r.above : r.below;
    const std::string window =
        !r.window.empty() ? r.window : (gt.windows.empty() ? "30d" : gt.windows.front().label);
    const std::string series =
        metric::kModelPerformance.Name() +
        Sel({"metric=" + PromQuote(r.metric), "window=" + PromQuote(window)});
    const Seconds gap = std::min(Seconds(3600), r.for_duration / 2);
    const std::string worst = std::string(above ? "min_over_time(" : "max_over_time(") + series +
                              "[" + Dur(r.for_duration) + "])";
    AlertRule p = Threshold("PerformanceBelowRetrainThreshold", Severity::kTicket, worst,
                            above ? Comparison::kAbove : Comparison::kBelow, thr,
                            r.metric + " over " + window + (above ? " above " : " below ") +
                                FormatNumber(thr) + " at every sample for " + Dur(r.for_duration) +
                                " (retrain_when)");
    p.expr += "\nand\nlast_over_time(" + series + "[" + Dur(gap) + "] offset " +
              Dur(r.for_duration - gap) + ")";
    p.for_duration = Seconds(0);
    p.sustain = r.for_duration;
    p.summary = {Lit("Model "), Label("model"), Lit(" "), Label("version"),
                 Lit(" needs retraining: " + r.metric + (above ? " above " : " below ") +
                     FormatNumber(thr))};
    p.description = {
        Lit(r.metric + " over "), Label("window"),
        Lit(std::string(" has stayed ") + (above ? "above " : "below ") + FormatNumber(thr) +
            " for " + Dur(r.for_duration) + " (best value in that time: "),
        Fmt("%.3f"), Lit(").")};
    return p;
  }

  void AddShadow(std::vector<AlertRule>& out) const {
    const ShadowConfig& s = *m_.shadow;
    AlertRule a = Threshold(
        "ShadowDisagreement", Severity::kTicket,
        metric::kModelShadowAgreementRatio.Name() +
            Sel({"champion=" + PromQuote(s.champion), "challenger=" + PromQuote(s.challenger)}),
        Comparison::kBelow, s.min_agreement,
        "champion " + s.champion + " and challenger " + s.challenger + " agree on fewer than " +
            Pct(s.min_agreement) + " of requests for " + Dur(tier_.for_duration));
    a.summary = {Lit("Challenger "), Label("challenger"), Lit(" disagrees with champion "),
                 Label("champion"),  Lit(" of "),         Label("model")};
    a.description = {Lit("The challenger agrees with the champion on "), Pct(),
                     Lit(" of paired requests over "), Label("window"),
                     Lit(" (minimum " + Pct(s.min_agreement) + ").")};
    out.push_back(std::move(a));
  }

  const ModelConfig& m_;
  const FleetConfig& fleet_;
  const TierDefaults& tier_;
  std::string latency_bucket_;
};

}  // namespace

std::string ToGoTemplate(const Text& text) {
  std::string out;
  for (const TextPiece& p : text) {
    switch (p.kind) {
      case Kind::kLiteral:
        out += p.text;
        break;
      case Kind::kLabel:
        out += "{{ $labels." + p.text + " }}";
        break;
      case Kind::kValuePercent:
        out += "{{ $value | humanizePercentage }}";
        break;
      case Kind::kValueFormat:
        out += "{{ $value | printf \"" + p.text + "\" }}";
        break;
      case Kind::kDegradationSignals:
        out += "{{ range $i, $s := query (printf \"" + metric::kModelDegradationSignal.Name() +
               "{model=%q,version=%q}\" "
               "$labels.model $labels.version) | sortByLabel \"signal\" }}{{ if $i }}, {{ end }}"
               "{{ $s.Labels.signal }} {{ $s.Value | printf \"%.1f\" }}{{ end }}";
        break;
      case Kind::kDegradationTrend: {
        // The change over the last hour, then whether it is faster than the hour before's
        // (by more than kTrendPoints): accelerating, steady or easing.
        const std::string points = FormatNumber(kTrendPoints);
        const std::string score = metric::kModelDegradationScore.Name() + "{model=%q,version=%q}";
        out += "{{ with query (printf \"" + score + " - " + score +
               " offset 1h\" $labels.model "
               "$labels.version $labels.model $labels.version) }}{{ . | first | value | printf "
               "\"%+.1f\" }}{{ else }}unknown{{ end }}"
               "{{ with query (printf \"(" +
               score + " - 2 * (" + score + " offset 1h)) + " + score +
               " offset 2h\" $labels.model "
               "$labels.version $labels.model $labels.version $labels.model $labels.version) }}"
               "{{ $a := . | first | value }}{{ if gt $a " +
               points + ".0 }}, accelerating{{ else if lt $a -" + points +
               ".0 }}, easing{{ else }}, steady{{ end }}{{ end }}";
        break;
      }
    }
  }
  return out;
}

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kPage:
      return "page";
    case Severity::kTicket:
      return "ticket";
    case Severity::kInfo:
      return "info";
  }
  return "?";
}

std::vector<BurnWindow> BurnWindows(Seconds period, Seconds eval_interval) {
  struct Base {
    std::int64_t long_s;
    std::int64_t short_s;
    Severity severity;
  };
  static constexpr std::array<Base, 4> kBase = {{{3600, 300, Severity::kPage},
                                                 {6 * 3600, 1800, Severity::kPage},
                                                 {86400, 2 * 3600, Severity::kTicket},
                                                 {3 * 86400, 6 * 3600, Severity::kTicket}}};
  static_assert(kBurnRateFactors[3] >= 1, "a burn-rate factor below 1 alerts within the SLO");
  constexpr std::int64_t kThirtyDays = 30 * 86400;
  const std::int64_t min_short = std::max<std::int64_t>(60, 4 * eval_interval.count());
  // Whole minutes, rounded to the nearest.
  auto scale = [&](std::int64_t base_s) {
    const long double x = static_cast<long double>(base_s) *
                          static_cast<long double>(period.count()) / kThirtyDays / 60;
    return std::max<std::int64_t>(1, std::llround(x)) * 60;
  };
  std::vector<BurnWindow> out;
  for (std::size_t i = 0; i < kBase.size(); ++i) {
    const std::int64_t min_short_m = (min_short + 59) / 60 * 60;
    const std::int64_t short_s = std::max(scale(kBase[i].short_s), min_short_m);
    const std::int64_t long_s = std::max(scale(kBase[i].long_s), 3 * short_s);
    BurnWindow w;
    w.long_length = Seconds(long_s);
    w.short_length = Seconds(short_s);
    w.long_window = Dur(w.long_length);
    w.short_window = Dur(w.short_length);
    w.factor = kBurnRateFactors[i];
    w.severity = kBase[i].severity;
    out.push_back(std::move(w));
  }
  return out;
}

double BudgetConsumed(const BurnWindow& w, Seconds period) {
  return w.factor * static_cast<double>(w.long_length.count()) /
         static_cast<double>(period.count());
}

std::string SampleUrlTemplate() {
  return "{{ with $labels.instance }}http://{{ . }}/api/v1/samples/{{ $labels.model }}{{ end }}";
}

std::string SampleUrl(const std::string& instance, const std::string& model) {
  return instance.empty() ? "" : "http://" + instance + "/api/v1/samples/" + model;
}

std::optional<double> ErrorObjective(const ModelConfig& m) {
  if (!m.slo) return std::nullopt;
  if (m.slo->error_rate) return *m.slo->error_rate;
  if (m.slo->availability) return 1.0 - *m.slo->availability;
  return std::nullopt;
}

std::string LatencyObjectiveBucket(double objective_seconds) {
  for (const char* b : series::kLatencyBuckets) {
    // Compare with a small tolerance: 0.25 (from 250 / 1000.0) must pick "0.25".
    if (std::strtod(b, nullptr) >= objective_seconds * (1 - 1e-12)) return b;
  }
  return series::kLatencyBuckets.back();
}

Seconds ThroughputWindow(const ModelConfig& m, Seconds eval_interval) {
  if (m.throughput.window) return *m.throughput.window;
  const std::int64_t four = (4 * eval_interval.count() + 59) / 60 * 60;
  return Seconds(std::max<std::int64_t>(300, four));
}

Seconds ThroughputReferenceOffset(const ModelConfig& m, const TierDefaults& tier) {
  return ThroughputWindow(m, tier.evaluation_interval) + tier.for_duration;
}

double ThroughputKeepRatio(const ModelConfig& m) {
  return std::round((1 - m.throughput.drop) * 1e12) / 1e12;
}

std::vector<Window> SortedDriftWindows(const ModelConfig& m) {
  std::vector<Window> w = m.drift.windows;
  std::stable_sort(w.begin(), w.end(),
                   [](const Window& a, const Window& b) { return a.length < b.length; });
  return w;
}

bool HasDriftFeature(const ModelConfig& m) {
  return std::any_of(m.features.begin(), m.features.end(), [&](const FeatureConfig& f) {
    return !f.pii && MethodApplies(m.drift.method, f.type);
  });
}

bool FeatureDriftAlerts(const ModelConfig& m, const FeatureConfig& f) {
  return !f.pii && f.alert && MethodApplies(EffectiveFeatureDrift(m.drift, f).method, f.type);
}

std::string RegexEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

RuleFile BuildModelRules(const ModelConfig& m, const FleetConfig& fleet) {
  RuleFile file = ModelRuleBuilder(m, fleet).Build();
  if (m.drift.engine != DriftEngine::kPromql) return file;
  // First the drift groups (the baseline's constants, then the drift), then the proxy
  // signals: the alerts' group reads what they record.
  // With two tiers (drift.tiers: 2) the counts they start from are the local tier's group,
  // first (evaluated before the global groups where both run in one place, as in promtool),
  // and everything else is the global tier's: the drift and signals, the baseline they
  // compare with, and the alerts, which read the fleet's drift (docs/scale-out.md).
  const Seconds interval = fleet.Tier(m.tier).evaluation_interval;
  const bool two_tiers = fleet.drift_tiers == 2;
  RuleGroup local{LocalGroupName(m.name), interval, {}, {}};
  PromqlCounts counts = two_tiers ? PromqlCounts(m, local) : PromqlCounts(m);
  std::vector<RuleGroup> first;
  if (m.promql_reference) first = PromqlDriftGroups(m, interval, counts);
  first.push_back(PromqlSignalsGroup(m, interval, counts));
  // The degradation score reads what the drift and signals groups record; its constants go
  // with the baseline's.
  PromqlDegradationRules degradation = PromqlDegradationGroup(m, interval, counts);
  if (!degradation.group.recording.empty()) {
    RuleGroup& baseline = first.front();
    baseline.recording.insert(baseline.recording.end(), degradation.baseline.begin(),
                              degradation.baseline.end());
    first.push_back(std::move(degradation.group));
  }
  // The label-based performance, for models with request_id ground truth: its own group,
  // independent of the drift and signals groups.
  RuleGroup performance = PromqlPerformanceGroup(m, interval, counts);
  if (!performance.recording.empty()) first.push_back(std::move(performance));
  if (two_tiers) {
    first.insert(first.begin(), std::move(local));
    file.local_groups = 1;
    file.local_path = "rules/" + m.name + ".local.rules.yml";
    file.path = "rules/" + m.name + ".global.rules.yml";
  }
  file.groups.insert(file.groups.begin(), first.begin(), first.end());
  return file;
}

std::vector<RuleFile> TierFiles(const RuleFile& file) {
  if (file.local_path.empty()) return {file};
  RuleFile local{file.model, file.local_path, {}, "", 0};
  RuleFile global{file.model, file.path, {}, "", 0};
  for (std::size_t i = 0; i < file.groups.size(); ++i) {
    (i < file.local_groups ? local : global).groups.push_back(file.groups[i]);
  }
  return {std::move(local), std::move(global)};
}

RuleFile BuildFleetRules(const FleetConfig& fleet) {
  RuleFile file;
  file.path = "rules/modelwatch.rules.yml";
  RuleGroup g{"modelwatch-watchdog", fleet.Tier(1).evaluation_interval, {}, {}};
  AlertRule a;
  a.name = "Watchdog";
  a.severity = Severity::kInfo;
  a.expr = "vector(1)";
  a.labels = {{"severity", "info"}};
  a.signal = "vector(1)";
  a.trigger = "always firing: proves that rule evaluation and alert delivery work";
  a.summary = {Lit("Alerting pipeline heartbeat")};
  a.description = {
      Lit("This alert always fires. The heartbeat receiver expects it; its absence means "
          "Prometheus, rule evaluation or Alertmanager is broken.")};
  a.runbook_url = RunbookUrl(fleet, "Watchdog");
  a.dashboard_url = fleet.dashboard_base_url + "/" + series::kOverviewDashboardUid;
  g.alerts.push_back(std::move(a));
  file.groups.push_back(std::move(g));
  file.groups.push_back(BuildMetaRules(fleet));  // rulegen/meta_rules.h
  return file;
}

std::vector<RuleFile> BuildAllRules(const ConfigSet& config) {
  std::vector<RuleFile> files;
  files.push_back(BuildFleetRules(config.fleet));
  for (const ModelConfig& m : config.models) files.push_back(BuildModelRules(m, config.fleet));
  return files;
}

const std::vector<std::string>& AlertCatalogue() {
  static const std::vector<std::string> kAlerts = {
      "ModelDown",         "HighErrorRate",
      "HighLatency",       "LowThroughput",
      "FeatureDrift",      "FeatureMissing",
      "PredictionDrift",   "PositiveRateShift",
      "ConfidenceDrop",    "EntropyRise",
      "AnomalousRequests", "DegradationScore",
      "LowLabelMatchRate", "PerformanceBelowRetrainThreshold",
      "CalibrationDrift",  "ShadowDisagreement",
      "Watchdog"};
  return kAlerts;
}

const std::vector<std::string>& ModelDownSymptoms() {
  static const std::vector<std::string> kSymptoms = {
      "HighErrorRate",  "HighLatency",       "LowThroughput",     "FeatureDrift",
      "FeatureMissing", "PredictionDrift",   "PositiveRateShift", "ConfidenceDrop",
      "EntropyRise",    "AnomalousRequests", "DegradationScore",  "ShadowDisagreement"};
  return kSymptoms;
}

std::string RecommendedAction(const std::string& alertname, Severity severity) {
  const bool page = severity == Severity::kPage;
  if (alertname == "HighErrorRate" || alertname == "HighLatency") {
    return page ? "roll back" : "investigate";
  }
  if (alertname == "PerformanceBelowRetrainThreshold") return "retrain";
  if (alertname == "DegradationScore") return page ? "retrain" : "investigate";
  if (alertname == "FeatureDrift" || alertname == "PredictionDrift") {
    return page ? "investigate" : "monitor";
  }
  if (alertname == "ShadowDisagreement" || alertname == "Watchdog") return "monitor";
  return "investigate";
}

std::string DashboardUrl(const FleetConfig& fleet, const std::string& model) {
  return fleet.dashboard_base_url + "/" + series::DashboardUid(model);
}

std::string RunbookUrl(const FleetConfig& fleet, const std::string& alertname) {
  return fleet.runbook_base_url + "/" + alertname + ".md";
}

std::string Selector(const std::string& model, const std::vector<std::string>& extra) {
  std::string s = "{model=" + PromQuote(model);
  for (const auto& e : extra) s += "," + e;
  return s + "}";
}

}  // namespace modelwatch
