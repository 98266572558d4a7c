#include "core/config_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMinimal = R"(model: churn
owner: {team: risk-ml}
tier: 2
task: binary_classification
source: {paths: ["logs/*.jsonl"]}
)";

std::string ErrorsOf(const MultiResult<ModelConfig>& r) {
  std::string out;
  if (r) return out;
  for (const auto& e : r.error()) out += e.ToString() + "\n";
  return out;
}

TEST(ConfigLoaderTest, MinimalConfigGetsDocumentedDefaults) {
  auto r = ParseModelConfig(kMinimal, "dir/churn.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  const ModelConfig& m = *r;
  EXPECT_EQ(m.name, "churn");
  EXPECT_EQ(m.owner.team, "risk-ml");
  EXPECT_EQ(m.tier, 2);
  EXPECT_EQ(m.task, Task::kBinaryClassification);
  ASSERT_EQ(m.source.paths.size(), 1u);
  EXPECT_EQ(m.source.paths[0], "dir/logs/*.jsonl");  // relative to the YAML file
  EXPECT_EQ(m.source.start_at, StartAt::kEnd);
  EXPECT_EQ(m.source.fields.timestamp, "ts");
  EXPECT_EQ(m.source.fields.version, "model_version");
  ASSERT_EQ(m.drift.windows.size(), 2u);
  EXPECT_EQ(m.drift.windows[0].label, "1h");
  EXPECT_EQ(m.drift.windows[1].length, Seconds(86400));
  EXPECT_EQ(m.drift.method, DriftMethod::kPsi);
  EXPECT_DOUBLE_EQ(m.drift.warn, 0.1);
  EXPECT_DOUBLE_EQ(m.drift.critical, 0.2);
  EXPECT_EQ(m.drift.min_samples, 500);
  EXPECT_FALSE(m.slo.has_value());
  EXPECT_FALSE(m.ground_truth.has_value());
  EXPECT_DOUBLE_EQ(m.degradation.weights.at("drift"), 0.3);
  EXPECT_EQ(m.location.line, 1);
  EXPECT_EQ(m.location.column, 8);
}

TEST(ConfigLoaderTest, ReportsEveryErrorSortedWithLocation) {
  auto r = ParseModelConfig(R"(model: churn
owner: {team: risk-ml}
tier: 7
task: regresion
source: {paths: ["x"], fields: {scor: s}}
)",
                            "m.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrorsOf(r),
            "m.yaml:3:7: error: \"tier\" must be in [1, 3], got 7\n"
            "m.yaml:4:7: error: \"task\" must be one of binary_classification, "
            "multiclass_classification, regression, got \"regresion\" (did you mean "
            "\"regression\"?)\n"
            "m.yaml:5:33: error: unknown key \"scor\" in source.fields (did you mean "
            "\"score\"?)\n");
}

TEST(ConfigLoaderTest, GroundTruthAndShadowParse) {
  std::string text = std::string(kMinimal) + R"(ground_truth:
  paths: [labels.jsonl]
  delay: 30d
  windows: [37d, 60d]
  join_on: entity_id
  segments: [region]
  retrain_when: {metric: auc, below: 0.8, for: 3d}
  retention_buffer: 2d
  sample_rate: 0.1
  label_grace: 30m
  recompute_interval: 5s
  max_segment_values: 20
  recompute_memory_mb: 64
shadow: {champion: v3, challenger: v4}
)";
  auto r = ParseModelConfig(text, "churn.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  ASSERT_TRUE(r->ground_truth);
  EXPECT_EQ(r->ground_truth->retention_buffer, Seconds(2 * 86400));
  EXPECT_DOUBLE_EQ(r->ground_truth->sample_rate, 0.1);
  EXPECT_EQ(r->ground_truth->label_grace, Seconds(1800));
  EXPECT_EQ(r->ground_truth->recompute_interval, Seconds(5));
  EXPECT_EQ(r->ground_truth->max_segment_values, 20);
  EXPECT_EQ(r->ground_truth->recompute_memory_mb, 64);
  EXPECT_EQ(r->ground_truth->delay, Seconds(30 * 86400));
  EXPECT_EQ(r->ground_truth->join_on, JoinKey::kEntityId);
  EXPECT_EQ(r->ground_truth->windows.at(0).label, "37d");
  ASSERT_TRUE(r->ground_truth->retrain_when);
  EXPECT_DOUBLE_EQ(r->ground_truth->retrain_when->below, 0.8);
  EXPECT_EQ(r->ground_truth->retrain_when->for_duration, Seconds(3 * 86400));
  EXPECT_EQ(r->ground_truth->retrain_when->window, "37d");  // the first window by default
  ASSERT_TRUE(r->shadow);
  EXPECT_EQ(r->shadow->challenger, "v4");
}

