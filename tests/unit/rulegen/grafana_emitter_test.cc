#include "rulegen/grafana_emitter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rulegen/grafana_templates.h"
#include "rulegen/series.h"

namespace modelwatch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kTemplateDir = std::string(MODELWATCH_SOURCE_DIR) + "/dashboards";

DashboardTemplates Templates() {
  auto t = LoadDashboardTemplates(kTemplateDir);
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().ToString());
  return t ? *t : DashboardTemplates{};
}

ModelConfig Model(const std::string& name, Task task = Task::kBinaryClassification) {
  ModelConfig m;
  m.name = name;
  m.file = "models/" + name + ".yaml";
  m.owner.team = "team-a";
  m.tier = 2;
  m.task = task;
  m.features = {{"amount", FeatureType::kNumeric, false, false, {}},
                {"country", FeatureType::kCategorical, false, false, {}},
                {"email", FeatureType::kCategorical, true, false, {}}};
  m.drift.windows = {{"1h", Seconds(3600)}, {"24h", Seconds(86400)}};
  return m;
}

ModelConfig FullModel(const std::string& name) {
  ModelConfig m = Model(name);
  m.slo = SloConfig{};
  m.slo->latency_p99_ms = 250;
  m.slo->error_rate = 0.01;
  m.slo->availability = 0.999;
  GroundTruthConfig gt;
  gt.min_match_rate = 0.8;
  RetrainConfig retrain;
  retrain.metric = "auc";
  retrain.below = 0.8;
  gt.retrain_when = retrain;
  m.ground_truth = gt;
  m.shadow = ShadowConfig{};
  m.shadow->champion = "v3";
  m.shadow->challenger = "v4";
  m.shadow->min_agreement = 0.95;
  return m;
}

ConfigSet Configs(std::vector<ModelConfig> models) {
  ConfigSet c;
  c.dir = "models";
  c.models = std::move(models);
  return c;
}

std::vector<std::string> RowTitles(const Json& dashboard) {
  std::vector<std::string> rows;
  for (const Json& p : dashboard["panels"]) {
    if (p["type"] == "row") rows.push_back(p["title"].get<std::string>());
  }
  return rows;
}

std::vector<std::string> Exprs(const Json& dashboard) {
  std::vector<std::string> out;
  for (const Json& p : dashboard["panels"]) {
    if (!p.contains("targets")) continue;
    for (const Json& t : p["targets"]) out.push_back(t["expr"].get<std::string>());
  }
  return out;
}

