// Distribution functions both programs need: the chi-square and Kolmogorov laws' upper tails
// and their inverses (the exporter's drift noise floors, exporter/drift/drift_noise.h, and
// rulegen's drift rules for drift.engine: promql compute the same critical values), and the
// two helpers behind them.
#ifndef MODELWATCH_CORE_DISTRIBUTIONS_H_
#define MODELWATCH_CORE_DISTRIBUTIONS_H_

#include <cstddef>
#include <vector>

namespace modelwatch {

// The proportion an empty bin takes in PSI and JS (docs/statistics.md), in the exporter's
// statistics and in rulegen's drift rules for drift.engine: promql alike.
inline constexpr double kDriftEpsilon = 1e-4;

// Cohen's h per standard deviation of the positive-rate z-score when no larger
// between-period variation is known (the exporter's PositiveRateZ, exporter/drift/effect_size.h,
// and rulegen's model_positive_rate_zscore rule for drift.engine: promql).
inline constexpr double kRateEffectFloor = 0.1;

// Standard normal quantile Φ⁻¹(p) for 0 < p < 1 (Acklam's approximation refined by one
// Halley step: relative error below 1e-12); -inf for p ≤ 0, +inf for p ≥ 1.
double NormalQuantile(double p);

// Upper tail of the chi-square law: P(X > x) for X ~ χ²(dof), dof ≥ 1.
double ChiSquareSurvival(double x, double dof);
// x with ChiSquareSurvival(x, dof) = p, 0 < p < 1.
double ChiSquareUpperQuantile(double p, double dof);

// Kolmogorov's limit law: P(K > t) = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²t²).
double KolmogorovSurvival(double t);
// t with KolmogorovSurvival(t) = p, 0 < p < 1.
double KolmogorovUpperQuantile(double p);

// Solves survival(x) = p for a decreasing survival function by bisection on [lo, hi].
template <typename F>
double InvertSurvival(F survival, double p, double lo, double hi) {
  while (survival(hi) > p) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (survival(mid) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// Inverting a survival function costs a few hundred evaluations of it, and a scrape asks for
// the same few (p, dof) pairs for every feature, window and model: the answers of the last
// kRemembered distinct questions are kept per thread. The functions are pure, so this changes
// no result, only how often it is computed.
template <typename F>
double RememberedAnswer(int which, double p, double dof, F compute) {
  struct Answer {
    int which;
    double p;
    double dof;
    double value;
  };
  constexpr std::size_t kRemembered = 64;
  thread_local std::vector<Answer> answers;
  for (const Answer& a : answers) {
    if (a.which == which && a.p == p && a.dof == dof) return a.value;
  }
  const double value = compute();
  if (answers.size() >= kRemembered) answers.erase(answers.begin());
  answers.push_back({which, p, dof, value});
  return value;
}

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_DISTRIBUTIONS_H_
