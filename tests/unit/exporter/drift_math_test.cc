#include "exporter/drift/drift_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <vector>

#include "exporter/stats/entropy.h"

namespace modelwatch {
namespace {

// Expected values from numpy / scipy 1.10 (see tests/oracle for the randomised comparison).
TEST(DriftMathTest, PsiMatchesFormula) {
  const std::vector<double> p = {0.1, 0.2, 0.3, 0.4};
  const std::vector<double> q = {0.25, 0.25, 0.25, 0.25};
  EXPECT_NEAR(ComputePsi(p, q), 0.22821740957339182, 1e-12);
  EXPECT_DOUBLE_EQ(ComputePsi(q, q), 0.0);
}

TEST(DriftMathTest, PsiReplacesEmptyBinsWithEpsilonWithoutRenormalising) {
  const std::vector<double> p = {0.0, 1.0};
  const std::vector<double> q = {0.5, 0.5};
  const double expected = (1e-4 - 0.5) * std::log(1e-4 / 0.5) + 0.5 * std::log(2.0);
  EXPECT_NEAR(ComputePsi(p, q), expected, 1e-12);
}

TEST(DriftMathTest, JsDistanceMatchesScipy) {
  const std::vector<double> p = {0.1, 0.2, 0.3, 0.4};
  const std::vector<double> q = {0.25, 0.25, 0.25, 0.25};
  EXPECT_NEAR(ComputeJsDistance(p, q), 0.16692996572597965, 1e-12);
  EXPECT_DOUBLE_EQ(ComputeJsDistance(p, p), 0.0);
}

TEST(DriftMathTest, Chi2MatchesScipyContingency) {
  EXPECT_NEAR(
      ComputeChi2Contingency(std::vector<double>{10, 20, 30}, std::vector<double>{15, 15, 40}),
      2.3877551020408165, 1e-12);
}

TEST(DriftMathTest, Chi2AppliesYatesCorrectionWithOneDegreeOfFreedom) {
  EXPECT_NEAR(ComputeChi2Contingency(std::vector<double>{10, 20}, std::vector<double>{15, 15}),
              1.0971428571428572, 1e-12);
  // An empty column is dropped first, leaving one degree of freedom.
  EXPECT_NEAR(
      ComputeChi2Contingency(std::vector<double>{10, 20, 0}, std::vector<double>{15, 15, 0}),
      1.0971428571428572, 1e-12);
}

TEST(DriftMathTest, Chi2IsZeroWithoutDegreesOfFreedomOrData) {
  EXPECT_EQ(ComputeChi2Contingency(std::vector<double>{10, 0}, std::vector<double>{5, 0}), 0.0);
  EXPECT_EQ(ComputeChi2Contingency(std::vector<double>{10, 5}, std::vector<double>{0, 0}), 0.0);
}

TEST(DriftMathTest, TwoProportionZ) {
  // p1 = 0.6 (60/100), p0 = 0.5 (500/1000): pooled 560/1100.
  const double pooled = 560.0 / 1100;
  const double se = std::sqrt(pooled * (1 - pooled) * (1.0 / 100 + 1.0 / 1000));
  EXPECT_NEAR(TwoProportionZ(60, 100, 500, 1000), 0.1 / se, 1e-12);
  EXPECT_EQ(TwoProportionZ(0, 100, 0, 1000), 0.0);
  EXPECT_EQ(TwoProportionZ(1, 0, 5, 10), 0.0);
}

TEST(DriftMathTest, Entropy) {
  EXPECT_NEAR(BinaryEntropy(0.5), std::log(2.0), 1e-15);
  EXPECT_EQ(BinaryEntropy(0.0), 0.0);
  EXPECT_EQ(BinaryEntropy(1.0), 0.0);
  EXPECT_NEAR(ClassEntropy(std::vector<double>{0.25, 0.25, 0.5, 0.0}),
              -(0.5 * std::log(0.25) + 0.5 * std::log(0.5)), 1e-15);
}

// FineDistribution holds spans: keep the vectors alive for the whole test.
std::span<const double> Keep(std::vector<double> v) {
  static std::vector<std::vector<double>> kept;
  kept.push_back(std::move(v));
  return kept.back();
}

TEST(DriftMathTest, KsAndWassersteinOfIdenticalDistributionsAreZero) {
  const std::vector<double> cuts = {0, 1, 2};
  const std::vector<double> mass = {0.1, 0.3, 0.4, 0.2};
  const std::vector<double> mean = {0, 0.5, 1.5, 2.5};
  const FineDistribution d{cuts, mass, mean};
  EXPECT_EQ(ComputeKsFine(d, d), 0.0);
  EXPECT_EQ(ComputeWassersteinFine(d, d), 0.0);
}

TEST(DriftMathTest, KsSeesTheLeftLimitAtEveryCut) {
  // Reference: atoms at 0, 1, 2 (each on its cut). Current: the same shares at -0.3, 0.7, 1.7,
  // i.e. strictly inside the bins the cuts close. At every cut both right-closed CDFs agree;
  // just left of cut 0 the current holds 0.5 and the reference nothing: KS = 0.5 (scipy's
  // ks_2samp on such samples).
  const std::vector<double> cuts = {0, 1, 2};
  const std::vector<double> mass = {0.5, 0.3, 0.2, 0};
  const std::vector<double> ref_at = {0.5, 0.3, 0.2};
  const std::vector<double> cur_at = {0, 0, 0};
  const FineDistribution ref{cuts, mass, Keep({0, 1, 2, 0}), ref_at};
  const FineDistribution cur{cuts, mass, Keep({-0.3, 0.7, 1.7, 0}), cur_at};
  EXPECT_NEAR(ComputeKsFine(cur, ref), 0.5, 1e-12);
  EXPECT_NEAR(ComputeKsFine(ref, cur), 0.5, 1e-12);
  // Without the counts at the cuts only the right-closed CDFs are compared.
  const FineDistribution ref_unknown{cuts, mass, Keep({0, 1, 2, 0})};
  const FineDistribution cur_unknown{cuts, mass, Keep({-0.3, 0.7, 1.7, 0})};
  EXPECT_EQ(ComputeKsFine(cur_unknown, ref_unknown), 0.0);
}

TEST(DriftMathTest, WassersteinOfPointMassesIsTheirDistance) {
  // Reference all at 1 (bin (0,1]), current all at 5 (open last bin beyond the cuts).
  const std::vector<double> cuts = {0, 1, 2};
  const FineDistribution ref{cuts, Keep({0, 1, 0, 0}), Keep({0, 1, 0, 0})};
  const FineDistribution cur{cuts, Keep({0, 0, 0, 1}), Keep({0, 0, 0, 5})};
  EXPECT_NEAR(ComputeWassersteinFine(cur, ref), 4.0, 1e-12);
  EXPECT_NEAR(ComputeWassersteinFine(ref, cur), 4.0, 1e-12);
  EXPECT_NEAR(ComputeKsFine(cur, ref), 1.0, 1e-12);
  // Below the first cut: current at -3, reference at 0 (= the first cut).
  const FineDistribution low{cuts, Keep({1, 0, 0, 0}), Keep({-3, 0, 0, 0})};
  const FineDistribution zero{cuts, Keep({1, 0, 0, 0}), Keep({0, 0, 0, 0})};
  EXPECT_NEAR(ComputeWassersteinFine(low, zero), 3.0, 1e-12);
}

TEST(DriftMathTest, WassersteinWithinOneBinUsesTheMeans) {
  // Both inside (1, 2]: reference mass at 1.2, current at 1.7.
  const std::vector<double> cuts = {0, 1, 2};
  const FineDistribution ref{cuts, Keep({0, 0, 1, 0}), Keep({0, 0, 1.2, 0})};
  const FineDistribution cur{cuts, Keep({0, 0, 1, 0}), Keep({0, 0, 1.7, 0})};
  EXPECT_NEAR(ComputeWassersteinFine(cur, ref), 0.5, 1e-12);
}

TEST(DriftMathTest, BinnedAucOfPerfectlySeparatedAndUninformativeScores) {
  // Calibrated scores 0.0 (never positive) and 1.0 (always positive): AUC 1.
  EXPECT_NEAR(EstimateBinnedAuc(std::vector<double>{0, 10}, std::vector<double>{10, 10}), 1.0,
              1e-12);
  // All scores 0.5 in one bin: ties, AUC 0.5.
  EXPECT_NEAR(EstimateBinnedAuc(std::vector<double>{5}, std::vector<double>{10}), 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(EstimateBinnedAuc(std::vector<double>{0}, std::vector<double>{10})));
}

}  // namespace
}  // namespace modelwatch

namespace modelwatch {
namespace {

TEST(DriftMathTest, WassersteinCountsBinsEmptyInBothDistributions) {
  // Reference at 1, current at 3; the bin (1, 2] between them is empty in both.
  const std::vector<double> cuts = {1, 2, 3};
  const FineDistribution ref{cuts, Keep({1, 0, 0, 0}), Keep({1, 0, 0, 0})};
  const FineDistribution cur{cuts, Keep({0, 0, 1, 0}), Keep({0, 0, 3, 0})};
  EXPECT_NEAR(ComputeWassersteinFine(cur, ref), 2.0, 1e-12);
}

}  // namespace
}  // namespace modelwatch