bool AnyExprContains(const Json& dashboard, const std::string& needle) {
  for (const std::string& e : Exprs(dashboard)) {
    if (e.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(GrafanaEmitterTest, EmitsOneDashboardPerModelOverviewAndProvisioning) {
  OutputFiles out;
  GrafanaEmitter(kTemplateDir).Emit(Configs({FullModel("fraud"), Model("eta")}), out);
  std::set<std::string> paths;
  for (const auto& [path, content] : out) paths.insert(path);
  EXPECT_EQ(paths,
            (std::set<std::string>{"dashboards/eta.json", "dashboards/fraud.json",
                                   "dashboards/overview.json", "dashboards/provisioning.yml"}));
  EXPECT_THAT(out["dashboards/provisioning.yml"], HasSubstr("apiVersion: 1\nproviders:\n"));
  EXPECT_THAT(out["dashboards/provisioning.yml"],
              HasSubstr(std::string("path: ") + kGrafanaDashboardPath + "\n"));
  EXPECT_THAT(out["dashboards/provisioning.yml"], HasSubstr("generated \u2014 do not edit"));
  EXPECT_THAT(out["dashboards/provisioning.yml"], Not(HasSubstr("@")));
}

TEST(GrafanaEmitterTest, OutputIsByteIdenticalOnReRun) {
  ConfigSet config = Configs({FullModel("fraud"), Model("intent", Task::kMulticlassClassification),
                              Model("eta", Task::kRegression)});
  OutputFiles first;
  OutputFiles second;
  GrafanaEmitter(kTemplateDir).Emit(config, first);
  GrafanaEmitter(kTemplateDir).Emit(config, second);
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first, second);
  // And a model's dashboard does not depend on which other models exist.
  OutputFiles alone;
  GrafanaEmitter(kTemplateDir).Emit(Configs({FullModel("fraud")}), alone);
  EXPECT_EQ(alone["dashboards/fraud.json"], first["dashboards/fraud.json"]);
}

// The emitter writes dashboards as text, not through nlohmann's dump(): the text must be what
// dump(2) writes of the same document, byte for byte.
TEST(GrafanaEmitterTest, DashboardTextIsWhatDumpWrites) {
  Json doc = Json::parse(R"({"s": "plain", "esc": "q\" b\\ \b\f\n\r\t \u0001\u001f \u007f",
                             "utf8": "\u2014 \u00fc", "empty_o": {}, "empty_a": [],
                             "nested": {"a": [1, -2, 3.5, 1e-05, 0.1, 1e300, true, false, null],
                                        "b": {"c": [[], {}, [{}]]}},
                             "big": 18446744073709551615, "neg": -9223372036854775808,
                             "float": 2.0, "zero": 0.0})");
  doc["ordered"] = Json::object();
  doc["ordered"]["z"] = 1;
  doc["ordered"]["a"] = 2;
  EXPECT_EQ(DashboardText(doc), doc.dump(2) + "\n");
  EXPECT_EQ(DashboardText(Json::object()), "{}\n");

  const DashboardTemplates t = Templates();
  std::vector<ModelConfig> models = {FullModel("fraud"),
                                     Model("intent", Task::kMulticlassClassification),
                                     Model("eta", Task::kRegression)};
  models[1].description = "Routes \"support\" tickets \u2014 with a tab\t.";
  const ConfigSet config = Configs(models);
  for (const ModelConfig& m : config.models) {
    const std::string text = ModelDashboardText(config, m, t);
    EXPECT_EQ(text, ModelDashboard(config, m, t).dump(2) + "\n") << m.name;
    EXPECT_EQ(DashboardText(Json::parse(text)), text) << m.name;
  }
  const std::string overview = OverviewDashboardText(config, t);
  EXPECT_EQ(overview, OverviewDashboard(config, t).dump(2) + "\n");
}

// The emitter merges each panel's options and fieldConfig once per distinct template and
// settings for the whole fleet: a model whose panels differ from an earlier model's only in a
// threshold, a unit or an objective must still get its own, as one dashboard made alone has.
TEST(GrafanaEmitterTest, FleetDashboardsAreWhatEachModelGivesAlone) {
  const DashboardTemplates t = Templates();
  std::vector<ModelConfig> models;
  for (int i = 0; i < 4; ++i) {
    ModelConfig m = FullModel("full-" + std::to_string(i));
    m.slo->latency_p99_ms = 250 + 50 * (i % 2);
    m.slo->error_rate = i < 2 ? 0.01 : 0.02;
    m.slo->availability = i == 3 ? 0.99 : 0.999;
    m.ground_truth->min_match_rate = i == 2 ? 0.7 : 0.8;
    m.ground_truth->retrain_when->below = 0.8 - 0.05 * i;
    models.push_back(m);
  }
  models.push_back(Model("intent", Task::kMulticlassClassification));
  models.push_back(Model("eta", Task::kRegression));
  models.push_back(Model("plain"));
  models.back().slo = SloConfig{};
  models.back().slo->error_rate = 0.05;
  const ConfigSet config = Configs(models);
  OutputFiles out;
  GrafanaEmitter(kTemplateDir).Emit(config, out);
  std::set<std::string> texts;
  for (const ModelConfig& m : config.models) {
    const std::string alone = ModelDashboardText(config, m, t);
    EXPECT_EQ(out.at("dashboards/" + m.name + ".json"), alone) << m.name;
    // The settings above give seven different sets of panels.
    texts.insert(Json::parse(alone)["panels"].dump());
  }
  EXPECT_EQ(texts.size(), config.models.size());
  EXPECT_EQ(out.at("dashboards/overview.json"), OverviewDashboardText(config, t));
}

TEST(GrafanaEmitterTest, UidIsStableShortAndDerivedFromTheName) {
  DashboardTemplates t = Templates();
  ModelConfig m = FullModel("fraud-detector");
  Json a = ModelDashboard(Configs({m}), m, t);
  EXPECT_EQ(a["uid"], "mw-fraud-detector");
  EXPECT_EQ(a["uid"], series::DashboardUid("fraud-detector"));

  // Changing anything but the name keeps the uid (bookmarks and alert links survive).
  ModelConfig changed = m;
  changed.tier = 1;
  changed.owner.team = "other";
  changed.slo.reset();
  EXPECT_EQ(ModelDashboard(Configs({changed}), changed, t)["uid"], a["uid"]);

  // Long names: at most 40 characters, still distinct.
  const std::string long1(60, 'a');
  const std::string long2 = std::string(59, 'a') + "b";
  std::string uid1 = ModelDashboard(Configs({Model(long1)}), Model(long1), t)["uid"];
  std::string uid2 = ModelDashboard(Configs({Model(long2)}), Model(long2), t)["uid"];
  EXPECT_LE(uid1.size(), 40u);
  EXPECT_LE(uid2.size(), 40u);
  EXPECT_NE(uid1, uid2);
  EXPECT_TRUE(std::all_of(uid1.begin(), uid1.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }));

  EXPECT_EQ(OverviewDashboard(Configs({m}), t)["uid"], series::kOverviewDashboardUid);
}

