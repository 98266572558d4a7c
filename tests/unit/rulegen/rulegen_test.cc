// Unit tests of modelwatch-rulegen's generate/check machinery (not the Grafana emitter).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "rulegen/alertmanager_emitter.h"
#include "rulegen/checker.h"
#include "rulegen/generator.h"
#include "rulegen/rule_model.h"
#include "rulegen/series.h"
#include "rulegen/text.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFraud = R"(model: fraud
owner: {team: risk, slack: "#risk", pagerduty: risk, email: risk@example.com}
tier: 1
task: binary_classification
source: {paths: ["/var/log/fraud/*.jsonl"]}
features:
  - {name: amount, type: numeric}
  - {name: country, type: categorical}
  - {name: email, type: categorical, pii: true}
drift: {windows: [1h, 24h], method: psi, warn: 0.1, critical: 0.2}
slo: {latency_p99_ms: 250, error_rate: 0.01, period: 30d}
ground_truth:
  paths: ["/var/log/labels/*.jsonl"]
  retrain_when: {metric: auc, below: 0.8, for: 3d}
shadow: {champion: v3, challenger: v4}
)";

constexpr const char* kRanker = R"(model: ranker
owner: {team: search, email: search@example.com}
tier: 3
task: regression
source: {paths: ["/var/log/ranker/*.jsonl"]}
features:
  - {name: query_length, type: numeric}
drift: {windows: [6h], method: ks}
slo: {availability: 0.995, period: 7d}
)";

constexpr const char* kFleet = R"(receivers:
  pagerduty: {routing_key_file: /etc/alertmanager/secrets/pagerduty-key, url: "http://127.0.0.1:9999/pd"}
  slack: {api_url_file: /etc/alertmanager/secrets/slack-url}
  email: {smarthost: "smtp.example.com:587", from: alerts@example.com, auth_password_file: /etc/alertmanager/secrets/smtp}
  heartbeat: {url: "http://127.0.0.1:9095/beat"}
tiers:
  "1": {evaluation_interval: 15s, for: 2m, model_down_after: 3m}
)";

// A fresh directory under the test's temp dir, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::path(testing::TempDir()) / ("rulegen_" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void Write(const std::string& rel, const std::string& text) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel) << text;
  }

 private:
  fs::path path_;
};

ConfigSet LoadOrDie(const TempDir& dir) {
  auto config = LoadConfigDir(dir.path().string());
  if (!config) {
    std::string all;
    for (const auto& e : config.error()) all += e.ToString() + "\n";
    ADD_FAILURE() << all;
    return {};
  }
  return *config;
}

