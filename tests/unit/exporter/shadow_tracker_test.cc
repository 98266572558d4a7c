#include "exporter/shadow/shadow_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "exporter/commands/shadow_report_command.h"
#include "exporter/shadow/shadow_report.h"
#include "tests/unit/exporter/groundtruth_test_util.h"

namespace modelwatch {
namespace {

using testing::OwnedRecord;
using testing::Scored;
using testing::ScratchDir;

constexpr double kT0 = 1795939200;

ModelConfig ShadowModel() {
  ModelConfig m = testing::BinaryModel();
  m.drift.windows = {{"1h", Seconds(3600)}, {"24h", Seconds(86400)}};
  m.drift.sub_windows = 12;
  ShadowConfig s;
  s.champion = "v3";
  s.challenger = "v4";
  s.pairing_timeout = Seconds(60);
  s.min_agreement = 0.9;
  m.shadow = s;
  return m;
}

KeyedHasher TestHasher() { return KeyedHasher(KeyedHasher::Key{1, 2, 3}); }

TEST(ShadowTrackerTest, PairsSameRequestAndComparesScores) {
  ShadowTracker t(ShadowModel(), TestHasher());
  const double a[] = {0.10, 0.20, 0.40, 0.60, 0.80, 0.90};
  const double b[] = {0.15, 0.30, 0.55, 0.65, 0.70, 0.95};  // 0.4 vs 0.55 disagree
  for (int i = 0; i < 6; ++i) {
    const std::string id = "r" + std::to_string(i);
    t.Observe(Scored(id, kT0 + i, a[i], "v3").View());
    t.Observe(Scored("other" + std::to_string(i), kT0 + i, 0.5, "v2").View());
    t.Observe(Scored(id, kT0 + i + 5, b[i], "v4").View());
  }
  EXPECT_EQ(t.paired(), 6u);
  auto stats = t.Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].window, "1h");
  EXPECT_EQ(stats[0].pairs, 6);
  EXPECT_DOUBLE_EQ(stats[0].agreement, 5.0 / 6);
  double mx = 0, my = 0;
  for (int i = 0; i < 6; ++i) mx += a[i] / 6, my += b[i] / 6;
  double cxy = 0, cxx = 0, cyy = 0;
  for (int i = 0; i < 6; ++i) {
    cxy += (a[i] - mx) * (b[i] - my);
    cxx += (a[i] - mx) * (a[i] - mx);
    cyy += (b[i] - my) * (b[i] - my);
  }
  EXPECT_NEAR(stats[0].correlation, cxy / std::sqrt(cxx * cyy), 1e-9);
  // Empirical CDFs differ most between 0.10..0.15 ... : at 0.2 champion has 2/6, challenger 1/6;
  // at 0.4: 3/6 vs 2/6; at 0.6: 4/6 vs 3/6 (0.55 counted); max difference 1/6.
  EXPECT_NEAR(stats[0].ks, 1.0 / 6, 1e-12);
}

// Exact two-sample KS statistic (what scipy.stats.ks_2samp reports as the statistic).
double ExactKs(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::size_t i = 0, j = 0;
  double d = 0;
  while (i < a.size() && j < b.size()) {
    const double v = std::min(a[i], b[j]);
    while (i < a.size() && a[i] == v) ++i;
    while (j < b.size() && b[j] == v) ++j;
    d = std::max(d, std::fabs(double(i) / double(a.size()) - double(j) / double(b.size())));
  }
  return d;
}

TEST(ShadowTrackerTest, RegressionKsFollowsTheExactStatistic) {
  ModelConfig m = ShadowModel();
  m.task = Task::kRegression;
  ShadowTracker t(m, TestHasher());
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> eta(3.0, 0.5);  // minutes, around 20
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> a, b;
  for (int i = 0; i < 3000; ++i) {
    const double x = eta(rng);
    // The challenger predicts 8 % longer, with noise; a few negative bias corrections.
    const double y = i % 100 == 0 ? -0.5 * x : 1.08 * x + noise(rng);
    a.push_back(x);
    b.push_back(y);
    for (int side = 0; side < 2; ++side) {
      OwnedRecord r = Scored("q" + std::to_string(i), kT0 + i * 0.5, 0, side == 0 ? "v3" : "v4");
      r.has_score = false;
      r.has_prediction = true;
      r.prediction = side == 0 ? x : y;
      t.Observe(r.View());
    }
  }
  auto stats = t.Stats();
  ASSERT_EQ(stats[0].pairs, 3000);
  const double want = ExactKs(a, b);
  EXPECT_GT(want, 0.05);
  EXPECT_NEAR(stats[0].ks, want, 0.01);
  // Identical predictions: KS 0.
  ShadowTracker same(m, TestHasher());
  for (int i = 0; i < 100; ++i) {
    for (const char* v : {"v3", "v4"}) {
      OwnedRecord r = Scored("s" + std::to_string(i), kT0 + i, 0, v);
      r.has_score = false;
      r.has_prediction = true;
      r.prediction = -50.0 + i * 1.5;
      same.Observe(r.View());
    }
  }
  EXPECT_EQ(same.Stats()[0].ks, 0.0);
}