TEST(GrafanaEmitterTest, GroundTruthAndShadowRowsOnlyWhenConfigured) {
  DashboardTemplates t = Templates();
  ModelConfig full = FullModel("fraud");
  std::vector<std::string> rows = RowTitles(ModelDashboard(Configs({full}), full, t));
  EXPECT_EQ(rows, (std::vector<std::string>{"SLA overview", "Model health", "Ground truth",
                                            "Shadow: v4 vs v3", "Exporter"}));

  ModelConfig bare = Model("eta", Task::kRegression);
  Json dash = ModelDashboard(Configs({bare}), bare, t);
  EXPECT_EQ(RowTitles(dash),
            (std::vector<std::string>{"SLA overview", "Model health", "Exporter"}));
  EXPECT_FALSE(AnyExprContains(dash, "model_performance"));
  EXPECT_FALSE(AnyExprContains(dash, "model_label_match_ratio"));
  EXPECT_FALSE(AnyExprContains(dash, "model_shadow_"));

  ModelConfig shadow_only = Model("ranker");
  shadow_only.shadow = ShadowConfig{};
  shadow_only.shadow->champion = "a";
  shadow_only.shadow->challenger = "b";
  EXPECT_EQ(
      RowTitles(ModelDashboard(Configs({shadow_only}), shadow_only, t)),
      (std::vector<std::string>{"SLA overview", "Model health", "Shadow: b vs a", "Exporter"}));
}

TEST(GrafanaEmitterTest, SloPanelsFollowTheConfiguredObjectives) {
  DashboardTemplates t = Templates();
  ModelConfig full = FullModel("fraud");
  Json with_slo = ModelDashboard(Configs({full}), full, t);
  EXPECT_TRUE(AnyExprContains(with_slo, series::kErrorBudgetRemaining));
  EXPECT_TRUE(AnyExprContains(with_slo, series::kLatencyBudgetRemaining));
  EXPECT_TRUE(AnyExprContains(with_slo, series::kLatencyObjectiveSeconds));
  EXPECT_TRUE(AnyExprContains(with_slo, "1 - " + series::ErrorRatio("30d")));

  ModelConfig latency_only = Model("eta", Task::kRegression);
  latency_only.slo = SloConfig{};
  latency_only.slo->latency_p99_ms = 100;
  Json lat = ModelDashboard(Configs({latency_only}), latency_only, t);
  EXPECT_TRUE(AnyExprContains(lat, series::kLatencyBudgetRemaining));
  EXPECT_FALSE(AnyExprContains(lat, series::kErrorBudgetRemaining));
  EXPECT_FALSE(AnyExprContains(lat, series::kErrorObjective));

  ModelConfig none = Model("x");
  Json bare = ModelDashboard(Configs({none}), none, t);
  EXPECT_FALSE(AnyExprContains(bare, "budget_remaining"));
  EXPECT_FALSE(AnyExprContains(bare, "objective"));
}