ConfigSet FixtureConfig(const TempDir& dir, bool with_fleet = true) {
  dir.Write("fraud.yaml", kFraud);
  dir.Write("ranker.yaml", kRanker);
  if (with_fleet) dir.Write("modelwatch.yaml", kFleet);
  return LoadOrDie(dir);
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const AlertRule* FindAlert(const RuleFile& f, const std::string& name, Severity sev) {
  for (const auto& g : f.groups) {
    for (const auto& a : g.alerts) {
      if (a.name == name && a.severity == sev) return &a;
    }
  }
  return nullptr;
}

// --- burn rates -------------------------------------------------------------------------

std::vector<BurnWindow> Windows(int period_days, int eval_seconds = 30) {
  return BurnWindows(Seconds(int64_t{period_days} * 86400), Seconds(eval_seconds));
}

std::string Table(const std::vector<BurnWindow>& ws) {
  std::string out;
  for (const auto& w : ws) {
    out += w.long_window + "/" + w.short_window + "@" + FormatNumber(w.factor) + " ";
  }
  return out;
}

TEST(BurnRateTest, ThirtyDayWindowsAreTheClassicOnes) {
  EXPECT_EQ(Table(Windows(30)), "1h/5m@14.4 6h/30m@6 1d/2h@3 3d/6h@1 ");
  const auto ws = Windows(30);
  EXPECT_NEAR(BudgetConsumed(ws[0], Seconds(30 * 86400)), 0.02, 1e-12);
  EXPECT_NEAR(BudgetConsumed(ws[1], Seconds(30 * 86400)), 0.05, 1e-12);
  EXPECT_NEAR(BudgetConsumed(ws[2], Seconds(30 * 86400)), 0.10, 1e-12);
  EXPECT_NEAR(BudgetConsumed(ws[3], Seconds(30 * 86400)), 0.10, 1e-12);
}

TEST(BurnRateTest, OtherPeriodsKeepTheFactorsAndScaleTheWindows) {
  // 7d = 7/30 of the 30d windows, whole minutes; the 5m short window would be 70s and is
  // raised to the minimum of 4 evaluation intervals (2m at 30s).
  EXPECT_EQ(Table(Windows(7)), "14m/2m@14.4 1h24m/7m@6 5h36m/28m@3 16h48m/1h24m@1 ");
  EXPECT_EQ(Table(Windows(28)), "56m/5m@14.4 5h36m/28m@6 22h24m/1h52m@3 2d19h12m/5h36m@1 ");
  EXPECT_EQ(Table(Windows(90)), "3h/15m@14.4 18h/1h30m@6 3d/6h@3 9d/18h@1 ");
  EXPECT_EQ(Table(Windows(14)), "28m/2m@14.4 2h48m/14m@6 11h12m/56m@3 1d9h36m/2h48m@1 ");
}

TEST(BurnRateTest, FactorsNeverDropBelowOne) {
  for (int days : {1, 2, 7, 14, 28, 30, 90, 365}) {
    for (const auto& w : Windows(days)) {
      EXPECT_GE(w.factor, 1) << days << "d " << w.long_window;
      EXPECT_GT(w.long_length, w.short_length);
    }
  }
}

TEST(BurnRateTest, ShortWindowsRespectTheEvaluationInterval) {
  // One minute evaluation: the short window is at least 4 minutes, the long one 3x that.
  const auto ws = Windows(1, 60);
  EXPECT_EQ(ws[0].short_window, "4m");
  EXPECT_EQ(ws[0].long_window, "12m");
  for (const auto& w : Windows(7, 300)) EXPECT_GE(w.short_length, Seconds(1200));
}

TEST(BurnRateTest, WindowsPageFastAndTicketSlow) {
  const auto ws = Windows(30);
  for (std::size_t i = 0; i < ws.size(); ++i) {
    EXPECT_EQ(ws[i].severity, i < 2 ? Severity::kPage : Severity::kTicket) << ws[i].long_window;
  }
}

TEST(BurnRateTest, AlertExpressionUsesFactorTimesObjective) {
  TempDir dir("burn_expr");
  const ConfigSet config = FixtureConfig(dir);
  const RuleFile fraud = BuildModelRules(*config.Find("fraud"), config.fleet);
  const AlertRule* page = FindAlert(fraud, "HighErrorRate", Severity::kPage);
  ASSERT_NE(page, nullptr);
  EXPECT_NE(page->expr.find(series::ErrorRatio("1h") + "{model=\"fraud\"} > (14.4 * 0.01)"),
            std::string::npos)
      << page->expr;
  EXPECT_NE(page->expr.find(series::ErrorRatio("5m") + "{model=\"fraud\"} > (14.4 * 0.01)"),
            std::string::npos);
  const AlertRule* ticket = FindAlert(fraud, "HighErrorRate", Severity::kTicket);
  ASSERT_NE(ticket, nullptr);
  EXPECT_NE(ticket->expr.find(series::ErrorRatio("3d") + "{model=\"fraud\"} > (1 * 0.01)"),
            std::string::npos);
  // ranker: availability 0.995 over 7d, error objective 0.005, tier 3 (5m evaluation): the
  // same factors; 7/30 of 1h/5m is 14m/1m, raised to the minimum 20m short and 3 x 20m long.
  const RuleFile ranker = BuildModelRules(*config.Find("ranker"), config.fleet);
  const AlertRule* rpage = FindAlert(ranker, "HighErrorRate", Severity::kPage);
  ASSERT_NE(rpage, nullptr);
  EXPECT_NE(rpage->expr.find(series::ErrorRatio("1h") + "{model=\"ranker\"} > (14.4 * 0.005)"),
            std::string::npos)
      << rpage->expr;
  EXPECT_NE(rpage->expr.find(series::ErrorRatio("20m") + "{model=\"ranker\"} > (14.4 * 0.005)"),
            std::string::npos);
  EXPECT_EQ(rpage->expr.find("3.36"), std::string::npos);
}

TEST(RuleModelTest, LatencyObjectivePicksTheNextBucketBoundary) {
  EXPECT_EQ(LatencyObjectiveBucket(0.25), "0.25");
  EXPECT_EQ(LatencyObjectiveBucket(0.1), "0.1");
  EXPECT_EQ(LatencyObjectiveBucket(0.12), "0.25");
  EXPECT_EQ(LatencyObjectiveBucket(0.0001), "0.01");
  EXPECT_EQ(LatencyObjectiveBucket(60), "5");
}

TEST(RuleModelTest, AlertsCarryTheRequiredLabelsAndAnnotations) {
  TempDir dir("labels");
  const ConfigSet config = FixtureConfig(dir);
  for (const RuleFile& f : BuildAllRules(config)) {
    for (const auto& g : f.groups) {
      for (const auto& a : g.alerts) {
        std::map<std::string, std::string> l(a.labels.begin(), a.labels.end());
        EXPECT_TRUE(l.count("severity")) << a.name;
        if (a.name == "Watchdog") {
          EXPECT_EQ(l.size(), 1u);
          EXPECT_EQ(l["severity"], "info");
          continue;
        }
        if (f.model.empty()) {
          // Alerts on the monitoring itself (docs/alerts.md): the platform team's, no model
          // and no tier (a page without a tier is P0).
          EXPECT_FALSE(l.count("model")) << a.name;
          EXPECT_FALSE(l.count("tier")) << a.name;
          EXPECT_FALSE(l["team"].empty()) << a.name;
          EXPECT_FALSE(a.summary.empty()) << a.name;
          EXPECT_FALSE(a.description.empty()) << a.name;
          EXPECT_NE(a.runbook_url.find("/" + a.name + ".md"), std::string::npos) << a.name;
          continue;
        }
        EXPECT_EQ(l["model"], f.model) << a.name;
        EXPECT_FALSE(l["team"].empty()) << a.name;
        EXPECT_TRUE(l["tier"] == "1" || l["tier"] == "2" || l["tier"] == "3") << a.name;
        EXPECT_FALSE(a.summary.empty()) << a.name;
        EXPECT_FALSE(a.description.empty()) << a.name;
        EXPECT_NE(a.runbook_url.find("/" + a.name + ".md"), std::string::npos);
        EXPECT_NE(a.dashboard_url.find(series::DashboardUid(f.model)), std::string::npos);
      }
    }
  }
}

TEST(RuleModelTest, ConfidenceDropUsesTheConfiguredRatio) {
  TempDir dir("confidence");
  ConfigSet config = FixtureConfig(dir);
  ModelConfig m = *config.Find("fraud");
  const RuleFile defaults = BuildModelRules(m, config.fleet);  // FindAlert points into it
  const AlertRule* def = FindAlert(defaults, "ConfidenceDrop", Severity::kTicket);
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->threshold, 0.9);
  m.confidence_min_ratio = 0.75;
  const RuleFile rules = BuildModelRules(m, config.fleet);
  const AlertRule* c = FindAlert(rules, "ConfidenceDrop", Severity::kTicket);
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->expr.find(" < 0.75"), std::string::npos) << c->expr;
}

