// Everything the exporter computes for one model — serving counters, drift windows, the
// ground-truth join and the shadow comparison — built the same way for the daemon and for
// `replay`, fed with the model's records, collected into metric families.
//
// Not thread-safe: the caller serialises every call (Collect() included).
#ifndef MODELWATCH_EXPORTER_PIPELINE_MODEL_TRACKERS_H_
#define MODELWATCH_EXPORTER_PIPELINE_MODEL_TRACKERS_H_

#include <prometheus/metric_family.h>

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "exporter/aggregate/serving_aggregator.h"
#include "exporter/baseline/baseline_profile.h"
#include "exporter/drift/drift_tracker.h"
#include "exporter/groundtruth/ground_truth_tracker.h"
#include "exporter/parse/record.h"
#include "exporter/sample/recent_records.h"
#include "exporter/shadow/shadow_tracker.h"

namespace modelwatch {

struct ModelTrackers {
  ModelConfig config;
  std::shared_ptr<const BaselineProfile> baseline;  // null without a configured baseline
  std::unique_ptr<ServingAggregator> serving;
  // Shared: a scrape computes the drift statistics outside the caller's lock and keeps the
  // tracker alive while it does (DriftTracker::Compute).
  std::shared_ptr<DriftTracker> drift;
  std::unique_ptr<GroundTruthTracker> ground_truth;  // when ground_truth is configured
  std::unique_ptr<ShadowTracker> shadow;             // when shadow is configured
  std::unique_ptr<RecentRecords> recent;             // after KeepRecentRecords(), sample_size > 0

  // Builds the trackers of `config` with its (already loaded) baseline; the ground-truth store
  // and the hash key live under `state_dir`. Feature histograms take the baseline's edges.
  Result<void> Build(const ModelConfig& model, std::shared_ptr<const BaselineProfile> profile,
                     const std::string& state_dir, const std::vector<double>& latency_buckets,
                     const GroundTruthOptions& gt_options = {});

  // The daemon's sample of recent records (/api/v1/samples); replay and backtest do without.
  void KeepRecentRecords();

  // Replaces the serving counters with empty ones (after a checkpoint that did not fit).
  void ResetServing(const std::vector<double>& latency_buckets);

  // One accepted record of this model.
  void Observe(const Record& record);
  // Appends every tracker's families.
  void Collect(std::vector<prometheus::MetricFamily>& out) const;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_PIPELINE_MODEL_TRACKERS_H_