TEST(GrafanaEmitterTest, PanelsFollowTheTask) {
  DashboardTemplates t = Templates();
  ModelConfig binary = Model("fraud");
  ModelConfig multi = Model("intent", Task::kMulticlassClassification);
  ModelConfig reg = Model("eta", Task::kRegression);
  Json b = ModelDashboard(Configs({binary}), binary, t);
  Json m = ModelDashboard(Configs({multi}), multi, t);
  Json r = ModelDashboard(Configs({reg}), reg, t);
  EXPECT_TRUE(AnyExprContains(b, "model_positive_rate_zscore"));
  EXPECT_FALSE(AnyExprContains(m, "model_positive_rate"));
  EXPECT_TRUE(AnyExprContains(m, series::kClassShare1h));
  EXPECT_TRUE(AnyExprContains(b, "model_prediction_score_bucket"));
  EXPECT_FALSE(AnyExprContains(r, "model_prediction_score_bucket"));
  EXPECT_FALSE(AnyExprContains(r, "model_prediction_confidence_mean"));
}

std::set<std::string> PanelTitles(const Json& dashboard) {
  std::set<std::string> titles;
  for (const Json& p : dashboard["panels"]) {
    if (p["type"] != "row") titles.insert(p["title"].get<std::string>());
  }
  return titles;
}

// Each task's dashboard shows exactly the task-specific panels whose metrics the exporter
// produces for that task: the score histogram and positive rate only for binary models,
// the per-class volume and share only for multiclass, confidence, entropy and estimated
// performance only for classifiers.
TEST(GrafanaEmitterTest, TaskSpecificPanelSetsMatchTheExportedMetrics) {
  DashboardTemplates t = Templates();
  ModelConfig binary = Model("fraud");
  ModelConfig multi = Model("intent", Task::kMulticlassClassification);
  ModelConfig reg = Model("eta", Task::kRegression);
  const std::set<std::string> task_specific = {"Confidence ratio",
                                               "Entropy ratio",
                                               "Score distribution",
                                               "Predictions by class",
                                               "Mean confidence ($window)",
                                               "Mean entropy ($window)",
                                               "Confidence and entropy vs. baseline window",
                                               "Positive rate ($window)",
                                               "Positive-rate shift (z-score, $window)",
                                               "Predicted class share (1h)",
                                               "Estimated performance (without labels)"};
  auto specific = [&](const ModelConfig& m) {
    std::set<std::string> out;
    for (const std::string& title : PanelTitles(ModelDashboard(Configs({m}), m, t))) {
      if (task_specific.count(title) > 0) out.insert(title);
    }
    return out;
  };
  EXPECT_EQ(
      specific(binary),
      (std::set<std::string>{"Confidence ratio", "Entropy ratio", "Score distribution",
                             "Mean confidence ($window)", "Mean entropy ($window)",
                             "Confidence and entropy vs. baseline window",
                             "Positive rate ($window)", "Positive-rate shift (z-score, $window)",
                             "Estimated performance (without labels)"}));
  EXPECT_EQ(
      specific(multi),
      (std::set<std::string>{
          "Confidence ratio", "Entropy ratio", "Predictions by class", "Mean confidence ($window)",
          "Mean entropy ($window)", "Confidence and entropy vs. baseline window",
          "Predicted class share (1h)", "Estimated performance (without labels)"}));
  EXPECT_EQ(specific(reg), std::set<std::string>{});

  // The raw metrics behind them.
  Json b = ModelDashboard(Configs({binary}), binary, t);
  Json m = ModelDashboard(Configs({multi}), multi, t);
  Json r = ModelDashboard(Configs({reg}), reg, t);
  EXPECT_FALSE(AnyExprContains(m, "model_prediction_score"));
  EXPECT_TRUE(AnyExprContains(m, "model_predicted_class_total"));
  EXPECT_FALSE(AnyExprContains(b, "model_predicted_class_total"));
  EXPECT_TRUE(AnyExprContains(b, "model_estimated_performance"));
  EXPECT_TRUE(AnyExprContains(m, "model_estimated_performance"));
  EXPECT_FALSE(AnyExprContains(r, "model_estimated_performance"));
  EXPECT_FALSE(AnyExprContains(r, "model_predicted_class_total"));
  EXPECT_FALSE(AnyExprContains(r, "model_positive_rate"));
  EXPECT_FALSE(AnyExprContains(r, "model_prediction_entropy_mean"));
}