TEST(RuleModelTest, EntropyRiseFollowsEntropyCompare) {
  TempDir dir("entropy");
  ConfigSet config = FixtureConfig(dir);
  ModelConfig m = *config.Find("fraud");
  m.baseline.clear();  // no baseline: the windows' ratio
  const RuleFile windows = BuildModelRules(m, config.fleet);
  const AlertRule* w = FindAlert(windows, "EntropyRise", Severity::kTicket);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->expr, std::string(series::kEntropyRatio) + "{model=\"fraud\"} > 1.2");
  m.entropy.max_ratio = 1.5;
  const RuleFile ratio = BuildModelRules(m, config.fleet);
  ASSERT_NE(FindAlert(ratio, "EntropyRise", Severity::kTicket), nullptr);
  EXPECT_EQ(FindAlert(ratio, "EntropyRise", Severity::kTicket)->expr,
            std::string(series::kEntropyRatio) + "{model=\"fraud\"} > 1.5");

  m.baseline = "/any/baseline.json";  // with one: the baseline's mean + sigmas x its spread
  const auto longest = SortedDriftWindows(m).back().label;
  const RuleFile base = BuildModelRules(m, config.fleet);
  const AlertRule* b = FindAlert(base, "EntropyRise", Severity::kTicket);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->expr, std::string(series::kEntropyShift) + "{model=\"fraud\",window=\"" + longest +
                         "\"} > 1");
  m.entropy.sigmas = 2;
  m.entropy.window = SortedDriftWindows(m).front().label;
  const RuleFile tuned = BuildModelRules(m, config.fleet);
  ASSERT_NE(FindAlert(tuned, "EntropyRise", Severity::kTicket), nullptr);
  EXPECT_EQ(FindAlert(tuned, "EntropyRise", Severity::kTicket)->expr,
            std::string(series::kEntropyShift) + "{model=\"fraud\",window=\"" + m.entropy.window +
                "\"} > 2");
  m.entropy.compare = EntropyCompare::kWindows;
  const RuleFile forced = BuildModelRules(m, config.fleet);
  ASSERT_NE(FindAlert(forced, "EntropyRise", Severity::kTicket), nullptr);
  EXPECT_EQ(FindAlert(forced, "EntropyRise", Severity::kTicket)->expr,
            std::string(series::kEntropyRatio) + "{model=\"fraud\"} > 1.5");
}

TEST(RuleModelTest, LowThroughputComparesWithTheHourBeforeAboveAFloor) {
  TempDir dir("throughput");
  ConfigSet config = FixtureConfig(dir);
  ModelConfig m = *config.Find("fraud");  // tier 1 here: evaluation 15s, for 2m
  const RuleFile hour = BuildModelRules(m, config.fleet);
  const AlertRule* a = FindAlert(hour, "LowThroughput", Severity::kTicket);
  ASSERT_NE(a, nullptr);
  // Short window max(5m, 4 x 15s) = 5m; the reference hour ends 5m + for (2m) ago.
  const std::string ref =
      "avg_over_time(model:model_predictions:rate5m{model=\"fraud\"}[1h] offset 7m)";
  EXPECT_EQ(a->expr, "model:model_predictions:rate5m{model=\"fraud\"} < 0.5 * " + ref + "\nand\n" +
                         ref + " >= 0.1");
  EXPECT_EQ(ThroughputWindow(*config.Find("ranker"), Seconds(300)), Seconds(1200));

  m.throughput.compare = ThroughputCompare::kDay;
  m.throughput.drop = 0.8;
  m.throughput.window = Seconds(600);
  m.throughput.min_rate = 0;
  const RuleFile day = BuildModelRules(m, config.fleet);
  const AlertRule* d = FindAlert(day, "LowThroughput", Severity::kTicket);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->expr,
            "model:model_predictions:rate10m{model=\"fraud\"} < 0.2 * "
            "(model:model_predictions:rate10m{model=\"fraud\"} offset 1d)");
  bool recorded = false;
  for (const auto& r : day.groups.front().recording) {
    recorded = recorded || r.record == "model:model_predictions:rate10m";
  }
  EXPECT_TRUE(recorded);
}

TEST(RuleModelTest, ModelDownWatchesSuccessfulPredictions) {
  TempDir dir("model_down");
  const ConfigSet config = FixtureConfig(dir);
  const RuleFile fraud = BuildModelRules(*config.Find("fraud"), config.fleet);
  const AlertRule* down = FindAlert(fraud, "ModelDown", Severity::kPage);
  ASSERT_NE(down, nullptr);
  // Not model_predictions_total alone: it counts error records too.
  EXPECT_NE(down->expr.find("increase(" + std::string(series::kSuccessfulPredictions)),
            std::string::npos)
      << down->expr;
  EXPECT_NE(down->expr.find("absent_over_time(model_predictions_total"), std::string::npos);
  const RecordingRule* succeeded = nullptr;
  for (const auto& r : fraud.groups.front().recording) {
    if (r.record == series::kSuccessfulPredictions) succeeded = &r;
  }
  ASSERT_NE(succeeded, nullptr);
  EXPECT_NE(succeeded->expr.find("model_prediction_errors_total"), std::string::npos);
  // job and instance survive, so that an exporter alert can inhibit ModelDown.
  EXPECT_NE(succeeded->expr.find("sum by (model, job, instance)"), std::string::npos);
  EXPECT_EQ(down->keep_firing_for, Seconds(30));  // two evaluations (15s)
  EXPECT_EQ(DefaultTier(1).model_down_after, Seconds(120));
}

TEST(RuleModelTest, TierSetsIntervalForAndModelDown) {
  TempDir dir("tiers");
  const ConfigSet config = FixtureConfig(dir);
  const RuleFile fraud = BuildModelRules(*config.Find("fraud"), config.fleet);
  // modelwatch.yaml overrides tier 1: 15s evaluation, for 2m, model down after 3m.
  for (const auto& g : fraud.groups) EXPECT_EQ(g.interval, Seconds(15));
  const AlertRule* drift = FindAlert(fraud, "FeatureDrift", Severity::kTicket);
  ASSERT_NE(drift, nullptr);
  EXPECT_EQ(drift->for_duration, Seconds(120));
  EXPECT_EQ(drift->keep_firing_for, Seconds(120));
  const AlertRule* down = FindAlert(fraud, "ModelDown", Severity::kPage);
  ASSERT_NE(down, nullptr);
  EXPECT_NE(down->expr.find("[3m]"), std::string::npos) << down->expr;
  const AlertRule* retrain =
      FindAlert(fraud, "PerformanceBelowRetrainThreshold", Severity::kTicket);
  ASSERT_NE(retrain, nullptr);
  // No `for` on the raw gauge: the expression requires 3d of samples past the threshold.
  EXPECT_EQ(retrain->for_duration, Seconds(0));
  EXPECT_EQ(retrain->sustain, Seconds(3 * 86400));
  EXPECT_NE(retrain->expr.find("max_over_time(model_performance{model=\"fraud\",metric=\"auc\","
                               "window=\"30d\"}[3d]) < 0.8"),
            std::string::npos)
      << retrain->expr;
  // Tier 3 keeps the built-in defaults: 5m evaluation, 1h for; ModelDown only tickets.
  const RuleFile ranker = BuildModelRules(*config.Find("ranker"), config.fleet);
  EXPECT_EQ(ranker.groups.front().interval, Seconds(300));
  EXPECT_NE(FindAlert(ranker, "ModelDown", Severity::kTicket), nullptr);
  EXPECT_EQ(FindAlert(ranker, "ModelDown", Severity::kPage), nullptr);
}

