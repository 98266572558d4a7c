#include "exporter/drift/drift_noise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace modelwatch {
namespace {

// Reference values: scipy.stats.chi2.isf / chi2.sf / kstwobign.isf / kstwobign.sf (scipy 1.10).
TEST(DriftNoiseTest, ChiSquareQuantilesMatchScipy) {
  EXPECT_NEAR(ChiSquareUpperQuantile(1e-4, 9), 33.719948438964636, 1e-7);
  EXPECT_NEAR(ChiSquareUpperQuantile(0.05, 1), 3.8414588206941285, 1e-7);
  EXPECT_NEAR(ChiSquareUpperQuantile(1e-6, 20), 65.42068103504783, 1e-6);
  EXPECT_NEAR(ChiSquareUpperQuantile(0.001, 399), 492.02246345588145, 1e-5);
  EXPECT_NEAR(ChiSquareSurvival(30, 9), 0.00043872177097947936, 1e-12);
}

TEST(DriftNoiseTest, KolmogorovLawMatchesScipy) {
  EXPECT_NEAR(KolmogorovUpperQuantile(0.5), 0.8275735551899059, 1e-8);
  EXPECT_NEAR(KolmogorovUpperQuantile(0.05), 1.3580986393225507, 1e-8);
  EXPECT_NEAR(KolmogorovUpperQuantile(1e-4), 2.2252513961950457, 1e-8);
  EXPECT_NEAR(KolmogorovUpperQuantile(1e-7), 2.8992449733955103, 1e-8);
  EXPECT_NEAR(KolmogorovSurvival(0.2), 0.999999999999495, 1e-12);
  EXPECT_NEAR(KolmogorovSurvival(0.5), 0.9639452436648751, 1e-12);
}

TEST(DriftNoiseTest, CriticalValuesShrinkWithTheWindowAndFollowTheirLimits) {
  const double q = ChiSquareUpperQuantile(1e-3, 9);
  EXPECT_NEAR(PsiCriticalValue(1e-3, 1000, 20000, 10), (1e-3 + 5e-5) * q, 1e-12);
  EXPECT_NEAR(JsCriticalValue(1e-3, 1000, 20000, 10), std::sqrt((1e-3 + 5e-5) * q / 8), 1e-12);
  EXPECT_NEAR(Chi2CriticalValue(1e-3, 10), q, 1e-12);
  EXPECT_NEAR(KsCriticalValue(0.05, 100, 100), 1.3580986393225507 / std::sqrt(50.0), 1e-8);
  EXPECT_GT(PsiCriticalValue(1e-3, 100, 20000, 10), PsiCriticalValue(1e-3, 10000, 20000, 10));
  EXPECT_TRUE(std::isinf(PsiCriticalValue(1e-3, 100, 100, 1)));
  EXPECT_NEAR(WassersteinCriticalValue(std::exp(-2.0), 100, 100, 0.5),
              std::sqrt(0.02) * (0.5 + 2.0), 1e-12);
}

TEST(DriftNoiseTest, BinsLikelyEmptyInTheWindowAddTheirEpsilonTerm) {
  // A bin of 1 %: a window of 100 leaves it empty with probability 0.99^100 = 0.37, far above
  // p / bins, so its ε-floored PSI term (q − ε)·ln(q/ε) is allowed for; a window of 10 000
  // leaves it empty with probability 2e-44: no allowance.
  const std::vector<double> q = {0.5, 0.49, 0.01, 0};
  const double p = 1e-3;
  EXPECT_NEAR(PsiCriticalValue(p, 100, 20000, q),
              PsiCriticalValue(p, 100, 20000, 3) + (0.01 - 1e-4) * std::log(0.01 / 1e-4), 1e-12);
  EXPECT_NEAR(PsiCriticalValue(p, 10000, 20000, q), PsiCriticalValue(p, 10000, 20000, 3), 1e-15);
  const double js_term =
      0.5 * 0.01 * std::log(0.01 / 0.00505) + 0.5 * 1e-4 * std::log(1e-4 / 0.00505);
  const double js_limit = JsCriticalValue(p, 100, 20000, 3);
  EXPECT_NEAR(JsCriticalValue(p, 100, 20000, q), std::sqrt(js_limit * js_limit + js_term), 1e-12);
  EXPECT_NEAR(JsCriticalValue(p, 10000, 20000, q), JsCriticalValue(p, 10000, 20000, 3), 1e-15);
}

TEST(DriftNoiseTest, WassersteinNoiseMeanOfTwoPointsAndOfAUniform) {
  // Two atoms at 0 and 1, half each: F = ½ on [0, 1), std = ½:
  // sqrt(2/π)·∫sqrt(¼)dx / ½ = sqrt(2/π).
  const std::vector<double> cuts = {0, 1};
  EXPECT_NEAR(WassersteinNoiseMean(cuts, std::vector<double>{0.5, 0.5, 0},
                                   std::vector<double>{0.5, 0.5}, 0.5),
              std::sqrt(2 / M_PI), 1e-12);
  // Uniform on [0, 1] over 100 bins: ∫sqrt(x(1 − x))dx = π/8, std = 1/sqrt(12).
  std::vector<double> ucuts, umass{0.0}, uat;
  for (int i = 0; i <= 100; ++i) {
    ucuts.push_back(i / 100.0);
    uat.push_back(0);
    if (i > 0) umass.push_back(0.01);
  }
  umass.push_back(0);
  EXPECT_NEAR(WassersteinNoiseMean(ucuts, umass, uat, 1 / std::sqrt(12.0)),
              std::sqrt(2 / M_PI) * M_PI / 8 * std::sqrt(12.0), 2e-3);
}

// A symmetric reference with Pareto tails of index a: 1 − F(x) = ½(1 + x)^−a for x ≥ 0,
// described as the baseline describes it: cuts at the quantiles k/400, k = 1..399, 1/400 of
// the mass in every bin including the open ends.
double ParetoReferenceNoiseMean(double a) {
  std::vector<double> cuts, mass{1 / 400.0}, at;
  for (int k = 1; k <= 399; ++k) {
    const double p = k / 400.0;
    const double d = std::pow(2 * std::min(p, 1 - p), -1 / a) - 1;
    cuts.push_back(p < 0.5 ? -d : d);
    at.push_back(0);
    if (k > 1) mass.push_back(1 / 400.0);
  }
  mass.push_back(1 / 400.0);
  return WassersteinNoiseMean(cuts, mass, at, 1.0);
}

TEST(DriftNoiseTest, WassersteinNoiseMeanExtrapolatesHeavyTails) {
  // sqrt(2/π)∫sqrt(F(1 − F))dx over the whole line (scipy.integrate.quad), and over the
  // quantiles 1/400 to 399/400 alone, which is all the fine bins hold.
  struct Case {
    double a, whole, inside;
  };
  for (const Case& c :
       {Case{3, 2.1695, 1.2364}, Case{4, 1.0671, 0.7672}, Case{8, 0.3482, 0.2966}}) {
    const double got = ParetoReferenceNoiseMean(c.a);
    EXPECT_GT(got, c.inside * 1.05) << "a = " << c.a;  // the tails are counted
    EXPECT_GE(got, c.whole * 0.97) << "a = " << c.a;   // at least all of it, about
    EXPECT_LE(got, c.whole * 1.75) << "a = " << c.a;   // conservative, not absurd
  }
  // Index 2 (a Student t with 2 degrees of freedom has it) and heavier: infinite variance,
  // no finite critical value.
  EXPECT_TRUE(std::isinf(ParetoReferenceNoiseMean(2)));
  EXPECT_TRUE(std::isinf(ParetoReferenceNoiseMean(1.5)));
  EXPECT_TRUE(std::isinf(WassersteinCriticalValue(0.001, 1000, 5000, ParetoReferenceNoiseMean(2))));
}

}  // namespace
}  // namespace modelwatch
