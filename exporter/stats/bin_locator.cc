#include "exporter/stats/bin_locator.h"

#include <cmath>

namespace modelwatch {

BinLocator::BinLocator(std::span<const double> cuts, std::size_t cells) : cuts_(cuts) {
  if (cuts.empty()) return;
  lo_ = cuts.front();
  hi_ = cuts.back();
  const double width = hi_ - lo_;
  if (cells < 1 || !(width > 0) || !std::isfinite(width) ||
      !std::isfinite(static_cast<double>(cells) / width)) {
    cells = 1;  // one cell: plain binary search over all cuts
    scale_ = 0;
  } else {
    scale_ = static_cast<double>(cells) / width;
  }
  first_.assign(cells + 1, 0);
  // Count the cuts per cell with the same CellOf() that Find() uses, then prefix-sum.
  std::vector<std::uint32_t> per_cell(cells, 0);
  for (std::size_t j = 1; j < cuts.size(); ++j) ++per_cell[CellOf(cuts[j])];
  first_[0] = 1;  // cuts[0] = lo_ is below every x that reaches a cell (x > lo_)
  for (std::size_t g = 0; g < cells; ++g) first_[g + 1] = first_[g] + per_cell[g];
}

}  // namespace modelwatch