TEST(ConfigLoaderTest, GroundTruthTunablesAreRangeChecked) {
  std::string base = std::string(kMinimal) + "ground_truth:\n  paths: [labels.jsonl]\n";
  auto zero = ParseModelConfig(base + "  sample_rate: 0\n", "churn.yaml");
  ASSERT_FALSE(zero);
  EXPECT_NE(ErrorsOf(zero).find("sample_rate"), std::string::npos) << ErrorsOf(zero);
  EXPECT_FALSE(ParseModelConfig(base + "  sample_rate: 1.5\n", "churn.yaml"));
  EXPECT_FALSE(ParseModelConfig(base + "  max_segment_values: 0\n", "churn.yaml"));
  EXPECT_FALSE(ParseModelConfig(base + "  label_grace: soon\n", "churn.yaml"));
  auto small = ParseModelConfig(base + "  recompute_memory_mb: 1\n", "churn.yaml");
  ASSERT_FALSE(small);
  EXPECT_NE(ErrorsOf(small).find("churn.yaml:8:24: error:"), std::string::npos) << ErrorsOf(small);
  EXPECT_FALSE(ParseModelConfig(base + "  recompute_memory_mb: 16MiB\n", "churn.yaml"));
  auto ok = ParseModelConfig(base, "churn.yaml");
  ASSERT_TRUE(ok) << ErrorsOf(ok);
  EXPECT_EQ(ok->ground_truth->retention_buffer, Seconds(7 * 86400));
  EXPECT_DOUBLE_EQ(ok->ground_truth->sample_rate, 1.0);
  EXPECT_EQ(ok->ground_truth->recompute_interval, Seconds(30));
  EXPECT_EQ(ok->ground_truth->recompute_memory_mb, 16);
}

TEST(ConfigLoaderTest, RetrainDirectionFollowsMetric) {
  std::string base = R"(model: eta
owner: {team: t}
tier: 2
task: regression
source: {paths: [x]}
ground_truth:
  paths: [y]
)";
  EXPECT_TRUE(ParseModelConfig(base + "  retrain_when: {metric: mae, above: 8}\n", "m.yaml"));
  auto wrong = ParseModelConfig(base + "  retrain_when: {metric: mae, below: 8}\n", "m.yaml");
  ASSERT_FALSE(wrong);
  EXPECT_NE(ErrorsOf(wrong).find("use \"above\""), std::string::npos);
}

