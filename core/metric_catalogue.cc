#include "core/metric_catalogue.h"

#include <algorithm>
#include <array>

namespace modelwatch {

namespace {

constexpr std::array kAll = {
    &metric::kModelAnomalousRequestsRatio,
    &metric::kModelAnomalousRequestsTotal,
    &metric::kModelBaselineInfo,
    &metric::kModelBaselinePerformance,
    &metric::kModelBaselinePredictionEntropyMean,
    &metric::kModelBaselinePredictionEntropyStddev,
    &metric::kModelDegradationScore,
    &metric::kModelDegradationSignal,
    &metric::kModelEstimatedPerformance,
    &metric::kModelEstimatedPerformanceLower,
    &metric::kModelEstimatedPerformanceUpper,
    &metric::kModelFeatureCategoryTotal,
    &metric::kModelFeatureDrift,
    &metric::kModelFeatureDriftCriticalValue,
    &metric::kModelFeatureMissingRatio,
    &metric::kModelFeatureMissingRatioShift,
    &metric::kModelFeatureMissingRatioShiftCriticalValue,
    &metric::kModelFeatureMissingTotal,
    &metric::kModelFeatureOutOfRangeRatio,
    &metric::kModelFeatureOutOfRangeTotal,
    &metric::kModelFeatureValue,
    &metric::kModelGroundTruthSampleRate,
    &metric::kModelGroundTruthStoreErrorsTotal,
    &metric::kModelLabelLinesRejectedTotal,
    &metric::kModelLabelMatchRatio,
    &metric::kModelLabelledPredictionsTotal,
    &metric::kModelLabelsDuplicateTotal,
    &metric::kModelLabelsMatchedTotal,
    &metric::kModelLabelsSampledOutTotal,
    &metric::kModelLabelsTotal,
    &metric::kModelLabelsUnmatchedTotal,
    &metric::kModelLateRecordsTotal,
    &metric::kModelPerformance,
    &metric::kModelPerformanceRecomputeDurationSeconds,
    &metric::kModelPerformanceRecomputeErrorsTotal,
    &metric::kModelPerformanceSamples,
    &metric::kModelPositivePredictionsTotal,
    &metric::kModelPositiveRate,
    &metric::kModelPositiveRateZscore,
    &metric::kModelPredictedClassTotal,
    &metric::kModelPredictionAbsoluteError,
    &metric::kModelPredictionConfidence,
    &metric::kModelPredictionConfidenceMean,
    &metric::kModelPredictionDrift,
    &metric::kModelPredictionDriftCriticalValue,
    &metric::kModelPredictionEntropy,
    &metric::kModelPredictionEntropyMean,
    &metric::kModelPredictionErrorsTotal,
    &metric::kModelPredictionOutput,
    &metric::kModelPredictionOutputClassTotal,
    &metric::kModelPredictionScore,
    &metric::kModelPredictionSquaredError,
    &metric::kModelPredictionsTotal,
    &metric::kModelRequestDurationSeconds,
    &metric::kModelSegmentPerformance,
    &metric::kModelShadowAgreementRatio,
    &metric::kModelShadowErrorRatio,
    &metric::kModelShadowLatencyP99Seconds,
    &metric::kModelShadowPairs,
    &metric::kModelShadowPerformance,
    &metric::kModelShadowScoreCorrelation,
    &metric::kModelShadowScoreKs,
    &metric::kModelShadowUnpairedTotal,
    &metric::kModelWindowSamples,
    &metric::kModelwatchBuildInfo,
    &metric::kModelwatchCardinalityOverflowTotal,
    &metric::kModelwatchCheckpointAgeSeconds,
    &metric::kModelwatchCheckpointDurationSeconds,
    &metric::kModelwatchCheckpointFailuresTotal,
    &metric::kModelwatchCheckpointLastSuccessTimestampSeconds,
    &metric::kModelwatchCheckpointSizeBytes,
    &metric::kModelwatchConfigLastReloadSuccessful,
    &metric::kModelwatchConfigReloadsTotal,
    &metric::kModelwatchFileRotationsTotal,
    &metric::kModelwatchHttpConnectionsAcceptedTotal,
    &metric::kModelwatchHttpConnectionsMax,
    &metric::kModelwatchHttpConnectionsOpen,
    &metric::kModelwatchHttpConnectionsRefusedTotal,
    &metric::kModelwatchHttpRequestsTotal,
    &metric::kModelwatchLinesReadTotal,
    &metric::kModelwatchLinesRejectedTotal,
    &metric::kModelwatchModels,
    &metric::kModelwatchReady,
    &metric::kModelwatchSourceFilesOpen,
    &metric::kModelwatchSourceFilesUnreadable,
    &metric::kModelwatchSourceLagBytes,
    &metric::kModelwatchStartTimeSeconds,
    &metric::kModelwatchStateResetsTotal,
    &metric::kModelwatchStoreUp,
    &metric::kModelwatchStoreWriteErrorsTotal,
};

constexpr bool SortedByName() {
  for (std::size_t i = 1; i < kAll.size(); ++i) {
    if (!(kAll[i - 1]->name < kAll[i]->name)) return false;
  }
  return true;
}
static_assert(SortedByName(), "AllMetrics() is sorted by name, once each");

const MetricSpec* FindExact(std::string_view name) {
  auto it = std::lower_bound(kAll.begin(), kAll.end(), name,
                             [](const MetricSpec* m, std::string_view n) { return m->name < n; });
  return it != kAll.end() && (*it)->name == name ? *it : nullptr;
}

}  // namespace

std::span<const MetricSpec* const> AllMetrics() { return kAll; }

const MetricSpec* FindMetric(std::string_view name) {
  if (const MetricSpec* m = FindExact(name)) return m;
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      const MetricSpec* m = FindExact(name.substr(0, name.size() - suffix.size()));
      if (m != nullptr && (m->kind == MetricKind::kHistogram ||
                           (m->kind == MetricKind::kSummary && suffix != "_bucket"))) {
        return m;
      }
    }
  }
  return nullptr;
}

}  // namespace modelwatch
