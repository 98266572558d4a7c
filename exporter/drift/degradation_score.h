// The composite degradation score: per-signal normalisation and weighting
// (docs/statistics.md, "Degradation score"). Pure functions, no state. Thread-compatible.
#ifndef MODELWATCH_EXPORTER_DRIFT_DEGRADATION_SCORE_H_
#define MODELWATCH_EXPORTER_DRIFT_DEGRADATION_SCORE_H_

#include <limits>
#include <string>
#include <vector>

#include "core/config.h"

namespace modelwatch {

// What one model version's window contributes to the score, before normalisation.
struct DegradationInputs {
  std::string version;
  double drift_ratio = 0;                                          // max drift / critical
  double confidence_z = std::numeric_limits<double>::quiet_NaN();  // drop in σ
  double entropy_z = std::numeric_limits<double>::quiet_NaN();     // rise in σ
  double anomaly_ratio = 0;
  double error_rate = 0;
};

// One weighted signal: weight × normalised input (0–1) × 100.
struct DegradationSignal {
  std::string signal;  // a degradation.weights key
  double value = 0;
};

struct DegradationResult {
  std::vector<DegradationSignal> signals;  // in degradation.weights order
  double score = 0;                        // their sum, clamped to 0–100
};

// Computes every weighted signal and the score of one version from its inputs and the
// model's degradation weights and SLO.
DegradationResult ComputeDegradation(const ModelConfig& model, const DegradationInputs& inputs);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DRIFT_DEGRADATION_SCORE_H_
