// drift.engine: promql: the label-based performance's recording rules (their shape, labels,
// windows and the models that get them). The numbers are checked by promtool against
// hand-computed values and on real servers against scikit-learn
// (tests/e2e/promql_performance.test.sh).
#include "rulegen/promql_performance.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/metric_catalogue.h"
#include "rulegen/promql_drift.h"
#include "tests/unit/rulegen/promql_test_util.h"

namespace modelwatch {
namespace {

using testing::LoadPromqlConfig;
using testing::ScratchDir;

constexpr const char* kBaseline = R"({
  "features": [
    {"name": "amount", "type": "numeric",
     "numeric": {"count": 1000, "edges": [10, 20], "proportions": [0.3, 0.3, 0.4]}}
  ],
  "prediction": {"kind": "score", "numeric": {"count": 0}}
})";

std::string Model(const std::string& name, const std::string& task, const std::string& rest) {
  return "model: " + name + "\nowner: {team: risk}\ntier: 2\ntask: " + task +
         "\nsource: {paths: [/var/log/x/*.jsonl]}\nbaseline: baseline.json\n" +
         (task == "multiclass_classification" ? "classes: [a, b]\n" : "") +
         "features:\n  - {name: amount, type: numeric}\n" + rest;
}

const ModelConfig& ByName(const ConfigSet& config, const std::string& name) {
  for (const ModelConfig& m : config.models) {
    if (m.name == name) return m;
  }
  ADD_FAILURE() << "no model " << name;
  return config.models.at(0);
}

// The rules by "record{metric,window}".
std::map<std::string, const RecordingRule*> ByRecord(const RuleGroup& g) {
  std::map<std::string, const RecordingRule*> out;
  for (const RecordingRule& r : g.recording) {
    std::string key = r.record + "{";
    for (const auto& [name, value] : r.labels) key += (key.back() == '{' ? "" : ",") + value;
    key += "}";
    EXPECT_EQ(out.count(key), 0u) << "twice: " << key;
    out[key] = &r;
  }
  return out;
}

constexpr const char* kGt =
    "ground_truth: {paths: [/var/log/x/labels*.jsonl], windows: [1h, 7d]}\n"
    "drift: {engine: promql, windows: [1h]}\n";

TEST(PromqlPerformanceTest, BinaryConfusionCountsAndFourMetricsPerWindow) {
  ScratchDir dir("promql_performance_binary");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", Model("scoring", "binary_classification", kGt));
  ConfigSet config = LoadPromqlConfig(dir);
  const RuleFile file = BuildModelRules(config.models[0], config.fleet);
  ASSERT_GE(file.groups.size(), 6u);
  EXPECT_EQ(file.groups[2].name, "modelwatch-scoring-signals-promql");
  // After the signals and the degradation score (which reads them).
  EXPECT_EQ(file.groups[3].name, "modelwatch-scoring-degradation-promql");
  const RuleGroup& g = file.groups[4];
  EXPECT_EQ(g.name, "modelwatch-scoring-performance-promql");
  EXPECT_EQ(g.interval, file.groups[2].interval);
  const auto rules = ByRecord(g);
  ASSERT_EQ(rules.size(), 2u * 5) << g.recording.size();
  const std::string count = "model_version_outcome_window:model_labelled_predictions:window_count";
  for (const auto& [window, seconds] : {std::pair{"1h", "3600s"}, {"7d", "604800s"}}) {
    ASSERT_EQ(rules.count(count + "{" + window + "}"), 1u) << window;
    const std::string& expr = rules.at(count + "{" + window + "}")->expr;
    // The exact difference over the window, per replica, summed by version and outcome.
    EXPECT_EQ(expr.find("increase("), std::string::npos) << expr;
    EXPECT_NE(expr.find("model_labelled_predictions_total{model=\"scoring\"} offset " +
                        std::string(seconds)),
              std::string::npos)
        << expr;
    EXPECT_EQ(expr.rfind("sum by (model, version, outcome) (", 0), 0u) << expr;
    for (const char* metric : {"precision", "recall", "f1", "accuracy"}) {
      const std::string key = std::string("model_performance{") + window + "," + metric + "}";
      ASSERT_EQ(rules.count(key), 1u) << key;
      const RecordingRule& r = *rules.at(key);
      EXPECT_EQ(r.labels, (std::vector<std::pair<std::string, std::string>>{{"window", window},
                                                                            {"metric", metric}}));
      // Reads this window's counts of this model, summed by (model, version).
      const std::string sel = count + "{model=\"scoring\",window=\"" + window + "\",outcome";
      EXPECT_NE(r.expr.find("sum by (model, version) (" + sel), std::string::npos) << r.expr;
      EXPECT_EQ(r.expr.find(std::string("window=\"") + (window == std::string("1h") ? "7d" : "1h")),
                std::string::npos)
          << r.expr;
    }
  }
  EXPECT_NE(rules.at("model_performance{1h,precision}")->expr.find("outcome=~\"tp|fp\"})"),
            std::string::npos);
  EXPECT_NE(rules.at("model_performance{1h,recall}")->expr.find("outcome=~\"tp|fn\"})"),
            std::string::npos);
  EXPECT_NE(rules.at("model_performance{1h,accuracy}")->expr.find("outcome=~\"tp|tn\"})"),
            std::string::npos);
  // Recording rules name catalogued metrics (level:metric:operation).
  for (const RecordingRule& r : g.recording) {
    const std::string metric =
        r.record.find(':') == std::string::npos
            ? r.record
            : r.record.substr(r.record.find(':') + 1, r.record.rfind(':') - r.record.find(':') - 1);
    EXPECT_TRUE(FindMetric(metric) != nullptr || FindMetric(metric + "_total") != nullptr)
        << r.record;
  }
}

