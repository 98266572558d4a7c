// drift.engine: promql: the config, the baseline reading and the recording rules' shape. The
// numbers are checked on real servers against the exporter and numpy
// (tests/e2e/promql_drift.test.sh).
#include "rulegen/promql_drift.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "core/config_loader.h"
#include "core/metric_catalogue.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

class Dir {
 public:
  explicit Dir(const std::string& name) : path_(fs::path(testing::TempDir()) / name) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Write(const std::string& rel, const std::string& text) const {
    std::ofstream(path_ / rel) << text;
    return (path_ / rel).string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

constexpr const char* kModel = R"(model: scoring
owner: {team: risk}
tier: 2
task: binary_classification
source: {paths: [/var/log/scoring/*.jsonl]}
baseline: baseline.json
features:
  - {name: amount, type: numeric}
  - {name: age, type: numeric}
  - {name: email, type: numeric, pii: true}
  - {name: country, type: categorical}
drift: {engine: promql, windows: [1h, 24h], min_samples: 200}
)";

// What the baseline builder writes, reduced to what the rules read. `age` has an empty bin.
constexpr const char* kBaseline = R"({
  "features": [
    {"name": "amount", "type": "numeric",
     "numeric": {"count": 1000, "edges": [10, 20.5, 2.0422000000000007],
                 "proportions": [0.25, 0.25, 0.25, 0.25]}},
    {"name": "age", "type": "numeric",
     "numeric": {"count": 400, "edges": [30, 60], "proportions": [0.5, 0, 0.5]}},
    {"name": "country", "type": "categorical",
     "categorical": {"count": 1000, "categories": ["DE"], "proportions": [0.9, 0.1]}}
  ],
  "prediction": {"kind": "score", "numeric": {"count": 1000}}
})";

ConfigSet Load(const Dir& dir) {
  auto config = LoadConfigDir(dir.path());
  EXPECT_TRUE(config.has_value());
  return config ? *config : ConfigSet{};
}

TEST(PromqlDriftTest, EngineTurnsOnTheNumericHistogramsAndNeedsABaseline) {
  Dir dir("promql_config");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = Load(dir);
  ASSERT_EQ(config.models.size(), 1u);
  const ModelConfig& m = config.models[0];
  EXPECT_EQ(m.drift.engine, DriftEngine::kPromql);
  EXPECT_TRUE(m.features[0].histogram);
  EXPECT_TRUE(m.features[1].histogram);
  EXPECT_FALSE(m.features[2].histogram);  // PII: never exported
  EXPECT_FALSE(m.features[3].histogram);  // categorical

  Dir bare("promql_no_baseline");
  std::string text = kModel;
  text.replace(text.find("baseline: baseline.json\n"), 24, "");
  bare.Write("scoring.yaml", text);
  auto refused = LoadConfigDir(bare.path());
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error()[0].ToString().find("drift.engine: promql needs a baseline"),
            std::string::npos)
      << refused.error()[0].ToString();
  EXPECT_NE(refused.error()[0].ToString().find("scoring.yaml:11:"), std::string::npos);
}

TEST(PromqlDriftTest, ReadsTheBinsAndTheSeriesSplitFromTheBaseline) {
  Dir dir("promql_reference");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = Load(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const auto& ref = config.models[0].promql_reference;
  ASSERT_TRUE(ref.has_value());
  ASSERT_EQ(ref->features.size(), 2u);  // amount and age; not the PII one
  EXPECT_EQ(ref->features[0].feature, "amount");
  EXPECT_EQ(ref->features[0].edges.size(), 3u);
  EXPECT_EQ(ref->features[1].count, 400);
  // amount, age and country (psi applies to both types) and the score: 4 series.
  EXPECT_EQ(ref->drift_series, 4);

  dir.Write("baseline.json", "{\"features\": 3}");
  ConfigSet broken = Load(dir);
  auto error = LoadPromqlReferences(broken);
  ASSERT_FALSE(error.has_value());
  EXPECT_NE(error.error().ToString().find("baseline.json: not a baseline profile"),
            std::string::npos)
      << error.error().ToString();
}

TEST(PromqlDriftTest, RulesPerWindowBinAndFeatureWithTheExportersLabels) {
  Dir dir("promql_rules");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = Load(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const RuleFile file = BuildModelRules(config.models[0], config.fleet);
  ASSERT_FALSE(file.groups.empty());
  const RuleGroup& g = file.groups[0];  // first: the alerts read what it records
  EXPECT_EQ(g.name, "modelwatch-scoring-drift-promql");
  // Per window: 2 counts, then per feature one rule for its bins, one for PSI and JS, one
  // for their critical values (Prometheus' cost is mostly per rule).
  EXPECT_EQ(g.recording.size(), 2u * (2 + 3 + 3));
  std::set<std::string> le;
  // In selectors (le="…") and in the bins' bound maps (label_replace(…, "le", "…", …)).
  const std::regex le_label(R"re(le(?:="|", ")([^"]+)")re");
  int drift = 0, critical = 0;
  for (const RecordingRule& r : g.recording) {
    // Every rule is told apart by its labels (promtool refuses duplicates), window first.
    ASSERT_FALSE(r.labels.empty());
    EXPECT_EQ(r.labels[0].first, "window");
    for (auto it = std::sregex_iterator(r.expr.begin(), r.expr.end(), le_label);
         it != std::sregex_iterator(); ++it) {
      le.insert((*it)[1]);
    }
    // Recording rules name catalogued metrics (level:metric:operation).
    const std::string metric =
        r.record.find(':') == std::string::npos
            ? r.record
            : r.record.substr(r.record.find(':') + 1, r.record.rfind(':') - r.record.find(':') - 1);
    EXPECT_TRUE(FindMetric(metric) != nullptr || FindMetric(metric + "_total") != nullptr)
        << r.record;
    if (r.record == "model_feature_drift") ++drift;
    if (r.record == "model_feature_drift_critical_value") ++critical;
  }
  EXPECT_EQ(drift, 2 * 2);     // 2 features × 2 windows, psi and js each
  EXPECT_EQ(critical, 2 * 2);  // age's empty bin does not count among its bins, it has 2
  // The bounds as the exporter writes them: 16 significant digits, +Inf.
  EXPECT_EQ(le, (std::set<std::string>{"10", "20.5", "2.042200000000001", "30", "60", "+Inf"}));
  EXPECT_EQ(LeLabel(0.1), "0.1");
  EXPECT_EQ(LeLabel(-1e-7), "-1e-07");
}

TEST(PromqlDriftTest, ExporterEngineModelsGetNoGroup) {
  Dir dir("promql_none");
  dir.Write("baseline.json", kBaseline);
  std::string text = kModel;
  text.replace(text.find("engine: promql"), 14, "engine: exporter");
  dir.Write("scoring.yaml", text);
  ConfigSet config = Load(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  EXPECT_FALSE(config.models[0].promql_reference.has_value());
  for (const RuleGroup& g : BuildModelRules(config.models[0], config.fleet).groups) {
    EXPECT_EQ(g.name.find("drift-promql"), std::string::npos);
  }
}

}  // namespace
}  // namespace modelwatch
