// The backtest's arithmetic, free of I/O: Prometheus's alert state machine over a range of
// evaluations, incidents from a label-based performance series, and the scoring of alert
// notifications against incidents (docs/backtest.md defines every number).
#ifndef MODELWATCH_EXPORTER_BACKTEST_SCORING_H_
#define MODELWATCH_EXPORTER_BACKTEST_SCORING_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modelwatch {

// [start, end) in unix seconds.
struct Interval {
  double start = 0;
  double end = 0;
};

// Replays Prometheus's alerting-rule state machine (rules/alerting.go) for one label set over
// the evaluations at start, start + interval, ... <= end. `present` holds the evaluation
// times (ascending) at which the rule's expression returned the label set. An alert becomes
// pending at the first evaluation that returns it, firing at the first evaluation at least
// `for_seconds` after that (at once when 0), and, once firing, stays firing through
// evaluations that do not return it until `keep_firing_for_seconds` have passed since the
// first of them (a return resets that clock); a pending alert not returned goes inactive.
// Returns the firing intervals: from the evaluation that fired to the one that resolved (or
// `end` + interval when still firing at the last evaluation).
std::vector<Interval> FiringIntervals(const std::vector<double>& present, double start, double end,
                                      double interval, double for_seconds,
                                      double keep_firing_for_seconds);

// One label set of one alerting rule and when it fired.
struct AlertSeries {
  std::string alertname;
  std::string severity;  // the rule's `severity` label ("" when absent)
  std::string model;     // the `model` label ("" for fleet alerts such as Watchdog)
  std::string receiver;  // Alertmanager's choice for the label set
  std::map<std::string, std::string> labels;
  std::vector<Interval> firing;
};

// A period of degraded performance.
struct Incident {
  std::string id;
  std::string model;
  std::string source;       // "labels" (found in the label-based performance) or "owner"
  std::string name;         // owner's name; empty for label incidents
  double window_start = 0;  // alerts notifying from here on are attributed to the incident
  double visible_at = 0;    // when labels showed it (lead times count back from here)
  double end = 0;
  // Filled by ScoreAlerts.
  std::vector<std::string> detected_by;  // "Alertname/severity", first notification order
  std::optional<double> first_page_at, first_ticket_at;
  int pages = 0, tickets = 0;
  bool detected() const { return first_page_at || first_ticket_at; }
};

// Incidents in a label-based performance series sampled every `step` seconds: maximal runs
// of samples worse than the threshold (below it when `below`, else above it); runs less than
// `merge_gap` apart join; a missing sample ends a run. visible_at is the first bad sample,
// end the last bad sample + step, window_start visible_at - lookback.
std::vector<Incident> FindLabelIncidents(const std::string& model,
                                         const std::vector<std::pair<double, double>>& samples,
                                         double step, double threshold, bool below,
                                         double merge_gap, double lookback);

// One notification episode: the union of overlapping firing intervals that Alertmanager sends
// as one group (same receiver, alertname and model).
struct Episode {
  std::string alertname, severity, model, receiver;
  Interval span;
  std::vector<std::string> incidents;  // ids of the incidents it notified within
};

struct ModelScore {
  std::string model;
  int incidents = 0, detected = 0, detected_by_page = 0;
  int pages = 0, tickets = 0, false_pages = 0, false_tickets = 0;
  double days = 0, days_outside_incidents = 0;
  std::optional<double> false_pages_per_day, false_tickets_per_day, pages_per_incident;
  std::optional<double> median_page_lead_seconds, median_ticket_lead_seconds;
  // Over the first notification of either severity: the figures that compare rule sets
  // whose severities differ (docs/backtest.md, "Peer comparison").
  std::optional<double> median_lead_seconds, false_notifications_per_day;
};

// Groups the firing intervals into episodes, attributes each page/ticket episode to the
// incidents of its model whose [window_start, end) holds its start, fills the incidents'
// detection fields, and scores every model of `models` over [range_start, range_end).
// Alerts without a model label or with a severity other than page/ticket are ignored.
void ScoreAlerts(const std::vector<AlertSeries>& alerts, std::vector<Incident>& incidents,
                 const std::vector<std::string>& models, double range_start, double range_end,
                 std::vector<Episode>* episodes, std::vector<ModelScore>* scores);

// Median of the values; nullopt when empty.
std::optional<double> Median(std::vector<double> values);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_BACKTEST_SCORING_H_
