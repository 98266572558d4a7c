// drift.engine: promql: the proxy signals' recording rules (their shape, labels and gate) and
// the fleet-wide default engine in modelwatch.yaml. The numbers are checked on real servers
// against the exporter and numpy, and by promtool against hand-computed values
// (tests/e2e/promql_drift.test.sh).
#include "rulegen/promql_signals.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/distributions.h"
#include "core/metric_catalogue.h"
#include "rulegen/promql_drift.h"
#include "tests/unit/rulegen/promql_test_util.h"

namespace modelwatch {
namespace {

using testing::Errors;
using testing::LoadPromqlConfig;
using testing::ScratchDir;

std::string Model(const std::string& name, const std::string& task, const std::string& drift,
                  bool baseline = true) {
  return "model: " + name + "\nowner: {team: risk}\ntier: 2\ntask: " + task +
         "\nsource: {paths: [/var/log/x/*.jsonl]}\n" +
         (baseline ? "baseline: baseline.json\n" : "") +
         (task == "multiclass_classification" ? "classes: [a, b]\n" : "") +
         "features:\n  - {name: amount, type: numeric}\n  - {name: email, type: numeric, pii: "
         "true}\n  - {name: country, type: categorical}\n" +
         drift;
}

constexpr const char* kBaseline = R"({
  "features": [
    {"name": "amount", "type": "numeric",
     "numeric": {"count": 1000, "edges": [10, 20], "proportions": [0.3, 0.3, 0.4]}},
    {"name": "country", "type": "categorical",
     "categorical": {"count": 1000, "categories": ["DE"], "counts": [900, 100],
                     "proportions": [0.9, 0.1]}}
  ],
  "prediction": {"kind": "score", "numeric": {"count": 0}}
})";

// The rules by "record{window}".
std::map<std::string, const RecordingRule*> ByRecord(const RuleGroup& g) {
  std::map<std::string, const RecordingRule*> out;
  for (const RecordingRule& r : g.recording) {
    EXPECT_EQ(r.labels.size(), 1u) << r.record;
    EXPECT_EQ(r.labels.at(0).first, "window") << r.record;
    const std::string key = r.record + "{" + r.labels.at(0).second + "}";
    EXPECT_EQ(out.count(key), 0u) << "twice: " << key;
    out[key] = &r;
  }
  return out;
}

TEST(PromqlSignalsTest, OneRulePerSignalAndWindowAfterTheDriftGroup) {
  ScratchDir dir("promql_signals_binary");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml",
            Model("scoring", "binary_classification",
                  "drift: {engine: promql, windows: [1h, 24h], min_samples: 200}\n"));
  ConfigSet config = LoadPromqlConfig(dir);
  const RuleFile file = BuildModelRules(config.models[0], config.fleet);
  ASSERT_GE(file.groups.size(), 4u);
  EXPECT_EQ(file.groups[0].name, "modelwatch-scoring-drift-promql-baseline");
  EXPECT_EQ(file.groups[1].name, "modelwatch-scoring-drift-promql");
  const RuleGroup& g = file.groups[2];
  EXPECT_EQ(g.name, "modelwatch-scoring-signals-promql");
  EXPECT_EQ(g.interval, file.groups[1].interval);
  const auto rules = ByRecord(g);
  EXPECT_EQ(rules.size(), 2u * 8);
  for (const char* window : {"1h", "24h"}) {
    const std::string w = std::string("{") + window + "}";
    for (const char* name :
         {"model_window:model_predictions:window_count",
          "model_version_window:model_prediction_confidence:window_count",
          "model_prediction_confidence_mean", "model_prediction_entropy_mean",
          "model_positive_rate", "model_feature_missing_ratio", "model_feature_out_of_range_ratio",
          "model_anomalous_requests_ratio"}) {
      const std::string record = name;
      ASSERT_EQ(rules.count(record + w), 1u) << record << w;
      const std::string& expr = rules.at(record + w)->expr;
      // The exact window difference (never increase(), which extrapolates per replica), over
      // this window.
      EXPECT_EQ(expr.find("increase("), std::string::npos) << expr;
      const std::string offset =
          std::string(" offset ") + (window == std::string("1h") ? "3600s" : "86400s");
      if (record.find("window_count") != std::string::npos ||
          record.find(':') == std::string::npos) {
        EXPECT_NE(expr.find(offset), std::string::npos) << record << ": " << expr;
      }
      // Signals are gated on the window's records (drift.min_samples), as in the exporter.
      if (record.find(':') == std::string::npos) {
        EXPECT_NE(
            expr.find("model_window:model_predictions:window_count{model=\"scoring\",window=\"" +
                      std::string(window) + "\"} >= 200"),
            std::string::npos)
            << record << ": " << expr;
      }
    }
  }
  // Recording rules name catalogued metrics (level:metric:operation).
  for (const RecordingRule& r : g.recording) {
    const std::string metric =
        r.record.find(':') == std::string::npos
            ? r.record
            : r.record.substr(r.record.find(':') + 1, r.record.rfind(':') - r.record.find(':') - 1);
    EXPECT_TRUE(FindMetric(metric) != nullptr || FindMetric(metric + "_total") != nullptr)
        << r.record;
  }
  // The counters the rules read.
  const std::string& mean = rules.at("model_prediction_confidence_mean{1h}")->expr;
  EXPECT_NE(mean.find("model_prediction_confidence_sum{model=\"scoring\"}"), std::string::npos);
  const std::string& positive = rules.at("model_positive_rate{1h}")->expr;
  EXPECT_NE(positive.find("model_positive_predictions_total{model=\"scoring\"}"),
            std::string::npos);
  EXPECT_NE(positive.find("model_version_window:model_prediction_confidence:window_count"),
            std::string::npos);
  const std::string& range = rules.at("model_feature_out_of_range_ratio{1h}")->expr;
  EXPECT_NE(range.find("model_feature_value_count{model=\"scoring\"}"), std::string::npos);
}

