// drift.engine: promql — the proxy signals of a model (mean confidence and entropy, positive
// rate, missing, out-of-range and anomalous ratios), computed by Prometheus from every
// exporter replica's counters summed (docs/scale-out.md), under the exporter engine's series
// names and labels, so that the alerts, dashboards and runbooks read either engine unchanged.
#ifndef MODELWATCH_RULEGEN_PROMQL_SIGNALS_H_
#define MODELWATCH_RULEGEN_PROMQL_SIGNALS_H_

#include "core/config.h"
#include "rulegen/promql_tiers.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

// The recording rules of `m` (drift.engine: promql), evaluated every `interval`, group
// `modelwatch-<model>-signals-promql`. Per drift window, from each replica's counters'
// exact difference over the window (its counter now minus its counter a window ago; from
// zero for a series younger than the window or reset within it), summed over the replicas:
//   model_prediction_confidence_mean, model_prediction_entropy_mean {model, version, window}
//     = sum / count of the model_prediction_confidence (entropy) summaries (classifiers);
//   model_positive_rate {model, version, window} = model_positive_predictions_total over
//     model_prediction_confidence_count (binary: the ok records with a score);
//   model_feature_missing_ratio {model, feature, window} = model_feature_missing_total over
//     model_predictions_total;
//   model_feature_out_of_range_ratio {model, feature, window} =
//     model_feature_out_of_range_total over model_feature_value_count (the numeric features
//     the baseline bins, `m.promql_reference`);
//   model_anomalous_requests_ratio {model, window} = model_anomalous_requests_total over
//     model_predictions_total;
// each absent below drift.min_samples records in the window (and without a denominator), as
// from the exporter.
RuleGroup PromqlSignalsGroup(const ModelConfig& m, Seconds interval);
// The same with the window counts taken from `counts` (two tiers: from the local tier).
RuleGroup PromqlSignalsGroup(const ModelConfig& m, Seconds interval, PromqlCounts& counts);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_PROMQL_SIGNALS_H_
