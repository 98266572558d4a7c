#include "exporter/drift/drift_math.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace modelwatch {
namespace {

double Floor(double p) { return p > 0 ? p : kDriftEpsilon; }

}  // namespace

double ComputePsi(std::span<const double> current, std::span<const double> reference) {
  double psi = 0;
  const std::size_t n = std::min(current.size(), reference.size());
  for (std::size_t i = 0; i < n; ++i) {
    const double p = Floor(current[i]);
    const double q = Floor(reference[i]);
    psi += (p - q) * std::log(p / q);
  }
  return psi;
}

double ComputeJsDistance(std::span<const double> current, std::span<const double> reference) {
  double kl_pm = 0;
  double kl_qm = 0;
  const std::size_t n = std::min(current.size(), reference.size());
  for (std::size_t i = 0; i < n; ++i) {
    const double p = Floor(current[i]);
    const double q = Floor(reference[i]);
    const double m = 0.5 * (p + q);
    kl_pm += p * std::log(p / m);
    kl_qm += q * std::log(q / m);
  }
  const double js = 0.5 * kl_pm + 0.5 * kl_qm;
  return js > 0 ? std::sqrt(js) : 0.0;
}

double ComputeChi2Contingency(std::span<const double> reference_counts,
                              std::span<const double> current_counts) {
  const std::size_t k = std::min(reference_counts.size(), current_counts.size());
  double row_ref = 0;
  double row_cur = 0;
  std::size_t columns = 0;
  for (std::size_t j = 0; j < k; ++j) {
    if (reference_counts[j] + current_counts[j] <= 0) continue;
    row_ref += reference_counts[j];
    row_cur += current_counts[j];
    ++columns;
  }
  if (columns < 2 || row_ref <= 0 || row_cur <= 0) return 0;
  const double total = row_ref + row_cur;
  const bool yates = columns == 2;  // one degree of freedom: scipy's default correction
  double stat = 0;
  for (std::size_t j = 0; j < k; ++j) {
    const double col = reference_counts[j] + current_counts[j];
    if (col <= 0) continue;
    const std::array<double, 2> observed = {reference_counts[j], current_counts[j]};
    const std::array<double, 2> rows = {row_ref, row_cur};
    for (int r = 0; r < 2; ++r) {
      const double expected = rows[r] * col / total;
      double o = observed[r];
      if (yates) {
        const double diff = expected - o;
        const double magnitude = std::min(0.5, std::fabs(diff));
        o += diff > 0 ? magnitude : (diff < 0 ? -magnitude : 0.0);
      }
      stat += (o - expected) * (o - expected) / expected;
    }
  }
  return stat;
}

double TwoProportionZ(double x1, double n1, double x0, double n0) {
  if (n1 <= 0 || n0 <= 0) return 0;
  const double pooled = (x1 + x0) / (n1 + n0);
  const double variance = pooled * (1 - pooled) * (1 / n1 + 1 / n0);
  if (!(variance > 0)) return 0;
  return (x1 / n1 - x0 / n0) / std::sqrt(variance);
}

double ComputeKsFine(const FineDistribution& current, const FineDistribution& reference) {
  const std::size_t m = current.cuts.size();
  double f_cur = 0;
  double f_ref = 0;
  double ks = 0;
  const bool cur_atoms = current.at_cut.size() == m;
  const bool ref_atoms = reference.at_cut.size() == m;
  for (std::size_t j = 0; j < m; ++j) {
    f_cur += current.mass[j];
    f_ref += reference.mass[j];
    // F(c−): the CDF just left of the cut, i.e. the supremum over the open bin below it.
    const double left_cur = f_cur - (cur_atoms ? current.at_cut[j] : 0.0);
    const double left_ref = f_ref - (ref_atoms ? reference.at_cut[j] : 0.0);
    ks = std::max({ks, std::fabs(f_cur - f_ref), std::fabs(left_cur - left_ref)});
  }
  return std::min(ks, 1.0);
}

double ComputeWassersteinFine(const FineDistribution& current, const FineDistribution& reference) {
  const std::size_t bins = current.cuts.size() + 1;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double fc_a = 0;  // CDFs at the left edge of the bin
  double fr_a = 0;
  double w = 0;
  for (std::size_t i = 0; i < bins; ++i) {
    const double mc = current.mass[i];
    const double mr = reference.mass[i];
    const double fc_b = fc_a + mc;
    const double fr_b = fr_a + mr;
    const double a = i == 0 ? -kInf : current.cuts[i - 1];
    const double b = i == bins - 1 ? kInf : current.cuts[i];
    // A bin empty in both still counts: the CDFs are flat across it but may differ.
    if (mc > 0 || mr > 0 || (std::isfinite(a) && std::isfinite(b))) {
      // Open tail bins are integrated only over the span holding mass; beyond it both CDFs
      // are equal (0 on the left, 1 on the right).
      double lo = a;
      double hi = b;
      if (std::isinf(a)) {
        lo = std::min(mc > 0 ? current.mean[i] : kInf, mr > 0 ? reference.mean[i] : kInf);
      }
      if (std::isinf(b)) {
        hi = std::max(mc > 0 ? current.mean[i] : -kInf, mr > 0 ? reference.mean[i] : -kInf);
      }
      const double mu_c = mc > 0 ? std::clamp(current.mean[i], lo, hi) : hi;
      const double mu_r = mr > 0 ? std::clamp(reference.mean[i], lo, hi) : hi;
      std::array<double, 4> points = {lo, mu_c, mu_r, hi};
      std::sort(points.begin(), points.end());
      for (int s = 0; s < 3; ++s) {
        const double x0 = points[s];
        const double x1 = points[s + 1];
        if (!(x1 > x0)) continue;
        const double fc = x0 >= mu_c ? fc_b : fc_a;
        const double fr = x0 >= mu_r ? fr_b : fr_a;
        const double diff = std::fabs(fc - fr);
        if (diff > 0) w += diff * (x1 - x0);
      }
    }
    fc_a = fc_b;
    fr_a = fr_b;
  }
  return w;
}

double EstimateBinnedAuc(std::span<const double> positives, std::span<const double> counts) {
  double total_pos = 0;
  double total_neg = 0;
  double concordant = 0;
  double neg_below = 0;
  const std::size_t n = std::min(positives.size(), counts.size());
  for (std::size_t b = 0; b < n; ++b) {
    const double pos = positives[b];
    const double neg = std::max(0.0, counts[b] - pos);
    concordant += pos * (neg_below + 0.5 * neg);
    neg_below += neg;
    total_pos += pos;
    total_neg += neg;
  }
  if (!(total_pos > 0) || !(total_neg > 0)) return std::numeric_limits<double>::quiet_NaN();
  return concordant / (total_pos * total_neg);
}

}  // namespace modelwatch
