// Suggestions from a backtest's recorded series (docs/backtest.md, "Suggested thresholds and
// weights"): the lowest page threshold of a signal that would have met a target false-page
// rate — the lowest, because a lower threshold crosses earlier and so has the best lead — and
// degradation weights from each signal's correlation with the label-visible incidents.
// Pure arithmetic over (time, value) samples, no I/O.
#ifndef MODELWATCH_EXPORTER_BACKTEST_SUGGEST_H_
#define MODELWATCH_EXPORTER_BACKTEST_SUGGEST_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporter/backtest/scoring.h"

namespace modelwatch {

// How one page threshold on a signal would have done: the signal's series as one alert label
// set (firing while value >= threshold, Prometheus's `for`/`keep_firing_for` state machine),
// scored by ScoreAlerts against the model's incidents.
struct ThresholdOutcome {
  double threshold = 0;
  int incidents = 0, detected = 0, false_pages = 0;
  std::optional<double> false_pages_per_day, median_lead_seconds;
};

ThresholdOutcome EvaluateThreshold(const std::vector<std::pair<double, double>>& samples,
                                   double threshold, double step, double for_seconds,
                                   double keep_firing_for_seconds,
                                   const std::vector<Incident>& incidents, const std::string& model,
                                   double range_start, double range_end);

struct ThresholdSuggestion {
  ThresholdOutcome current;                   // at the configured threshold
  std::optional<ThresholdOutcome> suggested;  // none: no threshold up to max_threshold meets it
};

// Candidates are the series' values rounded up to two significant digits, the configured
// threshold and min_threshold, limited to [min_threshold, max_threshold]; the suggestion is the
// lowest candidate whose false pages per day (outside incident windows) are at most
// `target_per_day`. Ties in lead cannot favour a higher threshold: a lower one fires no later.
ThresholdSuggestion SuggestThreshold(const std::vector<std::pair<double, double>>& samples,
                                     double configured, double min_threshold, double max_threshold,
                                     double target_per_day, double step, double for_seconds,
                                     double keep_firing_for_seconds,
                                     const std::vector<Incident>& incidents,
                                     const std::string& model, double range_start,
                                     double range_end);

// x rounded up to two significant digits (0.1234 → 0.13, 87.2 → 88); x > 0.
double RoundUpTwoDigits(double x);

struct WeightSuggestion {
  std::map<std::string, double> correlation;  // per signal; absent when undefined
  std::map<std::string, double> weights;      // sum to 1, two decimals; empty: none suggested
};

// `signals`: each signal's normalised input (0–1) per time; `incidents`: the model's label
// incidents; `current`: the configured weights. y(t) = 1 while t is in an incident's
// [window_start, end) — the look-back before the labels showed a drop, and the drop itself —
// else 0. A signal of `current` without a correlation (it never moved, or has no series) keeps
// its weight: the history says nothing about it. The others share the rest in proportion to
// their Pearson correlation with y when above 0.1 (0 otherwise: no relation), in hundredths, the
// largest absorbing the rounding so all sum to exactly 1. Times missing from a signal count as 0.
// No suggestion (empty weights) without incidents or when no correlation is above 0.1.
WeightSuggestion SuggestWeights(
    const std::map<std::string, std::vector<std::pair<double, double>>>& signals,
    const std::vector<Incident>& incidents, const std::string& model,
    const std::map<std::string, double>& current);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_BACKTEST_SUGGEST_H_
