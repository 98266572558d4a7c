// drift.engine: promql: the config, the baseline reading and the recording rules' shape. The
// numbers are checked on real servers against the exporter and numpy
// (tests/e2e/promql_drift.test.sh).
#include "rulegen/promql_drift.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "core/config_loader.h"
#include "core/distributions.h"
#include "core/metric_catalogue.h"
#include "tests/unit/rulegen/promql_test_util.h"

namespace modelwatch {
namespace {

using testing::LoadConfigOrFail;
using testing::ScratchDir;

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

// What the baseline builder writes, reduced to what the rules read. `age` has an empty bin;
// the score (the output's profile) two bins.
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
  "prediction": {"kind": "score",
                 "numeric": {"count": 1000, "edges": [0.5], "proportions": [0.5, 0.5]}}
})";

TEST(PromqlDriftTest, EngineTurnsOnTheNumericHistogramsAndNeedsABaseline) {
  ScratchDir dir("promql_config");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = LoadConfigOrFail(dir);
  ASSERT_EQ(config.models.size(), 1u);
  const ModelConfig& m = config.models[0];
  EXPECT_EQ(m.drift.engine, DriftEngine::kPromql);
  EXPECT_TRUE(m.features[0].histogram);
  EXPECT_TRUE(m.features[1].histogram);
  EXPECT_FALSE(m.features[2].histogram);  // PII: never exported
  EXPECT_FALSE(m.features[3].histogram);  // categorical

  ScratchDir bare("promql_no_baseline");
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
  ScratchDir dir("promql_reference");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = LoadConfigOrFail(dir);
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
  ConfigSet broken = LoadConfigOrFail(dir);
  auto error = LoadPromqlReferences(broken);
  ASSERT_FALSE(error.has_value());
  EXPECT_NE(error.error().ToString().find("baseline.json: not a baseline profile"),
            std::string::npos)
      << error.error().ToString();
}

// The rule of `record` whose labels include every one of `labels`, or null.
const RecordingRule* FindRule(const RuleGroup& g, const std::string& record,
                              const std::vector<std::pair<std::string, std::string>>& labels) {
  for (const RecordingRule& r : g.recording) {
    if (r.record != record) continue;
    bool all = true;
    for (const auto& l : labels) {
      all = all && std::find(r.labels.begin(), r.labels.end(), l) != r.labels.end();
    }
    if (all) return &r;
  }
  return nullptr;
}

// The expression of the rule FindRule finds, "" when there is none.
std::string Expr(const RuleGroup& g, const std::string& record,
                 const std::vector<std::pair<std::string, std::string>>& labels) {
  const RecordingRule* r = FindRule(g, record, labels);
  return r ? r->expr : "";
}

// A constant of a baseline rule as rulegen writes it: vector(value) with its `key` (the
// labels other than feature and category joined by `;`, in the rule's order) and category.
std::string Leaf(const std::string& value, const std::string& key,
                 const std::string& category = "") {
  std::string leaf = "label_replace(vector(" + value + "), \"key\", \"" + key + "\", \"\", \"\")";
  if (!category.empty()) {
    leaf = "label_replace(" + leaf + ", \"category\", \"" + category + "\", \"\", \"\")";
  }
  return leaf;
}
// A feature's constant of a rule without other labels.
std::string FeatureLeaf(const std::string& value, const std::string& feature) {
  return "label_replace(vector(" + value + "), \"feature\", \"" + feature + "\", \"\", \"\")";
}

