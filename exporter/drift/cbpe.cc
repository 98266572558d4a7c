#include "exporter/drift/cbpe.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace modelwatch {
namespace {

constexpr double kZ95 = 1.959963984540054;  // Φ⁻¹(0.975)
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

CbpeEstimate WithInterval(double value, double variance) {
  const double sd = std::sqrt(std::max(0.0, variance));
  return {value, std::clamp(value - kZ95 * sd, 0.0, 1.0), std::clamp(value + kZ95 * sd, 0.0, 1.0),
          sd};
}

}  // namespace

CbpeEstimate EstimateAccuracy(const CbpeSums& s) {
  if (!(s.records > 0)) return {kNaN, kNaN, kNaN, kNaN};
  return WithInterval(s.correct / s.records, (s.correct - s.correct_sq) / (s.records * s.records));
}

CbpeEstimate EstimatePrecision(const CbpeSums& s) {
  if (!(s.positives > 0)) return {kNaN, kNaN, kNaN, kNaN};
  return WithInterval(s.positive_score / s.positives,
                      (s.positive_score - s.positive_score_sq) / (s.positives * s.positives));
}

CbpeEstimate EstimateRecall(const CbpeSums& s) {
  const double tp = s.positive_score;
  const double fn = std::max(0.0, s.score - s.positive_score);
  const double total = tp + fn;
  if (!(total > 0)) return {kNaN, kNaN, kNaN, kNaN};
  const double var_tp = std::max(0.0, s.positive_score - s.positive_score_sq);
  const double var_all = std::max(0.0, s.correct - s.correct_sq);
  const double var_fn = std::max(0.0, var_all - var_tp);
  return WithInterval(tp / total,
                      (fn * fn * var_tp + tp * tp * var_fn) / (total * total * total * total));
}

}  // namespace modelwatch
