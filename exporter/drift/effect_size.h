// Effect sizes and noise floors: how far a window statistic may move from the baseline by
// sampling alone at the window's n and the reference's m, and what is left beyond that
// (docs/statistics.md, "Degradation score" and "Proxy signals"). Used by the degradation
// score and the positive-rate z-score; they never grow with √n on their own.
//
// Pure functions, no state. Thread-compatible.
#ifndef MODELWATCH_EXPORTER_DRIFT_EFFECT_SIZE_H_
#define MODELWATCH_EXPORTER_DRIFT_EFFECT_SIZE_H_

#include <limits>

#include "core/config.h"
#include "core/degradation_constants.h"  // kNoiseAlpha, kMinEffectScale
#include "core/distributions.h"          // NormalQuantile, kRateEffectFloor
#include "exporter/baseline/baseline_profile.h"

namespace modelwatch {

// x with P(χ²_df > x) = upper_tail, for df ≥ 1 and 0 < upper_tail < 1: Wilson–Hilferty
// refined by Newton steps on the regularised incomplete gamma function (relative error
// below 1e-9 against scipy.stats.chi2.isf).
double ChiSquareUpperTailQuantile(double df, double upper_tail);

// What the no-drift sampling noise of a drift statistic depends on.
struct DriftNoise {
  int bins = 10;      // PSI, JS: coarse bins; chi2: categories compared
  double n = 0;       // values in the window
  double m = 0;       // effective reference values (BaselineProfile::EffectiveCount)
  int tests = 1;      // distributions tested in the model (Bonferroni)
  double spread = 1;  // Wasserstein: ReferenceCdfSpread of the reference
};

// The value a drift statistic stays under with probability 1 − kNoiseAlpha/tests when the
// window is drawn from the reference distribution (large-sample limits):
//   psi:  (1/n + 1/m)·χ²_{bins−1}      js: sqrt((1/n + 1/m)·χ²_{bins−1} / 8)
//   chi2: χ²_{bins−1}                  ks: sqrt(ln(2·tests/α) / 2)·sqrt(1/n + 1/m)
//   wasserstein (÷ std): spread·(sqrt(2/π) + sqrt(2·ln(tests/α)))·sqrt(1/n + 1/m)
// Returns +inf when n or m is 0.
double DriftNoiseFloor(DriftMethod method, const DriftNoise& noise);

// ∫ sqrt(F(x)(1 − F(x))) dx / std of a numeric reference, from its fine bins: the scale of
// the no-drift Wasserstein-1 distance (÷ std) per unit of sqrt(1/n + 1/m): 1.61 for a normal
// distribution, larger for heavy tails, +infinity for tails of index ≤ 2 (computed as the
// Wasserstein critical value's integral, WassersteinNoiseMean, tails extrapolated).
double ReferenceCdfSpread(const NumericSummary& reference);
// The two halves of ReferenceCdfSpread, for a caller that keeps the first (it depends on the
// reference only): WassersteinNoiseMean of the reference, and the spread it gives.
double ReferenceNoiseMean(const NumericSummary& reference);
double CdfSpreadOfNoiseMean(double noise_mean);

// A per-record quantity's window mean against the baseline's.
struct MeanShift {
  double baseline_mean = std::numeric_limits<double>::quiet_NaN();
  double baseline_std = 0;  // per record
  // Between-period standard deviation of the mean (BetweenStd of the baseline); NaN unknown.
  double baseline_between_std = std::numeric_limits<double>::quiet_NaN();
  double baseline_n = 0;  // effective reference records
  double window_mean = std::numeric_limits<double>::quiet_NaN();
  double window_n = 0;
};

// The standardised change beyond the noise floor, in the harmful direction (`direction`
// +1: a rise is harmful, −1: a drop is):
//   max(0, direction·(window − baseline) − z·σ) / max(baseline_std, kMinEffectScale),
//   σ = sqrt(between² + std²·(1/n + 1/m)), z = Φ⁻¹(1 − kNoiseAlpha), between 0 if unknown.
// 0 when either mean is unknown.
double MeanShiftEffect(const MeanShift& shift, double direction);

// Share of no-drift records expected outside the training range: each numeric feature with
// m effective reference values contributes 2/(m + 1) (exact for continuous values), summed
// over the features (a union bound), capped at 1.
double ExpectedOutOfRangeShare(const double* effective_counts, int features);

// Positive-rate shift in standard deviations, allowing for overdispersion:
//   z = (rate − base_rate) / sqrt(p̄(1 − p̄)(1/n + 1/m) + τ²),
//   p̄ the pooled rate, τ = max(between_std, kRateEffectFloor·sqrt(base_rate(1 − base_rate)))
// (between_std: BetweenStd of the baseline, NaN when unknown). 0 when the denominator is 0.
double PositiveRateZ(double rate, double n, double base_rate, double m, double between_std);

// The baseline's between-period spread of a mean: the larger of its day-to-day std and its
// between-batch std (BaselineProfile), either NaN when unknown; NaN when both are.
double BetweenStd(double daily_std, double batch_between_std);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DRIFT_EFFECT_SIZE_H_
