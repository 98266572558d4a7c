#include "exporter/drift/degradation_score.h"

#include <algorithm>
#include <cmath>

namespace modelwatch {
namespace {

// Degradation normalisations (docs/statistics.md, "Degradation score").
constexpr double kSigmaSaturation = 5.0;    // a 5σ confidence drop / entropy rise → 1
constexpr double kAnomalySaturation = 0.1;  // 10 % anomalous requests → 1
constexpr double kErrorBudgetFactor = 10;   // error rate of 10 × the SLO's rate → 1
constexpr double kDefaultErrorSaturation = 0.1;

double Clamp01(double x) {
  if (std::isnan(x)) return 0;
  return std::clamp(x, 0.0, 1.0);
}

}  // namespace

DegradationResult ComputeDegradation(const ModelConfig& model, const DegradationInputs& in) {
  double error_saturation = kDefaultErrorSaturation;
  if (model.slo && model.slo->error_rate && *model.slo->error_rate > 0) {
    error_saturation = std::min(1.0, kErrorBudgetFactor * *model.slo->error_rate);
  }
  DegradationResult result;
  double score = 0;
  for (const auto& [signal, weight] : model.degradation.weights) {
    double normalised = 0;
    if (signal == "drift") {
      normalised = Clamp01(in.drift_ratio);
    } else if (signal == "confidence") {
      normalised = Clamp01(in.confidence_z / kSigmaSaturation);
    } else if (signal == "entropy") {
      normalised = Clamp01(in.entropy_z / kSigmaSaturation);
    } else if (signal == "anomaly_rate") {
      normalised = Clamp01(in.anomaly_ratio / kAnomalySaturation);
    } else if (signal == "errors") {
      normalised = Clamp01(in.error_rate / error_saturation);
    }
    const double value = weight * normalised * 100;
    score += value;
    result.signals.push_back({signal, value});
  }
  result.score = std::clamp(score, 0.0, 100.0);
  return result;
}

}  // namespace modelwatch