TEST(RuleModelTest, FeatureWithAlertFalseGetsNoFeatureDriftAlert) {
  TempDir dir("feature_alert");
  const ConfigSet config = FixtureConfig(dir);
  ModelConfig m = *config.Find("fraud");
  const std::string muted = "model_feature_drift{model=\"fraud\",method=\"psi\",feature!~";
  // Default: every exported feature alerts, no feature matcher.
  for (Severity sev : {Severity::kTicket, Severity::kPage}) {
    const RuleFile built = BuildModelRules(m, config.fleet);  // FindAlert points into it
    const AlertRule* a = FindAlert(built, "FeatureDrift", sev);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->expr.find("feature!~"), std::string::npos) << a->expr;
  }
  // amount muted: both FeatureDrift rules exclude it (and only it); country still alerts.
  m.features[0].alert = false;
  const RuleFile rules = BuildModelRules(m, config.fleet);
  for (Severity sev : {Severity::kTicket, Severity::kPage}) {
    const AlertRule* a = FindAlert(rules, "FeatureDrift", sev);
    ASSERT_NE(a, nullptr);
    EXPECT_NE(a->expr.find(muted + "\"amount\"}"), std::string::npos) << a->expr;
    EXPECT_EQ(a->expr.find("country"), std::string::npos) << a->expr;
    // The noise guard compares the same (filtered) series.
    EXPECT_NE(a->expr.find("model_feature_drift_critical_value{model=\"fraud\",method=\"psi\","
                           "feature!~\"amount\"}"),
              std::string::npos)
        << a->expr;
  }
  // Its drift is still recorded: the recording rules do not filter features.
  for (const auto& r : rules.groups.front().recording) {
    EXPECT_EQ(r.expr.find("feature!~"), std::string::npos) << r.record << ": " << r.expr;
  }
  // Every exported feature muted: no FeatureDrift rule at all; PredictionDrift stays.
  m.features[1].alert = false;
  const RuleFile none = BuildModelRules(m, config.fleet);
  EXPECT_EQ(FindAlert(none, "FeatureDrift", Severity::kTicket), nullptr);
  EXPECT_EQ(FindAlert(none, "FeatureDrift", Severity::kPage), nullptr);
  EXPECT_NE(FindAlert(none, "PredictionDrift", Severity::kPage), nullptr);
}

// All FeatureDrift rules of a severity, in order.
std::vector<const AlertRule*> FeatureDriftRules(const RuleFile& f, Severity sev) {
  std::vector<const AlertRule*> out;
  for (const auto& g : f.groups) {
    for (const auto& a : g.alerts) {
      if (a.name == "FeatureDrift" && a.severity == sev) out.push_back(&a);
    }
  }
  return out;
}

TEST(RuleModelTest, FeaturesWithTheirOwnDriftSettingsGetTheirOwnRules) {
  TempDir dir("feature_override");
  const ConfigSet config = FixtureConfig(dir);
  ModelConfig m = *config.Find("fraud");  // psi, warn 0.1, critical 0.2, windows 1h and 24h
  m.features.push_back({"age", FeatureType::kNumeric, false, false, {}});
  m.features.push_back({"device", FeatureType::kCategorical, false, false, {}});
  // amount on ks over 24h only; country and device on psi with other thresholds.
  m.features[0].drift = FeatureDriftOverride{DriftMethod::kKs, 0.3, 0.6, {"24h"}};
  m.features[1].drift = FeatureDriftOverride{std::nullopt, 0.15, 0.3, {}};
  m.features[4].drift = FeatureDriftOverride{DriftMethod::kPsi, 0.15, std::nullopt, {}};
  m.features[4].drift->critical = 0.3;
  const RuleFile rules = BuildModelRules(m, config.fleet);
  const auto tickets = FeatureDriftRules(rules, Severity::kTicket);
  const auto pages = FeatureDriftRules(rules, Severity::kPage);
  ASSERT_EQ(tickets.size(), 3u);
  ASSERT_EQ(pages.size(), 3u);
  // The model-wide rule no longer matches the features with their own settings.
  const std::string model_wide =
      "model_feature_drift{model=\"fraud\",method=\"psi\",feature!~\"amount|country|device\"}";
  EXPECT_EQ(tickets[0]->expr, model_wide + " >= 0.1 and " + model_wide +
                                  " > model_feature_drift_critical_value{model=\"fraud\","
                                  "method=\"psi\",feature!~\"amount|country|device\"}");
  EXPECT_TRUE(tickets[0]->features.empty());
  // country and device share their settings: one rule each severity, by name.
  const std::string shared =
      "model_feature_drift{model=\"fraud\",method=\"psi\",feature=~\"country|device\"}";
  EXPECT_EQ(tickets[2]->expr, shared + " >= 0.15 and " + shared +
                                  " > model_feature_drift_critical_value{model=\"fraud\","
                                  "method=\"psi\",feature=~\"country|device\"}");
  EXPECT_EQ(pages[2]->expr.substr(0, shared.size() + 7), shared + " >= 0.3");
  EXPECT_EQ(tickets[2]->features, (std::vector<std::string>{"country", "device"}));
  // amount: its method, thresholds and window, with the noise guard on the same series.
  const std::string amount =
      "model_feature_drift{model=\"fraud\",method=\"ks\",feature=\"amount\",window=\"24h\"}";
  EXPECT_EQ(pages[1]->expr, amount + " >= 0.6 and " + amount +
                                " > model_feature_drift_critical_value{model=\"fraud\","
                                "method=\"ks\",feature=\"amount\",window=\"24h\"}");
  EXPECT_EQ(pages[1]->threshold, 0.6);
  EXPECT_EQ(pages[1]->features, std::vector<std::string>{"amount"});
  EXPECT_NE(pages[1]->trigger.find("(ks) of amount over 24h"), std::string::npos)
      << pages[1]->trigger;
  for (const AlertRule* a : tickets) EXPECT_EQ(a->for_duration, tickets[0]->for_duration);

  // An override that repeats the model's settings is no override: one rule per severity.
  for (auto& f : m.features) f.drift = FeatureDriftOverride{DriftMethod::kPsi, 0.1, 0.2, {}};
  m.features[0].drift->windows = {"1h", "24h"};
  const RuleFile same = BuildModelRules(m, config.fleet);
  ASSERT_EQ(FeatureDriftRules(same, Severity::kTicket).size(), 1u);
  EXPECT_EQ(FeatureDriftRules(same, Severity::kTicket)[0]->expr.find(",feature"),
            std::string::npos);
}

