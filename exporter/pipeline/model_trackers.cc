#include "exporter/pipeline/model_trackers.h"

#include "exporter/groundtruth/keyed_hash.h"

namespace modelwatch {

Result<void> ModelTrackers::Build(const ModelConfig& model,
                                  std::shared_ptr<const BaselineProfile> profile,
                                  const std::string& state_dir,
                                  const std::vector<double>& latency_buckets,
                                  const GroundTruthOptions& gt_options) {
  config = model;
  baseline = std::move(profile);
  ResetServing(latency_buckets);
  drift = std::make_shared<DriftTracker>(model, baseline);
  if (model.shadow) {
    auto hasher = KeyedHasher::FromStateDir(state_dir);
    if (!hasher) return tl::unexpected(hasher.error());
    shadow = std::make_unique<ShadowTracker>(model, *hasher);
  }
  if (model.ground_truth) {
    auto gt = GroundTruthTracker::Open(model, state_dir, gt_options);
    if (!gt) return tl::unexpected(gt.error());
    ground_truth = std::move(*gt);
  }
  return {};
}

void ModelTrackers::KeepRecentRecords() {
  if (config.sample_size <= 0) return;
  recent = std::make_unique<RecentRecords>(config, static_cast<std::size_t>(config.sample_size),
                                           static_cast<std::uint64_t>(config.sample_every));
}

void ModelTrackers::ResetServing(const std::vector<double>& latency_buckets) {
  serving = std::make_unique<ServingAggregator>(config, latency_buckets);
  if (!baseline) return;
  for (std::size_t i = 0; i < config.features.size(); ++i) {
    const FeatureProfile* fp = baseline->FindFeature(config.features[i].name);
    if (fp != nullptr && fp->type == FeatureType::kNumeric) {
      serving->SetFeatureBuckets(i, fp->numeric.edges);
    }
    // The drift tracker's out-of-range test: a numeric feature the baseline bins.
    if (fp != nullptr && fp->type == FeatureType::kNumeric && fp->numeric.count > 0 &&
        config.features[i].type == FeatureType::kNumeric) {
      serving->SetFeatureRange(i, fp->numeric.min, fp->numeric.max);
    }
    if (fp != nullptr && fp->type == FeatureType::kCategorical && fp->categorical.count > 0 &&
        config.features[i].type == FeatureType::kCategorical) {
      serving->SetFeatureCategories(i, fp->categorical.categories);
    }
  }
  // The output's bins, as the drift tracker takes them from the baseline: the score's or the
  // prediction's edges, or the predicted classes, of a profile of the task's kind.
  const PredictionProfile& pr = baseline->prediction;
  const OutputKind want = config.task == Task::kMulticlassClassification ? OutputKind::kClass
                          : config.task == Task::kRegression             ? OutputKind::kRegression
                                                                         : OutputKind::kScore;
  if (pr.kind == want && want == OutputKind::kClass && pr.classes.count > 0) {
    serving->SetOutputClasses(pr.classes.categories);
  } else if (pr.kind == want && want != OutputKind::kClass && pr.numeric.count > 0) {
    serving->SetOutputBuckets(pr.numeric.edges);
  }
}

void ModelTrackers::Observe(const Record& record) {
  serving->Observe(record);
  drift->Observe(record);
  if (ground_truth) ground_truth->ObservePrediction(record);
  if (shadow) shadow->Observe(record);
  if (recent) recent->Observe(record);
}

void ModelTrackers::Collect(std::vector<prometheus::MetricFamily>& out) const {
  serving->Collect(out);
  drift->Collect(out);
  if (ground_truth) ground_truth->Collect(out);
  if (shadow) shadow->Collect(out);
}

}  // namespace modelwatch
