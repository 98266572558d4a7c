// Per-model serving metrics: predictions, errors, latency, score, predicted classes, the
// opt-in feature-value histograms and (drift.engine: promql) the categorical features'
// category counters and the proxy signals' counters, counted from accepted records.
#ifndef MODELWATCH_EXPORTER_AGGREGATE_SERVING_AGGREGATOR_H_
#define MODELWATCH_EXPORTER_AGGREGATE_SERVING_AGGREGATOR_H_

#include <prometheus/metric_family.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "exporter/aggregate/label_index.h"
#include "exporter/metrics/family_merge.h"
#include "exporter/parse/record.h"
#include "exporter/stats/cache_line_allocator.h"

namespace modelwatch {

// Default model_request_duration_seconds buckets (seconds).
std::vector<double> DefaultLatencyBuckets();

// Buckets of model_feature_value when no baseline gives bin edges.
std::vector<double> DefaultFeatureBuckets();

// A classic Prometheus histogram as plain counters. Bucket i counts values v with
// bounds[i-1] < v <= bounds[i]; the last bucket is +Inf. Aligned to a cache line, so that
// its sum and count, written for every record, share no line with another model's data.
struct alignas(kCacheLineBytes) PlainHistogram {
  std::vector<double> bounds;  // ascending, finite, no +Inf
  // bounds.size() + 1; written for every record, so on cache lines of their own (no false
  // sharing with a model that another ingest thread updates).
  CacheLineVector<std::uint64_t> counts;
  double sum = 0;
  std::uint64_t count = 0;

  explicit PlainHistogram(std::vector<double> b = {});
  void Observe(double v);
  // Fills a ClientMetric's histogram with cumulative buckets, +Inf included.
  void Fill(prometheus::ClientMetric& metric) const;
  nlohmann::json Save() const;
  // Restores counts when the saved bounds equal ours; returns false (no change) otherwise.
  bool Restore(const nlohmann::json& j);
};

// Counts the serving metrics of one model, per version.
//
// Memory is bounded by the model's cardinality guards (max_versions, max_classes,
// max_error_types): label values past a limit are counted under "__other__", and how often
// that happened under modelwatch_cardinality_overflow_total.
//
// Not thread-safe: the owner serialises Observe(), Collect() and the state calls.
class ServingAggregator {
 public:
  // Copies what it needs from `config`. `latency_buckets` in seconds, ascending.
  ServingAggregator(const ModelConfig& config, std::vector<double> latency_buckets);

  // Counts one accepted record (SPEC counting rules: every accepted record is a prediction;
  // a non-ok status is also an error labelled by its value).
  void Observe(const Record& record);

  // Uses `edges` (ascending bin edges, e.g. the baseline's) as the model_feature_value
  // buckets of feature `index` (ModelConfig::features order). Existing counts of that
  // feature are kept when the edges are unchanged and reset otherwise.
  void SetFeatureBuckets(std::size_t index, std::vector<double> edges);

  // With drift.engine: promql, counts categorical feature `index`'s present values by
  // `categories` (the baseline's), values outside them under "__other__", in
  // model_feature_category_total: cardinality bounded by the baseline. Counts are kept when
  // the categories are unchanged and reset otherwise; a feature without categories set
  // counts nothing.
  void SetFeatureCategories(std::size_t index, std::vector<std::string> categories);

  // With drift.engine: promql, counts numeric feature `index`'s finite values outside
  // [min, max] (the baseline's training range) in model_feature_out_of_range_total, and a
  // record with any such value (±Inf included) in model_anomalous_requests_total, as the
  // drift tracker's windows count them. Counts are kept when the range is unchanged and
  // reset otherwise; a feature without a range counts nothing.
  void SetFeatureRange(std::size_t index, double min, double max);

  // With drift.engine: promql, counts each version's ok outputs the drift tracker bins
  // (binary: the score; regression: the prediction; finite values only, as
  // model_feature_value) in the model_prediction_output histogram whose buckets are `edges`
  // (the baseline output profile's bin edges), so that Prometheus computes the output's
  // drift from every replica's counts (docs/scale-out.md). Counts are kept when the edges
  // are unchanged and reset otherwise; without edges set nothing is counted.
  void SetOutputBuckets(std::vector<double> edges);

  // With drift.engine: promql, counts each version's ok records by predicted class among
  // `classes` (the baseline output profile's; multiclass), other classes under "__other__",
  // in model_prediction_output_class_total: one series per class and __other__ for every
  // version from its first record. Counts are kept when the classes are unchanged and reset
  // otherwise; without classes set nothing is counted.
  void SetOutputClasses(std::vector<std::string> classes);

