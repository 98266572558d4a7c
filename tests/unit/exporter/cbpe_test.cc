#include "exporter/drift/cbpe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace modelwatch {
namespace {

CbpeSums Sum(const std::vector<double>& scores) {
  CbpeSums s;
  for (double x : scores) {
    const bool positive = x >= 0.5;
    const double c = positive ? x : 1 - x;
    s.records += 1;
    s.correct += c;
    s.correct_sq += c * c;
    s.score += x;
    if (positive) {
      s.positives += 1;
      s.positive_score += x;
      s.positive_score_sq += x * x;
    }
  }
  return s;
}

TEST(CbpeTest, HandComputedValues) {
  // Scores 0.9, 0.8, 0.3, 0.1: c = 0.9, 0.8, 0.7, 0.9.
  const CbpeSums s = Sum({0.9, 0.8, 0.3, 0.1});
  const CbpeEstimate acc = EstimateAccuracy(s);
  EXPECT_NEAR(acc.value, 3.3 / 4, 1e-12);
  EXPECT_NEAR(acc.sd, std::sqrt(0.09 + 0.16 + 0.21 + 0.09) / 4, 1e-12);
  EXPECT_NEAR(acc.lower, acc.value - 1.959963984540054 * acc.sd, 1e-12);
  const CbpeEstimate prec = EstimatePrecision(s);
  EXPECT_NEAR(prec.value, 1.7 / 2, 1e-12);
  EXPECT_NEAR(prec.sd, std::sqrt(0.09 + 0.16) / 2, 1e-12);
  // TP = 1.7, FN = 0.4, Var TP = 0.25, Var FN = 0.21 + 0.09.
  const CbpeEstimate rec = EstimateRecall(s);
  EXPECT_NEAR(rec.value, 1.7 / 2.1, 1e-12);
  EXPECT_NEAR(rec.sd, std::sqrt(0.16 * 0.25 + 1.7 * 1.7 * 0.30) / (2.1 * 2.1), 1e-12);
  EXPECT_TRUE(std::isnan(EstimatePrecision(Sum({0.1, 0.2})).value));
  EXPECT_TRUE(std::isnan(EstimateAccuracy(CbpeSums{}).value));
  // Clamped to [0, 1].
  EXPECT_EQ(EstimateAccuracy(Sum({1.0, 1.0})).upper, 1.0);
}

// With calibrated scores (label ~ Bernoulli(score)) the 95 % intervals cover the realised
// accuracy, precision and recall in about 95 % of windows.
TEST(CbpeTest, IntervalsCoverTheRealisedMetricsWhenCalibrated) {
  std::mt19937 rng(17);
  std::gamma_distribution<double> ga(0.7, 1.0);
  std::uniform_real_distribution<double> u(0, 1);
  const int trials = 1000;
  int cover_acc = 0;
  int cover_prec = 0;
  int cover_rec = 0;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> scores(500);
    double right = 0, tp = 0, predicted = 0, actual = 0;
    for (double& x : scores) {
      const double a = ga(rng);
      const double b = ga(rng);
      x = a / (a + b);  // Beta(0.7, 0.7): many confident scores
      const bool label = u(rng) < x;
      const bool positive = x >= 0.5;
      right += label == positive;
      predicted += positive;
      actual += label;
      tp += label && positive;
    }
    const CbpeSums s = Sum(scores);
    const CbpeEstimate acc = EstimateAccuracy(s);
    const CbpeEstimate prec = EstimatePrecision(s);
    const CbpeEstimate rec = EstimateRecall(s);
    const double real_acc = right / 500;
    const double real_prec = tp / predicted;
    const double real_rec = tp / actual;
    cover_acc += acc.lower <= real_acc && real_acc <= acc.upper;
    cover_prec += prec.lower <= real_prec && real_prec <= prec.upper;
    cover_rec += rec.lower <= real_rec && real_rec <= rec.upper;
  }
  EXPECT_NEAR(cover_acc / 1000.0, 0.95, 0.025);
  EXPECT_NEAR(cover_prec / 1000.0, 0.95, 0.025);
  EXPECT_NEAR(cover_rec / 1000.0, 0.95, 0.025);
}

}  // namespace
}  // namespace modelwatch
