// Label-based performance over sliding event-time windows, kept up to date row by row.
//
// PerformanceAccumulator (performance.h) computes a window's metrics from all of its
// labelled rows, read in score order: a recomputation costs the window's size. Replay and
// backtest recompute at every step, so over a month of history that is quadratic (a 6 h
// window of 70,000 rows read 43,200 times). SlidingPerformance instead adds each row once,
// when its label joins, and removes it once, when it leaves the window: every metric of
// performance.h is a function of sums the two operations update, AUC included (the weight of
// negatives scored below each positive, kept in an order-statistics tree over the scores).
//
// Finish() returns the same metrics, in the same order, as PerformanceAccumulator::Finish()
// over the same rows, equal up to floating-point rounding (sums are compensated; with unit
// weights every count and the AUC's pair count are exact). Tested against it on random
// streams of additions and removals.
//
// Not thread-safe: one owner calls everything.
#ifndef MODELWATCH_EXPORTER_GROUNDTRUTH_SLIDING_PERFORMANCE_H_
#define MODELWATCH_EXPORTER_GROUNDTRUTH_SLIDING_PERFORMANCE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/config.h"
#include "exporter/groundtruth/performance.h"
#include "exporter/groundtruth/prediction_store.h"

namespace modelwatch {

// The rows of one group (one version in one window, say) under additions and removals.
class IncrementalAccumulator {
 public:
  IncrementalAccumulator(Task task, double threshold);
  ~IncrementalAccumulator();
  IncrementalAccumulator(IncrementalAccumulator&&) noexcept;
  IncrementalAccumulator& operator=(IncrementalAccumulator&&) noexcept;

  void Add(double prediction, double label, double weight = 1.0) {
    Update(prediction, label, weight, +1);
  }
  // Removes a row added before (with the same values).
  void Remove(double prediction, double label, double weight = 1.0) {
    Update(prediction, label, weight, -1);
  }
  std::int64_t count() const { return count_; }
  // As PerformanceAccumulator::Finish() over the rows added and not removed.
  std::vector<std::pair<std::string, double>> Finish() const;

 private:
  void Update(double prediction, double label, double weight, int sign);

  Task task_;
  double threshold_;
  std::int64_t count_ = 0, pos_rows_ = 0, neg_rows_ = 0;
  PerformanceSums<CompensatedSum> sums_;
  // Binary AUC: the pair count, and the weights per distinct score with prefix sums.
  CompensatedSum auc_sum_;
  class ScoreTree;
  std::unique_ptr<ScoreTree> scores_;
  // Multiclass: how many rows name each class (as prediction or label): a class is present
  // (in sums_.classes) while that count is positive.
  std::map<int, std::int64_t> class_rows_;
};

// The performance groups of one model over its ground-truth windows, as
// GroundTruthTracker::Compute() forms them: per window, per version, and per value of each
// segment. Rows come in as their labels join (in any order of prediction time) and leave a
// window once `newest - window length` passes their prediction time.
class SlidingPerformance {
 public:
  // (window index, version, segment index or -1 for the whole version, segment value).
  using GroupKey = std::tuple<std::size_t, std::string, int, std::string>;

  // `window_seconds[i]` is window i's length; `segments` the number of configured segments.
  // `split` splits a row's encoded segments into `segments` values ("" = none).
  SlidingPerformance(Task task, double threshold, std::vector<double> window_seconds,
                     std::size_t segments,
                     std::function<void(std::string_view, std::vector<std::string_view>&)> split);

  // A newly labelled row (its prediction time may be older than the newest).
  void Add(const LabelledRow& row);
  // Moves the windows' end to `newest` (never backwards), dropping the rows that left.
  void Advance(double newest);
  // The non-empty groups, in GroupKey order.
  const std::map<GroupKey, IncrementalAccumulator>& groups() const { return groups_; }

 private:
  struct Row {
    double timestamp, prediction, label, weight;
    std::string version, segments;
    bool operator>(const Row& o) const { return timestamp > o.timestamp; }
  };
  void Apply(std::size_t window, const Row& row, bool add);

  Task task_;
  double threshold_;
  std::vector<double> window_seconds_;
  std::size_t nseg_;
  std::function<void(std::string_view, std::vector<std::string_view>&)> split_;
  double newest_ = -std::numeric_limits<double>::infinity();
  // Per window, its rows by prediction time, oldest on top.
  std::vector<std::priority_queue<Row, std::vector<Row>, std::greater<Row>>> rows_;
  std::map<GroupKey, IncrementalAccumulator> groups_;
  std::vector<std::string_view> segs_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_GROUNDTRUTH_SLIDING_PERFORMANCE_H_
