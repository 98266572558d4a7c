// The composite degradation score: per-signal normalisation and weighting
// (docs/statistics.md, "Degradation score"). Every input is an effect beyond the sampling
// noise at the window's n, in units of a practical threshold, so the score does not grow
// with the window size on unchanged traffic. Pure functions, no state. Thread-compatible.
#ifndef MODELWATCH_EXPORTER_DRIFT_DEGRADATION_SCORE_H_
#define MODELWATCH_EXPORTER_DRIFT_DEGRADATION_SCORE_H_

#include <string>
#include <vector>

#include "core/config.h"
#include "exporter/drift/effect_size.h"

namespace modelwatch {

// What one model version's window contributes to the score, before normalisation.
struct DegradationInputs {
  std::string version;
  // Largest (drift.method value − its noise floor) / drift.critical over the features and
  // this version's output (DriftExcessRatio); 0 when nothing exceeds its floor.
  double drift_excess = 0;
  MeanShift confidence;  // a drop is harmful
  MeanShift entropy;     // a rise is harmful
  double records = 0;    // records in the window
  double anomaly_ratio = 0;
  double anomaly_expected = 0;  // ExpectedOutOfRangeShare of the baseline
  double error_rate = 0;
};

// (value − DriftNoiseFloor) / critical, at least 0; 0 for NaN values.
double DriftExcessRatio(DriftMethod method, double value, const DriftNoise& noise, double critical);

// One weighted signal: weight × normalised input (0–1) × 100.
struct DegradationSignal {
  std::string signal;  // a degradation.weights key
  double value = 0;
};

struct DegradationResult {
  std::vector<DegradationSignal> signals;  // in degradation.weights order
  double score = 0;                        // their sum, clamped to 0–100
};

// The normalised input (0–1) of one signal; 0 for an unknown signal name.
double NormalisedSignal(const ModelConfig& model, const std::string& signal,
                        const DegradationInputs& inputs);

// Computes every weighted signal and the score of one version from its inputs and the
// model's degradation weights and SLO.
DegradationResult ComputeDegradation(const ModelConfig& model, const DegradationInputs& inputs);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DRIFT_DEGRADATION_SCORE_H_
