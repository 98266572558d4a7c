#include "core/distributions.h"

#include <algorithm>
#include <cmath>

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

}  // namespace modelwatch
