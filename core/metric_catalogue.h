// The metric catalogue: every family the exporter serves (name, type, labels, help), in one
// place for both programs. The exporter builds its families from these entries
// (exporter/metrics/metric_family.h) and rulegen writes the names into rules, dashboards,
// promtool tests and runbooks from them (MetricSpec::Name() and friends), so a name or a help
// text exists once. Tests hold both ends: the drift tracker serves only catalogued families,
// every metric name in rulegen's generated output is catalogued
// (tests/unit/rulegen/metric_catalogue_test.cc), and the series replays and a daemon scrape
// serve carry exactly the catalogued labels (tests/docs/check_docs.py). The names of
// rulegen's own recording rules (rulegen/series.h) embed a family's name by the
// level:metric:operations convention and are rulegen's to keep. What each label means is
// documented in docs/exporter.md. Counters are named with their `_total`.
#ifndef MODELWATCH_CORE_METRIC_CATALOGUE_H_
#define MODELWATCH_CORE_METRIC_CATALOGUE_H_

#include <span>
#include <string>
#include <string_view>

namespace modelwatch {

// A summary is served without quantiles: its _sum and _count, which add up across replicas.
enum class MetricKind { kCounter, kGauge, kHistogram, kSummary };

struct MetricSpec {
  std::string_view name;
  MetricKind kind;
  // The label names of every series, separated by spaces (a histogram's `le` aside): the
  // exposition's order, `model` first. tests/docs/check_docs.py holds the replayed series
  // and the golden scrape to them.
  std::string_view labels;
  std::string_view help;