// How rulegen writes a double: the shortest of 15, 16, 17 significant digits that reads back.
std::string Shortest(double v) {
  char buf[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// The rules of a promql model's two drift groups (baseline, then windows), as one group;
// without the degradation score's constants, which the baseline group also records
// (promql_signals_test.cc).
RuleGroup DriftRules(const RuleFile& file) {
  RuleGroup g;
  for (std::size_t i = 0; i < 2 && i < file.groups.size(); ++i) {
    for (const RecordingRule& r : file.groups[i].recording) {
      if (r.record.find(":model_degradation_signal:") == std::string::npos)
        g.recording.push_back(r);
    }
  }
  return g;
}

constexpr const char* kBaseRatio = "model_feature_le:model_feature_value:baseline_ratio";
constexpr const char* kBaseCumulative =
    "model_feature_le:model_feature_value:baseline_cumulative_ratio";
constexpr const char* kBaseCount = "model_feature:model_feature_drift:baseline_count";
constexpr const char* kChi2Quantile =
    "model_feature:model_feature_drift_critical_value:chi2_quantile";
constexpr const char* kAllowance =
    "model_feature_bin_method:model_feature_drift_critical_value:empty_bin_allowance";

TEST(PromqlDriftTest, OneRulePerQuantityCoversEveryFeatureWithTheExportersLabels) {
  ScratchDir dir("promql_rules");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = LoadConfigOrFail(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const RuleFile file = BuildModelRules(config.models[0], config.fleet);
  ASSERT_GE(file.groups.size(), 2u);
  // First: the drift group reads what the baseline group records, the alerts what the drift
  // group records. The baseline's constants are re-recorded every 2 minutes (at most), the
  // drift at the tier's interval.
  EXPECT_EQ(file.groups[0].name, "modelwatch-scoring-drift-promql-baseline");
  EXPECT_EQ(file.groups[0].interval, std::max(Seconds(120), file.groups[1].interval));
  EXPECT_LT(file.groups[0].interval, Seconds(300));  // Prometheus' lookback
  EXPECT_EQ(file.groups[1].name, "modelwatch-scoring-drift-promql");
  for (const RecordingRule& r : file.groups[0].recording) {
    EXPECT_EQ(r.labels[0].first, "model") << r.record;
  }
  const RuleGroup g = DriftRules(file);
  // The baseline: 9 rules of constant series (every feature's), labelled with the model,
  // and 7 of the output's (a numeric one: no categories). Per window: 3 counts (buckets,
  // records, categories), 2 ratios (bins, categories), and one rule per method (psi, js, ks,
  // chi2) for the drift and one for the critical values, whatever the number of features
  // (Prometheus' cost is mostly per rule); the output's: its buckets, its ratios, psi, js
  // and ks and their critical values.
  const std::size_t rules = 9 + 7 + 2u * (3 + 2 + 4 + 4) + 2u * (1 + 1 + 3 + 3);
  EXPECT_EQ(g.recording.size(), rules);
  int drift = 0, critical = 0, baseline = 0;
  for (const RecordingRule& r : g.recording) {
    // Every rule is told apart by its labels or its name (promtool refuses duplicates): the
    // window's rules by window (first) and method, the baseline's by name.
    ASSERT_FALSE(r.labels.empty());
    if (r.labels[0].first == "model") {
      ++baseline;
      EXPECT_EQ(r.labels, (std::vector<std::pair<std::string, std::string>>{{"model", "scoring"}}));
      EXPECT_EQ(r.expr.find("window"), std::string::npos) << r.record;
    } else {
      EXPECT_EQ(r.labels[0].first, "window") << r.record;
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
    // Every selector names the model: no rule reads another model's series.
    for (const char* name :
         {"model_feature_le", "model_feature:", "model_feature_bin", "model_feature_category",
          "model_window", "model_le:", "model:", "model_bin", "model_version_"}) {
      for (std::size_t at = r.expr.find(name); at != std::string::npos;
           at = r.expr.find(name, at + 1)) {
        const std::size_t brace = r.expr.find_first_of("{ )", at);
        ASSERT_NE(brace, std::string::npos);
        EXPECT_EQ(r.expr.substr(brace, 16), "{model=\"scoring\"") << r.record << "\n" << r.expr;
      }
    }
  }
  EXPECT_EQ(baseline, 9 + 7);
  EXPECT_EQ(drift, 4 * 2);     // psi, js, ks and chi2 × 2 windows
  EXPECT_EQ(critical, 4 * 2);  // the same
  // The bins as series: each named by the bound that closes it (le, as the exporter writes
  // it: 16 significant digits, +Inf) and the one that opens it (lower_le, none for the
  // first), its value the floored proportion (age's empty bin: ε).
  const std::string ratio = Expr(g, kBaseRatio, {});
  for (const std::string& leaf :
       {Leaf("0.25", "10;0;"), Leaf("0.25", "20.5;1;10"), Leaf("0.25", "2.042200000000001;2;20.5"),
        Leaf("0.25", "+Inf;3;2.042200000000001"), Leaf("0.0001", "60;1;30"),
        std::string("\"feature\", \"amount\", \"\", \"\")"),
        std::string("\"lower_le\", \"$3\", \"key\", \"([^;]*);([^;]*);([^;]*)\")"),
        std::string("\"key\", \"\", \"\", \"\")")}) {
    EXPECT_NE(ratio.find(leaf), std::string::npos) << leaf << "\n" << ratio;
  }
  // 7 bins: 6 `or`s.
  std::size_t ors = 0;
  for (std::size_t at = ratio.find(" or "); at != std::string::npos;
       at = ratio.find(" or ", at + 1)) {
    ++ors;
  }
  EXPECT_EQ(ors, 6u) << ratio;
  EXPECT_EQ(LeLabel(0.1), "0.1");
  EXPECT_EQ(LeLabel(-1e-7), "-1e-07");

  // Each bin's count: its bucket minus the bucket its lower_le names, found through the
  // baseline series; the first bin's is its bucket's.
  const std::string counts =
      Expr(g, "model_feature_le_window:model_feature_value:ratio", {{"window", "1h"}});
  EXPECT_NE(counts.find("model_feature_le:model_feature_value:baseline_ratio{model=\"scoring\"} * "
                        "0 + on (model, feature, lower_le) group_left () label_replace("
                        "model_feature_le_window:model_feature_value_bucket:increase{model="
                        "\"scoring\",window=\"1h\"}, \"lower_le\", \"$1\", \"le\", \"(.+)\")"),
            std::string::npos)
      << counts;

  // More features, the same rules.
  std::string more = kModel;
  more.replace(more.find("  - {name: country"), 0,
               "  - {name: amount2, type: numeric}\n  - {name: amount3, type: numeric}\n");
  std::string more_baseline = kBaseline;
  const std::string amount = R"({"name": "amount", "type": "numeric",
     "numeric": {"count": 1000, "edges": [10, 20.5, 2.0422000000000007],
                 "proportions": [0.25, 0.25, 0.25, 0.25]}},)";
  std::string amounts;
  for (const char* name : {"amount2", "amount3"}) {
    std::string copy = amount;
    copy.replace(copy.find("amount"), 6, name);
    amounts += copy;
  }
  more_baseline.replace(more_baseline.find("{\"name\": \"amount\""), 0, amounts);
  ScratchDir dir2("promql_rules_more");
  dir2.Write("baseline.json", more_baseline);
  dir2.Write("scoring.yaml", more);
  ConfigSet config2 = LoadConfigOrFail(dir2);
  ASSERT_TRUE(LoadPromqlReferences(config2).has_value());
  ASSERT_EQ(config2.models[0].promql_reference->features.size(), 4u);
  EXPECT_EQ(DriftRules(BuildModelRules(config2.models[0], config2.fleet)).recording.size(), rules);
}

TEST(PromqlDriftTest, KsAtTheBinEdgesFromTheCumulativeCounts) {
  ScratchDir dir("promql_ks");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = LoadConfigOrFail(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const RuleGroup g = DriftRules(BuildModelRules(config.models[0], config.fleet));
  const std::string ks = Expr(g, "model_feature_drift", {{"window", "24h"}, {"method", "ks"}});
  // The largest gap over the edges of the summed cumulative counts over the feature's
  // values, against the baseline's cumulative proportions at each edge, matched on
  // (model, feature, le); the +Inf bucket (1 on both sides) matches none.
  EXPECT_NE(
      ks.find("max by (model, feature) (\n  abs(\n  "
              "(model_feature_le_window:model_feature_value_bucket:increase{model=\"scoring\","
              "window=\"24h\"} / on (model, feature, window) group_left () "
              "sum without (le) (model_feature_le_window:model_feature_value_bucket:increase{"
              "model=\"scoring\",window=\"24h\",le=\"+Inf\"}))\n  - on (model, feature, le) "
              "group_left () model_feature_le:model_feature_value:baseline_cumulative_ratio{"
              "model=\"scoring\"}"),
      std::string::npos)
      << ks;
  // Gated like PSI and JS: drift.min_samples records in the window, values of the feature.
  EXPECT_NE(ks.find("model_window:model_predictions:increase{model=\"scoring\",window=\"24h\"} "
                    ">= 200"),
            std::string::npos)
      << ks;
  // The running sums: age 0.5 at 30 and 60; amount 0.25, 0.5, 0.75 at its three edges.
  const std::string cumulative = Expr(g, kBaseCumulative, {});
  for (const std::string& leaf : {Leaf("0.5", "30"), Leaf("0.5", "60"), Leaf("0.25", "10"),
                                  Leaf("0.5", "20.5"), Leaf("0.75", "2.042200000000001")}) {
    EXPECT_NE(cumulative.find(leaf), std::string::npos) << leaf << "\n" << cumulative;
  }
  EXPECT_EQ(cumulative.find("+Inf"), std::string::npos) << cumulative;

  // The critical value: Kolmogorov's quantile at the exporter's per-series level (alpha over
  // its 4 drift series) times sqrt(1/n + 1/m), m the baseline's count of the feature's
  // values (a series: age 400).
  const std::string ks_critical =
      Expr(g, "model_feature_drift_critical_value", {{"window", "24h"}, {"method", "ks"}});
  EXPECT_NE(ks_critical.find(Shortest(KolmogorovUpperQuantile(0.001 / 4)) +
                             " * sqrt(1 / sum by (model, feature) (model_feature_le_window:"
                             "model_feature_value_bucket:increase{model=\"scoring\","
                             "window=\"24h\",le=\"+Inf\"}) + on (model, feature) (1 / "
                             "model_feature:model_feature_drift:baseline_count{model=\"scoring\"}"
                             "))"),
            std::string::npos)
      << ks_critical;
  EXPECT_NE(ks_critical.find(">= 200"), std::string::npos) << ks_critical;
  EXPECT_NE(Expr(g, kBaseCount, {}).find(FeatureLeaf("400", "age")), std::string::npos);
}

TEST(PromqlDriftTest, RecordsOnlyTheMethodsTheExporterWouldExport) {
  ScratchDir dir("promql_methods");
  dir.Write("baseline.json", kBaseline);
  std::string text = kModel;
  text.replace(text.find("min_samples: 200"), 16, "min_samples: 200, methods: [psi, wasserstein]");
  dir.Write("scoring.yaml", text);
  ConfigSet config = LoadConfigOrFail(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const RuleGroup g = DriftRules(BuildModelRules(config.models[0], config.fleet));
  int drift = 0;
  for (const RecordingRule& r : g.recording) {
    if (r.record != "model_feature_drift" && r.record != "model_feature_drift_critical_value") {
      continue;
    }
    ++drift;
    EXPECT_NE(std::find(r.labels.begin(), r.labels.end(),
                        std::pair<std::string, std::string>{"method", "psi"}),
              r.labels.end());
  }
  EXPECT_EQ(drift, 2 * 2);
  // Nor the baseline series only other methods read.
  EXPECT_EQ(FindRule(g, kBaseCumulative, {}), nullptr);
  EXPECT_EQ(FindRule(g, "model_feature_category:model_feature_category:baseline_count", {}),
            nullptr);
  const std::string allowance = Expr(g, kAllowance, {});
  EXPECT_NE(allowance.find(";psi\""), std::string::npos) << allowance;
  EXPECT_EQ(allowance.find(";js\""), std::string::npos) << allowance;
}

TEST(PromqlDriftTest, CategoricalDriftFromTheSummedCategoryCounters) {
  ScratchDir dir("promql_categorical");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = LoadConfigOrFail(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const RuleGroup g = DriftRules(BuildModelRules(config.models[0], config.fleet));
  // The counters' window counts: now minus one window ago, never increase().
  EXPECT_EQ(
      Expr(g, "model_feature_category_window:model_feature_category:increase", {{"window", "24h"}}),
      "sum by (model, feature, category) (\n"
      "  (model_feature_category_total{model=\"scoring\"} - "
      "model_feature_category_total{model=\"scoring\"} offset 86400s) >= 0\n"
      "  or\n"
      "  model_feature_category_total{model=\"scoring\"}\n)");
  for (const char* method : {"psi", "js", "chi2"}) {
    EXPECT_NE(Expr(g, "model_feature_drift", {{"window", "24h"}, {"method", method}})
                  .find("model_feature_category"),
              std::string::npos)
        << method;
  }
  // The baseline's categories and __other__, quoted, `$` doubled for label_replace; the
  // reference counts for chi2 (900, 100, 0), floored proportions for PSI and JS.
  const std::string counts =
      Expr(g, "model_feature_category:model_feature_category:baseline_count", {});
  EXPECT_NE(counts.find(Leaf("100", "1", "a\\\"$$1")), std::string::npos) << counts;
  EXPECT_NE(counts.find(Leaf("0", "2", "__other__")), std::string::npos) << counts;
  EXPECT_NE(Expr(g, "model_feature_category:model_feature_category:baseline_ratio", {})
                .find(Leaf("0.0001", "2", "__other__")),
            std::string::npos);
  // Yates' correction exactly when two columns are left.
  const std::string chi2 = Expr(g, "model_feature_drift", {{"window", "24h"}, {"method", "chi2"}});
  EXPECT_NE(chi2.find(" != 2)"), std::string::npos) << chi2;
  EXPECT_NE(chi2.find(" == 2)"), std::string::npos) << chi2;
  // Chi2's critical value is χ²(bins − 1) at the per-series level (2 bins with reference
  // mass: 1 degree of freedom), a series of the baseline, gated like the others.
  EXPECT_NE(Expr(g, kChi2Quantile, {})
                .find(FeatureLeaf(Shortest(ChiSquareUpperQuantile(0.001 / 4, 1)), "country")),
            std::string::npos);
  const std::string chi2_critical =
      Expr(g, "model_feature_drift_critical_value", {{"window", "24h"}, {"method", "chi2"}});
  EXPECT_NE(chi2_critical.find(" * 0 + on (model, feature) " + std::string(kChi2Quantile) +
                               "{model=\"scoring\"})"),
            std::string::npos)
      << chi2_critical;
  EXPECT_NE(chi2_critical.find(">= 200"), std::string::npos) << chi2_critical;
  // The critical values' empty-bin allowances, PSI's and JS's, per bin with 0 < q < 1.
  const std::string allowance = Expr(g, kAllowance, {});
  EXPECT_NE(allowance.find(Leaf(Shortest((0.1 - 1e-4) * std::log(0.1 / 1e-4)), "1;psi")),
            std::string::npos)
      << allowance;
  EXPECT_EQ(allowance.find("\"__other__\""), std::string::npos) << allowance;
}

// One rule covers every feature: a bin or category series that another one duplicates would
// break the rule for all of them. Edges written alike in le are refused; a category named
// like the overflow bin shares its series (as the exporter's counter does).
TEST(PromqlDriftTest, DuplicateBinLabelsAreRefusedOrMerged) {
  ScratchDir dir("promql_duplicates");
  std::string baseline = kBaseline;
  baseline.replace(baseline.find("[30, 60]"), 8, "[30, 30.000000000000004]");
  dir.Write("baseline.json", baseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = LoadConfigOrFail(dir);
  auto error = LoadPromqlReferences(config);
  ASSERT_FALSE(error.has_value());
  EXPECT_NE(error.error().ToString().find("feature \"age\": two edges are le=\"30\""),
            std::string::npos)
      << error.error().ToString();

  baseline = kBaseline;
  baseline.replace(baseline.find("\"a\\\"$1\""), 7, "\"__other__\"");
  dir.Write("baseline.json", baseline);
  ConfigSet merged = LoadConfigOrFail(dir);
  ASSERT_TRUE(LoadPromqlReferences(merged).has_value());
  const RuleGroup g = DriftRules(BuildModelRules(merged.models[0], merged.fleet));
  const std::string counts =
      Expr(g, "model_feature_category:model_feature_category:baseline_count", {});
  EXPECT_NE(counts.find(Leaf("100", "1", "__other__")), std::string::npos) << counts;
  EXPECT_EQ(counts.find(" or ", counts.find(" or ") + 1), std::string::npos) << counts;
}

// The output is one more distribution per version: the same formulas over the replicas'
// model_prediction_output histograms (numeric outputs) or model_prediction_output_class_total
// counters (the predicted class), against the baseline's output profile, which serves every
// version (matched on the model and the bin only), recorded as the exporter engine's
// model_prediction_drift{model, version, method, window}.
TEST(PromqlDriftTest, OutputDriftPerVersionFromTheSummedOutputCounters) {
  ScratchDir dir("promql_output");
  dir.Write("baseline.json", kBaseline);
  dir.Write("scoring.yaml", kModel);
  ConfigSet config = LoadConfigOrFail(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  const PromqlDriftReference& ref = *config.models[0].promql_reference;
  ASSERT_EQ(ref.output.size(), 1u);
  EXPECT_EQ(ref.output[0].feature, "");
  EXPECT_EQ(ref.output[0].edges, (std::vector<double>{0.5}));
  EXPECT_EQ(ref.output[0].count, 1000);
  EXPECT_TRUE(ref.output_classes.empty());
  const RuleGroup g = DriftRules(BuildModelRules(config.models[0], config.fleet));
  // The window counts by version: now minus one window ago, summed over the replicas.
  EXPECT_EQ(Expr(g, "model_version_le_window:model_prediction_output_bucket:increase",
                 {{"window", "1h"}}),
            "sum by (model, version, le) (\n"
            "  (model_prediction_output_bucket{model=\"scoring\"} - "
            "model_prediction_output_bucket{model=\"scoring\"} offset 3600s) >= 0\n"
            "  or\n"
            "  model_prediction_output_bucket{model=\"scoring\"}\n)");
  // The baseline's bins carry no feature and no version: one profile for every version.
  const std::string ratio = Expr(g, "model_le:model_prediction_output:baseline_ratio", {});
  EXPECT_NE(ratio.find(Leaf("0.5", "0.5;0;")), std::string::npos) << ratio;
  EXPECT_NE(ratio.find(Leaf("0.5", "+Inf;1;0.5")), std::string::npos) << ratio;
  EXPECT_EQ(ratio.find("feature"), std::string::npos) << ratio;
  // A bin's count: the bucket relabelled to the bin it opens takes the bin's le from the
  // baseline and keeps its version (group_right: one baseline bin, many versions).
  const std::string bins =
      Expr(g, "model_version_le_window:model_prediction_output:ratio", {{"window", "1h"}});
  EXPECT_NE(bins.find("model_le:model_prediction_output:baseline_ratio{model=\"scoring\"} * 0 + "
                      "on (model, lower_le) group_right (le) label_replace("
                      "model_version_le_window:model_prediction_output_bucket:increase{model="
                      "\"scoring\",window=\"1h\"}, \"lower_le\", \"$1\", \"le\", \"(.+)\")"),
            std::string::npos)
      << bins;
  EXPECT_NE(bins.find(" - on (model, version, le) group_left () "), std::string::npos) << bins;
  for (const char* method : {"psi", "js", "ks"}) {
    for (const char* record : {"model_prediction_drift", "model_prediction_drift_critical_value"}) {
      const std::string expr = Expr(g, record, {{"window", "1h"}, {"method", method}});
      ASSERT_FALSE(expr.empty()) << record << " " << method;
      // Per version, against the output's own baseline series, gated like the features.
      EXPECT_NE(expr.find("by (model, version)"), std::string::npos) << expr;
      EXPECT_EQ(expr.find("model_feature"), std::string::npos) << expr;
      EXPECT_NE(expr.find(">= 200)\nand on (model, version) ("), std::string::npos) << expr;
    }
  }
  EXPECT_EQ(FindRule(g, "model_prediction_drift", {{"method", "chi2"}}), nullptr);
  EXPECT_NE(Expr(g, "model_prediction_drift", {{"window", "1h"}, {"method", "psi"}})
                .find(" - on (model, le) group_left () "
                      "model_le:model_prediction_output:baseline_ratio{model=\"scoring\"}"),
            std::string::npos);
  // The critical values: the output's m and χ² quantile, shared by the versions
  // (many-to-one), at the per-series level of the features' (alpha over 4 series).
  const std::string psi_critical =
      Expr(g, "model_prediction_drift_critical_value", {{"window", "1h"}, {"method", "psi"}});
  EXPECT_NE(psi_critical.find("on (model) group_left () (1 / model:model_prediction_drift:"
                              "baseline_count{model=\"scoring\"})"),
            std::string::npos)
      << psi_critical;
  EXPECT_NE(psi_critical.find("group_right () (((model_version_le_window:"
                              "model_prediction_output_bucket:increase{model=\"scoring\","
                              "window=\"1h\"} * 0 + on (model, le) group_left (bin) (model_le:"
                              "model_prediction_output:baseline_ratio{model=\"scoring\"} * 0))"),
            std::string::npos)
      << psi_critical;
  EXPECT_NE(Expr(g, "model:model_prediction_drift_critical_value:chi2_quantile", {})
                .find("vector(" + Shortest(ChiSquareUpperQuantile(0.001 / 4, 1)) + ")"),
            std::string::npos);
  EXPECT_NE(Expr(g, "model_prediction_drift_critical_value", {{"window", "1h"}, {"method", "ks"}})
                .find(Shortest(KolmogorovUpperQuantile(0.001 / 4)) + " * sqrt"),
            std::string::npos);

  // Multiclass: the predicted class against the baseline's classes and __other__: PSI, JS
  // and chi-square from the summed class counters.
  std::string model = kModel;
  model.replace(model.find("binary_classification"), 21,
                "multiclass_classification\nclasses: [cat, dog, $x]");
  std::string baseline = kBaseline;
  baseline.replace(baseline.find("\"prediction\""), std::string::npos,
                   R"("prediction": {"kind": "class", "classes": {"count": 100,
    "categories": ["cat", "$x"], "counts": [70, 30, 0], "proportions": [0.7, 0.3, 0]}}
})");
  ScratchDir dir2("promql_output_classes");
  dir2.Write("baseline.json", baseline);
  dir2.Write("scoring.yaml", model);
  ConfigSet multi = LoadConfigOrFail(dir2);
  ASSERT_TRUE(LoadPromqlReferences(multi).has_value());
  ASSERT_EQ(multi.models[0].promql_reference->output_classes.size(), 1u);
  EXPECT_TRUE(multi.models[0].promql_reference->output.empty());
  const RuleGroup c = DriftRules(BuildModelRules(multi.models[0], multi.fleet));
  EXPECT_NE(Expr(c, "model_version_class_window:model_prediction_output_class:increase",
                 {{"window", "1h"}})
                .find("sum by (model, version, class) (\n  (model_prediction_output_class_total{"),
            std::string::npos);
  const std::string counts =
      Expr(c, "model_class:model_prediction_output_class:baseline_count", {});
  EXPECT_NE(counts.find("label_replace(label_replace(vector(30), \"key\", \"1\", \"\", \"\"), "
                        "\"class\", \"$$x\", \"\", \"\")"),
            std::string::npos)
      << counts;
  EXPECT_NE(counts.find("\"class\", \"__other__\""), std::string::npos) << counts;
  const std::string chi2 =
      Expr(c, "model_prediction_drift", {{"window", "1h"}, {"method", "chi2"}});
  EXPECT_NE(chi2.find("count by (model, version) ("), std::string::npos) << chi2;
  EXPECT_NE(
      chi2.find(" * on (model, class) group_left () "
                "model_class:model_prediction_output_class:baseline_count{model=\"scoring\"}"),
      std::string::npos)
      << chi2;
  EXPECT_NE(Expr(c, "model_prediction_drift_critical_value", {{"window", "1h"}, {"method", "chi2"}})
                .find(" * 0 + on (model) group_left () "
                      "model:model_prediction_drift_critical_value:chi2_quantile{"),
            std::string::npos);
  EXPECT_EQ(FindRule(c, "model_prediction_drift", {{"method", "ks"}}), nullptr);
  for (const char* method : {"psi", "js"}) {
    EXPECT_NE(Expr(c, "model_prediction_drift", {{"window", "1h"}, {"method", method}})
                  .find("model_version_class_window:model_prediction_output_class:ratio{"),
              std::string::npos)
        << method;
  }
}

TEST(PromqlDriftTest, ExporterEngineModelsGetNoGroup) {
  ScratchDir dir("promql_none");
  dir.Write("baseline.json", kBaseline);
  std::string text = kModel;
  text.replace(text.find("engine: promql"), 14, "engine: exporter");
  dir.Write("scoring.yaml", text);
  ConfigSet config = LoadConfigOrFail(dir);
  ASSERT_TRUE(LoadPromqlReferences(config).has_value());
  EXPECT_FALSE(config.models[0].promql_reference.has_value());
  for (const RuleGroup& g : BuildModelRules(config.models[0], config.fleet).groups) {
    EXPECT_EQ(g.name.find("drift-promql"), std::string::npos);
  }
}

}  // namespace
}  // namespace modelwatch
