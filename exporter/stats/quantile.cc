#include "exporter/stats/quantile.h"

#include <cmath>

namespace modelwatch {

double LinearQuantile(std::span<const double> sorted, double q) {
  const std::size_t n = sorted.size();
  if (n == 1) return sorted[0];
  // numpy: virtual index = q * (n - 1); lower = floor, gamma = fractional part; the upper
  // neighbour is clamped to the last element.
  const double virtual_index = q * static_cast<double>(n - 1);
  double lower = std::floor(virtual_index);
  if (lower < 0) lower = 0;
  if (lower > static_cast<double>(n - 1)) lower = static_cast<double>(n - 1);
  const double gamma = virtual_index - lower;
  const std::size_t lo = static_cast<std::size_t>(lower);
  const std::size_t hi = std::min(lo + 1, n - 1);
  const double a = sorted[lo];
  const double b = sorted[hi];
  // numpy's _lerp: a + (b-a)*t, but b - (b-a)*(1-t) for t >= 0.5 (monotone, exact ends).
  const double diff = b - a;
  if (gamma >= 0.5) return b - diff * (1 - gamma);
  return a + diff * gamma;
}

std::vector<double> QuantileCuts(std::span<const double> sorted, int bins) {
  std::vector<double> cuts;
  if (sorted.empty() || bins < 2) return cuts;
  cuts.reserve(static_cast<std::size_t>(bins - 1));
  for (int k = 1; k < bins; ++k) {
    const double level = static_cast<double>(k) / static_cast<double>(bins);
    const double v = LinearQuantile(sorted, level);
    if (cuts.empty() || v != cuts.back()) cuts.push_back(v);
  }
  return cuts;
}

}  // namespace modelwatch
