// Quantiles and bin lookup shared by the baseline builder and the drift tracker.
//
// Pure functions, no allocation except where a vector is returned. Thread-compatible.
#ifndef MODELWATCH_EXPORTER_STATS_QUANTILE_H_
#define MODELWATCH_EXPORTER_STATS_QUANTILE_H_

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

namespace modelwatch {

// Returns numpy's default ("linear", type 7) quantile of `sorted` (ascending, non-empty) at
// level q in [0, 1], computed exactly as numpy 1.24 does (including its two-sided lerp), so
// bin edges agree with `numpy.quantile` to the last bit in the common cases.
double LinearQuantile(std::span<const double> sorted, double q);

// Returns the cut points of `bins` equal-frequency bins of `sorted`: the interior quantiles
// at levels k/bins, k = 1 .. bins-1, with duplicates merged (so fewer bins with ties).
// Together with an open-ended first and last bin they give at most `bins` bins.
std::vector<double> QuantileCuts(std::span<const double> sorted, int bins);

// Returns the index of the bin holding x for bins closed on the right over ascending `cuts`:
// bin 0 = (-inf, cuts[0]], bin i = (cuts[i-1], cuts[i]], bin cuts.size() = (cuts.back(), inf).
// A value equal to a cut falls in the lower bin, as Prometheus `le` buckets do.
// (numpy: np.searchsorted(cuts, x, side="left").)
inline std::size_t BinIndex(std::span<const double> cuts, double x) {
  return static_cast<std::size_t>(std::lower_bound(cuts.begin(), cuts.end(), x) - cuts.begin());
}

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_STATS_QUANTILE_H_
