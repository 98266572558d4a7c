#include "core/distributions.h"

#include <algorithm>
#include <cmath>
#include <limits>
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

double NormalQuantile(double p) {
  if (!(p > 0)) return -std::numeric_limits<double>::infinity();
  if (!(p < 1)) return std::numeric_limits<double>::infinity();
  // Acklam's rational approximation.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double low = 0.02425;
  double x = 0;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // One Halley step on Φ(x) − p.
  const double e = 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;
  const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

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
