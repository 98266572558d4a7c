#include "core/distributions.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace modelwatch {
namespace {

// Regularised upper incomplete gamma Q(a, x): the series of P for x < a + 1, Lentz's
// continued fraction for Q otherwise (both to double precision).
double GammaQ(double a, double x) {
  if (!(x > 0)) return 1.0;
  const double log_front = a * std::log(x) - x - std::lgamma(a);
  if (x < a + 1) {
    double term = 1.0 / a;
    double sum = term;
    for (int k = 1; k < 1000; ++k) {
      term *= x / (a + k);
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * 1e-16) break;
    }
    return std::max(0.0, 1.0 - sum * std::exp(log_front));
  }
  constexpr double kTiny = 1e-300;
  double b = x + 1 - a;
  double c = 1 / kTiny;
  double d = 1 / b;
  double h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return std::exp(log_front) * h;
}

}  // namespace

double ChiSquareSurvival(double x, double dof) { return GammaQ(0.5 * dof, 0.5 * x); }

double ChiSquareUpperQuantile(double p, double dof) {
  return RememberedAnswer(0, p, dof, [&] {
    return InvertSurvival([dof](double x) { return ChiSquareSurvival(x, dof); }, p, 0.0, dof + 10);
  });
}

double KolmogorovSurvival(double t) {
  if (!(t > 0)) return 1.0;
  if (t < 0.3) {
    // The alternating series converges slowly here; use the dual (theta) form of the CDF:
    // P(K ≤ t) = sqrt(2π)/t Σ_{k≥1} exp(−(2k−1)²π²/(8t²)).
    double cdf = 0;
    for (int k = 1; k < 50; ++k) {
      const double j = 2 * k - 1;
      cdf += std::exp(-j * j * std::numbers::pi * std::numbers::pi / (8 * t * t));
    }
    return 1 - std::sqrt(2 * std::numbers::pi) / t * cdf;
  }
  double sum = 0;
  for (int k = 1; k < 100; ++k) {
    const double term = std::exp(-2.0 * k * k * t * t);
    sum += (k % 2 == 1 ? term : -term);
    if (term < 1e-18) break;
  }
  return std::clamp(2 * sum, 0.0, 1.0);
}

double KolmogorovUpperQuantile(double p) {
  return RememberedAnswer(1, p, 0.0,
                          [&] { return InvertSurvival(KolmogorovSurvival, p, 0.0, 2.0); });
}

}  // namespace modelwatch