TEST(GrafanaEmitterTest, HeatmapReadsTheClassicHistogram) {
  DashboardTemplates t = Templates();
  ModelConfig m = Model("fraud");
  Json dash = ModelDashboard(Configs({m}), m, t);
  int heatmaps = 0;
  for (const Json& p : dash["panels"]) {
    if (p["type"] != "heatmap") continue;
    ++heatmaps;
    EXPECT_EQ(p["options"]["calculate"], false);
    ASSERT_EQ(p["targets"].size(), 1u);
    EXPECT_EQ(p["targets"][0]["format"], "heatmap");
    EXPECT_EQ(p["targets"][0]["expr"],
              "sum by (le) (increase(model_prediction_score_bucket{model=\"$model\", "
              "version=~\"$version\"}[$__rate_interval]))");
  }
  EXPECT_EQ(heatmaps, 1);
}

TEST(GrafanaEmitterTest, EveryPanelHasUnitDescriptionAndRateInterval) {
  DashboardTemplates t = Templates();
  ModelConfig m = FullModel("fraud");
  ConfigSet config = Configs({m, Model("eta", Task::kRegression)});
  for (const Json& dash : {ModelDashboard(config, m, t), OverviewDashboard(config, t)}) {
    EXPECT_THAT(dash["description"].get<std::string>(), HasSubstr("generated \u2014 do not edit"));
    std::set<int> ids;
    for (const Json& p : dash["panels"]) {
      EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << p["title"];
      const Json& g = p["gridPos"];
      EXPECT_LE(g["x"].get<int>() + g["w"].get<int>(), 24) << p["title"];
      if (p["type"] == "row") continue;
      EXPECT_FALSE(p["description"].get<std::string>().empty()) << p["title"];
      EXPECT_FALSE(p["fieldConfig"]["defaults"]["unit"].get<std::string>().empty()) << p["title"];
    }
    // The range of every rate( / increase( is the first [...] after it.
    for (const std::string& e : Exprs(dash)) {
      for (const std::string fn : {"rate(", "increase("}) {
        for (std::size_t pos = e.find(fn); pos != std::string::npos; pos = e.find(fn, pos + 1)) {
          std::size_t open = e.find('[', pos);
          ASSERT_NE(open, std::string::npos) << e;
          EXPECT_EQ(e.substr(open, e.find(']', open) - open + 1), "[$__rate_interval]") << e;
        }
      }
    }
    std::string text = DashboardText(dash);
    EXPECT_EQ(text.find("@model@"), std::string::npos);
    EXPECT_EQ(text.find("@uid@"), std::string::npos);
  }
}

TEST(GrafanaEmitterTest, PanelsPrefersRecordingRulesForServing) {
  DashboardTemplates t = Templates();
  ModelConfig m = FullModel("fraud");
  Json dash = ModelDashboard(Configs({m}), m, t);
  EXPECT_TRUE(AnyExprContains(dash, series::kVersionPredictionRate5m));
  EXPECT_TRUE(AnyExprContains(dash, series::kVersionLatencyP99));
  EXPECT_TRUE(AnyExprContains(dash, series::kVersionErrorRatio5m));
  EXPECT_FALSE(AnyExprContains(dash, "model_request_duration_seconds_bucket"));
  EXPECT_FALSE(AnyExprContains(dash, "rate(model_predictions_total"));
}

