// Per-model windowed drift, proxy signals and degradation score.
//
// One DriftTracker per model. Observe() bins each accepted record into every configured
// window (drift.windows, each a ring of drift.sub_windows sub-windows on event time, see
// exporter/stats/window_clock.h); Collect() computes the gauges from the window totals at
// scrape time. Memory is fixed by the config and the baseline (features × bins ×
// sub-windows × windows, plus per-version blocks up to max_versions), never by traffic.
//
// Metric families produced by Collect() (definitions in docs/statistics.md):
//   model_window_samples{model,window}                      always (0 before any record)
//   model_late_records_total{model,window}                  counter
//   model_feature_missing_ratio{model,feature,window}
//   model_feature_missing_ratio_shift{model,feature,window}      with a baseline: minus its ratio
//   model_feature_missing_ratio_shift_critical_value{model,feature,window}
//   model_prediction_confidence_mean{model,version,window}  classifiers
//   model_prediction_entropy_mean{model,version,window}     classifiers
//   model_positive_rate{model,version,window}               binary
//   model_estimated_performance{model,version,metric,window} classifiers (auc, accuracy;
//     binary also precision, recall), with model_estimated_performance_lower/_upper
//     (95 % interval; accuracy, precision, recall)
//  and with a baseline:
//   model_baseline_info{model,baseline_id}
//   model_baseline_performance{model,metric}                baseline built with --labels
//   model_baseline_prediction_entropy_mean{model}           classifiers' baselines
//   model_baseline_prediction_entropy_stddev{model}
//   model_feature_drift{model,feature,method,window}
//   model_prediction_drift{model,version,method,window}
//   model_feature_drift_critical_value{model,feature,method,window}  noise floor at alpha
//   model_prediction_drift_critical_value{model,version,method,window}
//   model_feature_out_of_range_ratio{model,feature,window}  numeric features
//   model_anomalous_requests_ratio{model,window}
//   model_positive_rate_zscore{model,version,window}        binary
//   model_degradation_score{model,version}, model_degradation_signal{model,version,signal}
// Window gauges are absent while the window holds fewer than drift.min_samples records.
// With drift.engine: promql the feature and output drift are served for Wasserstein only
// (Prometheus records the other methods from the replicas' counters), and the proxy
// signals' gauges not at all (docs/scale-out.md).
// PII features are never tracked or named.
//
// Thread-compatible, not thread-safe: the caller serialises Observe, Collect, TakeTotals,
// SaveState and RestoreState (the const calls may run concurrently with other const calls
// only). Compute() is the exception: it reads none of the state Observe() changes.
//
// The samples are a pure function of the window counters, which change only in Observe()
// and RestoreState(): each of them advances a generation number, and the samples last
// computed are kept with the generation they were computed at. A scrape of a model that read
// nothing since (an idle model: most of a large fleet at any moment) reuses them instead of
// summing the sub-windows and computing the statistics again.
#ifndef MODELWATCH_EXPORTER_DRIFT_DRIFT_TRACKER_H_
#define MODELWATCH_EXPORTER_DRIFT_DRIFT_TRACKER_H_

#include <prometheus/metric_family.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "exporter/baseline/baseline_profile.h"
#include "exporter/drift/degradation_score.h"
#include "exporter/metrics/family_merge.h"
#include "exporter/parse/record.h"
#include "exporter/stats/cache_line_allocator.h"
#include "exporter/stats/window_clock.h"

namespace modelwatch {

// One computed sample: a family name, its labels (in order) and value.
struct DriftSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;

  // Returns the value of label `key`, or "" when absent.
  std::string Label(const std::string& key) const;
};

class DriftTracker {
 public:
  // Bins of the score histograms behind model_estimated_performance.
  static constexpr int kScoreBins = 100;
  // `model` is copied. `baseline` may be null (then only the baseline-free gauges); when
  // given it must fit the model (CheckBaselineMatchesModel).
  DriftTracker(const ModelConfig& model, std::shared_ptr<const BaselineProfile> baseline);
  ~DriftTracker();
  DriftTracker(const DriftTracker&) = delete;
  DriftTracker& operator=(const DriftTracker&) = delete;

  // Adds one accepted record of this model. Allocates nothing once every version seen has
  // its block (at most max_versions + 1 blocks).
  void Observe(const Record& record);

  // Computes every sample (the families listed above) from the current windows:
  // Compute(*TakeTotals()).
  std::vector<DriftSample> Snapshot() const;

  // The windows' counters summed over their sub-windows (for windows below
  // drift.min_samples only the record count): all of the state Observe() changes that
  // Compute() reads. One pass over the counters, no statistics, so a scrape takes it under
  // the ingest lock and computes outside it.
  // When nothing changed since the samples were last computed, the totals carry those
  // samples instead (no sums) and Compute() returns them.
  struct Totals;
  std::shared_ptr<const Totals> TakeTotals() const;
  // Every sample, from `totals`. Reads besides `totals` only what the constructor fixed (the
  // config, the baseline, the counters' layout), so it may run on another thread while
  // Observe() is called, as long as the tracker outlives the call.
  std::vector<DriftSample> Compute(const Totals& totals) const;

  // Compute(totals), as families written in the text format; the same object while the
  // windows do not change (what a scrape of an idle model serves).
  RenderedFamilies Render(const Totals& totals) const;

