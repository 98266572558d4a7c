// drift.engine: promql — the drift of a model's features and its noise floors, computed by
// Prometheus from every exporter replica's counters summed, so that many replicas, each seeing
// a share of the traffic, give the fleet's value (docs/scale-out.md): PSI, JS and KS (at the
// bin edges) of the numeric features from the model_feature_value histograms, PSI, JS and
// chi-square of the categorical ones from the model_feature_category_total counters, and the
// same of the output per version (the score or regression output from the
// model_prediction_output histograms, the predicted class from the
// model_prediction_output_class_total counters) against the baseline's output profile. The
// rules record the exporter engine's series names and labels (model_feature_drift and
// model_feature_drift_critical_value {model, feature, method, window},
// model_prediction_drift and its critical value {model, version, method, window}), so the
// alerts, dashboards and runbooks read either engine unchanged.
#ifndef MODELWATCH_RULEGEN_PROMQL_DRIFT_H_
#define MODELWATCH_RULEGEN_PROMQL_DRIFT_H_

#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "rulegen/promql_tiers.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

// Reads what the rules embed from the baseline file of every model with drift.engine: promql
// (each binned numeric feature's edges, proportions and count; each profiled categorical
// feature's categories, counts and proportions; the output profile's bins or classes; how many
// drift series the exporter splits drift.alpha over; each feature's missing share and the
// baseline's positive rate) into ModelConfig::promql_reference. An unreadable or malformed baseline
// is an error naming the file.
Result<void> LoadPromqlReferences(ConfigSet& config);

// The recording rules of `m` (none without a promql_reference): two groups. First
// `modelwatch-<model>-drift-promql-baseline`, the baseline as constant series recorded from
// the file (each bin's floored proportion, labelled with the bucket bounds that close and
// open it, le and lower_le; the cumulative proportions at the edges; the categories'
// proportions and counts; each feature's count and the critical values' inputs; each
// feature's missing share, kPromqlBaselineMissingRatio), one rule
// per quantity, every kPromqlBaselineInterval. Then `modelwatch-<model>-drift-promql`,
// evaluated every `interval`: per window, one rule per quantity covering every feature of
// the model by vector matching on the baseline series: each replica's counts over the window
// (its counter now minus its counter a window ago; from zero for a series younger than the
// window or reset within it), summed over the replicas; each bin's (category's) proportion,
// with the exporter's ε floor; PSI, JS, KS at the bin edges (max |F_current − F_baseline|
// over the edges, from the cumulative counts) or chi-square (scipy's chi2_contingency,
// Yates' correction at one degree of freedom) and their critical values at the exporter's
// per-series level, of the methods drift.methods exports, one rule per method; below
// drift.min_samples records or without values absent. Then the same rules for the output,
// one distribution per version against the baseline's one output profile (its own baseline
// series, matched on the model and the bin many-to-one).
std::vector<RuleGroup> PromqlDriftGroups(const ModelConfig& m, Seconds interval);
// The same with the window counts taken from `counts` (with two tiers: the local tier's
// series summed over the Prometheus servers, the local rules added to its group).
std::vector<RuleGroup> PromqlDriftGroups(const ModelConfig& m, Seconds interval,
                                         PromqlCounts& counts);

// How often the baseline group re-records its constant series: Prometheus parses and
// evaluates a rule's whole text at every evaluation, and the baseline's rules are the
// largest, so they run at most this often (or at the tier's interval, if longer). Well
// inside Prometheus' 5-minute lookback: the drift group always finds the latest samples.
inline constexpr Seconds kPromqlBaselineInterval{120};

// The baseline group's series of each feature's missing share in the baseline ({model,
// feature}; PromqlDriftReference::missing), read by the missing-ratio shift's rules
// (promql_signals.h).
inline constexpr const char* kPromqlBaselineMissingRatio =
    "model_feature:model_feature_missing_ratio:baseline";

// One constant series of a baseline rule: its labels (the model aside: the rule adds it) and
// its value.
struct PromqlConstant {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// A rule recording `constants` (not empty) as series of `record` labelled with `model`,
// written so that Prometheus parses and evaluates little per constant (it parses a rule's
// text at every evaluation): one `label_replace` per label splits a `key` label holding the
// constant's labels other than feature and category. For the baseline group.
RecordingRule PromqlConstantsRule(const std::string& model, const std::string& record,
                                  const std::vector<PromqlConstant>& constants);

// The drift group's series of each replica's counts over a window summed over the replicas
// ({model, feature, le, window} and {model, feature, category, window}), read by the
// degradation score's rules (promql_degradation.h) for each feature's values in the window.
inline constexpr const char* kPromqlFeatureBucketIncrease =
    "model_feature_le_window:model_feature_value_bucket:increase";
inline constexpr const char* kPromqlCategoryIncrease =
    "model_feature_category_window:model_feature_category:increase";

// A constant as the rules write it: the shortest of 15, 16 and 17 significant digits that
// Prometheus reads back as the same double (Go's ParseFloat and strtod both round
// correctly); a negative one in parentheses.
std::string PromqlNumber(double v);

// A bucket bound as the exporter writes it in `le` (the text format's 16 significant digits).
std::string LeLabel(double bound);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_PROMQL_DRIFT_H_
