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
#include "core/distributions.h"
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
     "categorical": {"count": 1000, "categories": ["DE", "a\"$1"], "counts": [900, 100, 0],
                     "proportions": [0.9, 0.1, 0]}}
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
  ASSERT_EQ(ref->categorical.size(), 1u);
  EXPECT_EQ(ref->categorical[0].feature, "country");
  EXPECT_EQ(ref->categorical[0].categories, (std::vector<std::string>{"DE", "a\"$1"}));
  EXPECT_EQ(ref->categorical[0].counts, (std::vector<double>{900, 100, 0}));
  EXPECT_EQ(ref->categorical[0].count, 1000);
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
  // Per window: 3 counts (buckets, records, categories), then per feature one rule for its
  // bins or categories, one for its drift methods, one for their critical values
  // (Prometheus' cost is mostly per rule).
  EXPECT_EQ(g.recording.size(), 2u * (3 + 3 + 3 + 3));
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
  EXPECT_EQ(drift, 3 * 2);     // 3 features × 2 windows, psi, js and ks or chi2 each
  EXPECT_EQ(critical, 3 * 2);  // age's empty bin does not count among its bins, it has 2
  // The bounds as the exporter writes them: 16 significant digits, +Inf.
  EXPECT_EQ(le, (std::set<std::string>{"10", "20.5", "2.042200000000001", "30", "60", "+Inf"}));
  EXPECT_EQ(LeLabel(0.1), "0.1");
  EXPECT_EQ(LeLabel(-1e-7), "-1e-07");
}

// The recorded rule of `record` for `feature` and `window`, or null.
const RecordingRule* FindRule(const RuleGroup& g, const std::string& record,
                              const std::string& feature, const std::string& window) {
  for (const RecordingRule& r : g.recording) {
    std::string f, w;
    for (const auto& [k, v] : r.labels) {
      if (k == "feature") f = v;
      if (k == "window") w = v;
    }
    if (r.record == record && f == feature && w == window) return &r;
  }
  return nullptr;
}

// The alternative of a drift rule labelled method="`method`" (the rule joins its methods'
// label_replace(…) with "\nor\n"), or "".
std::string Alternative(const std::string& expr, const std::string& method) {
  const std::string tail = "\"method\", \"" + method + "\", \"\", \"\")";
  std::size_t start = 0;
  while (start <= expr.size()) {
    std::size_t end = expr.find("\nor\n", start);
    if (end == std::string::npos) end = expr.size();
    const std::string part = expr.substr(start, end - start);
    if (part.size() >= tail.size() &&
        part.compare(part.size() - tail.size(), tail.size(), tail) == 0) {
      return part;
    }
    start = end + 4;
  }
  return "";
}