  // What Render() last published: the samples and text of the newest generation rendered so
  // far, kept (unlike the cache above) when the windows change afterwards, so a reader can
  // serve them without computing. Null pointers before the first Render().
  struct Published {
    std::uint64_t generation = 0;
    std::shared_ptr<const std::vector<DriftSample>> samples;
    RenderedFamilies text;
  };
  Published LastPublished() const;
  // The windows' generation, advanced by every Observe() and RestoreState(); serialised with
  // them like TakeTotals().
  std::uint64_t generation() const { return generation_; }

  // Appends this model's samples to `out`, adding to families already there with the same
  // name (so trackers of several models share families) and creating the others.
  void Collect(std::vector<prometheus::MetricFamily>& out) const;
  // The same for samples already computed.
  static void AppendToFamilies(std::vector<DriftSample> samples,
                               std::vector<prometheus::MetricFamily>& out);

  // Checkpoint of all window contents. RestoreState() accepts only a state saved with the
  // same model name, windows, features and baseline id; otherwise it returns an error and
  // leaves the tracker unchanged (start fresh).
  nlohmann::json SaveState() const;
  Result<void> RestoreState(const nlohmann::json& state);

  const ModelConfig& model() const { return model_; }
  const BaselineProfile* baseline() const { return baseline_.get(); }
  // The newest event time any window has seen (its end), or -inf before the first record.
  double NewestEventTime() const;

 private:
  struct FeatureTrack;
  struct VersionLayout;
  struct Window;

  std::size_t VersionIndex(std::string_view version);
  void AddVersion(std::string name);
  void ClearSlot(Window& window, int slot);
  struct WindowTotals;
  struct WindowSums;
  // The window's series, in order: late records and samples, then (past drift.min_samples)
  // the features', the anomalous ratio and each version's.
  void ComputeWindow(const WindowSums& window, const std::vector<std::string>& versions,
                     std::vector<DriftSample>& out,
                     std::vector<DegradationInputs>* degradation) const;
  // The distributions the alerting method is applied to (the Bonferroni split of the noise).
  int DriftTests() const;
  // drift.engine: promql: the proxy signals (confidence and entropy means, positive rate,
  // missing, out-of-range and anomalous ratios) are recorded by Prometheus from every
  // replica's counters, so the tracker serves none of its own (it still computes them for
  // the degradation score and the z-scores).
  bool PromqlSignals() const { return model_.drift.engine == DriftEngine::kPromql; }
  // The effective reference counts of the binned numeric features.
  std::vector<double> ReferenceRangeCounts() const;
  // Missing ratios, out-of-range ratios and drift of every feature; returns the largest drift
  // beyond its noise floor.
  double AppendFeatureSeries(const WindowTotals& totals, std::vector<DriftSample>& out) const;
  // One version's output series; returns its degradation inputs (`shared` completed), or
  // nullopt when it had no outputs in the window.
  std::optional<DegradationInputs> AppendVersionSeries(const WindowSums& window,
                                                       const std::string& version,
                                                       std::size_t version_index,
                                                       const WindowTotals& totals,
                                                       const DegradationInputs& shared,
                                                       std::vector<DriftSample>& out) const;
  // Confidence, entropy and the CBPE estimates of one version; fills deg's mean shifts.
  void AppendConfidenceSeries(const std::vector<double>& counts, const std::vector<double>& sums,
                              const std::vector<std::pair<std::string, std::string>>& prefix,
                              const std::string& window, DegradationInputs& deg,
                              std::vector<DriftSample>& out) const;
  // The per-series significance level: drift.alpha over the model's drift series.
  double SeriesLevel() const;
  // Compute() without the cache.
  std::vector<DriftSample> ComputeSamples(const Totals& totals) const;
  void AppendDegradation(const std::vector<DegradationInputs>& inputs,
                         std::vector<DriftSample>& out) const;

  ModelConfig model_;
  std::shared_ptr<const BaselineProfile> baseline_;
  std::vector<FeatureTrack> features_;
  std::unique_ptr<VersionLayout> version_layout_;
  std::vector<std::string> versions_;
  std::vector<Window> windows_;
  std::size_t slot_counts_ = 0;  // count cells per sub-window
  std::size_t slot_sums_ = 0;    // sum cells per sub-window
  std::string layout_id_;
  // Hot-path scratch, one entry per tracked feature: its bin (-1 missing) and value. Written
  // for every record, so on cache lines of their own (no false sharing with a model that
  // another ingest thread updates).
  CacheLineVector<std::int64_t> scratch_bin_;
  CacheLineVector<double> scratch_value_;
  CacheLineVector<char> scratch_out_of_range_;
  CacheLineVector<char> scratch_at_cut_;  // the value equals the upper cut of its fine bin

  // Advanced by every change of the window counters (Observe, RestoreState).
  std::uint64_t generation_ = 0;
  // The samples Compute() last returned and the generation of the totals they came from;
  // guarded by cache_mu_ (Compute runs outside the caller's lock).
  mutable std::mutex cache_mu_;
  mutable std::uint64_t cached_generation_ = 0;
  mutable std::shared_ptr<const std::vector<DriftSample>> cached_samples_;
  mutable RenderedFamilies cached_rendered_;  // of cached_samples_, once asked for
  mutable Published published_;               // guarded by cache_mu_
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DRIFT_DRIFT_TRACKER_H_
