#include <gtest/gtest.h>

#include "exporter/backtest/rule_files.h"
#include "exporter/backtest/scoring.h"

namespace modelwatch {
namespace {

std::vector<std::pair<double, double>> Spans(const std::vector<Interval>& v) {
  std::vector<std::pair<double, double>> out;
  for (const auto& i : v) out.emplace_back(i.start, i.end);
  return out;
}

using Spans_ = std::vector<std::pair<double, double>>;

TEST(FiringIntervalsTest, FiresAtOnceWithoutForAndResolvesAtTheFirstMiss) {
  EXPECT_EQ(Spans(FiringIntervals({0, 30, 60}, 0, 300, 30, 0, 0)), (Spans_{{0, 90}}));
}

TEST(FiringIntervalsTest, PendingUntilForHasPassedAtAnEvaluation) {
  // Active at 0; 60 - 0 >= 60 fires at 60 (Prometheus compares with >=).
  EXPECT_EQ(Spans(FiringIntervals({0, 30, 60, 90, 120}, 0, 300, 30, 60, 0)), (Spans_{{60, 150}}));
  // for: 45s between evaluations fires at the first evaluation past it.
  EXPECT_EQ(Spans(FiringIntervals({0, 30, 60, 90}, 0, 300, 30, 45, 0)), (Spans_{{60, 120}}));
}

TEST(FiringIntervalsTest, PendingThatMissesOnceStartsAgain) {
  EXPECT_TRUE(FiringIntervals({0, 30}, 0, 300, 30, 60, 0).empty());
  EXPECT_EQ(Spans(FiringIntervals({0, 30, 90, 120, 150}, 0, 300, 30, 60, 0)), (Spans_{{150, 180}}));
}

TEST(FiringIntervalsTest, KeepFiringForCountsFromTheFirstMiss) {
  // Misses at 30 and 60 are within 60 s of the first miss (30); 90 - 30 = 60 is not < 60.
  EXPECT_EQ(Spans(FiringIntervals({0}, 0, 300, 30, 0, 60)), (Spans_{{0, 90}}));
  // A return at 60 resets the clock: misses from 90, resolved at 150.
  EXPECT_EQ(Spans(FiringIntervals({0, 60}, 0, 300, 30, 0, 60)), (Spans_{{0, 150}}));
}

TEST(FiringIntervalsTest, ForAndKeepFiringForTogetherAsPromtoolSeesThem) {
  // promtool 2.42 `test rules`, interval 30s, x = 1 1 1 1 0 0 0 0 0, `x > 0` with for: 1m and
  // keep_firing_for: 1m: no alert at 30s, firing at 60s and at 150s, none at 180s.
  EXPECT_EQ(Spans(FiringIntervals({0, 30, 60, 90}, 0, 240, 30, 60, 60)), (Spans_{{60, 180}}));
}

TEST(FiringIntervalsTest, KeepFiringForDoesNotHoldAPendingAlert) {
  EXPECT_TRUE(FiringIntervals({0, 30}, 0, 300, 30, 60, 300).empty());
}

TEST(FiringIntervalsTest, StillFiringAtTheEndClosesOneIntervalLater) {
  EXPECT_EQ(Spans(FiringIntervals({240, 270, 300}, 0, 300, 30, 0, 0)), (Spans_{{240, 330}}));
}

TEST(FindLabelIncidentsTest, RunsBelowTheThresholdMergedWithinTheGap) {
  std::vector<std::pair<double, double>> perf;
  for (int i = 0; i < 100; ++i) {
    double v = 0.9;
    if ((i >= 10 && i < 20) || (i >= 23 && i < 30) || (i >= 60 && i < 65)) v = 0.6;
    perf.emplace_back(i * 60.0, v);
  }
  auto found = FindLabelIncidents("m", perf, 60, 0.7, true, 300, 1000);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].visible_at, 600);
  EXPECT_EQ(found[0].end, 1800);  // 10..19 and 23..29 are 3 minutes apart: one incident
  EXPECT_EQ(found[0].window_start, -400);
  EXPECT_EQ(found[1].visible_at, 3600);
  EXPECT_EQ(found[1].end, 3900);
  EXPECT_EQ(found[1].source, "labels");
}

TEST(FindLabelIncidentsTest, AboveForErrorMetricsAndMissingSamplesEndARun) {
  std::vector<std::pair<double, double>> perf = {{0, 9}, {60, 9}, {300, 9}, {360, 5}};
  auto found = FindLabelIncidents("m", perf, 60, 8, false, 0, 0);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].end, 120);
  EXPECT_EQ(found[1].visible_at, 300);
}

AlertSeries Alert(const std::string& name, const std::string& severity,
                  std::vector<Interval> firing, const std::string& model = "m") {
  AlertSeries a;
  a.alertname = name;
  a.severity = severity;
  a.model = model;
  a.receiver = model + "-" + severity;
  a.firing = std::move(firing);
  return a;
}

