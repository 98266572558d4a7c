// drift.engine: promql — the label-based performance of a model's fleet (precision, recall,
// F1 and accuracy of a binary classifier; MAE and RMSE of a regressor), computed by
// Prometheus from every exporter replica's counters of joined predictions summed
// (docs/scale-out.md, "Ground truth across replicas"), under the exporter's series name and
// labels (`model_performance{model, version, metric, window}`), so that the alerts,
// dashboards and runbooks read either engine unchanged.
#ifndef MODELWATCH_RULEGEN_PROMQL_PERFORMANCE_H_
#define MODELWATCH_RULEGEN_PROMQL_PERFORMANCE_H_

#include "core/config.h"
#include "core/promql_performance.h"
#include "rulegen/promql_tiers.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

// The recording rules of `m`, group `modelwatch-<model>-performance-promql`, evaluated every
// `interval`; a group without rules when PromqlPerformanceMetrics(m) is empty. Per
// ground_truth window, from each replica's counters' exact difference over the window (its
// counter now minus its counter a window ago; from zero for a series younger than the window
// or reset within it), summed over the replicas by (model, version):
//   binary: model_version_outcome_window:model_labelled_predictions:window_count
//     {model, version, outcome, window}, the joined predictions by outcome (tp, fp, tn, fn);
//     model_performance{metric="precision"|"recall"|"f1"|"accuracy", window} from them, 0
//     where the ratio's denominator is 0 (scikit-learn's zero_division=0, as the exporter);
//   regression: model_version_window:model_prediction_absolute_error:window_count
//     {model, version, window}; model_performance{metric="mae"|"rmse", window} = the window's
//     sum of absolute errors over it, and the square root of the squared errors' over it;
// each absent while the window holds no joined prediction of the version, as from the
// exporter. The window is in scrape time of the labels' arrival, not the predictions' event
// time.
RuleGroup PromqlPerformanceGroup(const ModelConfig& m, Seconds interval);
// The same, its sums over the replicas from `counts` (one tier or two; promql_tiers.h).
RuleGroup PromqlPerformanceGroup(const ModelConfig& m, Seconds interval, PromqlCounts& counts);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_PROMQL_PERFORMANCE_H_
