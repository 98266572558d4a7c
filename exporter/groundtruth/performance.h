// Streaming, weighted performance metrics over labelled predictions.
//
// Pure computation, no I/O. Every metric matches scikit-learn's definition with
// `sample_weight` (weights are 1 unless the prediction store samples):
//   binary:     auc (roc_auc_score; needs both classes), precision, recall, f1 (at the
//               model's threshold, score >= threshold predicts 1; zero_division=0), log_loss
//               (probabilities clipped to [1e-15, 1 - 1e-15]), ece (10 equal-width bins of the
//               score, [0,0.1) ... [0.9,1.0]: sum over bins of weight share x |mean label -
//               mean score|), accuracy (accuracy_score at the threshold);
//   multiclass: accuracy, macro_f1 (f1_score average="macro" over the classes present in
//               the labels or predictions);
//   regression: mae, rmse, mape (mean |y - p| / max(|y|, DBL_EPSILON)), bias (mean p - y).
#ifndef MODELWATCH_EXPORTER_GROUNDTRUTH_PERFORMANCE_H_
#define MODELWATCH_EXPORTER_GROUNDTRUTH_PERFORMANCE_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"

namespace modelwatch {

// Accumulates one group (e.g. one version in one window). For a correct AUC, binary
// samples must be added in ascending score order (ties in any order). Not thread-safe.
class PerformanceAccumulator {
 public:
  PerformanceAccumulator(Task task, double threshold) : task_(task), threshold_(threshold) {}

  // Binary: `prediction` is the score in [0,1], `label` 0 or 1. Multiclass: `prediction`
  // and `label` are class indexes. Regression: the predicted and the actual value.
  void Add(double prediction, double label, double weight = 1.0);

  // Total weight added.
  double weight() const { return weight_; }
  std::int64_t count() const { return count_; }

  // Metric name -> value, in the order of the task's metric list. Metrics that are undefined
  // for the data (auc with one class, anything with no samples) are left out.
  std::vector<std::pair<std::string, double>> Finish() const;

 private:
  void FlushTie();

  Task task_;
  double threshold_;
  double weight_ = 0;
  std::int64_t count_ = 0;
  // Binary.
  double tp_ = 0, fp_ = 0, fn_ = 0, tn_ = 0;
  double log_loss_ = 0;
  std::array<double, 10> ece_w_{}, ece_score_{}, ece_label_{};
  bool have_tie_ = false;
  double tie_score_ = 0, tie_pos_ = 0, tie_neg_ = 0;
  double neg_below_ = 0, auc_sum_ = 0, pos_ = 0, neg_ = 0;
  // Multiclass: class -> {tp, fp, fn}; presence in labels or predictions.
  std::map<int, std::array<double, 3>> classes_;
  double correct_ = 0;
  // Regression.
  double abs_ = 0, sq_ = 0, ape_ = 0, diff_ = 0;
};

// The metric names exported for a task, in order.
const std::vector<std::string>& PerformanceMetricNames(Task task);

// True when a larger value of `metric` is better (auc, f1, ...); false for errors (log_loss,
// ece, mae, rmse, mape) and for bias (whose magnitude matters: compare |bias|).
bool HigherIsBetter(const std::string& metric);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_GROUNDTRUTH_PERFORMANCE_H_