TEST(ScoreAlertsTest, DetectionsLeadTimesAndFalsePages) {
  const double day = 86400;
  std::vector<Incident> incidents(2);
  incidents[0].model = incidents[1].model = "m";
  incidents[0].window_start = 1 * day;
  incidents[0].visible_at = 2 * day;
  incidents[0].end = 3 * day;
  incidents[1].window_start = 5 * day;
  incidents[1].visible_at = 6 * day;
  incidents[1].end = 7 * day;
  std::vector<AlertSeries> alerts = {
      // Two label sets of one alert overlapping: one page.
      Alert("Drift", "page", {{1.5 * day, 1.7 * day}}),
      Alert("Drift", "page", {{1.6 * day, 1.8 * day}, {9 * day, 9.1 * day}}),
      Alert("Drift", "ticket", {{1.2 * day, 2 * day}}),
      Alert("Perf", "ticket", {{6.5 * day, 7 * day}}),
      // Started before the window: a false page, no detection.
      Alert("Other", "page", {{0.5 * day, 1.5 * day}}),
      Alert("Watchdog", "info", {{0, 10 * day}}, ""),
  };
  std::vector<Episode> episodes;
  std::vector<ModelScore> scores;
  ScoreAlerts(alerts, incidents, {"m"}, 0, 10 * day, &episodes, &scores);
  EXPECT_TRUE(incidents[0].detected());
  EXPECT_EQ(*incidents[0].first_page_at, 1.5 * day);
  EXPECT_EQ(*incidents[0].first_ticket_at, 1.2 * day);
  EXPECT_EQ(incidents[0].pages, 1);
  EXPECT_EQ(incidents[0].detected_by, (std::vector<std::string>{"Drift/ticket", "Drift/page"}));
  EXPECT_FALSE(incidents[1].first_page_at.has_value());
  EXPECT_EQ(*incidents[1].first_ticket_at, 6.5 * day);
  ASSERT_EQ(scores.size(), 1u);
  const ModelScore& s = scores[0];
  EXPECT_EQ(s.incidents, 2);
  EXPECT_EQ(s.detected, 2);
  EXPECT_EQ(s.pages, 3);
  EXPECT_EQ(s.false_pages, 2);  // Drift at day 9 and Other
  EXPECT_EQ(s.false_tickets, 0);
  EXPECT_DOUBLE_EQ(s.days_outside_incidents, 6);
  EXPECT_DOUBLE_EQ(*s.false_pages_per_day, 2.0 / 6);
  EXPECT_DOUBLE_EQ(*s.pages_per_incident, 0.5);
  EXPECT_DOUBLE_EQ(*s.median_page_lead_seconds, 0.5 * day);
  EXPECT_DOUBLE_EQ(*s.median_ticket_lead_seconds, (0.8 * day + -0.5 * day) / 2);
  EXPECT_DOUBLE_EQ(*s.false_notifications_per_day, 2.0 / 6);
}

TEST(ScoreAlertsTest, LeadOfTheFirstNotificationOfEitherSeverity) {
  const double day = 86400;
  std::vector<Incident> incidents(3);
  for (int i = 0; i < 3; ++i) {
    incidents[i].model = "m";
    incidents[i].window_start = (3 * i + 1) * day;
    incidents[i].visible_at = (3 * i + 2) * day;
    incidents[i].end = (3 * i + 3) * day;
  }
  std::vector<AlertSeries> alerts = {
      Alert("A", "ticket", {{1.2 * day, 1.3 * day}}),  // I1: ticket 0.8 d ahead, page 0.1 d
      Alert("B", "page", {{1.9 * day, 2.5 * day}}),
      Alert("B", "page", {{4.5 * day, 4.6 * day}}),  // I2: page 0.5 d ahead, ticket late
      Alert("A", "ticket", {{5.5 * day, 5.6 * day}}),
      Alert("C", "ticket", {{8.5 * day, 8.9 * day}}),  // I3: 0.5 d late, on a ticket only
      Alert("C", "ticket", {{0.2 * day, 0.3 * day}}),  // false ticket
  };
  std::vector<Episode> episodes;
  std::vector<ModelScore> scores;
  ScoreAlerts(alerts, incidents, {"m"}, 0, 10 * day, &episodes, &scores);
  ASSERT_EQ(scores.size(), 1u);
  const ModelScore& s = scores[0];
  EXPECT_EQ(s.detected, 3);
  // Leads 0.8, 0.5, -0.5 days: median 0.5 d; page leads 0.1 and 0.5: median 0.3 d; ticket
  // leads 0.8, -0.5, -0.5: median -0.5 d.
  ASSERT_TRUE(s.median_lead_seconds.has_value());
  EXPECT_DOUBLE_EQ(*s.median_lead_seconds, 0.5 * day);
  EXPECT_DOUBLE_EQ(*s.median_page_lead_seconds, 0.3 * day);
  EXPECT_DOUBLE_EQ(*s.median_ticket_lead_seconds, -0.5 * day);
  // One false ticket over the four days outside the incident windows.
  EXPECT_DOUBLE_EQ(s.days_outside_incidents, 4);
  EXPECT_DOUBLE_EQ(*s.false_notifications_per_day, 0.25);
}

TEST(RuleFilesTest, PrometheusDurations) {
  EXPECT_EQ(*ParsePrometheusDuration("30s"), 30);
  EXPECT_EQ(*ParsePrometheusDuration("1h30m"), 5400);
  EXPECT_EQ(*ParsePrometheusDuration("3d"), 3 * 86400);
  EXPECT_EQ(*ParsePrometheusDuration("500ms"), 0.5);
  EXPECT_FALSE(ParsePrometheusDuration("5 m").has_value());
  EXPECT_FALSE(ParsePrometheusDuration("").has_value());
}

}  // namespace
}  // namespace modelwatch
