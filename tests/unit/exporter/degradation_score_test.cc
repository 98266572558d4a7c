#include "exporter/drift/degradation_score.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "exporter/baseline/baseline_builder.h"
#include "exporter/drift/drift_math.h"
#include "exporter/drift/effect_size.h"

namespace modelwatch {
namespace {

// Reference values from scipy 1.10: stats.norm.ppf and stats.chi2.isf.
TEST(EffectSizeTest, NormalQuantileMatchesScipy) {
  EXPECT_NEAR(NormalQuantile(0.999), 3.090232306167813, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(NormalQuantile(1e-6), -4.753424308822899, 1e-11);
  EXPECT_NEAR(NormalQuantile(0.501), 0.0025066308995717666, 1e-14);
  EXPECT_TRUE(std::isinf(NormalQuantile(0)));
}

TEST(EffectSizeTest, ChiSquareQuantileMatchesScipy) {
  EXPECT_NEAR(ChiSquareUpperTailQuantile(1, 0.001), 10.827566170662733, 1e-8);
  EXPECT_NEAR(ChiSquareUpperTailQuantile(2, 0.001), 13.815510557964274, 1e-8);
  EXPECT_NEAR(ChiSquareUpperTailQuantile(9, 0.001 / 31), 36.50403931439982, 1e-8);
  EXPECT_NEAR(ChiSquareUpperTailQuantile(4, 0.01), 13.276704135987625, 1e-8);
  EXPECT_NEAR(ChiSquareUpperTailQuantile(19, 0.0001), 50.795489665621886, 1e-8);
}

TEST(EffectSizeTest, ReferenceCdfSpreadOfANormalReference) {
  // ∫ sqrt(Φ(1 − Φ)) dx = 1.6147 (scipy.integrate.quad).
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(5, 2);
  std::vector<double> values(100000);
  for (double& v : values) v = normal(rng);
  const NumericSummary s = SummariseNumeric(values, 10, 400);
  // The mid-CDF rule errs high, in the extreme fine bins only.
  EXPECT_GT(ReferenceCdfSpread(s), 1.6147438534296685);
  EXPECT_LT(ReferenceCdfSpread(s), 1.6147438534296685 * 1.08);
}

// The no-drift false-alarm rate of the PSI and JS floors: windows and references drawn from
// one distribution exceed their floor in at most about kNoiseAlpha of the trials.
TEST(EffectSizeTest, PsiAndJsFloorsHoldOnUnchangedData) {
  std::mt19937 rng(11);
  std::lognormal_distribution<double> dist(0, 1);
  const int m = 2000;
  std::vector<double> ref(m);
  int psi_over = 0;
  int js_over = 0;
  const int trials = 2000;
  for (int t = 0; t < trials; ++t) {
    for (double& v : ref) v = dist(rng);
    const NumericSummary s = SummariseNumeric(ref, 10, 400);
    const int n = t % 2 == 0 ? 200 : 5000;
    std::vector<double> counts(s.proportions.size(), 0.0);
    for (int i = 0; i < n; ++i) {
      const double x = dist(rng);
      const auto bin = std::lower_bound(s.edges.begin(), s.edges.end(), x) - s.edges.begin();
      counts[static_cast<std::size_t>(bin)] += 1;
    }
    for (double& c : counts) c /= n;
    DriftNoise noise;
    noise.bins = static_cast<int>(s.proportions.size());
    noise.n = n;
    noise.m = m;
    psi_over += ComputePsi(counts, s.proportions) > DriftNoiseFloor(DriftMethod::kPsi, noise);
    js_over += ComputeJsDistance(counts, s.proportions) > DriftNoiseFloor(DriftMethod::kJs, noise);
  }
  // Expected ≤ 2 of 2000 at α = 0.001; allow sampling slack.
  EXPECT_LE(psi_over, 6);
  EXPECT_LE(js_over, 6);
}

TEST(EffectSizeTest, FloorsShrinkWithBothSampleSizes) {
  DriftNoise small{10, 300, 300, 31, 1.6};
  DriftNoise large{10, 100000, 100000, 31, 1.6};
  for (DriftMethod m : {DriftMethod::kPsi, DriftMethod::kJs, DriftMethod::kKs,
                        DriftMethod::kWasserstein, DriftMethod::kChi2}) {
    EXPECT_GE(DriftNoiseFloor(m, small), DriftNoiseFloor(m, large)) << DriftMethodName(m);
  }
  // PSI on 285-record halves: (1/285 + 1/285)·χ²₉(0.001/31) ≈ 0.256, above the 0.1375 the
  // breast-cancer halves show with no drift at all.
  DriftNoise halves{10, 285, 285, 31, 1.6};
  EXPECT_NEAR(DriftNoiseFloor(DriftMethod::kPsi, halves), 2.0 / 285 * 36.50403931439982, 1e-9);
  EXPECT_TRUE(std::isinf(DriftNoiseFloor(DriftMethod::kPsi, DriftNoise{10, 0, 100, 1, 1})));
}

// The example: mean confidence 0.974 → 0.958 at n = m = 5 000 was z = 17 (saturated).
TEST(EffectSizeTest, MeanShiftEffectDoesNotGrowWithTheWindow) {
  MeanShift s;
  s.baseline_mean = 0.974;
  s.baseline_std = 0.07;
  s.baseline_n = 5000;
  s.window_mean = 0.958;
  s.window_n = 5000;
  const double z = 3.090232306167813;
  const double want = (0.016 - z * 0.07 * std::sqrt(2.0 / 5000)) / 0.07;
  EXPECT_NEAR(MeanShiftEffect(s, -1), want, 1e-9);
  EXPECT_NEAR(want, 0.1668, 1e-3);
  // A rise is not harmful for confidence.
  EXPECT_EQ(MeanShiftEffect(s, +1), 0);
  // However large the window, the effect stays below the standardised change 0.016/0.07.
  s.window_n = 1e9;
  s.baseline_n = 1e9;
  EXPECT_LT(MeanShiftEffect(s, -1), 0.016 / 0.07 + 1e-12);
  // A known day-to-day spread is noise too.
  s.baseline_between_std = 0.01;
  EXPECT_NEAR(MeanShiftEffect(s, -1), std::max(0.0, 0.016 - z * 0.01) / 0.07, 1e-6);
  // Small windows: the noise covers the change.
  s.baseline_between_std = std::nan("");
  s.window_n = 50;
  EXPECT_EQ(MeanShiftEffect(s, -1), 0);
}

TEST(EffectSizeTest, PositiveRateZAllowsForOverdispersion) {
  // Binomial part plus τ = 0.1·sqrt(p0(1 − p0)).
  const double rate = 0.58;
  const double base = 0.63;
  const double n = 5000;
  const double m = 285;
  const double pooled = (rate * n + base * m) / (n + m);
  const double tau = 0.1 * std::sqrt(base * (1 - base));
  const double want =
      (rate - base) / std::sqrt(pooled * (1 - pooled) * (1 / n + 1 / m) + tau * tau);
  EXPECT_NEAR(PositiveRateZ(rate, n, base, m, std::nan("")), want, 1e-12);
  // Bounded as both samples grow: a 0.05 shift never reaches the 5σ line.
  EXPECT_LT(std::fabs(PositiveRateZ(rate, 1e9, base, 1e9, std::nan(""))), 0.05 / tau + 1e-9);
  EXPECT_LT(std::fabs(PositiveRateZ(rate, 1e9, base, 1e9, std::nan(""))), 2);
  // A larger known day-to-day spread replaces the floor.
  EXPECT_NEAR(PositiveRateZ(rate, 1e9, base, 1e9, 0.1), -0.05 / 0.1, 1e-4);
  // A real case-mix change crosses it: 0.63 → 0.30.
  EXPECT_LT(PositiveRateZ(0.30, 5000, base, 285, std::nan("")), -5);
  EXPECT_EQ(PositiveRateZ(0.3, 0, base, 285, std::nan("")), 0);
}

TEST(EffectSizeTest, ExpectedOutOfRangeShareIsAUnionBound) {
  const double counts[] = {285, 285, 0};
  EXPECT_NEAR(ExpectedOutOfRangeShare(counts, 3), 4.0 / 286, 1e-15);
  const double tiny[] = {1, 1};
  EXPECT_EQ(ExpectedOutOfRangeShare(tiny, 2), 1.0);
}

ModelConfig ScoredModel() {
  ModelConfig m;
  m.name = "m";
  m.degradation.weights = {{"drift", 0.3},
                           {"confidence", 0.2},
                           {"entropy", 0.2},
                           {"anomaly_rate", 0.2},
                           {"errors", 0.1}};
  return m;
}

TEST(DegradationScoreTest, UnchangedInputsScoreZeroAndSignalsSumToTheScore) {
  const ModelConfig m = ScoredModel();
  DegradationInputs in;
  in.version = "v1";
  in.confidence = {0.97, 0.07, std::nan(""), 5000, 0.969, 5000};
  in.entropy = {0.08, 0.15, std::nan(""), 5000, 0.081, 5000};
  in.records = 5000;
  in.anomaly_expected = 0.2;
  in.anomaly_ratio = 0.1;  // fewer out-of-range values than an unchanged 285-record range gives
  EXPECT_EQ(ComputeDegradation(m, in).score, 0);

  in.drift_excess = 0.5;
  in.confidence.window_mean = 0.90;  // (0.07 − 0.0043) / 0.07 ≈ 0.94σ beyond noise → saturates
  in.entropy.window_mean = 0.12;     // (0.04 − 0.0093) / 0.15 ≈ 0.2σ → 0.41 of saturation
  in.anomaly_ratio = 0.35;  // 0.35 − 0.2 − 3.09·sqrt(0.16/5000) = 0.1325 → saturates
  in.error_rate = 0.05;     // half of the 10 % saturation without an SLO
  const DegradationResult r = ComputeDegradation(m, in);
  ASSERT_EQ(r.signals.size(), 5u);
  double sum = 0;
  std::map<std::string, double> by_name;
  for (const auto& s : r.signals) {
    sum += s.value;
    by_name[s.signal] = s.value;
  }
  EXPECT_NEAR(sum, r.score, 1e-12);
  EXPECT_NEAR(by_name.at("drift"), 15, 1e-12);
  EXPECT_NEAR(by_name.at("confidence"), 20, 1e-12);
  const double ent_noise = 3.090232306167813 * 0.15 * std::sqrt(2.0 / 5000);
  EXPECT_NEAR(by_name.at("entropy"), 0.2 * (0.04 - ent_noise) / 0.15 / 0.5 * 100, 1e-9);
  EXPECT_NEAR(by_name.at("anomaly_rate"), 20, 1e-12);
  EXPECT_NEAR(by_name.at("errors"), 5, 1e-12);
}

TEST(DegradationScoreTest, DriftExcessRatioSubtractsTheNoiseFloor) {
  DriftNoise noise{10, 5000, 5000, 1, 1.6};
  const double floor = DriftNoiseFloor(DriftMethod::kPsi, noise);
  EXPECT_EQ(DriftExcessRatio(DriftMethod::kPsi, floor * 0.9, noise, 0.2), 0);
  EXPECT_NEAR(DriftExcessRatio(DriftMethod::kPsi, floor + 0.1, noise, 0.2), 0.5, 1e-12);
  EXPECT_EQ(DriftExcessRatio(DriftMethod::kPsi, std::nan(""), noise, 0.2), 0);
}

TEST(BaselineBuilderTest, CountsDistinctRecordsSoBootstrapsAreNotEvidence) {
  ModelConfig m;
  m.name = "m";
  m.task = Task::kBinaryClassification;
  m.features = {{"x", FeatureType::kNumeric, false, false, {}}};
  BaselineBuilder b(m);
  Record r;
  r.has_score = true;
  r.features.resize(1);
  r.features[0].kind = FeatureValue::Kind::kNumber;
  for (int i = 0; i < 1000; ++i) {
    r.timestamp = 1.8e9 + i;
    r.features[0].number = i % 100;  // each record ten times
    r.score = (i % 100) / 100.0;
    r.predicted_class = r.score >= 0.5 ? "1" : "0";
    b.Add(r);
  }
  auto p = b.Finish();
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->records, 1000);
  EXPECT_EQ(p->distinct_records, 100);
  EXPECT_DOUBLE_EQ(p->EffectiveCount(1000), 100);
  // Round trip, and older files without the key load with distinct_records unknown.
  nlohmann::json doc = BaselineToJson(*p);
  auto back = ParseBaselineProfile(doc, "b.json");
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->distinct_records, 100);
  doc["reference"].erase("distinct_records");
  doc["id"] = BaselineContentId(doc);
  auto old = ParseBaselineProfile(doc, "old.json");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->distinct_records, 0);
  EXPECT_DOUBLE_EQ(old->EffectiveCount(1000), 1000);
}

}  // namespace
}  // namespace modelwatch

