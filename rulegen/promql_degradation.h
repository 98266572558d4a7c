// drift.engine: promql — the degradation score of a model's fleet (docs/statistics.md,
// "Degradation score"; docs/scale-out.md, "The degradation score"), computed by Prometheus from
// the fleet's drift and proxy-signal series that the drift and signals groups record, with
// the exporter's formulas and constants (core/degradation_constants.h), under the exporter's
// series names and labels (model_degradation_signal {model, version, signal} and
// model_degradation_score {model, version}), so that DegradationScore, the dashboards and the
// runbooks read either engine unchanged.
#ifndef MODELWATCH_RULEGEN_PROMQL_DEGRADATION_H_
#define MODELWATCH_RULEGEN_PROMQL_DEGRADATION_H_

#include <vector>

#include "core/config.h"
#include "rulegen/promql_tiers.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

// The degradation rules of `m` (one with a promql_reference: the score needs a baseline),
// group `modelwatch-<model>-degradation-promql`, evaluated every `interval`, after the drift
// and signals groups whose series it reads; and the constants they read, as rules to add to
// the drift group's baseline group (`baseline`): each feature's noise-floor factor (per its
// alerting method, at kNoiseAlpha over the model's tested distributions), 1/m of its effective
// reference count, and its drift.critical. Per drift window, per version with outputs in the
// window, each weighted signal (weight × normalised input × 100, the exporter's
// NormalisedSignal: drift beyond its noise floor over drift.critical, the confidence drop and
// entropy rise beyond theirs over half a baseline std, anomalous records beyond the share an
// unchanged distribution leaves outside the training range, the error rate over its
// saturation) and their sum, clamped to 0–100; then those of the shortest window holding
// drift.min_samples records, without the window label. A feature whose alerting method is
// wasserstein (not recorded fleet-wide) does not take part. Empty without a promql_reference
// or an unreadable baseline.
struct PromqlDegradationRules {
  RuleGroup group;
  std::vector<RecordingRule> baseline;  // for the baseline group
};
PromqlDegradationRules PromqlDegradationGroup(const ModelConfig& m, Seconds interval,
                                              PromqlCounts& counts);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_PROMQL_DEGRADATION_H_
