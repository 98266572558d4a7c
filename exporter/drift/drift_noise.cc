#include "exporter/drift/drift_noise.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "core/distributions.h"
#include "exporter/drift/drift_math.h"
#include "exporter/drift/effect_size.h"

namespace modelwatch {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

double PsiCriticalValue(double p, double n, double m, int bins) {
  if (bins < 2) return kInf;
  return (1 / n + 1 / m) * ChiSquareUpperQuantile(p, bins - 1);
}

double JsCriticalValue(double p, double n, double m, int bins) {
  if (bins < 2) return kInf;
  return std::sqrt((1 / n + 1 / m) * ChiSquareUpperQuantile(p, bins - 1) / 8);
}

namespace {

int Occupied(std::span<const double> reference) {
  int bins = 0;
  for (double q : reference) bins += q > 0 ? 1 : 0;
  return bins;
}

// Σ term(q) over the bins a window of n leaves empty with probability above p / bins.
template <typename Term>
double EmptyBinAllowance(double p, double n, std::span<const double> reference, Term term) {
  const int bins = Occupied(reference);
  double allowance = 0;
  for (double q : reference) {
    if (!(q > 0)) continue;
    const double log_empty = q < 1 ? n * std::log1p(-q) : -kInf;
    if (log_empty > std::log(p / bins)) allowance += term(q);
  }
  return allowance;
}

}  // namespace

double PsiCriticalValue(double p, double n, double m, std::span<const double> reference) {
  const int bins = Occupied(reference);
  if (bins < 2) return kInf;
  constexpr double eps = kDriftEpsilon;
  return PsiCriticalValue(p, n, m, bins) + EmptyBinAllowance(p, n, reference, [](double q) {
           return q > eps ? (q - eps) * std::log(q / eps) : 0.0;
         });
}

double JsCriticalValue(double p, double n, double m, std::span<const double> reference) {
  const int bins = Occupied(reference);
  if (bins < 2) return kInf;
  constexpr double eps = kDriftEpsilon;
  const double limit = JsCriticalValue(p, n, m, bins);
  const double allowance = EmptyBinAllowance(p, n, reference, [](double q) {
    const double mid = 0.5 * (q + eps);
    return 0.5 * q * std::log(q / mid) + 0.5 * eps * std::log(eps / mid);
  });
  return std::sqrt(limit * limit + allowance);
}

double Chi2CriticalValue(double p, int bins) {
  if (bins < 2) return kInf;
  return ChiSquareUpperQuantile(p, bins - 1);
}

double KsCriticalValue(double p, double n, double m) {
  return KolmogorovUpperQuantile(p) / std::sqrt(n * m / (n + m));
}

double MissingShiftCriticalValue(double alpha, double p, double n, double p0, double m) {
  const double pooled = (p * n + p0 * m) / (n + m);
  const double var = pooled * (1 - pooled) * (1 / n + 1 / m);
  if (!(var > 0)) return 0;
  return NormalQuantile(1 - alpha) * std::sqrt(var);
}

double WassersteinCriticalValue(double p, double n, double m, double mean_term) {
  return std::sqrt(1 / n + 1 / m) * (mean_term + std::sqrt(2 * std::log(1 / p)));
}

namespace {

// The tail levels of the Pareto extrapolation: the index from the quantiles at p1 and p2
// from either end, the tail beyond p2 extrapolated.
constexpr double kTailP1 = 0.01;
constexpr double kTailP2 = 0.0025;

// ∫sqrt(1 − F)dx beyond x2 for a Pareto tail through (x1, tail mass p1) and (x2, p2),
// distances taken from the median `mid`; +inf when its index is ≤ 2, NaN when the points do
// not define one (ties, atoms).
double ParetoTailIntegral(double x1, double p1, double x2, double p2, double mid) {
  const double d1 = x1 - mid, d2 = x2 - mid;
  if (!(d1 > 0) || !(d2 > d1) || !(p1 > p2) || !(p2 > 0))
    return std::numeric_limits<double>::quiet_NaN();
  const double a = std::log(p1 / p2) / std::log(d2 / d1);
  if (a <= 2) return std::numeric_limits<double>::infinity();
  return std::sqrt(p2) * d2 / (a / 2 - 1);
}

}  // namespace

double WassersteinNoiseMean(std::span<const double> cuts, std::span<const double> mass,
                            std::span<const double> at_cut, double std) {
  if (!(std > 0) || cuts.empty() || mass.size() != cuts.size() + 1) return 0;
  // Mass below the first cut and above the last is at most the reference min/max (both are
  // cuts), so only the bins between cuts contribute.
  auto g = [](double f) { return std::sqrt(std::max(0.0, f * (1 - f))); };
  const std::size_t k = cuts.size();
  std::vector<double> below(k);  // F at each cut: the mass at or below it
  double f = mass[0];            // F at cuts[0]
  below[0] = f + (at_cut.size() == k ? at_cut[0] : 0.0);
  std::vector<double> part(k, 0.0);  // integral over the bin ending at cut i
  double integral = 0;
  for (std::size_t i = 1; i < k; ++i) {
    const double width = cuts[i] - cuts[i - 1];
    const double atom = at_cut.size() == k ? at_cut[i] : 0.0;
    const double inner = std::max(0.0, mass[i] - atom);
    // Simpson's rule over F rising linearly by `inner` across the bin.
    part[i] = width / 6 * (g(f) + 4 * g(f + inner / 2) + g(f + inner));
    integral += part[i];
    f += mass[i];
    below[i] = f;
  }
  // The tails: the cut nearest each level, the sample's own integral beyond it, and the
  // Pareto extrapolation; the larger counts.
  auto nearest = [&](double level) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < k; ++i) {
      if (std::fabs(below[i] - level) < std::fabs(below[best] - level)) best = i;
    }
    return best;
  };
  const std::size_t mid = nearest(0.5);
  const std::size_t u1 = nearest(1 - kTailP1), u2 = nearest(1 - kTailP2);
  const std::size_t l1 = nearest(kTailP1), l2 = nearest(kTailP2);
  double sample_upper = 0, sample_lower = 0;
  for (std::size_t i = u2 + 1; i < k; ++i) sample_upper += part[i];
  for (std::size_t i = 1; i <= l2 && i < k; ++i) sample_lower += part[i];
  const double upper =
      ParetoTailIntegral(cuts[u1], 1 - below[u1], cuts[u2], 1 - below[u2], cuts[mid]);
  // The lower tail mirrored: distances below the median, masses below the cuts.
  const double lower = ParetoTailIntegral(-cuts[l1], below[l1], -cuts[l2], below[l2], -cuts[mid]);
  if (std::isinf(upper) || std::isinf(lower)) return std::numeric_limits<double>::infinity();
  if (!std::isnan(upper) && upper > sample_upper) integral += upper - sample_upper;
  if (!std::isnan(lower) && lower > sample_lower) integral += lower - sample_lower;
  return std::sqrt(2 / std::numbers::pi) * integral / std;
}

}  // namespace modelwatch