TEST(RuleModelTest, MutedFeatureNamesAreRegexEscaped) {
  EXPECT_EQ(RegexEscape("hour_of_day"), "hour_of_day");
  EXPECT_EQ(RegexEscape("a.b|c(d)"), "a\\.b\\|c\\(d\\)");
}

TEST(RuleModelTest, TaskDecidesClassifierAlerts) {
  TempDir dir("task");
  const ConfigSet config = FixtureConfig(dir);
  const RuleFile fraud = BuildModelRules(*config.Find("fraud"), config.fleet);
  const RuleFile ranker = BuildModelRules(*config.Find("ranker"), config.fleet);
  EXPECT_NE(FindAlert(fraud, "PositiveRateShift", Severity::kPage), nullptr);
  EXPECT_NE(FindAlert(fraud, "ConfidenceDrop", Severity::kTicket), nullptr);
  EXPECT_NE(FindAlert(fraud, "ShadowDisagreement", Severity::kTicket), nullptr);
  EXPECT_EQ(FindAlert(ranker, "PositiveRateShift", Severity::kPage), nullptr);
  EXPECT_EQ(FindAlert(ranker, "ConfidenceDrop", Severity::kTicket), nullptr);
  EXPECT_EQ(FindAlert(ranker, "HighLatency", Severity::kPage), nullptr);  // no latency SLO
  EXPECT_EQ(FindAlert(ranker, "LowLabelMatchRate", Severity::kTicket), nullptr);
}

TEST(RuleModelTest, CalibrationDriftComparesWithTheBaselineAboveTheNoiseFloor) {
  TempDir dir("calibration");
  const ConfigSet config = FixtureConfig(dir);
  const RuleFile fraud = BuildModelRules(*config.Find("fraud"), config.fleet);
  const AlertRule* a = FindAlert(fraud, "CalibrationDrift", Severity::kTicket);
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a->expr.find("model_performance{model=\"fraud\",metric=\"ece\"}"), std::string::npos);
  EXPECT_NE(a->expr.find("- on (model) group_left ()"), std::string::npos);
  EXPECT_NE(a->expr.find("model_baseline_performance{model=\"fraud\",metric=\"ece\"}"),
            std::string::npos);
  EXPECT_NE(a->expr.find("> 0.05 + 2.2 / sqrt(max by (model, version, window) "
                         "(model_performance_samples{model=\"fraud\"}))"),
            std::string::npos)
      << a->expr;
  // Regression models have no ECE; the ranker has no ground truth either.
  const RuleFile ranker = BuildModelRules(*config.Find("ranker"), config.fleet);
  EXPECT_EQ(FindAlert(ranker, "CalibrationDrift", Severity::kTicket), nullptr);
}

// --- generate ---------------------------------------------------------------------------

TEST(GenerateTest, IsDeterministic) {
  TempDir a("det_a");
  TempDir b("det_b");
  const OutputFiles first = Generate(FixtureConfig(a), OutputFormat::kPrometheusOperator);
  const OutputFiles second = Generate(FixtureConfig(b), OutputFormat::kPrometheusOperator);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, Generate(FixtureConfig(a), OutputFormat::kPrometheusOperator));
}

// The burn-rate scenario search is shared between models with the same SLO shape within one
// generate: a model's test files must not depend on which other models are in the fleet.
// Each variant differs from the first in one input of the search, so a shared result under a
// key that misses that input shows up as a difference from the model generated alone.
TEST(GenerateTest, ModelTestsDoNotDependOnTheRestOfTheFleet) {
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"base", "tier: 1\nslo: {latency_p99_ms: 250, error_rate: 0.01, period: 30d}"},
      {"objective", "tier: 1\nslo: {latency_p99_ms: 250, error_rate: 0.02, period: 30d}"},
      {"availability", "tier: 1\nslo: {latency_p99_ms: 250, availability: 0.995, period: 30d}"},
      {"period", "tier: 1\nslo: {latency_p99_ms: 250, error_rate: 0.01, period: 7d}"},
      {"tier", "tier: 2\nslo: {latency_p99_ms: 250, error_rate: 0.01, period: 30d}"},
      {"latency", "tier: 1\nslo: {latency_p99_ms: 120, error_rate: 0.01, period: 30d}"},
  };
  auto model = [](const std::string& name, const std::string& slo) {
    return "model: m-" + name + "\nowner: {team: risk, email: risk@example.com}\n" + slo +
           "\ntask: binary_classification\nsource: {paths: [\"/var/log/m/*.jsonl\"]}\n"
           "features:\n  - {name: amount, type: numeric}\n";
  };
  TempDir all("fleet_all");
  OutputFiles alone;
  for (const auto& [name, slo] : variants) {
    all.Write(name + ".yaml", model(name, slo));
    TempDir one("fleet_one_" + name);
    one.Write(name + ".yaml", model(name, slo));
    for (auto& [path, text] : Generate(LoadOrDie(one), OutputFormat::kPrometheus)) {
      if (path.rfind("tests/m-", 0) == 0) alone[path] = text;
    }
  }
  const OutputFiles together = Generate(LoadOrDie(all), OutputFormat::kPrometheus);
  ASSERT_EQ(alone.size(), variants.size() * 3) << "a test, an SLO test and a long test each";
  for (const auto& [path, text] : alone) {
    auto it = together.find(path);
    ASSERT_NE(it, together.end()) << path;
    EXPECT_TRUE(it->second == text) << path << " differs when generated with the other models";
  }
}

TEST(GenerateTest, WritesTheDocumentedLayout) {
  TempDir dir("layout");
  const OutputFiles files = Generate(FixtureConfig(dir), OutputFormat::kPrometheusOperator);
  for (const char* p :
       {"rules/fraud.rules.yml", "rules/ranker.rules.yml", "rules/modelwatch.rules.yml",
        "alertmanager/alertmanager.yml", "alertmanager/templates/modelwatch.tmpl",
        "runbooks/ModelDown.md", "runbooks/Watchdog.md", "runbooks/HighErrorRate.md",
        "tests/fraud.test.yml", "tests/ranker.test.yml", "tests/routes.txt",
        "kubernetes/fraud.prometheusrule.yaml"}) {
    EXPECT_TRUE(files.count(p)) << p;
  }
  EXPECT_FALSE(Generate(FixtureConfig(dir), OutputFormat::kPrometheus)
                   .count("kubernetes/fraud.prometheusrule.yaml"));
}

