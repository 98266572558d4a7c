// The rules modelwatch-rulegen generates, as data: recording rules, alerting rules with their
// thresholds and annotation texts. Built once from the config (BuildModelRules) and read by
// every emitter that needs it (rules files, promtool tests, runbooks, notification templates),
// so that a test, a runbook and the rule it describes cannot disagree.
#ifndef MODELWATCH_RULEGEN_RULE_MODEL_H_
#define MODELWATCH_RULEGEN_RULE_MODEL_H_

#include <array>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"

namespace modelwatch {

// A piece of an annotation: literal text, or a Go-template expansion Prometheus performs when
// the alert fires. Kept structured so that the promtool-test emitter can compute the exact
// expected text without a template engine.
struct TextPiece {
  enum class Kind {
    kLiteral,             // text
    kLabel,               // {{ $labels.<text> }}
    kValuePercent,        // {{ $value | humanizePercentage }}
    kValueFormat,         // {{ $value | printf "<text>" }}
    kDegradationSignals,  // the model version's model_degradation_signal values, by signal
    kDegradationTrend,    // score now minus score 1h earlier, "%+.1f" (or "unknown"), then
                          // ", accelerating" / ", steady" / ", easing" when the score 2h
                          // earlier is known: this hour's change minus the previous hour's
                          // above kTrendPoints, within it, or below -kTrendPoints
  };
  Kind kind = Kind::kLiteral;
  std::string text;
};
using Text = std::vector<TextPiece>;

// Renders the Go-template form Prometheus expands.
std::string ToGoTemplate(const Text& text);

enum class Severity { kPage, kTicket, kInfo };
const char* SeverityName(Severity s);  // page ticket info

// How an alert compares its expression to its threshold.
enum class Comparison { kAbove, kAtLeast, kBelow };

struct AlertRule {
  std::string name;  // CamelCase alertname
  Severity severity = Severity::kTicket;
  std::string expr;
  Seconds for_duration{0};
  Seconds keep_firing_for{0};
  // Labels in output order: severity, model, team, tier (Watchdog: severity only).
  std::vector<std::pair<std::string, std::string>> labels;
  Text summary;
  Text description;
  std::string runbook_url;
  std::string dashboard_url;
  // DegradationScore: a Go template of the link to the model's recent records on the exporter
  // that serves the score (its `instance` label); empty elsewhere and with limits.sample_size 0.
  std::string sample_url;
  // What the rule compares, for tests and runbooks: the series (a selector or recording rule,
  // without the threshold) and the threshold. Burn-rate alerts leave `threshold` unset.
  std::string signal;
  Comparison comparison = Comparison::kAbove;
  std::optional<double> threshold;
  // How long the condition must hold when the expression itself requires it (a range over
  // the signal instead of `for`), else 0.
  Seconds sustain{0};
  std::string trigger;  // one-line human description of the condition
  // FeatureDrift rules of features with their own drift settings (features[].drift): the
  // features the rule watches. Empty for every other rule, the model-wide FeatureDrift included.
  std::vector<std::string> features;
};

struct RecordingRule {
  std::string record;
  std::string expr;
  std::vector<std::pair<std::string, std::string>> labels;
};

struct RuleGroup {
  std::string name;
  Seconds interval{60};
  std::vector<RecordingRule> recording;
  std::vector<AlertRule> alerts;
};

// The rules of one output file (rules/<model>.rules.yml or rules/modelwatch.rules.yml), or
// of two with drift.tiers: 2 (docs/scale-out.md, "Two tiers"): the first `local_groups`
// groups, the local tier's, go to `local_path` (rules/<model>.local.rules.yml) and the rest
// to `path` (rules/<model>.global.rules.yml). Emitters that read the rules as one set (tests,
// runbooks, routes) see every group, in evaluation order; the files' emitters split them
// (TierFiles).
struct RuleFile {
  std::string model;  // empty for the fleet-wide file
  std::string path;   // relative output path
  std::vector<RuleGroup> groups;
  std::string local_path;        // empty with one tier
  std::size_t local_groups = 0;  // how many of `groups`, from the first, are the local tier's
};

// The files `file` is written as: itself with one tier; with two, the local tier's (path
// local_path, its local groups) and then the global tier's (path, the other groups).
std::vector<RuleFile> TierFiles(const RuleFile& file);

// One window pair of a multi-window multi-burn-rate SLO alert, for one SLO period.
struct BurnWindow {
  std::string long_window;   // Prometheus duration, e.g. "1h" (30d period), "14m" (7d)
  std::string short_window;  // e.g. "5m"
  Seconds long_length{0};
  Seconds short_length{0};
  double factor = 1;  // burn-rate factor: the alert fires above factor x the objective; >= 1
  Severity severity = Severity::kPage;
};

// The burn-rate factors of the four pairs: page 14.4 and 6, ticket 3 and 1. They never
// depend on the SLO period (a factor below 1 would alert on a service that meets its SLO).
inline constexpr std::array<double, 4> kBurnRateFactors = {14.4, 6, 3, 1};

// The four pairs for an SLO period and the rule group's evaluation interval. For a 30d period
// they are the classic page 1h/5m (14.4) and 6h/30m (6), ticket 1d/2h (3) and 3d/6h (1);
// other periods keep the factors and scale the windows by period / 30d (each pair then still
// consumes 2%, 5%, 10% and 10% of the budget before it fires). Windows are whole minutes;
// a short window is at least max(1m, 4 x eval_interval) so that rate() always has samples,
// and a long window at least 3 x its short window.
std::vector<BurnWindow> BurnWindows(Seconds period, Seconds eval_interval);

// Share of the period's error budget a pair consumes before it fires:
// factor * long window / period (0.02, 0.05, 0.1, 0.1 when no minimum applies).
double BudgetConsumed(const BurnWindow& w, Seconds period);

// The allowed error ratio of the HighErrorRate SLO: slo.error_rate, else 1 - availability.
// The model's recent records on the exporter behind an alert's series
// (/api/v1/samples/<model> at its `instance`): the Go template of AlertRule::sample_url, and
// what it renders to (empty without an instance label).
std::string SampleUrlTemplate();
std::string SampleUrl(const std::string& instance, const std::string& model);

std::optional<double> ErrorObjective(const ModelConfig& m);

// The smallest exported latency bucket boundary >= the objective (seconds, as spelled in `le`).
std::string LatencyObjectiveBucket(double objective_seconds);

// LowThroughput's short window: `throughput.window`, else max(5m, 4 x the tier's evaluation
// interval) in whole minutes (docs/alerts.md, "LowThroughput").
Seconds ThroughputWindow(const ModelConfig& m, Seconds eval_interval);

// compare: hour: how long ago LowThroughput's reference hour ends: the short window plus the
// tier's `for`, so that a drop still pending is compared with the traffic before it.
Seconds ThroughputReferenceOffset(const ModelConfig& m, const TierDefaults& tier);

// LowThroughput's reference level as a share of the reference rate: 1 - throughput.drop,
// rounded to 12 decimals (0.19999999999999996 -> 0.2).
double ThroughputKeepRatio(const ModelConfig& m);

// Drift windows sorted by length: shortest first.
std::vector<Window> SortedDriftWindows(const ModelConfig& m);

// True if the model has at least one exported feature (non-PII) the alerting method applies to.
bool HasDriftFeature(const ModelConfig& m);

// True if FeatureDrift alerts on feature `f`: not PII, not `alert: false`, and its alerting
// method (its own `drift.method`, else the model's) applies to its type.
bool FeatureDriftAlerts(const ModelConfig& m, const FeatureConfig& f);

// `s` with the RE2 metacharacters escaped, for a literal alternative in a =~ / !~ matcher.
std::string RegexEscape(const std::string& s);

// Builds rules/<model>.rules.yml's content for one model.
RuleFile BuildModelRules(const ModelConfig& m, const FleetConfig& fleet);

// Builds rules/modelwatch.rules.yml (the Watchdog).
RuleFile BuildFleetRules(const FleetConfig& fleet);

// All rule files of a config set, fleet file first, then models by name.
std::vector<RuleFile> BuildAllRules(const ConfigSet& config);

// Alertnames modelwatch can generate, in catalogue order.
const std::vector<std::string>& AlertCatalogue();

// DegradationScore's description calls the score's rise accelerating when this hour's change
// exceeds the previous hour's by more than this many points (easing: falls short by more).
inline constexpr double kTrendPoints = 5;

// CalibrationDrift fires when the expected calibration error of the labelled predictions
// exceeds the labelled baseline's by more than kCalibrationMargin + kCalibrationNoise /
// sqrt(labelled predictions). The noise term lies above the 99.9 % quantile of the ECE's
// sampling error for calibrated and miscalibrated scores (bench/ece_noise.py).
inline constexpr double kCalibrationMargin = 0.05;
inline constexpr double kCalibrationNoise = 2.2;

// Alerts ModelDown inhibits for the same model (their symptoms follow from no traffic).
const std::vector<std::string>& ModelDownSymptoms();

// Recommended action for an alert at a severity: "monitor", "investigate", "retrain" or
// "roll back".
std::string RecommendedAction(const std::string& alertname, Severity severity);

// Dashboard link of a model.
std::string DashboardUrl(const FleetConfig& fleet, const std::string& model);

// Runbook link of an alert.
std::string RunbookUrl(const FleetConfig& fleet, const std::string& alertname);

// A PromQL double-quoted string literal: `"` and `\` escaped.
std::string PromQuote(const std::string& s);

// Selector text `{model="m"}` plus extra matchers (each `k="v"`, in order).
std::string Selector(const std::string& model, const std::vector<std::string>& extra = {});

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_RULE_MODEL_H_
