#include "exporter/backtest/suggest.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace modelwatch {
namespace {

// Below this a signal's correlation with the incidents is treated as no relation: sharing the
// weight by tiny correlations would hand it all to whichever signal moved by chance.
constexpr double kMinCorrelation = 0.1;

}  // namespace

double RoundUpTwoDigits(double x) {
  if (!(x > 0) || !std::isfinite(x)) return x;
  const double scale = std::pow(10.0, std::floor(std::log10(x)) - 1);
  // The 1e-9 keeps a value already on two digits (0.25) from moving up by floating error.
  return std::ceil(x / scale - 1e-9) * scale;
}

ThresholdOutcome EvaluateThreshold(const std::vector<std::pair<double, double>>& samples,
                                   double threshold, double step, double for_seconds,
                                   double keep_firing_for_seconds,
                                   const std::vector<Incident>& incidents, const std::string& model,
                                   double range_start, double range_end) {
  ThresholdOutcome out;
  out.threshold = threshold;
  std::vector<double> present;
  for (const auto& [t, v] : samples) {
    if (t >= range_start && t <= range_end && v >= threshold) present.push_back(t);
  }
  AlertSeries alert;
  alert.alertname = "suggestion";
  alert.severity = "page";
  alert.model = model;
  const double start = std::ceil(range_start / step) * step;
  const double end = std::floor(range_end / step) * step;
  if (end >= start) {
    alert.firing = FiringIntervals(present, start, end, step, for_seconds, keep_firing_for_seconds);
  }
  std::vector<Incident> mine;
  for (const Incident& inc : incidents) {
    if (inc.model == model) mine.push_back(inc);
  }
  std::vector<Episode> episodes;
  std::vector<ModelScore> scores;
  ScoreAlerts({alert}, mine, {model}, range_start, range_end, &episodes, &scores);
  const ModelScore& s = scores.front();
  out.incidents = s.incidents;
  out.detected = s.detected;
  out.false_pages = s.false_pages;
  out.false_pages_per_day = s.false_pages_per_day;
  out.median_lead_seconds = s.median_page_lead_seconds;
  return out;
}

ThresholdSuggestion SuggestThreshold(const std::vector<std::pair<double, double>>& samples,
                                     double configured, double min_threshold, double max_threshold,
                                     double target_per_day, double step, double for_seconds,
                                     double keep_firing_for_seconds,
                                     const std::vector<Incident>& incidents,
                                     const std::string& model, double range_start,
                                     double range_end) {
  ThresholdSuggestion out;
  auto evaluate = [&](double threshold) {
    return EvaluateThreshold(samples, threshold, step, for_seconds, keep_firing_for_seconds,
                             incidents, model, range_start, range_end);
  };
  out.current = evaluate(configured);
  std::set<double> candidates = {configured};
  if (min_threshold > 0 && std::isfinite(min_threshold)) candidates.insert(min_threshold);
  for (const auto& [t, v] : samples) {
    if (std::isfinite(v) && v > 0) candidates.insert(RoundUpTwoDigits(v));
  }
  for (double c : candidates) {
    if (c < min_threshold || c > max_threshold) continue;
    ThresholdOutcome o = evaluate(c);
    // No day outside incidents: nothing can be a false page, any threshold meets the target.
    const double rate = o.false_pages_per_day.value_or(0);
    if (rate <= target_per_day + 1e-12) {
      out.suggested = o;
      break;
    }
  }
  return out;
}

WeightSuggestion SuggestWeights(
    const std::map<std::string, std::vector<std::pair<double, double>>>& signals,
    const std::vector<Incident>& incidents, const std::string& model,
    const std::map<std::string, double>& current) {
  WeightSuggestion out;
  std::set<double> times;
  for (const auto& [name, samples] : signals) {
    for (const auto& [t, v] : samples) times.insert(t);
  }
  if (times.size() < 2) return out;
  const std::vector<double> grid(times.begin(), times.end());
  std::vector<double> y(grid.size(), 0);
  for (std::size_t i = 0; i < grid.size(); ++i) {
    for (const Incident& inc : incidents) {
      if (inc.model == model && inc.source == "labels" && grid[i] >= inc.window_start &&
          grid[i] < inc.end) {
        y[i] = 1;
      }
    }
  }
  auto pearson = [](const std::vector<double>& a, const std::vector<double>& b) {
    const double n = static_cast<double>(a.size());
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ma += a[i];
      mb += b[i];
    }
    ma /= n;
    mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? std::optional<double>(sab / std::sqrt(saa * sbb)) : std::nullopt;
  };
  std::map<std::string, double> positive;
  double total = 0;
  for (const auto& [name, samples] : signals) {
    std::vector<double> x(grid.size(), 0);
    for (const auto& [t, v] : samples) {
      const auto at = std::lower_bound(grid.begin(), grid.end(), t) - grid.begin();
      if (std::isfinite(v)) x[static_cast<std::size_t>(at)] = v;
    }
    const auto r = pearson(x, y);
    if (!r) continue;
    out.correlation[name] = *r;
    positive[name] = *r > kMinCorrelation ? *r : 0.0;
    total += positive[name];
  }
  if (!(total > 0)) return out;
  // Signals without evidence keep their weight (in hundredths); the rest is shared.
  int kept_cents = 0;
  std::map<std::string, int> cents;
  for (const auto& [name, w] : current) {
    if (out.correlation.count(name)) continue;
    cents[name] = static_cast<int>(std::lround(w * 100));
    kept_cents += cents[name];
  }
  const int shared = 100 - kept_cents;
  int sum_cents = 0;
  std::string largest;
  for (const auto& [name, p] : positive) {
    cents[name] = static_cast<int>(std::lround(p / total * shared));
    sum_cents += cents[name];
    if (largest.empty() || p > positive[largest]) largest = name;
  }
  cents[largest] += shared - sum_cents;
  for (const auto& [name, c] : cents) out.weights[name] = c / 100.0;
  return out;
}

}  // namespace modelwatch