  // The names as strings, for code that writes PromQL (rulegen): the family, and a
  // histogram's _bucket, _sum and _count series (a summary's _sum and _count).
  std::string Name() const { return std::string(name); }
  std::string Bucket() const { return Name() + "_bucket"; }
  std::string Sum() const { return Name() + "_sum"; }
  std::string Count() const { return Name() + "_count"; }
};

// Every family, sorted by name.
std::span<const MetricSpec* const> AllMetrics();
// The family named `name` (a histogram's also by its _bucket, _sum and _count series, a
// summary's by its _sum and _count), or null.
const MetricSpec* FindMetric(std::string_view name);

namespace metric {

inline constexpr MetricSpec kModelAnomalousRequestsRatio{
    "model_anomalous_requests_ratio", MetricKind::kGauge, "model window",
    "Share of records with at least one feature outside the training range."};

inline constexpr MetricSpec kModelAnomalousRequestsTotal{
    "model_anomalous_requests_total", MetricKind::kCounter, "model",
    "Records with at least one feature outside the training range (drift.engine: promql)."};

inline constexpr MetricSpec kModelBaselineInfo{"model_baseline_info", MetricKind::kGauge,
                                               "model baseline_id",
                                               "Baseline profile in use (value 1)."};

inline constexpr MetricSpec kModelBaselinePerformance{
    "model_baseline_performance", MetricKind::kGauge, "model metric",
    "Performance on the labelled reference data the baseline was built "
    "from."};

inline constexpr MetricSpec kModelBaselinePredictionEntropyMean{
    "model_baseline_prediction_entropy_mean", MetricKind::kGauge, "model",
    "Mean prediction entropy (nats) of the baseline's reference records."};

inline constexpr MetricSpec kModelBaselinePredictionEntropyStddev{
    "model_baseline_prediction_entropy_stddev", MetricKind::kGauge, "model",
    "Standard deviation of the per-record prediction entropy (nats) of the "
    "baseline's reference records."};

inline constexpr MetricSpec kModelDegradationScore{
    "model_degradation_score", MetricKind::kGauge, "model version",
    "Composite degradation score, 0 (healthy) to 100."};

inline constexpr MetricSpec kModelDegradationSignal{
    "model_degradation_signal", MetricKind::kGauge, "model version signal",
    "Weighted input of the degradation score (signals sum to the score)."};

inline constexpr MetricSpec kModelEstimatedPerformance{
    "model_estimated_performance", MetricKind::kGauge, "model version metric window",
    "Performance estimated from the scores alone (confidence-based, no "
    "labels)."};

inline constexpr MetricSpec kModelEstimatedPerformanceLower{
    "model_estimated_performance_lower", MetricKind::kGauge, "model version metric window",
    "Lower end of the 95 % interval of model_estimated_performance "
    "(per-record variances)."};

inline constexpr MetricSpec kModelEstimatedPerformanceUpper{
    "model_estimated_performance_upper", MetricKind::kGauge, "model version metric window",
    "Upper end of the 95 % interval of model_estimated_performance "
    "(per-record variances)."};

inline constexpr MetricSpec kModelFeatureCategoryTotal{
    "model_feature_category_total", MetricKind::kCounter, "model feature category",
    "Values of a categorical feature by baseline category (drift.engine: promql); values "
    "outside the baseline's categories count under __other__."};

inline constexpr MetricSpec kModelFeatureDrift{
    "model_feature_drift", MetricKind::kGauge, "model feature method window",
    "Drift of the feature's window distribution from the baseline."};

inline constexpr MetricSpec kModelFeatureDriftCriticalValue{
    "model_feature_drift_critical_value", MetricKind::kGauge, "model feature method window",
    "Value the feature's drift statistic exceeds by sampling noise alone "
    "with probability drift.alpha / drift series (no-drift limit law at the"
    " window's sample size)."};

inline constexpr MetricSpec kModelFeatureMissingRatio{
    "model_feature_missing_ratio", MetricKind::kGauge, "model feature window",
    "Share of records in the window missing the feature."};

inline constexpr MetricSpec kModelFeatureMissingRatioShift{
    "model_feature_missing_ratio_shift", MetricKind::kGauge, "model feature window",
    "Missing ratio in the window minus the baseline's missing ratio."};

inline constexpr MetricSpec kModelFeatureMissingRatioShiftCriticalValue{
    "model_feature_missing_ratio_shift_critical_value", MetricKind::kGauge, "model feature window",
    "Missing-ratio shift that sampling noise exceeds with probability "
    "drift.alpha (split over the features)."};

inline constexpr MetricSpec kModelFeatureMissingTotal{
    "model_feature_missing_total", MetricKind::kCounter, "model feature",
    "Records missing the feature (drift.engine: promql)."};

inline constexpr MetricSpec kModelFeatureOutOfRangeRatio{
    "model_feature_out_of_range_ratio", MetricKind::kGauge, "model feature window",
    "Share of the feature's values in the window outside the training "
    "range."};

inline constexpr MetricSpec kModelFeatureOutOfRangeTotal{
    "model_feature_out_of_range_total", MetricKind::kCounter, "model feature",
    "Finite values of the feature outside the training range (drift.engine: promql)."};

inline constexpr MetricSpec kModelFeatureValue{
    "model_feature_value", MetricKind::kHistogram, "model feature",
    "Values of opt-in numeric features; buckets are the baseline's bin "
    "edges when a baseline is loaded."};

inline constexpr MetricSpec kModelGroundTruthSampleRate{
    "model_ground_truth_sample_rate", MetricKind::kGauge, "model",
    "Share of joinable predictions kept in the prediction store."};

inline constexpr MetricSpec kModelGroundTruthStoreErrorsTotal{
    "model_ground_truth_store_errors_total", MetricKind::kCounter, "model",
    "Errors reported by the prediction store."};

inline constexpr MetricSpec kModelLabelLinesRejectedTotal{
    "model_label_lines_rejected_total", MetricKind::kCounter, "model reason",
    "Label lines that were not valid labels, by reason."};

inline constexpr MetricSpec kModelLabelMatchRatio{
    "model_label_match_ratio", MetricKind::kGauge, "model window",
    "Share of the window's predictions at least `delay` old that have a "
    "label."};

inline constexpr MetricSpec kModelLabelledPredictionsTotal{
    "model_labelled_predictions_total", MetricKind::kCounter, "model version outcome",
    "Predictions joined to a ground-truth label, by outcome at the model's threshold: tp, fp, "
    "tn, fn (binary classifiers, request_id joins; drift.engine: promql)."};

inline constexpr MetricSpec kModelLabelsDuplicateTotal{
    "model_labels_duplicate_total", MetricKind::kCounter, "model",
    "Labels for predictions that had a label already."};

inline constexpr MetricSpec kModelLabelsMatchedTotal{"model_labels_matched_total",
                                                     MetricKind::kCounter, "model",
                                                     "Labels joined to a stored prediction."};

inline constexpr MetricSpec kModelLabelsSampledOutTotal{
    "model_labels_sampled_out_total", MetricKind::kCounter, "model",
    "Labels without a prediction whose request the store's sampling would "
    "have dropped."};

inline constexpr MetricSpec kModelLabelsTotal{
    "model_labels_total", MetricKind::kCounter, "model",
    "Distinct valid ground-truth labels read (a line read again is not "
    "counted)."};

inline constexpr MetricSpec kModelLabelsUnmatchedTotal{"model_labels_unmatched_total",
                                                       MetricKind::kCounter, "model",
                                                       "Labels that matched no prediction."};

inline constexpr MetricSpec kModelLateRecordsTotal{
    "model_late_records_total", MetricKind::kCounter, "model window",
    "Records older than the window start minus the allowed lateness "
    "(dropped)."};

inline constexpr MetricSpec kModelPerformance{
    "model_performance", MetricKind::kGauge, "model version metric window",
    "Performance from joined ground-truth labels over the window."};

inline constexpr MetricSpec kModelPerformanceRecomputeDurationSeconds{
    "model_performance_recompute_duration_seconds", MetricKind::kGauge, "model",
    "Duration of the last recomputation of the ground-truth performance "
    "values."};

inline constexpr MetricSpec kModelPerformanceRecomputeErrorsTotal{
    "model_performance_recompute_errors_total", MetricKind::kCounter, "model",
    "Recomputations of the ground-truth performance values that failed to "
    "read the store (the previous values stay served)."};

inline constexpr MetricSpec kModelPerformanceSamples{
    "model_performance_samples", MetricKind::kGauge, "model version window",
    "Labelled predictions in the window behind model_performance."};

inline constexpr MetricSpec kModelPositivePredictionsTotal{
    "model_positive_predictions_total", MetricKind::kCounter, "model version",
    "Ok records with a score that predict the positive class (drift.engine: promql)."};

inline constexpr MetricSpec kModelPositiveRate{"model_positive_rate", MetricKind::kGauge,
                                               "model version window",
                                               "Share of positive predictions in the window."};

inline constexpr MetricSpec kModelPositiveRateZscore{
    "model_positive_rate_zscore", MetricKind::kGauge, "model version window",
    "Positive-rate shift from the baseline in standard deviations."};

inline constexpr MetricSpec kModelPredictedClassTotal{"model_predicted_class_total",
                                                      MetricKind::kCounter, "model class version",
                                                      "Predictions by predicted class."};

inline constexpr MetricSpec kModelPredictionAbsoluteError{
    "model_prediction_absolute_error", MetricKind::kSummary, "model version",
    "Absolute error |prediction - label| of the predictions joined to a ground-truth label: sum "
    "and count (regression, request_id joins; drift.engine: promql)."};

inline constexpr MetricSpec kModelPredictionConfidence{
    "model_prediction_confidence", MetricKind::kSummary, "model version",
    "Confidence (top class probability) of the ok records with class probabilities or a "
    "score: sum and count (drift.engine: promql)."};

inline constexpr MetricSpec kModelPredictionConfidenceMean{
    "model_prediction_confidence_mean", MetricKind::kGauge, "model version window",
    "Mean confidence (top class probability) in the window."};

inline constexpr MetricSpec kModelPredictionDrift{
    "model_prediction_drift", MetricKind::kGauge, "model version method window",
    "Drift of the model output distribution from the baseline."};

inline constexpr MetricSpec kModelPredictionDriftCriticalValue{
    "model_prediction_drift_critical_value", MetricKind::kGauge, "model version method window",
    "Value the output's drift statistic exceeds by sampling noise alone "
    "with probability drift.alpha / drift series (no-drift limit law at the"
    " window's sample size)."};

inline constexpr MetricSpec kModelPredictionEntropy{
    "model_prediction_entropy", MetricKind::kSummary, "model version",
    "Entropy of the class probabilities (nats) of the ok records with class probabilities or "
    "a score: sum and count (drift.engine: promql)."};

inline constexpr MetricSpec kModelPredictionEntropyMean{
    "model_prediction_entropy_mean", MetricKind::kGauge, "model version window",
    "Mean entropy of the class probabilities in the window (nats)."};

inline constexpr MetricSpec kModelPredictionErrorsTotal{
    "model_prediction_errors_total", MetricKind::kCounter, "model error_type version",
    "Accepted prediction records whose status was not ok, by status."};

inline constexpr MetricSpec kModelPredictionOutput{
    "model_prediction_output", MetricKind::kHistogram, "model version",
    "Output of the ok records (binary: the score; regression: the prediction) on the "
    "baseline output profile's bin edges (drift.engine: promql)."};

inline constexpr MetricSpec kModelPredictionOutputClassTotal{
    "model_prediction_output_class_total", MetricKind::kCounter, "model class version",
    "Ok records by predicted class among the baseline output profile's classes (multiclass, "
    "drift.engine: promql); other classes count under __other__."};

inline constexpr MetricSpec kModelPredictionScore{"model_prediction_score", MetricKind::kHistogram,
                                                  "model version",
                                                  "Binary classifier scores, 20 bins on [0,1]."};

inline constexpr MetricSpec kModelPredictionSquaredError{
    "model_prediction_squared_error", MetricKind::kSummary, "model version",
    "Squared error (prediction - label)^2 of the predictions joined to a ground-truth label: "
    "sum and count (regression, request_id joins; drift.engine: promql)."};

inline constexpr MetricSpec kModelPredictionsTotal{
    "model_predictions_total", MetricKind::kCounter, "model version",
    "Accepted prediction records, error statuses included."};

inline constexpr MetricSpec kModelRequestDurationSeconds{
    "model_request_duration_seconds", MetricKind::kHistogram, "model version",
    "Request latency logged with each prediction."};

inline constexpr MetricSpec kModelSegmentPerformance{
    "model_segment_performance", MetricKind::kGauge, "model version segment value metric window",
    "Performance from joined ground-truth labels, per segment value."};

inline constexpr MetricSpec kModelShadowAgreementRatio{
    "model_shadow_agreement_ratio", MetricKind::kGauge, "model champion challenger window",
    "Share of paired requests where challenger and champion agree."};

inline constexpr MetricSpec kModelShadowErrorRatio{"model_shadow_error_ratio", MetricKind::kGauge,
                                                   "model champion challenger version window",
                                                   "Share of non-ok records of each version."};

inline constexpr MetricSpec kModelShadowLatencyP99Seconds{
    "model_shadow_latency_p99_seconds", MetricKind::kGauge,
    "model champion challenger version window", "99th percentile latency of each shadow version."};

inline constexpr MetricSpec kModelShadowPairs{"model_shadow_pairs", MetricKind::kGauge,
                                              "model champion challenger window",
                                              "Paired requests in the window."};

inline constexpr MetricSpec kModelShadowPerformance{
    "model_shadow_performance", MetricKind::kGauge,
    "model champion challenger version metric window",
    "Champion and challenger performance on the same labelled requests."};

inline constexpr MetricSpec kModelShadowScoreCorrelation{
    "model_shadow_score_correlation", MetricKind::kGauge, "model champion challenger window",
    "Pearson correlation of challenger and champion scores."};

inline constexpr MetricSpec kModelShadowScoreKs{
    "model_shadow_score_ks", MetricKind::kGauge, "model champion challenger window",
    "Kolmogorov-Smirnov statistic between challenger and champion scores."};

inline constexpr MetricSpec kModelShadowUnpairedTotal{
    "model_shadow_unpaired_total", MetricKind::kCounter, "model version",
    "Shadow records whose partner did not arrive within pairing_timeout."};

inline constexpr MetricSpec kModelWindowSamples{"model_window_samples", MetricKind::kGauge,
                                                "model window", "Records in the drift window."};

inline constexpr MetricSpec kModelwatchBuildInfo{
    "modelwatch_build_info", MetricKind::kGauge, "version compiler",
    "A metric with a constant 1 labelled by the build."};

inline constexpr MetricSpec kModelwatchCardinalityOverflowTotal{
    "modelwatch_cardinality_overflow_total", MetricKind::kCounter, "model label",
    "Records whose label value was replaced by __other__ because a "
    "cardinality limit (max_versions, max_classes, max_error_types, "
    "max_segment_values) was reached."};

inline constexpr MetricSpec kModelwatchCheckpointAgeSeconds{
    "modelwatch_checkpoint_age_seconds", MetricKind::kGauge, "",
    "Seconds since the last checkpoint (since start when none yet)."};

inline constexpr MetricSpec kModelwatchCheckpointDurationSeconds{
    "modelwatch_checkpoint_duration_seconds", MetricKind::kGauge, "",
    "How long the last checkpoint took."};

inline constexpr MetricSpec kModelwatchCheckpointFailuresTotal{
    "modelwatch_checkpoint_failures_total", MetricKind::kCounter, "",
    "Checkpoints that could not be written."};

inline constexpr MetricSpec kModelwatchCheckpointLastSuccessTimestampSeconds{
    "modelwatch_checkpoint_last_success_timestamp_seconds", MetricKind::kGauge, "",
    "When the last checkpoint was written, Unix seconds (0: never)."};

inline constexpr MetricSpec kModelwatchCheckpointSizeBytes{"modelwatch_checkpoint_size_bytes",
                                                           MetricKind::kGauge, "",
                                                           "Size of the last checkpoint written."};

inline constexpr MetricSpec kModelwatchConfigLastReloadSuccessful{
    "modelwatch_config_last_reload_successful", MetricKind::kGauge, "",
    "1 if the last configuration reload (--config.dir and "
    "--web.config.file) succeeded."};

inline constexpr MetricSpec kModelwatchConfigReloadsTotal{
    "modelwatch_config_reloads_total", MetricKind::kCounter, "result",
    "Configuration reloads (SIGHUP: --config.dir and --web.config.file), by"
    " result; failure when either could not be applied."};

inline constexpr MetricSpec kModelwatchFileRotationsTotal{
    "modelwatch_file_rotations_total", MetricKind::kCounter, "kind source",
    "Rotations (rename or truncation) seen in a source's files."};

inline constexpr MetricSpec kModelwatchHttpConnectionsAcceptedTotal{
    "modelwatch_http_connections_accepted_total", MetricKind::kCounter, "",
    "TCP connections the HTTP server accepted."};

inline constexpr MetricSpec kModelwatchHttpConnectionsMax{
    "modelwatch_http_connections_max", MetricKind::kGauge, "",
    "Connections the HTTP server holds open at most "
    "(--web.max-connections)."};

inline constexpr MetricSpec kModelwatchHttpConnectionsOpen{
    "modelwatch_http_connections_open", MetricKind::kGauge, "",
    "TCP connections the HTTP server holds open."};

inline constexpr MetricSpec kModelwatchHttpConnectionsRefusedTotal{
    "modelwatch_http_connections_refused_total", MetricKind::kCounter, "reason",
    "Connections the HTTP server closed before answering them in full, by "
    "reason: limit (at the connection cap, every connection busy), evicted "
    "(waiting for a request when a new connection needed its place at the "
    "cap), header_timeout, write_timeout, bad_request."};

inline constexpr MetricSpec kModelwatchHttpRequestsTotal{"modelwatch_http_requests_total",
                                                         MetricKind::kCounter, "code",
                                                         "HTTP requests answered, by status code."};

inline constexpr MetricSpec kModelwatchLinesReadTotal{
    "modelwatch_lines_read_total", MetricKind::kCounter, "kind source",
    "Lines read from a source: accepted plus rejected."};

inline constexpr MetricSpec kModelwatchLinesRejectedTotal{
    "modelwatch_lines_rejected_total", MetricKind::kCounter, "reason source",
    "Prediction-log lines that were not valid records, by reason."};

inline constexpr MetricSpec kModelwatchModels{"modelwatch_models", MetricKind::kGauge, "",
                                              "Models configured."};

inline constexpr MetricSpec kModelwatchReady{
    "modelwatch_ready", MetricKind::kGauge, "",
    "1 once every source has been scanned and baselines are loaded."};

inline constexpr MetricSpec kModelwatchSourceFilesOpen{"modelwatch_source_files_open",
                                                       MetricKind::kGauge, "kind source",
                                                       "Files a source holds open."};

inline constexpr MetricSpec kModelwatchSourceFilesUnreadable{
    "modelwatch_source_files_unreadable", MetricKind::kGauge, "kind source",
    "Files matched by a source that cannot be opened (e.g. permissions); "
    "/-/ready answers 503 while any."};

inline constexpr MetricSpec kModelwatchSourceLagBytes{
    "modelwatch_source_lag_bytes", MetricKind::kGauge, "kind source",
    "Bytes written to a source's open files and not read yet."};

inline constexpr MetricSpec kModelwatchStartTimeSeconds{"modelwatch_start_time_seconds",
                                                        MetricKind::kGauge, "",
                                                        "Start time of the process, Unix seconds."};

inline constexpr MetricSpec kModelwatchStateResetsTotal{
    "modelwatch_state_resets_total", MetricKind::kCounter, "part reason",
    "Saved state thrown away at start or reload, by part and reason."};

inline constexpr MetricSpec kModelwatchStoreUp{
    "modelwatch_store_up", MetricKind::kGauge, "model",
    "1 while the model's ground-truth store writes, 0 after a failed write "
    "until a retry succeeds."};

inline constexpr MetricSpec kModelwatchStoreWriteErrorsTotal{
    "modelwatch_store_write_errors_total", MetricKind::kCounter, "model",
    "Ground-truth store writes that failed (e.g. a full disk); the lines "
    "behind them are read again once the store writes."};

}  // namespace metric

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_METRIC_CATALOGUE_H_