// FeatureDrift's scenarios with the same input interval and check times share one test
// group, told apart by a `scenario` label: every expected alert carries the label of a
// scenario whose input series are in the group (an alert of no scenario, or of one whose
// series are missing, could never be matched), every packed scenario has input series, the
// name counts them, and no two FeatureDrift groups could have been packed together.
TEST(GenerateTest, FeatureDriftScenariosArePackedByTheirScenarioLabel) {
  TempDir dir("pack");
  const OutputFiles files = Generate(FixtureConfig(dir), OutputFormat::kPrometheus);
  const YAML::Node doc = YAML::Load(files.at("tests/fraud.test.yml"));
  std::set<std::pair<std::string, std::vector<std::string>>> keys;
  int packed = 0;
  for (const YAML::Node& t : doc["tests"]) {
    const std::string name = t["name"].as<std::string>();
    if (name.rfind("FeatureDrift", 0) != 0) continue;
    std::set<std::string> series_labels;
    for (const YAML::Node& in : t["input_series"]) {
      const std::string series = in["series"].as<std::string>();
      const auto at = series.find("scenario=\"");
      if (at == std::string::npos) continue;
      const auto from = at + std::strlen("scenario=\"");
      series_labels.insert(series.substr(from, series.find('"', from) - from));
    }
    std::set<std::string> alert_labels;
    std::vector<std::string> times;
    for (const YAML::Node& c : t["alert_rule_test"]) {
      times.push_back(c["eval_time"].as<std::string>());
      for (const YAML::Node& a : c["exp_alerts"]) {
        if (series_labels.empty()) {
          EXPECT_FALSE(a["exp_labels"]["scenario"]) << name;
          continue;
        }
        ASSERT_TRUE(a["exp_labels"]["scenario"]) << name;
        alert_labels.insert(a["exp_labels"]["scenario"].as<std::string>());
      }
    }
    for (const std::string& l : alert_labels) EXPECT_TRUE(series_labels.count(l)) << name << l;
    if (!series_labels.empty()) {
      ++packed;
      EXPECT_NE(name.find(std::to_string(series_labels.size()) + " scenarios"), std::string::npos)
          << name;
      for (std::size_t k = 1; k <= series_labels.size(); ++k) {
        EXPECT_TRUE(series_labels.count("s" + std::to_string(k))) << name;
      }
    }
    EXPECT_TRUE(keys.insert({t["interval"].as<std::string>(), times}).second)
        << "could have been packed with another group: " << name;
  }
  EXPECT_GE(packed, 1);
}

TEST(GenerateTest, EveryFileIsMarkedGenerated) {
  TempDir dir("mark");
  for (const auto& [path, content] : Generate(FixtureConfig(dir), OutputFormat::kPrometheus)) {
    if (path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
      EXPECT_NE(content.find("do not edit"), std::string::npos) << path;
      continue;
    }
    EXPECT_NE(content.substr(0, content.find('\n')).find("do not edit"), std::string::npos) << path;
  }
}

TEST(GenerateTest, WritesNoSecretValuesOnlyFilePaths) {
  TempDir dir("secrets");
  // Secret files with recognisable content: none of it may leak into the output.
  dir.Write("secrets/pd", "PD-SECRET-KEY-123");
  const OutputFiles files = Generate(FixtureConfig(dir), OutputFormat::kPrometheus);
  const std::string& am = files.at("alertmanager/alertmanager.yml");
  EXPECT_NE(am.find("routing_key_file: \"/etc/alertmanager/secrets/pagerduty-key\""),
            std::string::npos);
  EXPECT_NE(am.find("slack_api_url_file: \"/etc/alertmanager/secrets/slack-url\""),
            std::string::npos);
  EXPECT_NE(am.find("smtp_auth_password_file: \"/etc/alertmanager/secrets/smtp\""),
            std::string::npos);
  EXPECT_NE(am.find("url: \"http://127.0.0.1:9999/pd\""), std::string::npos);
  const YAML::Node root = YAML::Load(am);
  for (const auto& r : root["receivers"]) {
    for (const char* kind : {"pagerduty_configs", "slack_configs", "email_configs"}) {
      for (const auto& c : r[kind]) {
        EXPECT_FALSE(c["routing_key"]) << r["name"];
        EXPECT_FALSE(c["api_url"]) << r["name"];
        EXPECT_FALSE(c["auth_password"]) << r["name"];
      }
    }
  }
  for (const auto& [path, content] : files) {
    EXPECT_EQ(content.find("PD-SECRET-KEY-123"), std::string::npos) << path;
  }
  EXPECT_TRUE(SelfCheck(files).empty());
}

TEST(GenerateTest, SmtpRequireTlsFollowsTheFleetSetting) {
  TempDir dir("smtp_tls");
  ConfigSet config = FixtureConfig(dir);
  ASSERT_TRUE(config.fleet.receivers.email_require_tls);  // the default
  auto global = [](const OutputFiles& files) {
    return YAML::Load(files.at("alertmanager/alertmanager.yml"))["global"];
  };
  const YAML::Node on = global(Generate(config, OutputFormat::kPrometheus));
  ASSERT_TRUE(on["smtp_require_tls"]);
  EXPECT_TRUE(on["smtp_require_tls"].as<bool>());

  config.fleet.receivers.email_require_tls = false;
  const OutputFiles files = Generate(config, OutputFormat::kPrometheus);
  const YAML::Node off = global(files);
  ASSERT_TRUE(off["smtp_require_tls"]);
  EXPECT_FALSE(off["smtp_require_tls"].as<bool>());
  EXPECT_EQ(off["smtp_smarthost"].as<std::string>(), "smtp.example.com:587");
  EXPECT_TRUE(SelfCheck(files).empty());
}

