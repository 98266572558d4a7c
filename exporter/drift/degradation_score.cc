#include "exporter/drift/degradation_score.h"

#include <algorithm>
#include <cmath>

namespace modelwatch {
namespace {

double Clamp01(double x) {
  if (std::isnan(x)) return 0;
  return std::clamp(x, 0.0, 1.0);
}

}  // namespace

double DriftExcessRatio(DriftMethod method, double value, const DriftNoise& noise,
                        double critical) {
  if (std::isnan(value)) return 0;
  const double floor = DriftNoiseFloor(method, noise);
  if (!(value > floor)) return 0;
  return (value - floor) / (critical > 0 ? critical : 1.0);
}

double NormalisedSignal(const ModelConfig& model, const std::string& signal,
                        const DegradationInputs& in) {
  if (signal == "drift") return Clamp01(in.drift_excess);
  if (signal == "confidence") {
    return Clamp01(MeanShiftEffect(in.confidence, -1) / kEffectSaturation);
  }
  if (signal == "entropy") return Clamp01(MeanShiftEffect(in.entropy, +1) / kEffectSaturation);
  if (signal == "anomaly_rate") {
    // The share beyond what an unchanged distribution puts outside the training range, less
    // its binomial noise at the window's n.
    const double p0 = std::clamp(in.anomaly_expected, 0.0, 1.0);
    const double noise =
        in.records > 0 ? NormalQuantile(1 - kNoiseAlpha) * std::sqrt(p0 * (1 - p0) / in.records)
                       : 0;
    return Clamp01((in.anomaly_ratio - p0 - noise) / kAnomalySaturation);
  }
  if (signal == "errors") {
    return Clamp01(in.error_rate / ErrorSaturation(model));
  }
  return 0;
}

DegradationResult ComputeDegradation(const ModelConfig& model, const DegradationInputs& in) {
  DegradationResult result;
  double score = 0;
  for (const auto& [signal, weight] : model.degradation.weights) {
    const double value = weight * NormalisedSignal(model, signal, in) * 100;
    score += value;
    result.signals.push_back({signal, value});
  }
  result.score = std::clamp(score, 0.0, 100.0);
  return result;
}

}  // namespace modelwatch
