// SlidingPerformance against the batch computation it replaces in replay: the same metrics
// over the same rows, whatever the order of additions and removals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "exporter/groundtruth/ground_truth_tracker.h"
#include "exporter/groundtruth/performance.h"
#include "exporter/groundtruth/sliding_performance.h"
#include "tests/unit/exporter/groundtruth_test_util.h"

namespace modelwatch {
namespace {

using testing::BinaryModel;
using testing::LabelLine;
using testing::OwnedRecord;
using testing::Scored;
using testing::ScratchDir;

struct TestRow {
  double prediction, label, weight;
};

// What PerformanceAccumulator (the batch computation, checked against scikit-learn) gives for
// `rows`, added in score order as it requires.
std::vector<std::pair<std::string, double>> Batch(Task task, std::vector<TestRow> rows) {
  std::stable_sort(rows.begin(), rows.end(),
                   [](const TestRow& a, const TestRow& b) { return a.prediction < b.prediction; });
  PerformanceAccumulator acc(task, 0.5);
  for (const TestRow& r : rows) acc.Add(r.prediction, r.label, r.weight);
  return acc.Finish();
}

void ExpectSameMetrics(const std::vector<std::pair<std::string, double>>& want,
                       const std::vector<std::pair<std::string, double>>& got, int step) {
  ASSERT_EQ(want.size(), got.size()) << "step " << step;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].first, got[i].first) << "step " << step;
    EXPECT_NEAR(want[i].second, got[i].second, 1e-9 * std::max(1.0, std::fabs(want[i].second)))
        << want[i].first << " at step " << step;
  }
}