TEST(GrafanaEmitterTest, VariablesAndAlertAnnotations) {
  DashboardTemplates t = Templates();
  ModelConfig m = FullModel("fraud");
  Json dash = ModelDashboard(Configs({m}), m, t);
  std::vector<std::string> names;
  for (const Json& v : dash["templating"]["list"]) {
    names.push_back(v["name"].get<std::string>());
    EXPECT_TRUE(v["query"].is_string()) << v["name"];
  }
  EXPECT_EQ(names, (std::vector<std::string>{"datasource", "model", "version", "window"}));
  EXPECT_EQ(dash["templating"]["list"][1]["current"]["value"], "fraud");
  EXPECT_EQ(dash["templating"]["list"][3]["query"], "1h,24h");
  bool alerts = false;
  for (const Json& a : dash["annotations"]["list"]) {
    if (a.value("expr", "").find("ALERTS{model=\"$model\"") != std::string::npos) alerts = true;
  }
  EXPECT_TRUE(alerts);
}

TEST(GrafanaEmitterTest, OverviewShowsHealthFromAlertsAndDriftAcrossModels) {
  DashboardTemplates t = Templates();
  ModelConfig a = FullModel("fraud");
  ModelConfig b = Model("eta", Task::kRegression);
  b.drift.method = DriftMethod::kJs;
  b.drift.windows = {{"30m", Seconds(1800)}, {"1h", Seconds(3600)}};
  Json dash = OverviewDashboard(Configs({b, a}), t);
  ASSERT_FALSE(dash["panels"].empty());
  const Json* health = nullptr;
  for (const Json& p : dash["panels"]) {
    if (p["title"] == "Model health") health = &p;
  }
  ASSERT_NE(health, nullptr);
  EXPECT_EQ((*health)["type"], "table");
  const std::string expr = (*health)["targets"][0]["expr"];
  EXPECT_THAT(expr, HasSubstr("ALERTS{alertstate=\"firing\", severity=\"page\""));
  EXPECT_THAT(expr, HasSubstr("ALERTS{alertstate=\"firing\", severity=\"ticket\""));
  const Json& mapping = (*health)["fieldConfig"]["defaults"]["mappings"][0]["options"];
  EXPECT_EQ(mapping["0"]["color"], "green");
  EXPECT_EQ(mapping["1"]["color"], "yellow");
  EXPECT_EQ(mapping["2"]["color"], "red");
  EXPECT_TRUE(AnyExprContains(dash, "max by (model) (model_feature_drift{"));

  std::map<std::string, std::string> queries;
  for (const Json& v : dash["templating"]["list"]) queries[v["name"]] = v["query"];
  EXPECT_EQ(queries["method"], "js,psi");
  EXPECT_EQ(queries["window"], "30m,1h,24h");
  const Json& model_var = dash["templating"]["list"][1];
  EXPECT_EQ(model_var["regex"], "/^(eta|fraud)$/");
}

TEST(GrafanaEmitterTest, ConfigMapsCarryTheSidecarLabelAndTheDashboard) {
  OutputFiles out;
  GrafanaEmitter(kTemplateDir).Emit(Configs({Model("my_model")}), out);
  AddGrafanaConfigMaps(out, "monitoring");
  ASSERT_TRUE(out.count("kubernetes/grafana-dashboard-my_model.yaml"));
  ASSERT_TRUE(out.count("kubernetes/grafana-dashboard-overview.yaml"));
  EXPECT_FALSE(out.count("kubernetes/grafana-dashboard-provisioning.yaml"));
  const std::string& cm = out["kubernetes/grafana-dashboard-my_model.yaml"];
  EXPECT_THAT(cm, HasSubstr("kind: ConfigMap\n"));
  EXPECT_THAT(cm, HasSubstr("  name: modelwatch-dashboard-my-model\n"));
  EXPECT_THAT(cm, HasSubstr("  namespace: monitoring\n"));
  EXPECT_THAT(cm, HasSubstr("    grafana_dashboard: \"1\"\n"));
  EXPECT_THAT(cm, HasSubstr("  my_model.json: |\n    {\n      \"uid\": \"mw-my_model\",\n"));
  // The block scalar holds the dashboard verbatim, indented by four spaces.
  std::string unindented;
  std::size_t start = cm.find("    {\n");
  ASSERT_NE(start, std::string::npos);
  for (std::size_t pos = start; pos < cm.size();) {
    std::size_t end = cm.find('\n', pos);
    std::string line = cm.substr(pos, end - pos);
    unindented += (line.size() >= 4 ? line.substr(4) : line) + "\n";
    pos = end + 1;
  }
  EXPECT_EQ(unindented, out["dashboards/my_model.json"]);
}