  // Appends model_predictions_total, model_prediction_errors_total,
  // model_request_duration_seconds, model_prediction_score, model_predicted_class_total,
  // model_feature_value, model_feature_category_total and
  // modelwatch_cardinality_overflow_total families for this model; with drift.engine: promql
  // also model_prediction_output or model_prediction_output_class_total (with the output's
  // bins set) and the proxy signals' counters, which add up across replicas (docs/scale-out.md):
  // model_prediction_confidence and model_prediction_entropy (summaries: sum and count of
  // the ok records with a score or class probabilities), model_positive_predictions_total
  // (binary), model_feature_missing_total, model_feature_out_of_range_total and
  // model_anomalous_requests_total.
  // Families may share names with other models' families; the caller merges them.
  void Collect(std::vector<prometheus::MetricFamily>& out) const;

  // RenderFamilies(Collect()): this model's series written in the text format, the same
  // object until something Collect() reads changes (what a scrape of a model that read
  // nothing since the last one serves). Each of the model's series carries its `model`
  // label, so no other model's text repeats one (Exposition::AddInPlace).
  RenderedFamilies Render() const;

  nlohmann::json SaveState() const;
  // Restores counts saved by SaveState(). Histograms whose buckets changed, and category
  // counters whose categories changed, start empty.
  Result<void> RestoreState(const nlohmann::json& state);

  const std::string& model() const { return model_; }
  std::uint64_t predictions() const;
  std::uint64_t errors() const;
  // Versions seen, in order of first appearance.
  std::vector<std::string> Versions() const;

 private:
  struct VersionStats {
    std::string version;
    std::uint64_t predictions = 0;
    std::vector<std::uint64_t> errors;   // by error_types_ index
    std::vector<std::uint64_t> classes;  // by classes_ index
    PlainHistogram latency;
    PlainHistogram score;
    // drift.engine: promql: what the drift tracker's windows sum for the proxy signals.
    std::uint64_t confidence_count = 0;  // ok records with a score or class probabilities
    double confidence_sum = 0;
    double entropy_sum = 0;
    std::uint64_t positives = 0;  // binary: of those, the ones predicting the positive class
    // drift.engine: promql: the ok outputs on the baseline's output bins (SetOutputBuckets,
    // SetOutputClasses).
    PlainHistogram output;
    std::vector<std::uint64_t> output_classes;  // output_classes_.size() + 1, __other__ last
  };
  struct FeatureHistogram {
    std::size_t index = 0;  // in config features
    std::string name;
    PlainHistogram histogram;
  };

  struct FeatureCategories {
    std::size_t index = 0;  // in config features
    std::string name;
    std::vector<std::string> categories;  // the baseline's; the other bin is last in counts
    std::map<std::string, std::size_t, std::less<>> lookup;  // category -> counts index
    std::vector<std::uint64_t> counts;                       // categories.size() + 1
    bool set = false;                                        // SetFeatureCategories called
  };

  // drift.engine: promql: one non-PII feature's missing values and, with the baseline's
  // range set, its values outside it.
  struct FeatureSignals {
    std::size_t index = 0;  // in config features
    std::string name;
    FeatureType type = FeatureType::kNumeric;
    std::uint64_t missing = 0;
    bool ranged = false;  // SetFeatureRange called
    double min = 0;
    double max = 0;
    std::uint64_t out_of_range = 0;
  };

  VersionStats& StatsFor(std::string_view version);
  // The stats of version index `i` and every index below it, created as needed.
  VersionStats& StatsAt(std::size_t i);
  void ObserveSignals(const Record& record, VersionStats& s);
  void CollectSignals(std::vector<prometheus::MetricFamily>& out) const;
  static void Bump(std::vector<std::uint64_t>& v, std::size_t i);

  std::string model_;
  Task task_;
  std::vector<double> latency_buckets_;
  LabelIndex versions_;
  LabelIndex error_types_;
  LabelIndex classes_;
  std::vector<VersionStats> stats_;  // by versions_ index
  std::vector<FeatureHistogram> feature_histograms_;
  std::vector<int> feature_slot_;  // config feature index -> feature_histograms_ index or -1
  std::vector<FeatureCategories> feature_categories_;
  std::vector<int> category_slot_;  // config feature index -> feature_categories_ index or -1
  bool signals_ = false;            // drift.engine: promql
  double threshold_ = 0.5;
  std::vector<FeatureSignals> feature_signals_;
  std::uint64_t anomalous_ = 0;
  // drift.engine: promql: the baseline output profile's bins every version counts on.
  bool output_buckets_set_ = false;
  std::vector<double> output_bounds_;
  bool output_classes_set_ = false;
  std::vector<std::string> output_classes_;
  std::map<std::string, std::size_t, std::less<>> output_class_lookup_;
  std::uint64_t overflow_versions_ = 0;
  std::uint64_t overflow_classes_ = 0;
  std::uint64_t overflow_error_types_ = 0;

  // Advanced by every call that may change what Collect() reads (Observe, the Set* calls,
  // RestoreState); Render()'s text is of generation rendered_generation_.
  std::uint64_t generation_ = 0;
  mutable std::uint64_t rendered_generation_ = 0;
  mutable RenderedFamilies rendered_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_AGGREGATE_SERVING_AGGREGATOR_H_
