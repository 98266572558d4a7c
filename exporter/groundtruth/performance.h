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

// A sum that supports subtraction with little rounding drift (Neumaier's compensation).
class CompensatedSum {
 public:
  void Add(double x);
  double value() const { return sum_ + carry_; }

 private:
  double sum_ = 0, carry_ = 0;
};

// The weighted sums behind every metric below but AUC, for one group of rows, and the one
// definition of each metric's formula. `Sum` is double for PerformanceAccumulator (rows are
// only added) or CompensatedSum for IncrementalAccumulator (sliding_performance.h: rows are
// added and removed).
template <typename Sum>
struct PerformanceSums {
  Sum weight{};
  // Binary: the confusion matrix at the threshold, the class weights, log loss, ECE bins.
  Sum tp{}, fp{}, fn{}, tn{}, pos{}, neg{}, log_loss{};
  std::array<Sum, 10> ece_w{}, ece_score{}, ece_label{};
  // Multiclass: class -> {tp, fp, fn}; presence in labels or predictions.
  std::map<int, std::array<Sum, 3>> classes;
  Sum correct{};
  // Regression.
  Sum abs{}, sq{}, ape{}, diff{};

  // Adds one row of weight `w` (a negative `w` takes a row added before back out).
  // Binary: `prediction` is the score, `label` 0 or 1; multiclass: class indexes;
  // regression: the predicted and the actual value.
  void AddRow(Task task, double threshold, double prediction, double label, double w);
  // Appends every metric of the task but auc, in PerformanceMetricNames order (auc, when
  // defined, goes first: the caller appends it before). Requires weight > 0.
  void AppendMetrics(Task task, std::vector<std::pair<std::string, double>>& out) const;
};

// Accumulates one group (e.g. one version in one window). For a correct AUC, binary
// samples must be added in ascending score order (ties in any order). Not thread-safe.
class PerformanceAccumulator {
 public:
  PerformanceAccumulator(Task task, double threshold) : task_(task), threshold_(threshold) {}

  // Binary: `prediction` is the score in [0,1], `label` 0 or 1. Multiclass: `prediction`
  // and `label` are class indexes. Regression: the predicted and the actual value.
  void Add(double prediction, double label, double weight = 1.0);

  // Total weight added.
  double weight() const { return sums_.weight; }
  std::int64_t count() const { return count_; }

  // Metric name -> value, in the order of the task's metric list. Metrics that are undefined
  // for the data (auc with one class, anything with no samples) are left out.
  std::vector<std::pair<std::string, double>> Finish() const;

 private:
  void FlushTie();

  Task task_;
  double threshold_;
  std::int64_t count_ = 0;
  PerformanceSums<double> sums_;
  // Binary AUC from rows in score order: the current tie's weights, the negatives below it.
  bool have_tie_ = false;
  double tie_score_ = 0, tie_pos_ = 0, tie_neg_ = 0;
  double neg_below_ = 0, auc_sum_ = 0;
};

// The metric names exported for a task, in order.
const std::vector<std::string>& PerformanceMetricNames(Task task);

// True when a larger value of `metric` is better (auc, f1, ...); false for errors (log_loss,
// ece, mae, rmse, mape) and for bias (whose magnitude matters: compare |bias|).
bool HigherIsBetter(const std::string& metric);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_GROUNDTRUTH_PERFORMANCE_H_