TEST(GenerateTest, RoutesEverySeverityToItsTeamReceiver) {
  TempDir dir("routes");
  const OutputFiles files = Generate(FixtureConfig(dir), OutputFormat::kPrometheus);
  const YAML::Node root = YAML::Load(files.at("alertmanager/alertmanager.yml"));
  std::set<std::string> receivers;
  for (const auto& r : root["receivers"]) receivers.insert(r["name"].as<std::string>());
  for (const char* team : {"risk", "search"}) {
    for (const char* suffix : {"-pagerduty", "-slack", "-email", "-fallback"}) {
      EXPECT_TRUE(receivers.count(std::string(team) + suffix)) << team << suffix;
    }
  }
  EXPECT_TRUE(receivers.count("heartbeat"));
  EXPECT_EQ(root["route"]["group_by"][0].as<std::string>(), "alertname");
  EXPECT_EQ(root["route"]["group_by"][1].as<std::string>(), "model");
  // The search team has no Slack channel but the fleet has a Slack URL file; the
  // risk team's pages go to PagerDuty with the URL override.
  for (const auto& r : root["receivers"]) {
    if (r["name"].as<std::string>() == "risk-pagerduty") {
      EXPECT_EQ(r["pagerduty_configs"][0]["routing_key_file"].as<std::string>(),
                "/etc/alertmanager/secrets/pagerduty-key");
    }
    if (r["name"].as<std::string>() == "heartbeat") {
      EXPECT_EQ(r["webhook_configs"][0]["url"].as<std::string>(), "http://127.0.0.1:9095/beat");
    }
  }
}

// --- atomic write -----------------------------------------------------------------------

TEST(WriteOutputTest, ReplacesTheDirectoryAsAWhole) {
  TempDir dir("atomic_ok");
  const std::string out = (dir.path() / "gen").string();
  ASSERT_TRUE(WriteOutputAtomically(out, {{"a/x.yml", "one\n"}, {"b.txt", "two\n"}}));
  EXPECT_EQ(ReadFile(dir.path() / "gen/a/x.yml"), "one\n");
  ASSERT_TRUE(WriteOutputAtomically(out, {{"c.txt", "three\n"}}));
  EXPECT_EQ(ReadFile(dir.path() / "gen/c.txt"), "three\n");
  EXPECT_FALSE(fs::exists(dir.path() / "gen/a/x.yml"));
  // No temporary directories left next to the output.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(WriteOutputTest, FailedWriteLeavesPreviousOutputUntouched) {
  TempDir dir("atomic_fail");
  const std::string out = (dir.path() / "gen").string();
  ASSERT_TRUE(WriteOutputAtomically(out, {{"rules/m.rules.yml", "old\n"}}));
  // "x" as a file and "x/y" as a file cannot both exist: the write fails half way.
  auto failed = WriteOutputAtomically(
      out, {{"rules/m.rules.yml", "new\n"}, {"x", "file\n"}, {"x/y", "conflict\n"}});
  EXPECT_FALSE(failed);
  EXPECT_EQ(ReadFile(dir.path() / "gen/rules/m.rules.yml"), "old\n");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1) << "temporary directory left behind";
}

TEST(WriteOutputTest, RejectsPathsOutsideTheOutput) {
  TempDir dir("atomic_unsafe");
  const std::string out = (dir.path() / "gen").string();
  EXPECT_FALSE(WriteOutputAtomically(out, {{"../evil", "x"}}));
  EXPECT_FALSE(WriteOutputAtomically(out, {{"/etc/evil", "x"}}));
  EXPECT_FALSE(fs::exists(dir.path() / "gen"));
  EXPECT_FALSE(fs::exists(dir.path() / "evil"));
}