// The degradation score's group follows the signals group it reads; its constants go with
// the baseline's; the score and its signals are those of the shortest window (whatever the
// configured order), without the window label. The values are checked by promtool against
// the documented formulas (tests/e2e/promql_degradation.test.sh) and on real servers against
// the exporter (tests/e2e/promql_drift.test.sh).
TEST(PromqlSignalsTest, DegradationScoreAfterTheSignalsFromTheShortestWindow) {
  ScratchDir dir("promql_signals_degradation");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml",
            Model("scoring", "binary_classification",
                  "drift: {engine: promql, windows: [24h, 1h], min_samples: 200}\n"));
  dir.Write("plain.yaml", Model("plain", "binary_classification", "drift: {windows: [1h]}\n"));
  ConfigSet config = LoadPromqlConfig(dir);
  const ModelConfig& promql =
      config.models[0].name == "scoring" ? config.models[0] : config.models[1];
  const ModelConfig& plain =
      config.models[0].name == "scoring" ? config.models[1] : config.models[0];
  const RuleFile file = BuildModelRules(promql, config.fleet);
  ASSERT_GE(file.groups.size(), 4u);
  EXPECT_EQ(file.groups[2].name, "modelwatch-scoring-signals-promql");
  const RuleGroup& g = file.groups[3];
  EXPECT_EQ(g.name, "modelwatch-scoring-degradation-promql");
  EXPECT_EQ(g.interval, file.groups[2].interval);
  std::vector<std::string> constants;
  for (const RecordingRule& r : file.groups[0].recording) {
    if (r.record.find("model_degradation_signal") != std::string::npos)
      constants.push_back(r.record);
  }
  EXPECT_EQ(constants, (std::vector<std::string>{
                           "model_feature_method:model_degradation_signal:drift_floor_factor",
                           "model_feature:model_degradation_signal:drift_inverse_reference",
                           "model_feature:model_degradation_signal:drift_critical"}));
  ASSERT_GE(g.recording.size(), 3u);
  const RecordingRule& chosen = g.recording[g.recording.size() - 3];
  EXPECT_EQ(chosen.record, "model_window:model_degradation_score:chosen_window");
  // 1h before 24h: the first complete window wins the `or`.
  EXPECT_LT(chosen.expr.find("window=\"1h\"} >= 200"), chosen.expr.find("window=\"24h\"} >= 200"))
      << chosen.expr;
  for (const RecordingRule* r : {&g.recording[g.recording.size() - 2], &g.recording.back()}) {
    EXPECT_TRUE(r->labels.empty()) << r->record;
    EXPECT_NE(r->expr.find("max without (window)"), std::string::npos) << r->expr;
  }
  EXPECT_EQ(g.recording[g.recording.size() - 2].record, "model_degradation_signal");
  EXPECT_EQ(g.recording.back().record, "model_degradation_score");
  // Per window: one rule per weighted signal (the default weights: five) and the score.
  int points = 0;
  for (const RecordingRule& r : g.recording) {
    if (r.record == "model_version_window:model_degradation_signal:points") ++points;
    // Recording rules name catalogued metrics (level:metric:operation).
    const std::size_t colon = r.record.find(':');
    const std::string metric = colon == std::string::npos
                                   ? r.record
                                   : r.record.substr(colon + 1, r.record.rfind(':') - colon - 1);
    EXPECT_TRUE(FindMetric(metric) != nullptr || FindMetric(metric + "_total") != nullptr)
        << r.record;
  }
  EXPECT_EQ(points, 2 * 5);
  for (const RuleGroup& other : BuildModelRules(plain, config.fleet).groups) {
    EXPECT_EQ(other.name.find("degradation"), std::string::npos) << other.name;
  }
}

