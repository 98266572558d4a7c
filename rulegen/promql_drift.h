// drift.engine: promql — the drift of a model's features and its noise floors, computed by
// Prometheus from every exporter replica's counters summed, so that many replicas, each seeing
// a share of the traffic, give the fleet's value (docs/scale-out.md): PSI, JS and KS (at the
// bin edges) of the numeric features from the model_feature_value histograms, PSI, JS and
// chi-square of the categorical ones from the model_feature_category_total counters. The
// rules record the exporter engine's series names and labels (model_feature_drift and
// model_feature_drift_critical_value {model, feature, method, window}), so the alerts,
// dashboards and runbooks read either engine unchanged.
#ifndef MODELWATCH_RULEGEN_PROMQL_DRIFT_H_
#define MODELWATCH_RULEGEN_PROMQL_DRIFT_H_

#include <string>

#include "core/config.h"
#include "core/error.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

// Reads what the rules embed from the baseline file of every model with drift.engine: promql
// (each binned numeric feature's edges, proportions and count; each profiled categorical
// feature's categories, counts and proportions; how many drift series the exporter splits
// drift.alpha over) into ModelConfig::promql_reference. An unreadable or malformed baseline is
// an error naming the file.
Result<void> LoadPromqlReferences(ConfigSet& config);

// The recording rules of `m` (which has a promql_reference), evaluated every `interval`.
// Per window: each replica's counts over the window (its counter now minus its counter a
// window ago; from zero for a series younger than the window or reset within it), summed
// over the replicas; each bin's (category's) proportion, with the exporter's ε floor; PSI, JS,
// KS at the bin edges (max |F_current − F_baseline| over the edges, from the cumulative
// counts) or chi-square (scipy's chi2_contingency, Yates' correction at one degree of
// freedom) and their critical values at the exporter's per-series level, of the methods
// drift.methods exports; below drift.min_samples records or without values absent.
RuleGroup PromqlDriftGroup(const ModelConfig& m, Seconds interval);

// A bucket bound as the exporter writes it in `le` (the text format's 16 significant digits).
std::string LeLabel(double bound);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_PROMQL_DRIFT_H_