TEST(StaleFilesTest, ListsChangedMissingAndExtraFiles) {
  TempDir dir("stale");
  const std::string out = (dir.path() / "gen").string();
  ASSERT_TRUE(WriteOutputAtomically(out, {{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_TRUE(StaleFiles(out, {{"a", "1"}, {"b", "2"}, {"c", "3"}}).empty());
  const auto stale = StaleFiles(out, {{"a", "1"}, {"b", "changed"}, {"d", "4"}});
  EXPECT_EQ(stale, (std::vector<std::string>{"changed: b", "extra: c", "missing: d"}));
}

// --- self-check and inhibition ----------------------------------------------------------

TEST(SelfCheckTest, GeneratedOutputPasses) {
  TempDir dir("selfcheck_ok");
  EXPECT_EQ(SelfCheck(Generate(FixtureConfig(dir, false), OutputFormat::kPrometheus)),
            std::vector<std::string>{});
}

TEST(SelfCheckTest, CatchesMisspeltAlertnameAndMissingRuleFile) {
  TempDir dir("selfcheck_bad");
  OutputFiles files = Generate(FixtureConfig(dir), OutputFormat::kPrometheus);
  std::string& t = files.at("tests/fraud.test.yml");
  // promtool passes a test of a misspelt alert with exp_alerts: [].
  t += "  - name: typo\n    interval: 1m\n    input_series: []\n    alert_rule_test:\n"
       "      - eval_time: 1m\n        alertname: ModelDwon\n        exp_alerts: []\n";
  const std::string ref = "../rules/fraud.rules.yml";
  t.replace(t.find(ref), ref.size(), "../rules/frud.rules.yml");
  const auto problems = SelfCheck(files);
  auto has = [&](const std::string& needle) {
    for (const auto& p : problems) {
      if (p.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("ModelDwon")) << testing::PrintToString(problems);
  EXPECT_TRUE(has("rule file ../rules/frud.rules.yml does not exist"));
}

TEST(SelfCheckTest, CatchesAnAlertWithoutFiringCase) {
  TempDir dir("selfcheck_nofire");
  OutputFiles files = Generate(FixtureConfig(dir), OutputFormat::kPrometheus);
  std::string& rules = files.at("rules/ranker.rules.yml");
  rules += "      - alert: Untested\n        expr: vector(1)\n";
  const auto problems = SelfCheck(files);
  bool found = false;
  for (const auto& p : problems)
    found |= p.find("no firing test case for Untested") != std::string::npos;
  EXPECT_TRUE(found) << testing::PrintToString(problems);
}

TEST(SelfCheckTest, CatchesWrongInhibitionRules) {
  TempDir dir("selfcheck_inhibit");
  OutputFiles files = Generate(FixtureConfig(dir), OutputFormat::kPrometheus);
  std::string& am = files.at("alertmanager/alertmanager.yml");
  // Drop `model` from the equal list: a page of one model would silence another's ticket.
  const std::string equal = "equal: [alertname, model, feature]";
  am.replace(am.find(equal), equal.size(), "equal: [alertname, feature]");
  const auto problems = SelfCheck(files);
  bool found = false;
  for (const auto& p : problems) found |= p.find("should not be inhibited") != std::string::npos;
  EXPECT_TRUE(found) << testing::PrintToString(problems);
}

TEST(InhibitsTest, FollowsAlertmanagerSemantics) {
  const std::string am = R"(inhibit_rules:
  - source_matchers: ['severity="page"']
    target_matchers: ['severity="ticket"']
    equal: [alertname, model, feature]
  - source_matchers: ['alertname="ModelDown"']
    target_matchers: ['alertname=~"HighErrorRate|FeatureDrift"']
    equal: [model]
)";
  using L = std::map<std::string, std::string>;
  const L page{
      {"alertname", "FeatureDrift"}, {"model", "m"}, {"severity", "page"}, {"feature", "a"}};
  L ticket = page;
  ticket["severity"] = "ticket";
  EXPECT_TRUE(*Inhibits(am, page, ticket));
  EXPECT_FALSE(*Inhibits(am, ticket, page));
  L other_feature = ticket;
  other_feature["feature"] = "b";
  EXPECT_FALSE(*Inhibits(am, page, other_feature));
  const L down{{"alertname", "ModelDown"}, {"model", "m"}, {"severity", "page"}};
  EXPECT_TRUE(*Inhibits(am, down, ticket));
  L other_model = ticket;
  other_model["model"] = "n";
  EXPECT_FALSE(*Inhibits(am, down, other_model));
  // The regex is anchored: "FeatureDriftX" is not a symptom.
  L x = ticket;
  x["alertname"] = "FeatureDriftX";
  EXPECT_FALSE(*Inhibits(am, down, x));
  // ModelDown does not inhibit itself.
  EXPECT_FALSE(*Inhibits(am, down, down));
}

TEST(RouteCasesTest, ParsesAndRejectsMalformedLines) {
  auto ok = ParseRouteCases(
      "# comment\nroute a-slack alertname=X,model=m\ninhibit alertname=X,severity=page "
      "alertname=X,severity=ticket\n");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].receiver, "a-slack");
  EXPECT_EQ((*ok)[0].labels.at("model"), "m");
  EXPECT_EQ((*ok)[1].kind, RouteCase::Kind::kInhibit);
  EXPECT_EQ((*ok)[1].source.at("severity"), "page");
  auto bad = ParseRouteCases("route a-slack\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().location.line, 1);
}

// --- text helpers -----------------------------------------------------------------------

TEST(TextTest, YamlScalarsRoundTrip) {
  for (const std::string s : {"plain", "1", "yes", "a: b", "#x", "say \"hi\"", "", "x #y",
                              "{{ $value }}", "-", "ümlaut", "tab\there"}) {
    const YAML::Node n = YAML::Load("k: " + YamlScalar(s));
    EXPECT_EQ(n["k"].as<std::string>(), s) << YamlScalar(s);
  }
}

TEST(TextTest, NumbersAndGoFormats) {
  EXPECT_EQ(FormatNumber(14.4 * 0.01), "0.144");
  EXPECT_EQ(FormatNumber(3), "3");
  EXPECT_EQ(HumanizePercentage(0.05), "5%");
  EXPECT_EQ(HumanizePercentage(0.7499999999999999), "75%");
  EXPECT_EQ(GoFormat("%+.1f", 0), "+0.0");
}

// FormatNumber (and AppendNumber) must print exactly what printf's %.15g prints: integers in
// full, other finite values through std::to_chars, the rest through printf.
TEST(TextTest, NumbersAreExactlyPrintfShortestFifteenDigits) {
  auto printf_g = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return std::string(buf);
  };
  std::vector<double> values = {
      0.0,           -0.0,     1e15,     -1e15,  999999999999999.0,      1e16, 123456789012345678.0,
      0.1 + 0.2,     1e-5,     1e-300,   5e-324, 1.7976931348623157e308, -2.5, std::nan(""),
      -std::nan(""), HUGE_VAL, -HUGE_VAL};
  std::mt19937_64 rng(20261207);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int i = 0; i < 20000; ++i) {
    values.push_back(static_cast<double>(rng() % 2000000) / 1000 - 1000);  // k/1000
    values.push_back(unit(rng) * std::pow(10.0, static_cast<int>(rng() % 40) - 20));
    double bits_value;
    const std::uint64_t bits = rng();
    std::memcpy(&bits_value, &bits, sizeof bits_value);  // any double, NaNs included
    values.push_back(bits_value);
  }
  for (double v : values) {
    EXPECT_EQ(FormatNumber(v), printf_g(v)) << printf_g(v);
    std::string appended = "x";
    AppendNumber(appended, v);
    EXPECT_EQ(appended, "x" + printf_g(v));
  }
}

TEST(TextTest, AppendedYamlMatchesTheReturnedForms) {
  for (const std::string s : {"plain", "1", "yes", "a: b", "#x", "say \"hi\"", "", "x #y",
                              "back\\slash", "ctl\x01\x1f", "line\nbreak\r\t", "ümlaut"}) {
    std::string quoted = "<";
    AppendYamlQuote(quoted, s);
    EXPECT_EQ(quoted, "<" + YamlQuote(s));
    std::string scalar = "<";
    AppendYamlScalar(scalar, s);
    EXPECT_EQ(scalar, "<" + YamlScalar(s));
  }
  EXPECT_EQ(YamlQuote("a\"b\\c\nd\te\rf\x02"), "\"a\\\"b\\\\c\\nd\\te\\rf\\x02\"");
}

TEST(TextTest, RenderTemplateReportsUnknownKeys) {
  std::string missing;
  EXPECT_EQ(RenderTemplate("a @@x@@ b @@y@@", {{"x", "1"}}, &missing), "a 1 b @@y@@");
  EXPECT_EQ(missing, "y");
}

TEST(SeriesTest, DashboardUidsFitGrafanasLimit) {
  EXPECT_EQ(series::DashboardUid("fraud"), "mw-fraud");
  const std::string long_name(60, 'a');
  const std::string uid = series::DashboardUid(long_name);
  EXPECT_EQ(uid.size(), 40u);
  EXPECT_NE(uid, series::DashboardUid(long_name + "b"));
}

}  // namespace
}  // namespace modelwatch
