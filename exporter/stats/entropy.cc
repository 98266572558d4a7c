#include "exporter/stats/entropy.h"

#include <cmath>

namespace modelwatch {

double ClassEntropy(std::span<const double> probabilities) {
  double h = 0;
  for (double p : probabilities) {
    if (p > 0) h -= p * std::log(p);
  }
  return h;
}

double BinaryEntropy(double s) {
  double h = 0;
  if (s > 0) h -= s * std::log(s);
  if (s < 1) h -= (1 - s) * std::log(1 - s);
  return h;
}

}  // namespace modelwatch
