#include <gtest/gtest.h>

#include "exporter/backtest/suggest.h"

namespace modelwatch {
namespace {

constexpr double kStep = 60;

// A signal sampled every minute over [0, 6000): 0.05 at rest, a harmless spike to 0.22 at
// [600, 720), and an incident whose look-back window opens at 3000: 0.15 from 3000, 0.3 from
// 3300, 0.4 from the labels' 3600 to its end at 4200, then back to rest.
std::vector<std::pair<double, double>> Signal() {
  std::vector<std::pair<double, double>> out;
  for (double t = 0; t < 6000; t += kStep) {
    double v = 0.05;
    if (t >= 600 && t < 720) v = 0.22;
    if (t >= 3000 && t < 3300) v = 0.15;
    if (t >= 3300 && t < 3600) v = 0.3;
    if (t >= 3600 && t < 4200) v = 0.4;
    out.push_back({t, v});
  }
  return out;
}

std::vector<Incident> OneIncident() {
  Incident inc;
  inc.id = "I1";
  inc.model = "m";
  inc.source = "labels";
  inc.window_start = 3000;
  inc.visible_at = 3600;
  inc.end = 4200;
  return {inc};
}

TEST(SuggestThresholdTest, LowestThresholdWithoutFalsePagesHasTheBestLead) {
  const auto sug =
      SuggestThreshold(Signal(), 0.2, 1e-9, 1.0, 0.0, kStep, 0, 0, OneIncident(), "m", 0, 6000);
  // The configured 0.2 pages the spike (false) and the incident at 3300, 300 s ahead.
  EXPECT_EQ(sug.current.false_pages, 1);
  EXPECT_EQ(sug.current.detected, 1);
  ASSERT_TRUE(sug.current.median_lead_seconds.has_value());
  EXPECT_DOUBLE_EQ(*sug.current.median_lead_seconds, 300);
  // 0.22 still pages the spike; 0.3 is the lowest candidate above it: same 300 s lead.
  ASSERT_TRUE(sug.suggested.has_value());
  EXPECT_DOUBLE_EQ(sug.suggested->threshold, 0.3);
  EXPECT_EQ(sug.suggested->false_pages, 0);
  EXPECT_DOUBLE_EQ(*sug.suggested->false_pages_per_day, 0);
  EXPECT_EQ(sug.suggested->detected, 1);
  EXPECT_DOUBLE_EQ(*sug.suggested->median_lead_seconds, 300);
}

TEST(SuggestThresholdTest, AllowedFalsePagesBuyLead) {
  // Days outside the incident window: (6000 − 1200) / 86400. One false page is 18 per day.
  const auto sug =
      SuggestThreshold(Signal(), 0.2, 0.1, 1.0, 20.0, kStep, 0, 0, OneIncident(), "m", 0, 6000);
  // The floor 0.1 is itself a candidate: the lowest allowed, and as early as 0.15.
  ASSERT_TRUE(sug.suggested.has_value());
  EXPECT_DOUBLE_EQ(sug.suggested->threshold, 0.1);
  EXPECT_EQ(sug.suggested->false_pages, 1);
  EXPECT_DOUBLE_EQ(*sug.suggested->false_pages_per_day, 86400.0 / 4800);
  EXPECT_DOUBLE_EQ(*sug.suggested->median_lead_seconds, 600);
}

TEST(SuggestThresholdTest, ForDelaysTheFirstPage) {
  const auto o = EvaluateThreshold(Signal(), 0.3, kStep, 120, 0, OneIncident(), "m", 0, 6000);
  EXPECT_EQ(o.detected, 1);
  EXPECT_DOUBLE_EQ(*o.median_lead_seconds, 180);  // pending at 3300, firing at 3420
}

TEST(SuggestThresholdTest, NoneWhenNothingBelowTheMaximumMeetsTheTarget) {
  // Capped at 0.25, every candidate pages the spike.
  const auto sug =
      SuggestThreshold(Signal(), 0.2, 1e-9, 0.25, 0.0, kStep, 0, 0, OneIncident(), "m", 0, 6000);
  EXPECT_FALSE(sug.suggested.has_value());
}

TEST(SuggestThresholdTest, RoundUpTwoDigits) {
  EXPECT_DOUBLE_EQ(RoundUpTwoDigits(0.1234), 0.13);
  EXPECT_DOUBLE_EQ(RoundUpTwoDigits(87.2), 88);
  EXPECT_DOUBLE_EQ(RoundUpTwoDigits(0.25), 0.25);
  EXPECT_DOUBLE_EQ(RoundUpTwoDigits(100), 100);
  EXPECT_NEAR(RoundUpTwoDigits(0.1 + 0.2), 0.3, 1e-12);
}

TEST(SuggestWeightsTest, ProportionalToPositiveCorrelationWithIncidents) {
  // Grid 0..9; the incident window [5, 8) makes y = 0 0 0 0 0 1 1 1 0 0.
  Incident inc;
  inc.model = "m";
  inc.source = "labels";
  inc.window_start = 5;
  inc.visible_at = 6;
  inc.end = 8;
  std::map<std::string, std::vector<std::pair<double, double>>> signals;
  const double y[] = {0, 0, 0, 0, 0, 1, 1, 1, 0, 0};
  const double b[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const double c[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 1};
  for (int t = 0; t < 10; ++t) {
    signals["a"].push_back({t, y[t]});
    signals["b"].push_back({t, b[t]});
    signals["c"].push_back({t, c[t]});
  }
  signals["flat"] = {{0, 0}, {9, 0}};  // no variance: no correlation, no weight
  // An owner incident (an outage) is no performance drop: it must not count.
  Incident outage = inc;
  outage.source = "owner";
  outage.window_start = 0;
  outage.end = 2;
  // "errors" never moved (no series): it keeps its 0.1; a, b, c share the other 0.9.
  const auto w =
      SuggestWeights(signals, {inc, outage}, "m",
                     {{"a", 0.3}, {"b", 0.3}, {"c", 0.2}, {"errors", 0.1}, {"flat", 0.1}});
  // numpy.corrcoef: a 1, b −0.2182178902359923, c 0.2182178902359923.
  EXPECT_NEAR(w.correlation.at("a"), 1, 1e-12);
  EXPECT_NEAR(w.correlation.at("b"), -0.2182178902359923, 1e-12);
  EXPECT_NEAR(w.correlation.at("c"), 0.2182178902359923, 1e-12);
  EXPECT_EQ(w.correlation.count("flat"), 0u);
  // errors and flat keep 0.1 each; a and c share 0.8 as 1 : 0.218 → 0.6567 and 0.1433.
  EXPECT_DOUBLE_EQ(w.weights.at("a"), 0.66);
  EXPECT_DOUBLE_EQ(w.weights.at("b"), 0);
  EXPECT_DOUBLE_EQ(w.weights.at("c"), 0.14);
  EXPECT_DOUBLE_EQ(w.weights.at("errors"), 0.1);
  EXPECT_DOUBLE_EQ(w.weights.at("flat"), 0.1);
  double sum = 0;
  for (const auto& [name, v] : w.weights) sum += v;
  EXPECT_NEAR(sum, 1, 1e-12);
}

TEST(SuggestWeightsTest, NoneWhenNoSignalRelatesBeyondChance) {
  // y = 1 on [10, 20) of 0..99; x is 1 at 15 and on [50, 54): numpy.corrcoef 0.0765 < 0.1.
  Incident inc;
  inc.model = "m";
  inc.source = "labels";
  inc.window_start = 10;
  inc.visible_at = 15;
  inc.end = 20;
  std::map<std::string, std::vector<std::pair<double, double>>> signals;
  for (int t = 0; t < 100; ++t) {
    signals["x"].push_back({t, t == 15 || (t >= 50 && t < 54) ? 1.0 : 0.0});
  }
  const auto w = SuggestWeights(signals, {inc}, "m", {{"x", 0.5}, {"errors", 0.5}});
  EXPECT_NEAR(w.correlation.at("x"), 0.07647191129018722, 1e-12);
  EXPECT_TRUE(w.weights.empty());
}

TEST(SuggestWeightsTest, NoneWithoutIncidents) {
  std::map<std::string, std::vector<std::pair<double, double>>> signals = {
      {"a", {{0, 0}, {1, 1}, {2, 0}}}};
  EXPECT_TRUE(SuggestWeights(signals, {}, "m", {{"a", 1.0}}).weights.empty());
}

}  // namespace
}  // namespace modelwatch
