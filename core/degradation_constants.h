// The degradation score's fixed scales (docs/statistics.md, "Degradation score"), shared by
// the exporter, which computes the score (exporter/drift/degradation_score.h), and rulegen,
// whose rules compute the same score fleet-wide under drift.engine: promql
// (rulegen/promql_degradation.h): both must give the same double from the same counts.
#ifndef MODELWATCH_CORE_DEGRADATION_CONSTANTS_H_
#define MODELWATCH_CORE_DEGRADATION_CONSTANTS_H_

#include <algorithm>

#include "core/config.h"

namespace modelwatch {

// Level of the noise floors: a no-change window exceeds a floor with probability about
// kNoiseAlpha (drift floors: per model, Bonferroni-split over the tested distributions).
inline constexpr double kNoiseAlpha = 0.001;

// Below this per-record standard deviation, mean shifts are measured against it instead
// (a near-constant quantity would otherwise turn tiny changes into large effects).
inline constexpr double kMinEffectScale = 0.01;

// A confidence drop or entropy rise of this many baseline standard deviations beyond the
// noise floor saturates its signal (Cohen's "medium" effect).
inline constexpr double kEffectSaturation = 0.5;

// Anomalous requests this far (absolute share) above the no-drift expectation saturate.
inline constexpr double kAnomalySaturation = 0.1;

// The error rate that saturates the errors signal: 10 × the SLO's error rate (at most 1), or
// 0.1 without an error-rate SLO.
inline double ErrorSaturation(const ModelConfig& model) {
  constexpr double kErrorBudgetFactor = 10;
  constexpr double kDefaultErrorSaturation = 0.1;
  if (model.slo && model.slo->error_rate && *model.slo->error_rate > 0) {
    return std::min(1.0, kErrorBudgetFactor * *model.slo->error_rate);
  }
  return kDefaultErrorSaturation;
}

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_DEGRADATION_CONSTANTS_H_
