// Drift statistics as pure functions over binned distributions (the modelwatch contract,
// "Statistics" and "Drift numerics"; derivations and error bounds in docs/statistics.md).
//
// No I/O, no allocation, no state. Thread-compatible.
#ifndef MODELWATCH_EXPORTER_DRIFT_DRIFT_MATH_H_
#define MODELWATCH_EXPORTER_DRIFT_DRIFT_MATH_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/distributions.h"  // kDriftEpsilon

namespace modelwatch {

// kDriftEpsilon (core/distributions.h) replaces zero (or negative) proportions before PSI
// and JS, without renormalising.

// Population stability index Σ (p − q)·ln(p / q), with empty bins taking kDriftEpsilon.
// `current` (p) and `reference` (q) are proportions over the same bins (equal sizes).
double ComputePsi(std::span<const double> current, std::span<const double> reference);

// Jensen–Shannon distance sqrt(½ KL(p‖m) + ½ KL(q‖m)), m = ½(p + q), natural log, with
// empty bins taking kDriftEpsilon (not renormalised; equal to
// scipy.spatial.distance.jensenshannon when no bin is empty).
double ComputeJsDistance(std::span<const double> current, std::span<const double> reference);

// The scipy.stats.chi2_contingency statistic (Yates-corrected when the table has one degree
// of freedom, as scipy does) of the 2 × K table [reference_counts; current_counts]. Columns
// empty in both rows are left out (scipy rejects them); with fewer than two columns left, or
// an empty row, returns 0.
double ComputeChi2Contingency(std::span<const double> reference_counts,
                              std::span<const double> current_counts);

// Two-proportion z statistic (pooled) of x1/n1 against x0/n0: positive when the current rate
// x1/n1 is higher. Returns 0 when either n is 0 or the pooled variance is 0.
double TwoProportionZ(double x1, double n1, double x0, double n0);

// One distribution over "fine" bins closed on the right: bin 0 = (-inf, cuts[0]],
// bin i = (cuts[i-1], cuts[i]], bin cuts.size() = (cuts.back(), inf). `mass` holds the
// proportion of each bin (sums to 1) and `mean` the mean of the values in it (ignored where
// mass is 0). Sizes: cuts.size() + 1. `at_cut` (size cuts.size(), or empty when unknown)
// holds the proportion of values exactly equal to each cut — part of the bin the cut closes —
// so both one-sided limits F(c−) = F(c) − at_cut and F(c) are known at every cut.
struct FineDistribution {
  std::span<const double> cuts;
  std::span<const double> mass;
  std::span<const double> mean;
  std::span<const double> at_cut = {};
};

// Kolmogorov–Smirnov distance sup |F_cur − F_ref| evaluated at both one-sided limits of every
// cut, where both CDFs are known exactly. Between two cuts both CDFs are monotone, so the
// true supremum exceeds this only when both distributions hold mass strictly inside one fine
// bin, and then by at most the reference's mass there (docs/statistics.md): exact when the
// reference is discrete with every value a cut. Both use the same cuts.
double ComputeKsFine(const FineDistribution& current, const FineDistribution& reference);

// Wasserstein-1 distance ∫|F_cur − F_ref| dx with each bin's mass placed at its mean (exact
// when F_cur − F_ref keeps its sign within every bin; exact in the open tail bins). Not
// normalised. Both use the same cuts.
double ComputeWassersteinFine(const FineDistribution& current, const FineDistribution& reference);

// Confidence-based performance estimation (CBPE) for a binary classifier from a histogram
// of scores: `positives[b]` = Σ score of the records in score bin b (expected positives if
// calibrated), `counts[b]` = records in bin b, bins in ascending score order. Pairs within
// one bin count as ties (½). Returns NaN when either expected class total is 0.
double EstimateBinnedAuc(std::span<const double> positives, std::span<const double> counts);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DRIFT_DRIFT_MATH_H_