namespace modelwatch {
namespace {

// Records in hour-long blocks whose positive share alternates 0.3 / 0.7: the positive rate
// varies between batches far beyond p(1 − p)/b, and the z-score allows for it.
TEST(BaselineBuilderTest, BatchBetweenStdMeasuresOverdispersion) {
  ModelConfig m;
  m.name = "m";
  m.task = Task::kBinaryClassification;
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  BaselineBuilder clustered(m);
  BaselineBuilder iid(m);
  Record r;
  r.has_score = true;
  for (int i = 0; i < 4000; ++i) {
    r.timestamp = 1.8e9 + i;  // 20 batches of 200 records: 200 s each
    const double share = (i / 200) % 2 == 0 ? 0.3 : 0.7;
    r.score = u(rng) < share ? 0.9 : 0.1;
    r.predicted_class = r.score >= 0.5 ? "1" : "0";
    clustered.Add(r);
    r.score = u(rng) < 0.5 ? 0.9 : 0.1;
    r.predicted_class = r.score >= 0.5 ? "1" : "0";
    iid.Add(r);
  }
  auto c = clustered.Finish();
  auto i = iid.Finish();
  ASSERT_TRUE(c.has_value() && i.has_value());
  EXPECT_NEAR(c->prediction.positive_rate_batch_between_std, 0.2, 0.03);
  EXPECT_LT(i->prediction.positive_rate_batch_between_std, 0.02);
  EXPECT_TRUE(std::isnan(c->prediction.positive_rate_daily_std));  // one day only
  // z of a 0.1 shift: the clustered baseline's τ ≈ 0.2 keeps it under 1.
  const double tau = BetweenStd(c->prediction.positive_rate_daily_std,
                                c->prediction.positive_rate_batch_between_std);
  EXPECT_LT(std::fabs(PositiveRateZ(0.6, 5000, 0.5, 4000, tau)), 1);
  EXPECT_GT(std::fabs(PositiveRateZ(0.6, 5000, 0.5, 4000, std::nan(""))), 1.5);
  // Too few records for 20 batches of 20: unknown.
  BaselineBuilder small(m);
  for (int k = 0; k < 100; ++k) small.Add(r);
  EXPECT_TRUE(std::isnan(small.Finish()->prediction.positive_rate_batch_between_std));
}

}  // namespace
}  // namespace modelwatch