TEST(ConfigLoaderTest, GroundTruthWindowsMustBeLongerThanTheDelay) {
  const std::string base = std::string(kMinimal) + "ground_truth:\n  paths: [y]\n";
  // Each window no longer than the delay is reported at its list item.
  auto r = ParseModelConfig(base + "  delay: 30d\n  windows: [7d, 30d, 60d]\n", "m.yaml");
  ASSERT_FALSE(r);
  const std::string errors = ErrorsOf(r);
  EXPECT_NE(errors.find("m.yaml:9:13: error: ground_truth window 7d is not longer than the label "
                        "delay 30d"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("m.yaml:9:17: error: ground_truth window 30d"), std::string::npos)
      << errors;
  EXPECT_EQ(errors.find("window 60d"), std::string::npos) << errors;
  // The default window (30d) is reported at the delay.
  auto d = ParseModelConfig(base + "  delay: 30d\n", "m.yaml");
  ASSERT_FALSE(d);
  EXPECT_NE(ErrorsOf(d).find("m.yaml:8:10: error: ground_truth window 30d"), std::string::npos)
      << ErrorsOf(d);
  EXPECT_TRUE(ParseModelConfig(base + "  delay: 2d\n", "m.yaml")) << "2d delay, 30d window";
}

TEST(ConfigLoaderTest, RetrainWindowIsOneOfTheGroundTruthWindows) {
  const std::string base =
      std::string(kMinimal) + "ground_truth:\n  paths: [y]\n  windows: [7d, 30d]\n";
  auto ok =
      ParseModelConfig(base + "  retrain_when: {metric: auc, below: 0.8, window: 30d}\n", "m.yaml");
  ASSERT_TRUE(ok) << ErrorsOf(ok);
  EXPECT_EQ(ok->ground_truth->retrain_when->window, "30d");
  auto bad =
      ParseModelConfig(base + "  retrain_when: {metric: auc, below: 0.8, window: 14d}\n", "m.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(ErrorsOf(bad).find("m.yaml:9:51: error: ground_truth.retrain_when.window 14d is not "
                               "one of ground_truth.windows (7d, 30d)"),
            std::string::npos)
      << ErrorsOf(bad);
}