// Random additions and removals; after each, the incremental and the batch results agree.
// Scores on a coarse grid make ties common (AUC counts them half); weights vary as sampling
// makes them.
void CheckAgainstBatch(Task task, bool unit_weights) {
  std::mt19937_64 rng(task == Task::kRegression ? 7 : (unit_weights ? 1 : 2));
  std::uniform_real_distribution<double> u(0, 1);
  IncrementalAccumulator inc(task, 0.5);
  std::vector<TestRow> rows;
  for (int step = 0; step < 3000; ++step) {
    const bool remove = !rows.empty() && u(rng) < 0.45;
    if (remove) {
      const std::size_t i = static_cast<std::size_t>(u(rng) * rows.size()) % rows.size();
      inc.Remove(rows[i].prediction, rows[i].label, rows[i].weight);
      rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      TestRow r{};
      switch (task) {
        case Task::kBinaryClassification:
          r.prediction = std::round(u(rng) * 20) / 20;
          r.label = u(rng) < 0.2 + 0.6 * r.prediction ? 1 : 0;
          break;
        case Task::kMulticlassClassification:
          r.prediction = std::floor(u(rng) * 4);
          r.label = u(rng) < 0.6 ? r.prediction : std::floor(u(rng) * 5);
          break;
        case Task::kRegression:
          r.label = 100 * u(rng) - 20;
          r.prediction = r.label + 10 * (u(rng) - 0.5);
          break;
      }
      r.weight = unit_weights ? 1.0 : 1.0 + std::floor(u(rng) * 4) * 0.75;
      inc.Add(r.prediction, r.label, r.weight);
      rows.push_back(r);
    }
    EXPECT_EQ(inc.count(), static_cast<std::int64_t>(rows.size()));
    ExpectSameMetrics(Batch(task, rows), inc.Finish(), step);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(IncrementalAccumulatorTest, BinaryMatchesTheBatchComputationUnderAdditionsAndRemovals) {
  CheckAgainstBatch(Task::kBinaryClassification, true);
  CheckAgainstBatch(Task::kBinaryClassification, false);
}

TEST(IncrementalAccumulatorTest, MulticlassMatchesTheBatchComputationAndForgetsAbsentClasses) {
  CheckAgainstBatch(Task::kMulticlassClassification, true);
  // A class named by no remaining row leaves macro F1's average (as in the batch).
  IncrementalAccumulator inc(Task::kMulticlassClassification, 0.5);
  inc.Add(0, 0);
  inc.Add(1, 2);
  inc.Remove(1, 2);
  ExpectSameMetrics(Batch(Task::kMulticlassClassification, {{0, 0, 1}}), inc.Finish(), 0);
}

TEST(IncrementalAccumulatorTest, RegressionMatchesTheBatchComputation) {
  CheckAgainstBatch(Task::kRegression, false);
}

TEST(IncrementalAccumulatorTest, EmptyAgainAfterRemovingEverything) {
  IncrementalAccumulator inc(Task::kBinaryClassification, 0.5);
  inc.Add(0.9, 1);
  inc.Add(0.2, 0);
  inc.Remove(0.9, 1);
  EXPECT_EQ(inc.Finish().front().first, "precision");  // one class left: no AUC
  inc.Remove(0.2, 0);
  EXPECT_TRUE(inc.Finish().empty());
}

// The groups and windows: a row counts in a window while its prediction time is at most the
// window's length before the newest; a label joining after its row left counts nowhere.
TEST(SlidingPerformanceTest, RowsLeaveEachWindowAtItsLength) {
  auto split = [](std::string_view s, std::vector<std::string_view>& out) { out.assign(1, s); };
  SlidingPerformance sp(Task::kBinaryClassification, 0.5, {100, 1000}, 1, split);
  auto samples = [&](std::size_t window, int segment) -> std::int64_t {
    for (const auto& [key, acc] : sp.groups()) {
      if (std::get<0>(key) == window && std::get<2>(key) == segment) return acc.count();
    }
    return 0;
  };
  LabelledRow row;
  row.version = "v1";
  row.segments = "web";
  row.prediction = 0.8;
  row.label = 1;
  row.timestamp = 10;
  sp.Add(row);
  row.timestamp = 500;
  row.segments = "";  // no segment value: the version's group only
  sp.Add(row);
  sp.Advance(505);
  EXPECT_EQ(samples(0, -1), 1);  // ts 10 left the 100 s window; 500 is in
  EXPECT_EQ(samples(1, -1), 2);
  EXPECT_EQ(samples(0, 0), 0);  // the segment group emptied and went
  EXPECT_EQ(samples(1, 0), 1);
  row.timestamp = 400;  // joins late: older than 505 - 100
  sp.Add(row);
  EXPECT_EQ(samples(0, -1), 1);
  EXPECT_EQ(samples(1, -1), 3);
  row.timestamp = 600;
  sp.Add(row);
  sp.Advance(700);  // exactly the window's length old: still in
  EXPECT_EQ(samples(0, -1), 1);
  sp.Advance(700.5);
  EXPECT_EQ(samples(0, -1), 0);
  sp.Advance(1200);  // ts 10 left the long window
  EXPECT_EQ(samples(1, -1), 3);
  sp.Advance(100);  // never backwards
  EXPECT_EQ(samples(1, -1), 3);
}

// Through the tracker: the same predictions and labels (labels late and early, duplicates,
// two versions, a segment, sampling) give the same snapshot with and without sliding
// performance, at every step, while windows fill and slide.
TEST(SlidingPerformanceTest, TrackerSnapshotsMatchTheRecomputedOnes) {
  ModelConfig m = BinaryModel({{"1h", Seconds(3600)}, {"6h", Seconds(6 * 3600)}});
  m.ground_truth->segments = {"channel"};
  m.ground_truth->sample_rate = 0.5;
  ScratchDir a_dir, b_dir;
  GroundTruthOptions recomputed;
  recomputed.recompute_interval = std::chrono::seconds(0);
  GroundTruthOptions sliding = recomputed;
  sliding.sliding_performance = true;
  sliding.durable_store = false;
  auto a = GroundTruthTracker::Open(m, a_dir.path(), recomputed);
  // The same hash key, hence the same sampling decisions.
  std::filesystem::copy_file(a_dir.path() + "/groundtruth.key", b_dir.path() + "/groundtruth.key");
  auto b = GroundTruthTracker::Open(m, b_dir.path(), sliding);
  ASSERT_TRUE(a && b);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  const double t0 = 1795939200;
  struct Label {
    double ts;
    std::string line;
  };
  std::vector<Label> labels;
  std::size_t next_label = 0;
  int compared = 0;
  for (int i = 0; i < 6000; ++i) {
    const double ts = t0 + i * 7.0;  // 11.7 hours
    OwnedRecord r = Scored("r" + std::to_string(i), ts, std::round(u(rng) * 1000) / 1000,
                           u(rng) < 0.3 ? "v2" : "v1");
    r.segment = {{"channel", u(rng) < 0.5 ? "web" : "app"}};
    const int label = u(rng) < r.score ? 1 : 0;
    // Most labels 0-3 h late, some before their prediction, some twice, some never.
    const double delay = u(rng) < 0.05 ? -60 : u(rng) * 3 * 3600;
    if (u(rng) < 0.9) labels.push_back({ts + delay, LabelLine(r.request_id, ts + delay, label)});
    if (u(rng) < 0.03)
      labels.push_back({ts + delay + 1, LabelLine(r.request_id, ts + delay, label)});
    std::sort(labels.begin() + static_cast<std::ptrdiff_t>(next_label), labels.end(),
              [](const Label& x, const Label& y) { return x.ts < y.ts; });
    while (next_label < labels.size() && labels[next_label].ts <= ts) {
      (*a)->ObserveLabelLine(labels[next_label].line);
      (*b)->ObserveLabelLine(labels[next_label].line);
      ++next_label;
    }
    (*a)->ObservePrediction(r.View());
    (*b)->ObservePrediction(r.View());
    if (i % 250 != 249) continue;
    ASSERT_TRUE((*a)->Flush());
    ASSERT_TRUE((*b)->Flush());
    const GroundTruthSnapshot want = (*a)->ComputeSnapshot();
    const GroundTruthSnapshot got = (*b)->ComputeSnapshot();
    ASSERT_EQ(want.samples, got.samples) << "at " << i;
    ASSERT_EQ(want.performance.size(), got.performance.size()) << "at " << i;
    for (std::size_t k = 0; k < want.performance.size(); ++k) {
      const PerformanceValue& w = want.performance[k];
      const PerformanceValue& g = got.performance[k];
      ASSERT_EQ(std::tie(w.version, w.segment, w.value, w.metric, w.window),
                std::tie(g.version, g.segment, g.value, g.metric, g.window));
      EXPECT_NEAR(w.value_number, g.value_number, 1e-9) << w.metric << " at " << i;
    }
    compared += static_cast<int>(want.performance.size());
  }
  EXPECT_GT(compared, 1000);  // the windows held rows to compare
}

}  // namespace
}  // namespace modelwatch