TEST(ShadowTrackerTest, PartnerAfterTimeoutIsUnpaired) {
  ShadowTracker t(ShadowModel(), TestHasher());
  t.Observe(Scored("late", kT0, 0.9, "v3").View());
  t.Observe(Scored("late", kT0 + 120, 0.9, "v4").View());  // beyond pairing_timeout
  EXPECT_EQ(t.paired(), 0u);
  EXPECT_EQ(t.unpaired(0), 1u);
  EXPECT_EQ(t.waiting(1), 1u);
  // Time moves on: the waiting challenger record expires as well.
  t.Observe(Scored("x", kT0 + 500, 0.9, "v3").View());
  EXPECT_EQ(t.unpaired(1), 1u);
  EXPECT_EQ(t.waiting(1), 0u);
  EXPECT_EQ(t.waiting(0), 1u);
  // Within the timeout, order does not matter: challenger first.
  t.Observe(Scored("y", kT0 + 510, 0.2, "v4").View());
  t.Observe(Scored("y", kT0 + 550, 0.3, "v3").View());
  EXPECT_EQ(t.paired(), 1u);
  // A repeated record of the same side does not pair with itself.
  t.Observe(Scored("z", kT0 + 560, 0.2, "v4").View());
  t.Observe(Scored("z", kT0 + 561, 0.2, "v4").View());
  EXPECT_EQ(t.paired(), 1u);
}

TEST(ShadowTrackerTest, LatencyErrorsAndWindows) {
  ShadowTracker t(ShadowModel(), TestHasher());
  for (int i = 0; i < 200; ++i) {
    OwnedRecord c = Scored("r" + std::to_string(i), kT0 + i, 0.7, "v3");
    c.latency_seconds = 0.010 + (i == 199 ? 1.0 : 0.0) + (i >= 197 ? 0.1 : 0);
    OwnedRecord d = Scored("r" + std::to_string(i), kT0 + i, 0.7, "v4");
    d.latency_seconds = 0.050;
    d.ok = i % 10 != 0;
    t.Observe(c.View());
    t.Observe(d.View());
  }
  auto s = t.Stats()[0];
  // Champion: 197 at 10 ms, 2 at 110 ms, 1 at 1.11 s: p99 (rank 198) is 110 ms.
  EXPECT_NEAR(s.latency_p99_seconds[0], 0.110, 0.110 * 0.021);
  EXPECT_GE(s.latency_p99_seconds[0], 0.110);
  EXPECT_NEAR(s.latency_p99_seconds[1], 0.050, 0.050 * 0.021);
  EXPECT_DOUBLE_EQ(s.error_ratio[0], 0);
  EXPECT_DOUBLE_EQ(s.error_ratio[1], 0.1);
  EXPECT_EQ(s.pairs, 180);                 // error records do not pair
  EXPECT_TRUE(std::isnan(s.correlation));  // constant scores
  // Two hours later the 1h window no longer holds them; 24h does.
  t.Observe(Scored("later", kT0 + 7200, 0.5, "v3").View());
  auto later = t.Stats();
  EXPECT_EQ(later[0].pairs, 0);
  EXPECT_EQ(later[1].pairs, 180);
  std::vector<prometheus::MetricFamily> f;
  t.Collect(f);
  bool saw_agreement_1h = false, saw_agreement_24h = false;
  for (const auto& fam : f) {
    if (fam.name != "model_shadow_agreement_ratio") continue;
    for (const auto& m : fam.metric) {
      for (const auto& l : m.label) {
        if (l.name == "window" && l.value == "1h") saw_agreement_1h = true;
        if (l.name == "window" && l.value == "24h") {
          saw_agreement_24h = true;
          EXPECT_DOUBLE_EQ(m.gauge.value, 1.0);
        }
      }
    }
  }
  EXPECT_FALSE(saw_agreement_1h);  // no pairs: absent, not 0
  EXPECT_TRUE(saw_agreement_24h);
}