TEST(ConfigLoaderTest, ConfidenceMinRatioIsConfigurable) {
  auto def = ParseModelConfig(kMinimal, "m.yaml");
  ASSERT_TRUE(def) << ErrorsOf(def);
  EXPECT_DOUBLE_EQ(def->confidence_min_ratio, 0.9);
  auto r = ParseModelConfig(std::string(kMinimal) + "confidence: {min_ratio: 0.8}\n", "m.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  EXPECT_DOUBLE_EQ(r->confidence_min_ratio, 0.8);
  auto bad = ParseModelConfig(std::string(kMinimal) + "confidence: {min_ratio: 1.5}\n", "m.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(ErrorsOf(bad).find("m.yaml:6:25: error:"), std::string::npos) << ErrorsOf(bad);
}

TEST(ConfigLoaderTest, EntropyComparesWithTheBaselineWhenThereIsOne) {
  auto none = ParseModelConfig(kMinimal, "m.yaml");
  ASSERT_TRUE(none) << ErrorsOf(none);
  EXPECT_EQ(none->entropy.Effective(!none->baseline.empty()), EntropyCompare::kWindows);
  const std::string with = std::string(kMinimal) + "baseline: " MODELWATCH_SOURCE_DIR
                                                   "/examples/baselines/fraud-detector.json\n";
  auto def = ParseModelConfig(with, "m.yaml");
  ASSERT_TRUE(def) << ErrorsOf(def);
  EXPECT_EQ(def->entropy.Effective(true), EntropyCompare::kBaseline);
  EXPECT_DOUBLE_EQ(def->entropy.sigmas, 1.0);
  EXPECT_EQ(def->entropy.window, "");
  auto r = ParseModelConfig(with + "entropy: {window: 1h, sigmas: 2}\n", "m.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  EXPECT_EQ(r->entropy.window, "1h");
  EXPECT_DOUBLE_EQ(r->entropy.sigmas, 2.0);
  auto w = ParseModelConfig(with + "entropy: {compare: windows, max_ratio: 1.5}\n", "m.yaml");
  ASSERT_TRUE(w) << ErrorsOf(w);
  EXPECT_EQ(w->entropy.Effective(true), EntropyCompare::kWindows);
  EXPECT_DOUBLE_EQ(w->entropy.max_ratio, 1.5);
}

TEST(ConfigLoaderTest, MissingThresholdsDefaultAndAreChecked) {
  const std::string with = std::string(kMinimal) + "baseline: " MODELWATCH_SOURCE_DIR
                                                   "/examples/baselines/fraud-detector.json\n";
  auto def = ParseModelConfig(with, "m.yaml");
  ASSERT_TRUE(def) << ErrorsOf(def);
  EXPECT_DOUBLE_EQ(def->missing_warn, 0.1);
  EXPECT_DOUBLE_EQ(def->missing_critical, 0.5);
  auto r = ParseModelConfig(with + "missing: {warn: 0.05, critical: 1}\n", "m.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  EXPECT_DOUBLE_EQ(r->missing_warn, 0.05);
  EXPECT_DOUBLE_EQ(r->missing_critical, 1.0);
  auto order = ParseModelConfig(with + "missing: {warn: 0.6}\n", "m.yaml");
  ASSERT_FALSE(order);
  EXPECT_NE(ErrorsOf(order).find("m.yaml:7:17: error: missing.warn 0.6 must be below "
                                 "missing.critical 0.5"),
            std::string::npos)
      << ErrorsOf(order);
  auto range = ParseModelConfig(with + "missing: {critical: 0}\n", "m.yaml");
  ASSERT_FALSE(range);
  EXPECT_NE(ErrorsOf(range).find("m.yaml:7:21: error: \"missing.critical\""), std::string::npos)
      << ErrorsOf(range);
  auto no_baseline = ParseModelConfig(std::string(kMinimal) + "missing: {warn: 0.2}\n", "m.yaml");
  ASSERT_FALSE(no_baseline);
  EXPECT_NE(ErrorsOf(no_baseline).find("m.yaml:6:10: error: missing needs a baseline profile"),
            std::string::npos)
      << ErrorsOf(no_baseline);
  auto typo = ParseModelConfig(with + "missing: {warning: 0.2}\n", "m.yaml");
  ASSERT_FALSE(typo);
  EXPECT_NE(ErrorsOf(typo).find("m.yaml:7:11: error:"), std::string::npos) << ErrorsOf(typo);
}

TEST(ConfigLoaderTest, EntropyErrorsAreLocated) {
  const std::string with = std::string(kMinimal) + "baseline: b.json\n";
  auto window = ParseModelConfig(with + "entropy: {window: 7d}\n", "m.yaml");
  ASSERT_FALSE(window);
  EXPECT_NE(ErrorsOf(window).find("m.yaml:7:19: error: entropy.window 7d is not one of "
                                  "drift.windows (1h, 24h)"),
            std::string::npos)
      << ErrorsOf(window);
  auto no_baseline =
      ParseModelConfig(std::string(kMinimal) + "entropy: {compare: baseline}\n", "m.yaml");
  ASSERT_FALSE(no_baseline);
  EXPECT_NE(ErrorsOf(no_baseline)
                .find("m.yaml:6:20: error: entropy.compare: baseline needs a "
                      "baseline profile"),
            std::string::npos)
      << ErrorsOf(no_baseline);
  auto mixed = ParseModelConfig(with + "entropy: {max_ratio: 1.5}\n", "m.yaml");
  ASSERT_FALSE(mixed);
  EXPECT_NE(ErrorsOf(mixed).find("m.yaml:7:22: error: entropy.max_ratio applies to "
                                 "entropy.compare: windows only"),
            std::string::npos)
      << ErrorsOf(mixed);
  auto sigmas = ParseModelConfig(with + "entropy: {sigmas: 0}\n", "m.yaml");
  ASSERT_FALSE(sigmas);
  EXPECT_NE(ErrorsOf(sigmas).find("m.yaml:7:19: error: \"entropy.sigmas\""), std::string::npos)
      << ErrorsOf(sigmas);
  std::string regression = kMinimal;
  regression.replace(regression.find("binary_classification"), 21, "regression");
  auto reg = ParseModelConfig(regression + "entropy: {compare: windows}\n", "m.yaml");
  ASSERT_FALSE(reg);
  EXPECT_NE(ErrorsOf(reg).find("error: entropy applies to classifiers only"), std::string::npos)
      << ErrorsOf(reg);
}

TEST(ConfigLoaderTest, ThroughputDefaultsOptionsAndLocatedErrors) {
  auto def = ParseModelConfig(kMinimal, "m.yaml");
  ASSERT_TRUE(def) << ErrorsOf(def);
  EXPECT_EQ(def->throughput.compare, ThroughputCompare::kHour);
  EXPECT_DOUBLE_EQ(def->throughput.drop, 0.5);
  EXPECT_FALSE(def->throughput.window.has_value());
  EXPECT_DOUBLE_EQ(def->throughput.min_rate, 0.1);
  auto r = ParseModelConfig(
      std::string(kMinimal) + "throughput: {compare: day, drop: 0.8, window: 10m, min_rate: 0}\n",
      "m.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  EXPECT_EQ(r->throughput.compare, ThroughputCompare::kDay);
  EXPECT_DOUBLE_EQ(r->throughput.drop, 0.8);
  EXPECT_EQ(r->throughput.window, Seconds(600));
  EXPECT_DOUBLE_EQ(r->throughput.min_rate, 0);
  auto bad = ParseModelConfig(
      std::string(kMinimal) + "throughput: {compare: week, drop: 1, min_rate: -1}\n", "m.yaml");
  ASSERT_FALSE(bad);
  const std::string errors = ErrorsOf(bad);
  EXPECT_NE(errors.find("m.yaml:6:23: error: \"throughput.compare\" must be one of hour, day"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("m.yaml:6:35: error: \"throughput.drop\" must be in (0, 1)"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("m.yaml:6:48: error: \"throughput.min_rate\""), std::string::npos)
      << errors;
  auto old = ParseModelConfig(std::string(kMinimal) + "throughput: {min_ratio: 0.2}\n", "m.yaml");
  ASSERT_FALSE(old);
  EXPECT_NE(ErrorsOf(old).find("m.yaml:6:25: error: throughput.min_ratio was replaced by "
                               "throughput.drop"),
            std::string::npos)
      << ErrorsOf(old);
  auto hour = ParseModelConfig(std::string(kMinimal) + "throughput: {window: 1h}\n", "m.yaml");
  ASSERT_FALSE(hour);
  EXPECT_NE(ErrorsOf(hour).find("m.yaml:6:22: error: throughput.window 1h must be shorter than"),
            std::string::npos)
      << ErrorsOf(hour);
}

TEST(ConfigLoaderTest, FeatureAlertDefaultsToTrueAndCanBeTurnedOff) {
  auto r = ParseModelConfig(std::string(kMinimal) +
                                "features:\n"
                                "  - {name: amount, type: numeric}\n"
                                "  - {name: hour_of_day, type: numeric, alert: false}\n",
                            "m.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  ASSERT_EQ(r->features.size(), 2u);
  EXPECT_TRUE(r->features[0].alert);
  EXPECT_FALSE(r->features[1].alert);
  auto bad = ParseModelConfig(std::string(kMinimal) +
                                  "features:\n"
                                  "  - {name: hour_of_day, alert: no}\n",
                              "m.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(ErrorsOf(bad),
            "m.yaml:7:32: error: \"features[].alert\" must be true or false, got \"no\"\n");
}

TEST(ConfigLoaderTest, FeatureDriftOverridesInheritWhatTheyDoNotSet) {
  auto r =
      ParseModelConfig(std::string(kMinimal) +
                           "features:\n"
                           "  - {name: amount, type: numeric}\n"
                           "  - {name: country, type: categorical,\n"
                           "     drift: {method: chi2, warn: 20, critical: 40}}\n"
                           "  - {name: age, drift: {warn: 0.15, windows: [1440m]}}\n"
                           "drift: {windows: [1h, 24h], method: ks, warn: 0.1, critical: 0.3}\n",
                       "m.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  const ModelConfig& m = *r;
  EXPECT_FALSE(m.features[0].drift.has_value());
  const FeatureDriftSettings amount = EffectiveFeatureDrift(m.drift, m.features[0]);
  EXPECT_FALSE(amount.overridden);
  EXPECT_EQ(amount.method, DriftMethod::kKs);
  ASSERT_EQ(amount.windows.size(), 2u);

  ASSERT_TRUE(m.features[1].drift.has_value());
  const FeatureDriftSettings country = EffectiveFeatureDrift(m.drift, m.features[1]);
  EXPECT_TRUE(country.overridden);
  EXPECT_EQ(country.method, DriftMethod::kChi2);
  EXPECT_DOUBLE_EQ(country.warn, 20);
  EXPECT_DOUBLE_EQ(country.critical, 40);
  EXPECT_EQ(country.windows.size(), 2u);

  // Windows are matched by length and keep the model's spelling (the `window` label).
  const FeatureDriftSettings age = EffectiveFeatureDrift(m.drift, m.features[2]);
  EXPECT_TRUE(age.overridden);
  EXPECT_EQ(age.method, DriftMethod::kKs);
  EXPECT_DOUBLE_EQ(age.warn, 0.15);
  EXPECT_DOUBLE_EQ(age.critical, 0.3);
  ASSERT_EQ(age.windows.size(), 1u);
  EXPECT_EQ(age.windows[0].label, "24h");
}

TEST(ConfigLoaderTest, FeatureDriftOverrideErrorsAreLocated) {
  auto r = ParseModelConfig(std::string(kMinimal) +                                        // line
                                "features:\n"                                              // 6
                                "  - {name: a, drift: {method: chi2}}\n"                   // 7
                                "  - {name: b, type: categorical, drift: {method: ks}}\n"  // 8
                                "  - {name: c, drift: {method: js}}\n"                     // 9
                                "  - {name: d, drift: {warn: 0.5}}\n"                      // 10
                                "  - {name: e, drift: {warn: 0.1, critical: 0.05}}\n"      // 11
                                "  - {name: f, drift: {critical: 2, method: ks}}\n"        // 12
                                "  - {name: g, drift: {windows: [2h, 24h, 1d]}}\n"         // 13
                                "  - {name: h, drift: {windows: []}}\n"                    // 14
                                "  - {name: i, alert: false, drift: {warn: 0.1}}\n"        // 15
                                "  - {name: j, pii: true, drift: {warn: 0.1}}\n"           // 16
                                "  - {name: k, drift: {metod: psi, warn: \"0.1\"}}\n"      // 17
                                "  - {name: l, drift: psi}\n"                              // 18
                                "drift: {methods: [psi, ks], warn: 0.2, critical: 0.3}\n",
                            "m.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrorsOf(r),
            "m.yaml:7:31: error: drift method chi2 does not apply to feature \"a\", which is "
            "numeric (chi2: categorical only; ks, wasserstein: numeric only)\n"
            "m.yaml:8:50: error: drift method ks does not apply to feature \"b\", which is "
            "categorical (chi2: categorical only; ks, wasserstein: numeric only)\n"
            "m.yaml:9:31: error: drift method js of feature \"c\" is not exported: add it to "
            "drift.methods\n"
            "m.yaml:10:29: error: features[].drift.warn of feature \"d\" must be below its "
            "critical 0.3 (the model's drift.critical)\n"
            "m.yaml:11:44: error: features[].drift.warn of feature \"e\" must be below its "
            "critical 0.05\n"
            "m.yaml:12:33: error: critical 2 of feature \"f\" must be at most 1 for method ks\n"
            "m.yaml:13:33: error: window 2h of feature \"g\" is not one of drift.windows (1h, "
            "24h)\n"
            "m.yaml:13:42: error: window 1d is listed twice\n"
            "m.yaml:14:32: error: \"features[].drift.windows\" must list some of drift.windows, "
            "got an empty list\n"
            "m.yaml:15:36: error: feature \"i\" has alert: false: no alert would use its drift "
            "settings (remove one of the two)\n"
            "m.yaml:16:33: error: feature \"j\" is pii: true: its drift is never exported, so it "
            "takes no drift settings\n"
            "m.yaml:17:23: error: unknown key \"metod\" in features[].drift (did you mean "
            "\"method\"?)\n"
            "m.yaml:17:41: error: \"features[].drift.warn\" must be a number, got \"0.1\"\n"
            "m.yaml:18:22: error: features[].drift must be a mapping, got \"psi\"\n");
}

TEST(ConfigLoaderTest, FeatureWhoseMethodDoesNotApplyCanNeverAlert) {
  const std::string model = std::string(kMinimal) +
                            "features:\n"                                                 // 6
                            "  - {name: distance, type: numeric}\n"                       // 7
                            "  - {name: city, type: categorical}\n"                       // 8
                            "  - {name: store, type: categorical, drift: {warn: 0.2}}\n"  // 9
                            "  - {name: weekday, type: categorical, alert: false}\n"      // 10
                            "  - {name: vehicle, type: categorical, drift: {method: psi}}\n"
                            "  - {name: address, type: categorical, pii: true}\n"
                            "drift: {method: wasserstein, warn: 0.1, critical: 0.25}\n";
  auto r = ParseModelConfig(model, "m.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrorsOf(r),
            "m.yaml:8:5: error: feature \"city\" can never alert: drift.method wasserstein does "
            "not apply to categorical features; give the feature a method of its own (drift: "
            "{method: psi}) or set alert: false\n"
            "m.yaml:9:45: error: feature \"store\" can never alert: drift.method wasserstein does "
            "not apply to categorical features; give the feature a method of its own (drift: "
            "{method: psi}) or set alert: false\n");
  // The hint names a method the exporter exports.
  auto chi2 = ParseModelConfig(std::string(kMinimal) +
                                   "features:\n"
                                   "  - {name: city, type: categorical}\n"
                                   "drift: {method: ks, methods: [ks, chi2]}\n",
                               "m.yaml");
  EXPECT_NE(ErrorsOf(chi2).find("(drift: {method: chi2}) or set alert: false"), std::string::npos)
      << ErrorsOf(chi2);
}

TEST(ConfigLoaderTest, NeverThrowsOnGarbage) {
  for (const char* text : {"{", "[", "\t", "model: [", "? : :", "&a *a", "!!binary x",
                           "model: churn\nmodel: x\n", "---\n---\n", "\xff\xfe"}) {
    auto r = ParseModelConfig(text, "g.yaml");
    EXPECT_FALSE(r) << text;
  }
}

class ConfigDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mw-config-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

TEST_F(ConfigDirTest, LoadsModelsSortedAndFleetDefaults) {
  Write("b.yaml", std::string(kMinimal));
  std::string other = kMinimal;
  other.replace(other.find("churn"), 5, "alpha");
  Write("a.yml", other);
  Write("notes.txt", "ignored");
  auto r = LoadConfigDir(dir_.string());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->models.size(), 2u);
  EXPECT_EQ(r->models[0].name, "alpha");
  EXPECT_EQ(r->models[1].name, "churn");
  EXPECT_EQ(r->fleet.Tier(1).evaluation_interval, Seconds(30));
  EXPECT_NE(r->Find("churn"), nullptr);
  EXPECT_EQ(r->Find("nope"), nullptr);
}

// The model files are parsed on several threads; what comes out must be what one file after
// the other in name order gives: every model, every file's errors, and a duplicate name
// reported against the first file (by name) that defines it.
TEST_F(ConfigDirTest, ManyFilesGiveTheResultOfOneAfterTheOther) {
  auto model = [](const std::string& name) {
    std::string text = kMinimal;
    text.replace(text.find("churn"), 5, name);
    return text;
  };
  std::vector<std::string> expected;
  for (int i = 0; i < 60; ++i) {
    const std::string name = "m" + std::to_string(100 + i);
    Write(name + ".yaml", model(name));
    expected.push_back(name);
  }
  auto ok = LoadConfigDir(dir_.string());
  ASSERT_TRUE(ok);
  std::vector<std::string> names;
  for (const ModelConfig& m : ok->models) names.push_back(m.name);
  EXPECT_EQ(names, expected);

  std::string bad_tier = model("m105");
  bad_tier.replace(bad_tier.find("tier: 2"), 7, "tier: 9");
  Write("m105.yaml", bad_tier);
  Write("m150.yaml", model("m107"));  // m107.yaml defines it first
  Write("m120.yaml", "model: [unclosed\n");
  auto bad = LoadConfigDir(dir_.string());
  ASSERT_FALSE(bad);
  std::string errors;
  for (const Error& e : bad.error()) errors += e.ToString() + "\n";
  const std::string prefix = dir_.string() + "/";
  EXPECT_NE(errors.find(prefix + "m105.yaml:3:7: error: "), std::string::npos) << errors;
  EXPECT_NE(errors.find(prefix + "m120.yaml:"), std::string::npos) << errors;
  EXPECT_NE(errors.find(prefix + "m150.yaml:1:8: error: model \"m107\" is already defined in " +
                        prefix + "m107.yaml:1"),
            std::string::npos)
      << errors;
  EXPECT_EQ(bad.error().size(), 3u) << errors;
}

TEST_F(ConfigDirTest, FleetOverridesTiersAndReceivers) {
  Write("m.yaml", kMinimal);
  Write("modelwatch.yaml", R"(receivers:
  pagerduty: {routing_key_file: /etc/am/pd-key, url: "http://127.0.0.1:1/pd"}
  slack: {api_url_file: /etc/am/slack-url}
tiers:
  1: {evaluation_interval: 1s, for: 5s}
)");
  auto r = LoadConfigDir(dir_.string());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->fleet.Tier(1).evaluation_interval, Seconds(1));
  EXPECT_EQ(r->fleet.Tier(1).for_duration, Seconds(5));
  EXPECT_EQ(r->fleet.Tier(2).evaluation_interval, Seconds(60));
  EXPECT_EQ(r->fleet.receivers.pagerduty_routing_key_file, "/etc/am/pd-key");
  EXPECT_EQ(r->fleet.receivers.slack_api_url_file, "/etc/am/slack-url");
}

TEST_F(ConfigDirTest, EmailRequireTlsDefaultsToTrueAndCanBeTurnedOff) {
  auto errors_of = [](const MultiResult<ConfigSet>& r) {
    std::string out;
    if (!r) {
      for (const auto& e : r.error()) out += e.ToString() + "\n";
    }
    return out;
  };
  Write("m.yaml", kMinimal);
  auto defaults = LoadConfigDir(dir_.string());
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(defaults->fleet.receivers.email_require_tls);

  Write("modelwatch.yaml", R"(receivers:
  email: {smarthost: "127.0.0.1:2525", require_tls: false}
)");
  auto off = LoadConfigDir(dir_.string());
  ASSERT_TRUE(off) << errors_of(off);
  EXPECT_FALSE(off->fleet.receivers.email_require_tls);
  EXPECT_EQ(off->fleet.receivers.email_smarthost, "127.0.0.1:2525");

  Write("modelwatch.yaml", "receivers:\n  email: {require_tls: sometimes}\n");
  auto bad = LoadConfigDir(dir_.string());
  ASSERT_FALSE(bad);
  EXPECT_NE(errors_of(bad).find("receivers.email.require_tls"), std::string::npos)
      << errors_of(bad);
}

TEST_F(ConfigDirTest, BaselineMayBeMissingForTheBaselineCommand) {
  Write("m.yaml", std::string(kMinimal) + "baseline: base.json\n");
  EXPECT_FALSE(LoadConfigDir(dir_.string()));
  LoadOptions allow_missing;
  allow_missing.baseline = BaselineCheck::kAllowMissing;
  auto r = LoadConfigDir(dir_.string(), allow_missing);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->models[0].baseline, (dir_ / "base.json").string());
}

TEST_F(ConfigDirTest, EmptyOrMissingDirectoryIsAnError) {
  EXPECT_FALSE(LoadConfigDir(dir_.string()));
  EXPECT_FALSE(LoadConfigDir((dir_ / "nope").string()));
}

}  // namespace
}  // namespace modelwatch