TEST(GrafanaTemplatesTest, FillTokensReplacesKnownTokensOnly) {
  EXPECT_EQ(FillTokens("a @x@ b @y@ c@", {{"x", "1"}}), "a 1 b @y@ c@");
  EXPECT_EQ(FillTokens("@x@@x@", {{"x", "@x@"}}), "@x@@x@");
  EXPECT_EQ(FillTokens("mail@example.com @x@", {{"x", "2"}}), "mail@example.com 2");
  Json doc = Json::parse(R"({"a": ["@x@", {"b": "-@x@-"}], "n": 1})");
  FillTokens(doc, {{"x", "v"}});
  EXPECT_EQ(doc.dump(), R"({"a":["v",{"b":"-v-"}],"n":1})");
}

TEST(GrafanaTemplatesTest, BuiltInTemplatesAreTheSourceFiles) {
  std::set<std::string> on_disk;
  for (const auto& entry : std::filesystem::directory_iterator(kTemplateDir)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".json" && ext != ".yml") continue;
    const std::string name = entry.path().filename().string();
    on_disk.insert(name);
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    ASSERT_TRUE(EmbeddedDashboardFiles().count(name)) << name;
    EXPECT_EQ(EmbeddedDashboardFiles().at(name), content.str()) << name;
  }
  EXPECT_EQ(on_disk.size(), EmbeddedDashboardFiles().size());
  EXPECT_TRUE(on_disk.count("model.json"));

  // The default emitter uses them, and produces what the source files produce.
  OutputFiles built_in;
  OutputFiles from_dir;
  GrafanaEmitter("").Emit(Configs({FullModel("fraud")}), built_in);
  GrafanaEmitter(kTemplateDir).Emit(Configs({FullModel("fraud")}), from_dir);
  EXPECT_EQ(built_in, from_dir);
}

TEST(GrafanaTemplatesTest, MissingOrBrokenTemplatesAreReported) {
  auto missing = LoadDashboardTemplates("/nonexistent/dir");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().ToString(), HasSubstr("model.json"));
  const std::string dir = testing::TempDir() + "grafana_templates_broken";
  std::filesystem::create_directories(dir);
  for (const char* name : {"model.json", "overview.json", "provisioning.yml"}) {
    std::ofstream(dir + "/" + name) << (std::string(name).ends_with(".json") ? "{}" : "");
  }
  std::ofstream(dir + "/panels.json") << "{\"stat\": [1, 2]";
  auto broken = LoadDashboardTemplates(dir);
  ASSERT_FALSE(broken.has_value());
  EXPECT_THAT(broken.error().ToString(), HasSubstr("panels.json"));
  EXPECT_THAT(broken.error().ToString(), HasSubstr("not valid JSON"));
  std::ofstream(dir + "/panels.json") << "{\"stat\": [1, 2]}";
  broken = LoadDashboardTemplates(dir);
  ASSERT_FALSE(broken.has_value());
  EXPECT_THAT(broken.error().ToString(), HasSubstr("'stat' must be an object"));
  std::ofstream(dir + "/panels.json") << "{\"stat\": {}}";
  EXPECT_TRUE(LoadDashboardTemplates(dir).has_value());
  std::filesystem::remove_all(dir);

  OutputFiles out;
  EXPECT_THROW(GrafanaEmitter("/nonexistent/dir").Emit(Configs({Model("a")}), out),
               std::runtime_error);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace modelwatch