TEST(ShadowTrackerTest, SaveAndRestoreKeepWaitingRequestsAndWindows) {
  ShadowTracker before(ShadowModel(), TestHasher());
  for (int i = 0; i < 20; ++i) {
    const std::string id = "r" + std::to_string(i);
    before.Observe(Scored(id, kT0 + i, 0.05 * i, "v3").View());
    before.Observe(Scored(id, kT0 + i, 0.04 * i, "v4").View());
  }
  before.Observe(Scored("pending-request", kT0 + 30, 0.8, "v3").View());
  const nlohmann::json state = before.SaveState();
  EXPECT_EQ(state.dump().find("pending-request"), std::string::npos);

  ShadowTracker after(ShadowModel(), TestHasher());
  ASSERT_TRUE(after.RestoreState(nlohmann::json::parse(state.dump())));
  EXPECT_EQ(after.waiting(0), 1u);
  after.Observe(Scored("pending-request", kT0 + 40, 0.3, "v4").View());
  EXPECT_EQ(after.paired(), 21u);
  before.Observe(Scored("pending-request", kT0 + 40, 0.3, "v4").View());
  const auto x = before.Stats(), y = after.Stats();
  for (std::size_t w = 0; w < x.size(); ++w) {
    EXPECT_EQ(x[w].pairs, y[w].pairs);
    EXPECT_DOUBLE_EQ(x[w].agreement, y[w].agreement);
    EXPECT_NEAR(x[w].correlation, y[w].correlation, 1e-12);
    EXPECT_DOUBLE_EQ(x[w].ks, y[w].ks);
  }
  ModelConfig other = ShadowModel();
  other.shadow->challenger = "v5";
  ShadowTracker changed(other, TestHasher());
  EXPECT_FALSE(changed.RestoreState(state));
  EXPECT_FALSE(changed.RestoreState(nlohmann::json::parse("[1]")));
}

ShadowWindowStats GoodStats() {
  ShadowWindowStats s;
  s.window = "all";
  s.pairs = 1000;
  s.agreement = 0.97;
  s.correlation = 0.95;
  s.ks = 0.02;
  s.records[0] = s.records[1] = 1000;
  s.error_ratio[0] = 0.002;
  s.error_ratio[1] = 0.001;
  s.latency_p99_seconds[0] = 0.120;
  s.latency_p99_seconds[1] = 0.150;
  return s;
}

bool Passed(const ShadowReport& r, const std::string& name) {
  for (const auto& c : r.criteria) {
    if (c.name == name) return c.evaluated && c.passed;
  }
  ADD_FAILURE() << "no criterion " << name;
  return false;
}

TEST(ShadowReportTest, PromotesOnlyWhenEveryCriterionHolds) {
  ModelConfig m = ShadowModel();
  m.drift.min_samples = 500;
  SloConfig slo;
  slo.latency_p99_ms = 250;
  slo.error_rate = 0.01;
  m.slo = slo;
  const std::uint64_t unpaired[2] = {0, 0};
  std::vector<PerformanceValue> labelled = {{"v3", "", "", "auc", "all", 0.90},
                                            {"v4", "", "", "auc", "all", 0.91}};
  ShadowReport ok = BuildShadowReport(m, GoodStats(), unpaired, labelled);
  EXPECT_TRUE(ok.promote) << ok.text;
  EXPECT_NE(ok.text.find("Verdict: PROMOTE challenger v4"), std::string::npos);

  ShadowWindowStats slow = GoodStats();
  slow.latency_p99_seconds[1] = 0.300;
  ShadowReport r = BuildShadowReport(m, slow, unpaired, labelled);
  EXPECT_FALSE(r.promote);
  EXPECT_FALSE(Passed(r, "latency_slo"));
  EXPECT_NE(r.text.find("[FAIL] latency_slo"), std::string::npos);

  ShadowWindowStats disagree = GoodStats();
  disagree.agreement = 0.85;
  EXPECT_FALSE(BuildShadowReport(m, disagree, unpaired, labelled).promote);

  ShadowWindowStats few = GoodStats();
  few.pairs = 10;
  EXPECT_FALSE(BuildShadowReport(m, few, unpaired, labelled).promote);

  ShadowWindowStats errors = GoodStats();
  errors.error_ratio[1] = 0.005;  // within the SLO, but worse than the champion
  r = BuildShadowReport(m, errors, unpaired, labelled);
  EXPECT_TRUE(Passed(r, "error_rate_slo"));
  EXPECT_FALSE(Passed(r, "errors_not_worse"));
  EXPECT_FALSE(r.promote);

  std::vector<PerformanceValue> worse = {{"v3", "", "", "auc", "all", 0.90},
                                         {"v4", "", "", "auc", "all", 0.88}};
  EXPECT_FALSE(BuildShadowReport(m, GoodStats(), unpaired, worse).promote);
  // Without labels the criterion is skipped, not failed.
  r = BuildShadowReport(m, GoodStats(), unpaired, {});
  EXPECT_TRUE(r.promote);
  EXPECT_NE(r.text.find("[SKIP] labelled_performance"), std::string::npos);
  // Regression: rmse is lower-is-better.
  m.task = Task::kRegression;
  std::vector<PerformanceValue> rmse = {{"v3", "", "", "rmse", "all", 3.0},
                                        {"v4", "", "", "rmse", "all", 3.5}};
  EXPECT_FALSE(BuildShadowReport(m, GoodStats(), unpaired, rmse).promote);
}

class ShadowReportCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write("fraud.yaml",
          "model: fraud\n"
          "owner: {team: fraud-ml}\n"
          "tier: 2\n"
          "task: binary_classification\n"
          "source: {paths: [\"preds/*.jsonl\"]}\n"
          "drift: {min_samples: 20}\n"
          "slo: {latency_p99_ms: 100}\n"
          "shadow: {champion: v3, challenger: v4, min_agreement: 0.9}\n");
    Write("plain.yaml",
          "model: plain\n"
          "owner: {team: fraud-ml}\n"
          "tier: 2\n"
          "task: binary_classification\n"
          "source: {paths: [\"preds/*.jsonl\"]}\n");
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.path() + "/" + name) << text;
  }
  // 40 requests served by both; the challenger's scores are `shift` higher, latency `ms`.
  void WriteLogs(double shift, double challenger_ms, bool flip_labels) {
    std::ofstream preds(dir_.path() + "/preds.jsonl");
    std::ofstream labels(dir_.path() + "/labels.jsonl");
    for (int i = 0; i < 40; ++i) {
      const double score = 0.025 * i;
      const double challenger = std::min(1.0, score + shift);
      const std::string id = "req-" + std::to_string(i);
      const std::string ts = std::to_string(static_cast<long>(kT0) + i);
      preds << "{\"ts\":" << ts << ",\"model_version\":\"v3\",\"request_id\":\"" << id
            << "\",\"score\":" << score << ",\"latency_ms\":20}\n";
      preds << "{\"ts\":" << ts << ",\"model_version\":\"v4\",\"request_id\":\"" << id
            << "\",\"score\":" << challenger << ",\"latency_ms\":" << challenger_ms << "}\n";
      const int y = (score >= 0.5) != flip_labels ? 1 : 0;
      labels << "{\"ts\":" << static_cast<long>(kT0) + 1000 << ",\"request_id\":\"" << id
             << "\",\"label\":" << y << "}\n";
    }
  }
  int Run(const std::string& model, bool with_labels) {
    std::vector<std::string> args = {"--config.dir=" + dir_.path(), "--model=" + model,
                                     "--input=" + dir_.path() + "/preds.jsonl"};
    if (with_labels) args.push_back("--labels=" + dir_.path() + "/labels.jsonl");
    return RunShadowReportCommand(args);
  }
  ScratchDir dir_;
};

TEST_F(ShadowReportCommandTest, ExitCodesFollowTheVerdict) {
  WriteLogs(0.0, 30, false);
  EXPECT_EQ(Run("fraud", true), 0);
  EXPECT_EQ(Run("fraud", false), 0);
  WriteLogs(0.0, 150, false);  // over the latency SLO
  EXPECT_EQ(Run("fraud", true), 1);
  WriteLogs(0.3, 30, false);  // disagrees on 12 of 40 requests
  EXPECT_EQ(Run("fraud", false), 1);
  // Invalid input is 1, like a failed verdict (the README's rule; the verdict goes to stdout,
  // the error to stderr); usage is 2.
  EXPECT_EQ(Run("plain", false), 1);  // no shadow section
  EXPECT_EQ(Run("missing", false), 1);
  EXPECT_EQ(RunShadowReportCommand({"--config.dir=" + dir_.path()}), 2);  // no --model
}

}  // namespace
}  // namespace modelwatch
