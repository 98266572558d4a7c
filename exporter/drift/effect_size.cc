#include "exporter/drift/effect_size.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "exporter/drift/drift_noise.h"

namespace modelwatch {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

// The χ²_df quantile with upper tail `upper_tail`, in the argument order of this file's callers;
// the computation is drift_noise.h's (one incomplete-gamma implementation in the exporter).
double ChiSquareUpperTailQuantile(double df, double upper_tail) {
  if (!(df >= 1) || !(upper_tail > 0) || !(upper_tail < 1)) return kInf;
  return ChiSquareUpperQuantile(upper_tail, df);
}

double DriftNoiseFloor(DriftMethod method, const DriftNoise& noise) {
  if (!(noise.n > 0) || !(noise.m > 0)) return kInf;
  const double alpha = kNoiseAlpha / std::max(1, noise.tests);
  const double inv = 1 / noise.n + 1 / noise.m;
  const double df = std::max(1, noise.bins - 1);
  switch (method) {
    case DriftMethod::kPsi:
      return inv * ChiSquareUpperTailQuantile(df, alpha);
    case DriftMethod::kJs:
      return std::sqrt(inv * ChiSquareUpperTailQuantile(df, alpha) / 8);
    case DriftMethod::kChi2:
      return ChiSquareUpperTailQuantile(df, alpha);
    case DriftMethod::kKs:
      // Two-sided DKW-type bound P(D > t) ≤ 2·exp(−2t²/inv).
      return std::sqrt(std::log(2 / alpha) / 2 * inv);
    case DriftMethod::kWasserstein:
      // sqrt(nm/(n+m))·W₁ → ∫|B(F(x))|dx, B a Brownian bridge: mean ≤ sqrt(2/π)·∫sqrt(F(1−F)),
      // and a Gaussian supremum's tail above its mean (Borell–TIS) with σ ≤ ∫sqrt(F(1−F)).
      return noise.spread * (std::sqrt(2 / std::numbers::pi) + std::sqrt(2 * std::log(1 / alpha))) *
             std::sqrt(inv);
  }
  return kInf;
}

double ReferenceCdfSpread(const NumericSummary& ref) {
  return CdfSpreadOfNoiseMean(ReferenceNoiseMean(ref));
}

double ReferenceNoiseMean(const NumericSummary& ref) {
  // The Wasserstein critical value's integral (drift_noise.h), tails extrapolated the same way.
  return WassersteinNoiseMean(ref.fine_cuts, ref.fine_mass, ref.fine_at_cut, ref.std);
}

double CdfSpreadOfNoiseMean(double noise_mean) {
  return noise_mean / std::sqrt(2 / std::numbers::pi);
}

double MeanShiftEffect(const MeanShift& s, double direction) {
  if (std::isnan(s.baseline_mean) || std::isnan(s.window_mean) || !(s.window_n > 0) ||
      !(s.baseline_n > 0)) {
    return 0;
  }
  const double between = std::isnan(s.baseline_between_std) ? 0 : s.baseline_between_std;
  const double sd = std::max(0.0, s.baseline_std);
  const double sigma = std::sqrt(between * between + sd * sd * (1 / s.window_n + 1 / s.baseline_n));
  const double z = NormalQuantile(1 - kNoiseAlpha);
  const double change = direction * (s.window_mean - s.baseline_mean);
  return std::max(0.0, change - z * sigma) / std::max(sd, kMinEffectScale);
}

double ExpectedOutOfRangeShare(const double* effective_counts, int features) {
  double share = 0;
  for (int i = 0; i < features; ++i) {
    if (effective_counts[i] > 0) share += 2 / (effective_counts[i] + 1);
  }
  return std::min(1.0, share);
}

double BetweenStd(double daily_std, double batch_between_std) {
  if (std::isnan(daily_std)) return batch_between_std;
  if (std::isnan(batch_between_std)) return daily_std;
  return std::max(daily_std, batch_between_std);
}

double PositiveRateZ(double rate, double n, double base_rate, double m, double between_std) {
  if (!(n > 0) || !(m > 0)) return 0;
  const double pooled = (rate * n + base_rate * m) / (n + m);
  const double binomial = pooled * (1 - pooled) * (1 / n + 1 / m);
  double tau = kRateEffectFloor * std::sqrt(std::max(0.0, base_rate * (1 - base_rate)));
  if (!std::isnan(between_std)) tau = std::max(tau, between_std);
  const double sigma = std::sqrt(binomial + tau * tau);
  return sigma > 0 ? (rate - base_rate) / sigma : 0.0;
}

}  // namespace modelwatch
