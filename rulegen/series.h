// Names of the recording rules modelwatch-rulegen generates, shared by the rules emitter
// (which defines them), the alert rules, the runbooks and the Grafana dashboards (which read
// them). Names follow Prometheus' `level:metric:operations` convention; the level lists the
// labels the rule keeps. Every rule is generated per model into rules/<model>.rules.yml and
// carries the `model` label (plus `version`, `window`, ... as its level says).
//
// A dashboard panel should read these rules rather than recompute rates, so that what a
// dashboard shows is exactly what an alert evaluates.
#ifndef MODELWATCH_RULEGEN_SERIES_H_
#define MODELWATCH_RULEGEN_SERIES_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/hash.h"

namespace modelwatch::series {

// ---------------------------------------------------------------------------------------
// Serving, per model (all versions summed). Labels: model.

// Predictions per second over 5m (throughput), from model_predictions_total.
inline constexpr const char* kPredictionRate5m = "model:model_predictions:rate5m";

// Predictions per second over `window` (a Prometheus duration such as "20m"): LowThroughput's
// short window when it is not 5m (ThroughputWindow in rulegen/rule_model.h).
inline std::string PredictionRate(std::string_view window) {
  return "model:model_predictions:rate" + std::string(window);
}

// Successful predictions so far, per model and exporter: model_predictions_total minus
// model_prediction_errors_total (0 errors while that counter does not exist yet), summed over
// versions. A counter (it only grows while the exporter keeps its state), so ModelDown can
// take increase() of it: 0 when every request failed. Labels: model, job, instance.
inline constexpr const char* kSuccessfulPredictions =
    "model_job_instance:model_predictions_successful:sum";

// Serving errors per second over 5m, from model_prediction_errors_total.
inline constexpr const char* kErrorRate5m = "model:model_prediction_errors:rate5m";

// The windows of the multi-window multi-burn-rate SLO alerts (page 1h/5m and 6h/30m,
// ticket 1d/2h and 3d/6h).
inline constexpr std::array<const char*, 7> kSloWindows = {"5m", "30m", "1h", "2h",
                                                           "6h", "1d",  "3d"};

// Share of predictions that were serving errors over `window` (one of kSloWindows, or the
// SLO period such as "30d"): errors/s divided by predictions/s, 0..1.
inline std::string ErrorRatio(std::string_view window) {
  return "model:model_prediction_errors:ratio_rate" + std::string(window);
}

// The error-ratio objective (allowed share of errors: slo.error_rate, else 1 - availability),
// a constant series for threshold lines. Only for models with such an SLO.
inline constexpr const char* kErrorObjective = "model:model_prediction_errors:objective_ratio";

// Remaining error budget over the SLO period: 1 - ErrorRatio(period) / objective (1 = untouched,
// 0 = spent, negative = overspent). Only for models with an error SLO.
inline constexpr const char* kErrorBudgetRemaining =
    "model:model_prediction_errors:budget_remaining_ratio";

// Request-latency quantiles over 5m (seconds), from the model_request_duration_seconds
// histogram (histogram_quantile over the summed buckets).
inline constexpr const char* kLatencyP50 = "model:model_request_duration_seconds:p50_rate5m";
inline constexpr const char* kLatencyP95 = "model:model_request_duration_seconds:p95_rate5m";
inline constexpr const char* kLatencyP99 = "model:model_request_duration_seconds:p99_rate5m";

// Share of requests slower than the latency objective over `window` (kSloWindows or the SLO
// period), 0..1: 1 - rate(bucket{le=B}) / rate(count), where B is the smallest histogram
// bucket boundary >= slo.latency_p99_ms (see LatencyObjectiveBucket). Only for models with
// slo.latency_p99_ms.
inline std::string LatencySlowRatio(std::string_view window) {
  return "model:model_request_duration_seconds:slow_ratio_rate" + std::string(window);
}

// The latency objective in seconds (slo.latency_p99_ms / 1000), a constant series.
inline constexpr const char* kLatencyObjectiveSeconds =
    "model:model_request_duration_seconds:objective_seconds";

// The bucket boundary (seconds) the slow-request ratio actually measures, a constant series.
inline constexpr const char* kLatencyObjectiveBucketSeconds =
    "model:model_request_duration_seconds:objective_bucket_seconds";

// Remaining latency budget over the SLO period (as kErrorBudgetRemaining; the allowed slow
// share is 1%, the p99 objective).
inline constexpr const char* kLatencyBudgetRemaining =
    "model:model_request_duration_seconds:budget_remaining_ratio";

// ---------------------------------------------------------------------------------------
// Serving, per model version. Labels: model, version.

// Predictions per second over 5m.
inline constexpr const char* kVersionPredictionRate5m = "model_version:model_predictions:rate5m";
// Error ratio over 5m.
inline constexpr const char* kVersionErrorRatio5m =
    "model_version:model_prediction_errors:ratio_rate5m";
// Latency quantiles over 5m (seconds).
inline constexpr const char* kVersionLatencyP50 =
    "model_version:model_request_duration_seconds:p50_rate5m";
inline constexpr const char* kVersionLatencyP95 =
    "model_version:model_request_duration_seconds:p95_rate5m";
inline constexpr const char* kVersionLatencyP99 =
    "model_version:model_request_duration_seconds:p99_rate5m";

// Errors per second by error type over 5m. Labels: model, version, error_type.
inline constexpr const char* kErrorTypeRate5m =
    "model_version_error_type:model_prediction_errors:rate5m";

// Classifiers: share of predictions per predicted class over 1h, 0..1. Labels: model,
// version, class.
inline constexpr const char* kClassShare1h =
    "model_version_class:model_predicted_class:ratio_rate1h";

// Binary classifiers: mean prediction score over 1h, from the model_prediction_score histogram
// (rate of _sum over rate of _count). Labels: model, version.
inline constexpr const char* kScoreMean1h = "model_version:model_prediction_score:mean_rate1h";

// ---------------------------------------------------------------------------------------
// Drift and proxy signals. These gauges are computed by the exporter; the rules only
// summarise them.

// Largest feature drift per method and window. Labels: model, method, window.
inline constexpr const char* kFeatureDriftMax = "model_method_window:model_feature_drift:max";

// Number of features whose drift (alerting method) is at or above the warn threshold.
// Labels: model, window. 0 when none drift.
inline constexpr const char* kFeaturesDrifting = "model_window:model_features_drifting:count";

// Classifiers: mean confidence over the shortest drift window divided by the same over the
// longest drift window (or, with a single window, the same window one day earlier).
// 1 = unchanged; ConfidenceDrop fires below 0.9. Labels: model, version.
inline constexpr const char* kConfidenceRatio =
    "model_version:model_prediction_confidence_mean:ratio_short_long";

// Classifiers: mean entropy, shortest over longest drift window (as kConfidenceRatio).
// 1 = unchanged; EntropyRise fires above 1.2. Labels: model, version.
inline constexpr const char* kEntropyRatio =
    "model_version:model_prediction_entropy_mean:ratio_short_long";

// Classifiers with a baseline: how far the mean entropy over each drift window lies above
// the baseline's mean, in the baseline's per-record standard deviations (a standardized
// effect size, Cohen's d); EntropyRise with entropy.compare: baseline fires above
// entropy.sigmas on entropy.window. Labels: model, version, window.
inline constexpr const char* kEntropyShift =
    "model_version_window:model_prediction_entropy_mean:baseline_sigmas";

// ---------------------------------------------------------------------------------------
// Histogram bucket boundaries (seconds) of model_request_duration_seconds that rulegen
// relies on: the exporter's default latency buckets (exporter/aggregate DefaultLatencyBuckets),
// spelled as prometheus-cpp writes them in `le`. The slow-request ratio reads the smallest
// one >= the latency objective (objectives above the last one use the last one). Keep both
// lists in step.
inline constexpr std::array<const char*, 8> kLatencyBuckets = {"0.01", "0.05", "0.1", "0.25",
                                                               "0.5",  "1",    "2.5", "5"};

// ---------------------------------------------------------------------------------------
// Grafana dashboard UIDs (used by alerts' dashboard_url and by the dashboards themselves).
// "mw-<model>", or for names that would exceed Grafana's 40 characters, "mw-", the first 28
// characters of the name, "-" and 8 hex digits of the name's FNV-1a hash (40 in all).
inline std::string DashboardUid(std::string_view model) {
  std::string uid = "mw-" + std::string(model);
  if (uid.size() <= 40) return uid;
  const std::uint32_t h = Fnv1a32Of(model);
  static const char kHex[] = "0123456789abcdef";
  std::string suffix = "-";
  for (int shift = 28; shift >= 0; shift -= 4) suffix += kHex[(h >> shift) & 0xF];
  return uid.substr(0, 31) + suffix;
}

// The overview dashboard's UID.
inline constexpr const char* kOverviewDashboardUid = "mw-overview";

}  // namespace modelwatch::series

#endif  // MODELWATCH_RULEGEN_SERIES_H_