TEST(PromqlDriftTest, KsAtTheBinEdgesFromTheCumulativeCounts) {
  Dir dir("promql_ks");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = Load(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const RuleGroup g = BuildModelRules(config.models[0], config.fleet).groups[0];
  const RecordingRule* drift = FindRule(g, "model_feature_drift", "age", "24h");
  ASSERT_NE(drift, nullptr);
  const std::string ks = Alternative(drift->expr, "ks");
  ASSERT_FALSE(ks.empty()) << drift->expr;
  // The largest gap over the edges of the summed cumulative counts over the feature's
  // values, against the baseline's cumulative proportions at each edge (age: 0.5 at 30,
  // 0.5 at 60), matched on le; the +Inf bucket (1 on both sides) matches none.
  EXPECT_NE(
      ks.find("max by (model, feature) (\n  abs(\n  "
              "(model_feature_le_window:model_feature_value_bucket:increase{model=\"scoring\","
              "feature=\"age\",window=\"24h\"} / on (model, feature, window) group_left () "
              "sum without (le) (model_feature_le_window:model_feature_value_bucket:increase{"
              "model=\"scoring\",feature=\"age\",window=\"24h\",le=\"+Inf\"}))\n  - on (le) "
              "group_left () ("),
      std::string::npos)
      << ks;
  EXPECT_NE(ks.find("label_replace(\nvector(0.5),\n\"le\", \"30\", \"\", \"\") or "
                    "label_replace(\nvector(0.5),\n\"le\", \"60\", \"\", \"\")"),
            std::string::npos)
      << ks;
  EXPECT_EQ(ks.find("\"le\", \"+Inf\""), std::string::npos) << ks;
  // Gated like PSI and JS: drift.min_samples records in the window, values of the feature.
  EXPECT_NE(ks.find("model_window:model_predictions:increase{model=\"scoring\",window=\"24h\"} "
                    ">= 200"),
            std::string::npos)
      << ks;
  // amount's running sums, 0.25, 0.5, 0.75, at its three edges.
  const std::string amount =
      Alternative(FindRule(g, "model_feature_drift", "amount", "1h")->expr, "ks");
  for (const char* edge : {"vector(0.25),\n\"le\", \"10\"", "vector(0.5),\n\"le\", \"20.5\"",
                           "vector(0.75),\n\"le\", \"2.042200000000001\""}) {
    EXPECT_NE(amount.find(edge), std::string::npos) << edge << "\n" << amount;
  }

  // The critical value: Kolmogorov's quantile at the exporter's per-series level (alpha over
  // its 4 drift series) times sqrt(1/n + 1/m), m the baseline's count of age values.
  const RecordingRule* critical = FindRule(g, "model_feature_drift_critical_value", "age", "24h");
  ASSERT_NE(critical, nullptr);
  const std::string ks_critical = Alternative(critical->expr, "ks");
  char k[40];
  std::snprintf(k, sizeof(k), "%.17g", KolmogorovUpperQuantile(0.001 / 4));
  EXPECT_NE(
      ks_critical.find(std::string(k) +
                       " * sqrt(1 / sum by (model, feature) (model_feature_le_window:"
                       "model_feature_value_bucket:increase{model=\"scoring\",feature=\"age\","
                       "window=\"24h\",le=\"+Inf\"}) + 0.0025000000000000001)"),
      std::string::npos)
      << ks_critical;
  EXPECT_NE(ks_critical.find(">= 200"), std::string::npos) << ks_critical;
}

TEST(PromqlDriftTest, RecordsOnlyTheMethodsTheExporterWouldExport) {
  Dir dir("promql_methods");
  dir.Write("baseline.json", kBaseline);
  std::string text = kModel;
  text.replace(text.find("min_samples: 200"), 16, "min_samples: 200, methods: [psi, wasserstein]");
  dir.Write("scoring.yaml", text);
  ConfigSet config = Load(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const RuleGroup g = BuildModelRules(config.models[0], config.fleet).groups[0];
  int drift = 0;
  for (const RecordingRule& r : g.recording) {
    if (r.record != "model_feature_drift" && r.record != "model_feature_drift_critical_value") {
      continue;
    }
    ++drift;
    EXPECT_FALSE(Alternative(r.expr, "psi").empty()) << r.expr;
    EXPECT_TRUE(Alternative(r.expr, "js").empty()) << r.expr;
    EXPECT_TRUE(Alternative(r.expr, "ks").empty()) << r.expr;
  }
  EXPECT_EQ(drift, 3 * 2 * 2);
}

TEST(PromqlDriftTest, CategoricalDriftFromTheSummedCategoryCounters) {
  Dir dir("promql_categorical");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = Load(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const RuleGroup g = BuildModelRules(config.models[0], config.fleet).groups[0];
  // The counters' window counts: now minus one window ago, never increase().
  const RecordingRule* counts = nullptr;
  for (const RecordingRule& r : g.recording) {
    if (r.record == "model_feature_category_window:model_feature_category:increase" &&
        r.labels == std::vector<std::pair<std::string, std::string>>{{"window", "24h"}}) {
      counts = &r;
    }
  }
  ASSERT_NE(counts, nullptr);
  EXPECT_EQ(counts->expr,
            "sum by (model, feature, category) (\n"
            "  (model_feature_category_total{model=\"scoring\"} - "
            "model_feature_category_total{model=\"scoring\"} offset 86400s) >= 0\n"
            "  or\n"
            "  model_feature_category_total{model=\"scoring\"}\n)");
  const RecordingRule* drift = FindRule(g, "model_feature_drift", "country", "24h");
  ASSERT_NE(drift, nullptr);
  for (const char* method : {"psi", "js", "chi2"}) {
    EXPECT_FALSE(Alternative(drift->expr, method).empty()) << method << "\n" << drift->expr;
  }
  EXPECT_TRUE(Alternative(drift->expr, "ks").empty());
  // The baseline's categories and __other__, quoted, `$` doubled for label_replace; the
  // reference counts for chi2 (900, 100, 0), floored proportions for PSI and JS.
  const std::string chi2 = Alternative(drift->expr, "chi2");
  EXPECT_NE(chi2.find("label_replace(\nvector(100),\n\"category\", \"a\\\"$$1\", \"\", \"\")"),
            std::string::npos)
      << chi2;
  EXPECT_NE(chi2.find("label_replace(\nvector(0),\n\"category\", \"__other__\", \"\", \"\")"),
            std::string::npos)
      << chi2;
  EXPECT_NE(drift->expr.find("vector(0.0001),\n\"category\", \"__other__\""), std::string::npos)
      << drift->expr;
  // Yates' correction exactly when two columns are left.
  EXPECT_NE(chi2.find(" != 2)"), std::string::npos) << chi2;
  EXPECT_NE(chi2.find(" == 2)"), std::string::npos) << chi2;
  // Chi2's critical value is χ²(bins − 1) at the per-series level (2 bins with reference
  // mass: 1 degree of freedom), gated like the others.
  const RecordingRule* critical =
      FindRule(g, "model_feature_drift_critical_value", "country", "24h");
  ASSERT_NE(critical, nullptr);
  char x[40];
  std::snprintf(x, sizeof(x), "%.17g", ChiSquareUpperQuantile(0.001 / 4, 1));
  const std::string chi2_critical = Alternative(critical->expr, "chi2");
  EXPECT_NE(chi2_critical.find(std::string(" * 0 + ") + x + ")"), std::string::npos)
      << chi2_critical;
  EXPECT_NE(chi2_critical.find(">= 200"), std::string::npos) << chi2_critical;
  EXPECT_FALSE(Alternative(critical->expr, "psi").empty());
  EXPECT_FALSE(Alternative(critical->expr, "js").empty());
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
