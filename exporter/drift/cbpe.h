// Confidence-based performance estimation (CBPE) with uncertainty: what a classifier's
// accuracy, precision and recall are expected to be if its scores are calibrated, and how far
// they may be from that by chance alone (docs/statistics.md, "Estimated performance").
//
// If record i's prediction is right with probability cᵢ (binary: s for a predicted positive,
// 1 − s for a predicted negative; multiclass: the top probability), its correctness is a
// Bernoulli(cᵢ) draw, independent of the others. Sums of Bernoullis have variance Σc(1 − c),
// so every estimate carries a normal 95 % interval from the per-record variances.
//
// Pure functions, no state. Thread-compatible.
#ifndef MODELWATCH_EXPORTER_DRIFT_CBPE_H_
#define MODELWATCH_EXPORTER_DRIFT_CBPE_H_

namespace modelwatch {

// Window sums a tracker keeps per model version.
struct CbpeSums {
  double records = 0;     // outputs with a probability
  double correct = 0;     // Σ c
  double correct_sq = 0;  // Σ c²
  // Binary only:
  double positives = 0;          // records predicted positive
  double positive_score = 0;     // Σ s over the predicted positives (expected true positives)
  double positive_score_sq = 0;  // Σ s² over them
  double score = 0;              // Σ s over all records (expected actual positives)
};

// A point estimate with its 95 % interval (value ± 1.96 sd, clamped to [0, 1]); NaN when
// undefined.
struct CbpeEstimate {
  double value;
  double lower;
  double upper;
  double sd;
};

// Expected accuracy Σc / n, sd = sqrt(Σc(1 − c)) / n.
CbpeEstimate EstimateAccuracy(const CbpeSums& sums);
// Binary: expected precision Σ_pos s / N_pos, sd = sqrt(Σ_pos s(1 − s)) / N_pos (the number
// of predicted positives is known). NaN without predicted positives.
CbpeEstimate EstimatePrecision(const CbpeSums& sums);
// Binary: expected recall TP / (TP + FN), TP = Σ_pos s, FN = Σ_neg s, with the delta-method
// sd sqrt(FN²·Var TP + TP²·Var FN) / (TP + FN)², Var TP = Σ_pos s(1 − s), Var FN =
// Σ_neg s(1 − s) (for a binary record c(1 − c) = s(1 − s), so Σ_all s(1 − s) = Σc − Σc²).
// NaN when no positive is expected.
CbpeEstimate EstimateRecall(const CbpeSums& sums);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DRIFT_CBPE_H_
