// Noise floors of the drift statistics: how large each method's value gets by sampling alone
// when the window and the reference come from the same distribution (docs/statistics.md,
// "Noise floors and significance"). Pure functions, no state, thread-compatible.
#ifndef MODELWATCH_EXPORTER_DRIFT_DRIFT_NOISE_H_
#define MODELWATCH_EXPORTER_DRIFT_DRIFT_NOISE_H_

#include <span>

#include "core/distributions.h"

namespace modelwatch {

// ChiSquareSurvival, ChiSquareUpperQuantile, KolmogorovSurvival and KolmogorovUpperQuantile:
// core/distributions.h.

// Critical values at upper-tail probability `p` (the per-test level after the multiple-test
// correction) for a window of n values against a reference of m values, both > 0.
// `bins` = bins with reference mass (PSI, JS, chi2 have bins − 1 degrees of freedom); with
// fewer than 2 such bins nothing can drift and the functions return +inf.
//   PSI  ≈ (1/n + 1/m)·χ²(bins − 1)        (Σ(p−q)ln(p/q) ≈ Σ(p−q)²/q)
//   JS   ≈ sqrt((1/n + 1/m)·χ²(bins − 1)/8) (JS² ≈ Σ(p−q)²/(8q))
//   chi2 ≈ χ²(bins − 1)                    (independent of n)
//   KS   ≈ K⁻¹(p) / sqrt(n·m/(n + m))       (Kolmogorov's law with the effective size)
double PsiCriticalValue(double p, double n, double m, int bins);
double JsCriticalValue(double p, double n, double m, int bins);

// The same with the empty-bin allowance: `reference` holds the reference proportions. A bin
// whose chance of being empty in a window of n, (1 − q)^n, exceeds p / bins is likely left
// empty by chance, and its ε-floored term then is (q − ε)·ln(q/ε) in PSI and
// ½q·ln(2q/(q+ε)) + ½ε·ln(2ε/(q+ε)) in JS², far above the chi-square limit's share; those terms
// are added to the limit (docs/statistics.md). Bins with q = 0 count in neither.
double PsiCriticalValue(double p, double n, double m, std::span<const double> reference);
double JsCriticalValue(double p, double n, double m, std::span<const double> reference);
double Chi2CriticalValue(double p, int bins);
double KsCriticalValue(double p, double n, double m);

// The shift of a missing ratio, p − p0 (window p of n records, reference p0 of m records),
// that a one-sided two-proportion z-test with the pooled ratio calls noise at level `alpha`:
//   z(1 − alpha)·sqrt(p̄(1 − p̄)(1/n + 1/m)),  p̄ = (p·n + p0·m)/(n + m).
// 0 when p̄ is 0 or 1 (nothing or everything missing on both sides: no shift to test).
double MissingShiftCriticalValue(double alpha, double p, double n, double p0, double m);

// Normalised Wasserstein-1: sqrt(n·m/(n + m))·W1 tends to Z = ∫|B(F(x))|dx (B a Brownian
// bridge), whose mean is sqrt(2/π)∫sqrt(F(1 − F))dx and which, being the supremum of a
// Gaussian process whose largest variance is Var(X) = std², exceeds its mean by t·std with
// probability at most exp(−t²/2) (Borell–TIS). So, normalised by the reference std:
//   W/std ≤ sqrt(1/n + 1/m)·(mean_term + sqrt(2 ln(1/p)))  with probability ≥ 1 − p,
// mean_term = sqrt(2/π)∫sqrt(F(1 − F))dx / std from WassersteinNoiseMean.
double WassersteinCriticalValue(double p, double n, double m, double mean_term);

// sqrt(2/π)·∫sqrt(F(1 − F))dx / std for the reference over fine bins (cuts, per-bin mass,
// per-cut mass exactly at the cut), the mass strictly inside a bin spread evenly over it.
// Each tail beyond the reference's 1 − 1/400 quantile (0.25 %) is also extrapolated as a
// Pareto tail whose index `a` comes from the 99 % and 99.75 % quantiles (distances from the
// median): 1 − F(x) = p₂·(x/x₂)^−a beyond x₂, whose ∫sqrt(1 − F)dx = sqrt(p₂)·x₂/(a/2 − 1);
// the larger of that and the reference's own integral over the tail is used. With a ≤ 2
// (a tail as heavy as a Student t with 2 degrees of freedom: infinite variance, where the
// limit law above does not exist) the result is +infinity: no finite critical value.
// Returns 0 when std ≤ 0.
double WassersteinNoiseMean(std::span<const double> cuts, std::span<const double> mass,
                            std::span<const double> at_cut, double std);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DRIFT_DRIFT_NOISE_H_
