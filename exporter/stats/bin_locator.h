// Fast BinIndex() for a fixed set of cuts: a uniform grid over [cuts.front(), cuts.back()]
// maps a value to the few cuts its grid cell spans, then a short search finishes. Returns
// exactly what BinIndex(cuts, x) returns, for every x (including ±inf and NaN).
//
// Immutable after construction; thread-compatible. Memory: cells + 1 32-bit entries.
#ifndef MODELWATCH_EXPORTER_STATS_BIN_LOCATOR_H_
#define MODELWATCH_EXPORTER_STATS_BIN_LOCATOR_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace modelwatch {

class BinLocator {
 public:
  BinLocator() = default;
  // `cuts` ascending; the locator keeps a view of them, so they must outlive it.
  explicit BinLocator(std::span<const double> cuts, std::size_t cells = 1024);

  std::size_t Find(double x) const {
    const std::size_t n = cuts_.size();
    if (n == 0 || !(x > lo_)) return 0;  // also NaN, like BinIndex
    if (x > hi_) return n;
    const std::size_t cell = CellOf(x);
    return Search(first_[cell], first_[cell + 1] + 1, x);
  }

 private:
  // Monotone in x, so cuts in lower cells are below any x of this cell and cuts in higher
  // cells above it.
  std::size_t CellOf(double x) const {
    const double pos = (x - lo_) * scale_;
    const std::size_t last = first_.size() - 2;
    return pos >= static_cast<double>(last) ? last : static_cast<std::size_t>(pos);
  }

  // lower_bound over cuts_[from, to) clamped to the array.
  std::size_t Search(std::size_t from, std::size_t to, double x) const {
    to = std::min(to, cuts_.size());
    return static_cast<std::size_t>(
        std::lower_bound(cuts_.begin() + static_cast<std::ptrdiff_t>(from),
                         cuts_.begin() + static_cast<std::ptrdiff_t>(to), x) -
        cuts_.begin());
  }

  std::span<const double> cuts_;
  double lo_ = 0;
  double hi_ = 0;
  double scale_ = 0;
  // first_[g] = number of cuts in cells below g: the answer for an x in cell g lies in
  // [first_[g], first_[g + 1]].
  std::vector<std::uint32_t> first_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_STATS_BIN_LOCATOR_H_
