// drift.tiers: 2 — the promql engine's rules split into a local tier (the per-Prometheus sums
// of the replicas' window increases) and a global tier (those summed over every Prometheus,
// then the very formulas of one tier). The numbers are checked on real servers (two local
// Prometheus servers federated into a global one) and by promtool with both tiers chained
// (tests/e2e/promql_drift.test.sh).
#include "rulegen/promql_tiers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "rulegen/promql_drift.h"
#include "tests/unit/rulegen/promql_test_util.h"

namespace modelwatch {
namespace {

using testing::Errors;
using testing::LoadPromqlConfig;
using testing::ScratchDir;

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

constexpr const char* kModel =
    "model: scoring\nowner: {team: risk}\ntier: 2\ntask: binary_classification\n"
    "source: {paths: [/var/log/x/*.jsonl]}\nbaseline: baseline.json\n"
    "features:\n  - {name: amount, type: numeric}\n  - {name: country, type: categorical}\n"
    "drift: {engine: promql, windows: [1h, 24h], min_samples: 200}\n";

ConfigSet Load(const std::string& name, const std::string& fleet) {
  ScratchDir dir(name);
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  if (!fleet.empty()) dir.Write("modelwatch.yaml", fleet);
  return LoadPromqlConfig(dir);
}

std::string Key(const RecordingRule& r) {
  std::string key = r.record + "{";
  for (const auto& [k, v] : r.labels) key += k + "=" + v + ",";
  return key + "}";
}

// The counts every promql formula starts from: the rules of one tier that sum the replicas'
// counters, by record name.
const std::map<std::string, std::string>& CountRecords() {
  static const std::map<std::string, std::string> kCounts = {
      // record of the global tier -> the local tier's record it sums
      {"model_feature_le_window:model_feature_value_bucket:increase",
       "model_feature_le_window:model_feature_value_bucket:local_increase"},
      {"model_window:model_predictions:increase",
       "model_window:model_predictions_total:local_increase"},
      {"model_feature_category_window:model_feature_category:increase",
       "model_feature_category_window:model_feature_category_total:local_increase"},
      {"model_window:model_predictions:window_count",
       "model_window:model_predictions_total:local_increase"},
      {"model_version_window:model_prediction_confidence:window_count",
       "model_version_window:model_prediction_confidence_count:local_increase"},
  };
  return kCounts;
}

TEST(PromqlTiersTest, LocalIncreaseRecordNamesTheLevel) {
  EXPECT_EQ(LocalIncreaseRecord("model_feature_value_bucket", "model, feature, le"),
            "model_feature_le_window:model_feature_value_bucket:local_increase");
  EXPECT_EQ(LocalIncreaseRecord("model_predictions_total", "model"),
            "model_window:model_predictions_total:local_increase");
  EXPECT_EQ(LocalGroupName("scoring"), "modelwatch-scoring-promql-local");
}

// The global tier is the one-tier rules with every sum over the replicas replaced by a sum of
// the local tier's series over the Prometheus servers: every other rule's text is the same,
// in the same groups and order, and the local tier holds exactly those sums, once each.
TEST(PromqlTiersTest, GlobalTierIsOneTierOverTheLocalSums) {
  const ConfigSet one = Load("promql_tiers_one", "drift: {engine: promql}\n");
  const ConfigSet two = Load("promql_tiers_two", "drift: {engine: promql, tiers: 2}\n");
  ASSERT_EQ(one.models.size(), 1u);
  ASSERT_EQ(two.models.size(), 1u);
  EXPECT_EQ(one.fleet.drift_tiers, 1);
  EXPECT_EQ(two.fleet.drift_tiers, 2);
  const RuleFile single = BuildModelRules(one.models[0], one.fleet);
  const RuleFile tiers = BuildModelRules(two.models[0], two.fleet);
  EXPECT_EQ(single.path, "rules/scoring.rules.yml");
  EXPECT_TRUE(single.local_path.empty());
  EXPECT_EQ(single.local_groups, 0u);
  EXPECT_EQ(tiers.local_path, "rules/scoring.local.rules.yml");
  EXPECT_EQ(tiers.path, "rules/scoring.global.rules.yml");
  ASSERT_EQ(tiers.local_groups, 1u);
  ASSERT_EQ(tiers.groups.size(), single.groups.size() + 1);

  const RuleGroup& local = tiers.groups[0];
  EXPECT_EQ(local.name, "modelwatch-scoring-promql-local");
  EXPECT_EQ(local.interval, single.groups[1].interval);
  EXPECT_TRUE(local.alerts.empty());
  std::map<std::string, const RecordingRule*> local_by_key;
  for (const RecordingRule& r : local.recording) {
    EXPECT_TRUE(local_by_key.emplace(Key(r), &r).second) << "twice: " << Key(r);
    ASSERT_EQ(r.labels.size(), 1u);
    EXPECT_EQ(r.labels[0].first, "window");
    // Reset-safe and exact per Prometheus: the window difference, never increase() nor the
    // raw counter.
    EXPECT_EQ(r.expr.find("increase("), std::string::npos) << r.expr;
    const std::string range = r.labels[0].second == "1h" ? "3600s" : "86400s";
    EXPECT_NE(r.expr.find(" offset " + range + ") >= 0"), std::string::npos) << r.expr;
    EXPECT_EQ(r.expr.rfind("sum by (", 0), 0u) << r.expr;
  }
  // Per window: buckets, records, categories; confidence sum and count, entropy sum and
  // count, positives; missing, out-of-range, the histogram's count; anomalous records. The
  // records' count serves both the drift's gate and the signals' (one local series).
  EXPECT_EQ(local.recording.size(), 2u * 12);

  std::set<std::string> used_local;
  for (std::size_t g = 0; g < single.groups.size(); ++g) {
    const RuleGroup& a = single.groups[g];
    const RuleGroup& b = tiers.groups[g + 1];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.interval, b.interval);
    EXPECT_EQ(a.alerts.size(), b.alerts.size()) << a.name;
    for (std::size_t i = 0; i < a.alerts.size() && i < b.alerts.size(); ++i) {
      EXPECT_EQ(a.alerts[i].expr, b.alerts[i].expr) << a.alerts[i].name;
    }
    ASSERT_EQ(a.recording.size(), b.recording.size()) << a.name;
    for (std::size_t i = 0; i < a.recording.size(); ++i) {
      const RecordingRule& r1 = a.recording[i];
      const RecordingRule& r2 = b.recording[i];
      EXPECT_EQ(Key(r1), Key(r2));
      const std::string window = r1.labels.empty() ? "" : r1.labels[0].second;
      const bool promql_group = a.name.find("promql") != std::string::npos;
      const std::string local_record =
          promql_group && CountRecords().count(r1.record) ? CountRecords().at(r1.record) : "";
      if (local_record.empty()) {
        // A formula: the same text, except that each replicas' sum it holds is the global
        // sum of the local record holding that very text.
        std::string expected = r1.expr;
        for (const auto& [key, rule] : local_by_key) {
          if (rule->labels[0].second != window) continue;
          const std::string by = rule->expr.substr(8, rule->expr.find(')') - 8);
          const std::string global = "sum by (" + by + ") (" + rule->record +
                                     "{model=\"scoring\",window=\"" + window + "\"})";
          for (std::size_t at = expected.find(rule->expr); at != std::string::npos;
               at = expected.find(rule->expr, at + global.size())) {
            expected.replace(at, rule->expr.size(), global);
            used_local.insert(key);
          }
        }
        EXPECT_EQ(expected, r2.expr) << r1.record << "{" << window << "}";
        continue;
      }
      // A count: one tier sums the replicas; two sum the local tier's series, which record
      // that very sum for the same window.
      const std::string local_key = local_record + "{window=" + window + ",}";
      ASSERT_EQ(local_by_key.count(local_key), 1u) << local_key;
      used_local.insert(local_key);
      EXPECT_EQ(local_by_key.at(local_key)->expr, r1.expr) << local_key;
      const std::string by = r1.expr.substr(8, r1.expr.find(')') - 8);
      EXPECT_EQ(r2.expr, "sum by (" + by + ") (" + local_record + "{model=\"scoring\",window=\"" +
                             window + "\"})");
    }
  }
  // Every local series is read by the global tier.
  EXPECT_EQ(used_local.size(), local_by_key.size());
  // The global tier reads no exporter counter itself in its promql groups.
  for (std::size_t g = 1; g < tiers.groups.size(); ++g) {
    if (tiers.groups[g].name.find("promql") == std::string::npos) continue;
    for (const RecordingRule& r : tiers.groups[g].recording) {
      EXPECT_EQ(r.expr.find(" offset "), std::string::npos) << r.record << ": " << r.expr;
    }
  }