TEST(PromqlSignalsTest, WhatEachTaskHas) {
  ScratchDir dir("promql_signals_tasks");
  dir.Write("baseline.json", kBaseline);
  dir.Write("intent.yaml", Model("intent", "multiclass_classification",
                                 "drift: {engine: promql, windows: [1h]}\n"));
  dir.Write("eta.yaml", Model("eta", "regression", "drift: {engine: promql, windows: [1h]}\n"));
  dir.Write("plain.yaml", Model("plain", "binary_classification", "drift: {windows: [1h]}\n"));
  ConfigSet config = LoadPromqlConfig(dir);
  ASSERT_EQ(config.models.size(), 3u);
  std::map<std::string, std::vector<std::string>> records;
  for (const ModelConfig& m : config.models) {
    for (const RuleGroup& g : BuildModelRules(m, config.fleet).groups) {
      if (g.name != "modelwatch-" + m.name + "-signals-promql") continue;
      for (const RecordingRule& r : g.recording) records[m.name].push_back(r.record);
    }
  }
  // Multiclass: no positive rate; regression: no confidence or entropy; exporter engine: none.
  EXPECT_EQ(
      records["intent"],
      (std::vector<std::string>{"model_window:model_predictions:window_count",
                                "model_version_window:model_prediction_confidence:window_count",
                                "model_prediction_confidence_mean", "model_prediction_entropy_mean",
                                "model_feature_missing_ratio", "model_feature_out_of_range_ratio",
                                "model_anomalous_requests_ratio"}));
  EXPECT_EQ(records["eta"],
            (std::vector<std::string>{
                "model_window:model_predictions:window_count", "model_feature_missing_ratio",
                "model_feature_out_of_range_ratio", "model_anomalous_requests_ratio"}));
  EXPECT_EQ(records.count("plain"), 0u);
}

// A baseline built by `modelwatch-exporter baseline` carries what the missing-ratio shift and
// the positive-rate z-score compare with: each feature's missing share, the reference's
// (distinct) records and the prediction profile's positive rate and its between-period spread.
constexpr const char* kFullBaseline = R"({
  "reference": {"records": 1000, "distinct_records": 800},
  "features": [
    {"name": "amount", "type": "numeric", "missing_rate": 0.02,
     "numeric": {"count": 980, "edges": [10, 20], "proportions": [0.3, 0.3, 0.4]}},
    {"name": "email", "type": "numeric", "missing_rate": 0.5,
     "numeric": {"count": 500, "edges": [1], "proportions": [0.5, 0.5]}},
    {"name": "country", "type": "categorical", "missing_rate": 0.1,
     "categorical": {"count": 900, "categories": ["DE"], "counts": [800, 100],
                     "proportions": [0.888888888888889, 0.111111111111111]}}
  ],
  "prediction": {"kind": "score", "records": 950, "positive_rate": 0.2,
                 "positive_rate_daily_std": 0.01, "positive_rate_batch_between_std": 0.07,
                 "numeric": {"count": 0}}
})";

