// Shannon entropy (natural log) of a prediction's class probabilities: the proxy signal that
// both the baseline builder and the drift tracker compute per record.
//
// Pure functions, no allocation. Thread-compatible.
#ifndef MODELWATCH_EXPORTER_STATS_ENTROPY_H_
#define MODELWATCH_EXPORTER_STATS_ENTROPY_H_

#include <span>

namespace modelwatch {

// Entropy −Σ pᵢ ln pᵢ (0·ln 0 = 0) of class probabilities.
double ClassEntropy(std::span<const double> probabilities);
// Binary entropy of {s, 1 − s}.
double BinaryEntropy(double s);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_STATS_ENTROPY_H_