  // The files: one with one tier; the local group, then the rest, with two.
  const std::vector<RuleFile> files = TierFiles(tiers);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "rules/scoring.local.rules.yml");
  ASSERT_EQ(files[0].groups.size(), 1u);
  EXPECT_EQ(files[0].groups[0].name, "modelwatch-scoring-promql-local");
  EXPECT_EQ(files[1].path, "rules/scoring.global.rules.yml");
  EXPECT_EQ(files[1].groups.size(), single.groups.size());
  EXPECT_EQ(files[1].groups[0].name, "modelwatch-scoring-drift-promql-baseline");
  ASSERT_EQ(TierFiles(single).size(), 1u);
  EXPECT_EQ(TierFiles(single)[0].path, "rules/scoring.rules.yml");
}

// A model on the exporter engine keeps one file under drift.tiers: 2: it has no promql rules.
TEST(PromqlTiersTest, ExporterEngineModelsKeepOneFile) {
  const ConfigSet two = Load("promql_tiers_exporter", "drift: {engine: exporter, tiers: 2}\n");
  ASSERT_EQ(two.models.size(), 1u);
  ConfigSet config = two;
  config.models[0].drift.engine = DriftEngine::kExporter;
  const RuleFile file = BuildModelRules(config.models[0], config.fleet);
  EXPECT_EQ(file.path, "rules/scoring.rules.yml");
  EXPECT_TRUE(file.local_path.empty());
  EXPECT_EQ(TierFiles(file).size(), 1u);
}

TEST(PromqlTiersTest, ErrorsWithFileLineAndColumn) {
  for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
           {"drift: {engine: promql, tiers: 3}\n", "modelwatch.yaml:1:32: error:"},
           {"drift:\n  tiers: 0\n", "modelwatch.yaml:2:10: error:"},
           {"drift:\n  tiers: two\n", "modelwatch.yaml:2:10: error:"}}) {
    ScratchDir bad("promql_tiers_bad");
    bad.Write("baseline.json", kBaseline);
    bad.Write("modelwatch.yaml", text);
    bad.Write("scoring.yaml", kModel);
    auto refused = LoadConfigDir(bad.path());
    ASSERT_FALSE(refused.has_value()) << text;
    EXPECT_NE(Errors(refused).find(want), std::string::npos) << text << Errors(refused);
    EXPECT_NE(Errors(refused).find("drift.tiers"), std::string::npos) << Errors(refused);
  }
}

}  // namespace
}  // namespace modelwatch