TEST(PromqlSignalsTest, ShiftAndZScoreReadTheBaselineAsTheExporterDoes) {
  ScratchDir dir("promql_signals_shift");
  dir.Write("baseline.json", kFullBaseline);
  dir.Write("scoring.yaml",
            Model("scoring", "binary_classification",
                  "drift: {engine: promql, windows: [1h], min_samples: 200, alpha: 0.01}\n"));
  ConfigSet config = LoadPromqlConfig(dir);
  ASSERT_EQ(config.models.size(), 1u);
  const ModelConfig& m = config.models[0];
  ASSERT_TRUE(m.promql_reference.has_value());
  const PromqlDriftReference& ref = *m.promql_reference;
  // Non-PII features only (email is PII), effective records 1000 * 800 / 1000.
  ASSERT_EQ(ref.missing.size(), 2u);
  EXPECT_EQ(ref.missing[0].feature, "amount");
  EXPECT_EQ(ref.missing[0].rate, 0.02);
  EXPECT_EQ(ref.missing[1].feature, "country");
  EXPECT_EQ(ref.missing[1].rate, 0.1);
  EXPECT_DOUBLE_EQ(ref.missing_records, 800.0);
  // τ = max(0.1·sqrt(0.2·0.8) = 0.04, max(0.01, 0.07)) = 0.07; m = 950 · 0.8 = 760.
  ASSERT_TRUE(ref.positive_rate.has_value());
  EXPECT_EQ(ref.positive_rate->rate, 0.2);
  EXPECT_DOUBLE_EQ(ref.positive_rate->records, 760.0);
  EXPECT_DOUBLE_EQ(ref.positive_rate->tau_squared, 0.07 * 0.07);

  const RuleFile file = BuildModelRules(m, config.fleet);
  ASSERT_GE(file.groups.size(), 3u);
  bool baseline_series = false;
  for (const RecordingRule& r : file.groups[0].recording) {
    if (r.record != "model_feature:model_feature_missing_ratio:baseline") continue;
    baseline_series = true;
    EXPECT_NE(r.expr.find("amount"), std::string::npos) << r.expr;
    EXPECT_NE(r.expr.find("country"), std::string::npos) << r.expr;
    EXPECT_EQ(r.expr.find("email"), std::string::npos) << r.expr;
  }
  EXPECT_TRUE(baseline_series);
  const auto rules = ByRecord(file.groups[2]);
  for (const char* record :
       {"model_version_window:model_positive_rate:pooled_with_baseline",
        "model_positive_rate_zscore", "model_feature_missing_ratio_shift",
        "model_feature_window:model_feature_missing_ratio:pooled_with_baseline",
        "model_feature_missing_ratio_shift_critical_value"}) {
    ASSERT_EQ(rules.count(std::string(record) + "{1h}"), 1u) << record;
  }
  const std::string& z = rules.at("model_positive_rate_zscore{1h}")->expr;
  EXPECT_NE(z.find("model_positive_rate{model=\"scoring\",window=\"1h\"} - 0.2"), std::string::npos)
      << z;
  EXPECT_NE(z.find("+ 0.0049"), std::string::npos) << z;  // τ²
  EXPECT_EQ(z.find(" or"), std::string::npos) << z;       // τ > 0: never 0 / 0
  const std::string& pooled =
      rules.at("model_version_window:model_positive_rate:pooled_with_baseline{1h}")->expr;
  EXPECT_NE(pooled.find(" + 152)"), std::string::npos) << pooled;  // p0·m = 0.2 · 760
  EXPECT_NE(pooled.find(" + 760)"), std::string::npos) << pooled;
  // drift.alpha 0.01 over the two features the baseline profiles: z(1 − 0.005).
  const std::string& critical =
      rules.at("model_feature_missing_ratio_shift_critical_value{1h}")->expr;
  EXPECT_EQ(critical.rfind(PromqlNumber(NormalQuantile(1 - 0.005)) + " * sqrt(", 0), 0u)
      << critical;
  EXPECT_NEAR(NormalQuantile(1 - 0.005), 2.5758293035489, 1e-12);  // scipy.stats.norm.ppf

  // A baseline that never predicted the positive class, with no spread known: τ = 0, so a
  // window without positives gives 0 / 0, which the exporter serves as 0.
  ScratchDir zero("promql_signals_zero_rate");
  std::string text = kFullBaseline;
  text.replace(text.find("\"positive_rate\": 0.2"), 20, "\"positive_rate\": 0.0");
  text.replace(text.find("\"positive_rate_daily_std\": 0.01"), 31,
               "\"positive_rate_daily_std\": null");
  text.replace(text.find("\"positive_rate_batch_between_std\": 0.07"), 39,
               "\"positive_rate_batch_between_std\": null");
  zero.Write("baseline.json", text);
  zero.Write("scoring.yaml",
             Model("scoring", "binary_classification", "drift: {engine: promql, windows: [1h]}\n"));
  ConfigSet zero_config = LoadPromqlConfig(zero);
  ASSERT_TRUE(zero_config.models.at(0).promql_reference->positive_rate.has_value());
  EXPECT_EQ(zero_config.models[0].promql_reference->positive_rate->tau_squared, 0.0);
  const RuleFile zero_file = BuildModelRules(zero_config.models[0], zero_config.fleet);
  const auto zero_rules = ByRecord(zero_file.groups.at(2));
  const std::string& guarded = zero_rules.at("model_positive_rate_zscore{1h}")->expr;
  EXPECT_NE(guarded.find(" > 0))\nor\n"), std::string::npos) << guarded;
}