TEST(PromqlPerformanceTest, RegressionMaeAndRmseFromTheErrorSummaries) {
  ScratchDir dir("promql_performance_regression");
  dir.Write("baseline.json", kBaseline);
  dir.Write("eta.yaml", Model("eta", "regression", kGt));
  ConfigSet config = LoadPromqlConfig(dir);
  const RuleGroup g = PromqlPerformanceGroup(config.models[0], Seconds(30));
  const auto rules = ByRecord(g);
  ASSERT_EQ(rules.size(), 2u * 3);
  const std::string count = "model_version_window:model_prediction_absolute_error:window_count";
  ASSERT_EQ(rules.count(count + "{1h}"), 1u);
  EXPECT_NE(
      rules.at(count + "{1h}")->expr.find("model_prediction_absolute_error_count{model=\"eta\"}"),
      std::string::npos);
  const std::string& mae = rules.at("model_performance{1h,mae}")->expr;
  EXPECT_NE(mae.find("model_prediction_absolute_error_sum{model=\"eta\"} offset 3600s"),
            std::string::npos)
      << mae;
  EXPECT_NE(mae.find(count + "{model=\"eta\",window=\"1h\"} > 0"), std::string::npos) << mae;
  const std::string& rmse = rules.at("model_performance{7d,rmse}")->expr;
  EXPECT_EQ(rmse.rfind("sqrt(", 0), 0u) << rmse;
  EXPECT_NE(rmse.find("model_prediction_squared_error_sum{model=\"eta\"} offset 604800s"),
            std::string::npos)
      << rmse;
}

// Only request_id joins of binary classifiers and regressors under the promql engine:
// multiclass, entity joins, models without ground truth and the exporter engine get no group.
TEST(PromqlPerformanceTest, WhichModelsGetTheGroup) {
  ScratchDir dir("promql_performance_models");
  dir.Write("baseline.json", kBaseline);
  dir.Write("intent.yaml", Model("intent", "multiclass_classification", kGt));
  dir.Write("entity.yaml", Model("entity", "regression",
                                 "ground_truth: {paths: [/l/*.jsonl], join_on: entity_id}\n"
                                 "drift: {engine: promql}\n"));
  dir.Write("nogt.yaml", Model("nogt", "binary_classification", "drift: {engine: promql}\n"));
  dir.Write("plain.yaml",
            Model("plain", "binary_classification", "ground_truth: {paths: [/l/*.jsonl]}\n"));
  dir.Write("default.yaml", Model("default", "binary_classification",
                                  "ground_truth: {paths: [/l/*.jsonl]}\n"
                                  "drift: {engine: promql}\n"));
  ConfigSet config = LoadPromqlConfig(dir);
  ASSERT_EQ(config.models.size(), 5u);
  std::map<std::string, std::vector<std::string>> groups;
  for (const ModelConfig& m : config.models) {
    for (const RuleGroup& g : BuildModelRules(m, config.fleet).groups) {
      if (g.name.find("-performance-promql") != std::string::npos) {
        groups[m.name].push_back(g.name);
      }
    }
  }
  EXPECT_EQ(groups, (std::map<std::string, std::vector<std::string>>{
                        {"default", {"modelwatch-default-performance-promql"}}}));
  // The default ground-truth window, 30d.
  const RuleGroup g = PromqlPerformanceGroup(ByName(config, "default"), Seconds(30));
  ASSERT_EQ(g.recording.size(), 5u);
  for (const RecordingRule& r : g.recording) {
    EXPECT_EQ(r.labels.front(), (std::pair<std::string, std::string>{"window", "30d"}));
  }
  EXPECT_NE(g.recording[0].expr.find(" offset 2592000s"), std::string::npos);
}

}  // namespace
}  // namespace modelwatch