// modelwatch.yaml's drift.engine is the default of every model file that sets none; a model's
// own drift.engine wins; `exporter` stays the built-in default.
TEST(FleetDriftEngineTest, FleetDefaultAndPerModelOverride) {
  ScratchDir dir("fleet_drift_engine");
  dir.Write("baseline.json", kBaseline);
  dir.Write("modelwatch.yaml", "drift: {engine: promql}\n");
  dir.Write("a.yaml", Model("a", "binary_classification", ""));
  dir.Write("b.yaml", Model("b", "binary_classification", "drift: {windows: [1h]}\n"));
  dir.Write("c.yaml", Model("c", "binary_classification", "drift: {engine: exporter}\n"));
  ConfigSet config = LoadPromqlConfig(dir);
  ASSERT_EQ(config.models.size(), 3u);
  EXPECT_EQ(config.fleet.drift_engine, DriftEngine::kPromql);
  EXPECT_EQ(config.models[0].drift.engine, DriftEngine::kPromql);
  EXPECT_TRUE(config.models[0].features[0].histogram);  // what promql turns on
  EXPECT_EQ(config.models[1].drift.engine, DriftEngine::kPromql);
  EXPECT_EQ(config.models[1].drift.windows.size(), 1u);
  EXPECT_EQ(config.models[2].drift.engine, DriftEngine::kExporter);
  EXPECT_FALSE(config.models[2].features[0].histogram);
  // The fleet default's model gets the promql groups.
  const RuleFile rules = BuildModelRules(config.models[0], config.fleet);
  ASSERT_GE(rules.groups.size(), 3u);
  EXPECT_EQ(rules.groups[1].name, "modelwatch-a-drift-promql");
  EXPECT_EQ(rules.groups[2].name, "modelwatch-a-signals-promql");

  ScratchDir plain("fleet_drift_engine_unset");
  plain.Write("baseline.json", kBaseline);
  plain.Write("a.yaml", Model("a", "binary_classification", ""));
  plain.Write("b.yaml", Model("b", "binary_classification", "drift: {engine: promql}\n"));
  ConfigSet unset = LoadPromqlConfig(plain);
  ASSERT_EQ(unset.models.size(), 2u);
  EXPECT_EQ(unset.fleet.drift_engine, DriftEngine::kExporter);
  EXPECT_EQ(unset.models[0].drift.engine, DriftEngine::kExporter);
  EXPECT_EQ(unset.models[1].drift.engine, DriftEngine::kPromql);
  for (const RuleGroup& g : BuildModelRules(unset.models[0], unset.fleet).groups) {
    EXPECT_EQ(g.name.find("promql"), std::string::npos) << g.name;
  }
}

TEST(FleetDriftEngineTest, ErrorsWithFileLineAndColumn) {
  ScratchDir dir("fleet_drift_engine_errors");
  dir.Write("baseline.json", kBaseline);
  dir.Write("modelwatch.yaml", "tiers: {}\ndrift:\n  engine: promql\n");
  // No baseline: under the fleet default the model is refused at its mapping, naming where
  // the default was set; with its own `exporter` it loads.
  dir.Write("a.yaml", Model("a", "binary_classification", "", false));
  dir.Write("b.yaml", Model("b", "binary_classification", "drift: {engine: exporter}\n", false));
  auto r = LoadConfigDir(dir.path());
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().size(), 1u) << Errors(r);
  const std::string error = r.error()[0].ToString();
  EXPECT_NE(error.find("a.yaml:1:1: error: drift.engine: promql (the default set in "),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("modelwatch.yaml:3:11) needs a baseline"), std::string::npos) << error;

  for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
           {"drift: {engine: spark}\n",
            "modelwatch.yaml:1:17: error: \"drift.engine\" must be one of"},
           {"drift:\n  engines: promql\n", "modelwatch.yaml:2:3: error:"},
           {"drift: promql\n", "modelwatch.yaml:1:8: error:"}}) {
    ScratchDir bad("fleet_drift_engine_bad");
    bad.Write("baseline.json", kBaseline);
    bad.Write("modelwatch.yaml", text);
    bad.Write("a.yaml", Model("a", "binary_classification", ""));
    auto refused = LoadConfigDir(bad.path());
    ASSERT_FALSE(refused.has_value()) << text;
    EXPECT_NE(Errors(refused).find(want), std::string::npos) << text << Errors(refused);
  }
}

}  // namespace
}  // namespace modelwatch
