// The performance recomputation off the scrape path (GroundTruthOptions::Recompute::
// kBackground) and its memory bound: values equal the inline computation and a brute-force
// AUC, a scrape never computes, and peak memory does not grow with the labelled rows.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "exporter/groundtruth/ground_truth_tracker.h"
#include "exporter/groundtruth/prediction_store.h"
#include "tests/unit/exporter/groundtruth_test_util.h"

namespace modelwatch {
namespace {

using testing::BinaryModel;
using testing::LabelLine;
using testing::Scored;
using testing::ScratchDir;

constexpr double kT0 = 1795939200;  // 2026-11-29T08:00:00Z

GroundTruthOptions Background() {
  GroundTruthOptions o;
  o.recompute = GroundTruthOptions::Recompute::kBackground;
  o.recompute_interval = std::chrono::seconds(0);
  return o;
}

std::optional<double> Value(const GroundTruthSnapshot& snap, const std::string& version,
                            const std::string& metric, const std::string& window,
                            const std::string& segment_value = "") {
  for (const PerformanceValue& v : snap.performance) {
    if (v.version == version && v.metric == metric && v.window == window &&
        v.value == segment_value) {
      return v.value_number;
    }
  }
  return std::nullopt;
}

// Mann-Whitney AUC by comparing every positive with every negative (ties count half).
double BruteForceAuc(const std::vector<std::pair<double, int>>& rows) {
  double wins = 0, pos = 0, neg = 0;
  for (const auto& [s, y] : rows) (y ? pos : neg) += 1;
  for (const auto& [sp, yp] : rows) {
    if (!yp) continue;
    for (const auto& [sn, yn] : rows) {
      if (yn) continue;
      wins += sp > sn ? 1.0 : sp == sn ? 0.5 : 0.0;
    }
  }
  return wins / (pos * neg);
}

std::optional<double> Served(const GroundTruthTracker& t, const std::string& metric) {
  std::vector<prometheus::MetricFamily> out;
  t.Collect(out);
  for (const auto& f : out) {
    if (f.name != "model_performance") continue;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == "metric" && l.value == metric) return m.gauge.value;
      }
    }
  }
  return std::nullopt;
}

TEST(GroundTruthRecomputeTest, BackgroundValuesEqualInlineAndBruteForce) {
  ScratchDir dir;
  ModelConfig m = BinaryModel({{"30d", Seconds(30 * 86400)}, {"1d", Seconds(86400)}});
  m.ground_truth->segments = {"region"};
  auto opened = GroundTruthTracker::Open(m, dir.path(), Background());
  ASSERT_TRUE(opened) << opened.error().ToString();
  GroundTruthTracker& t = **opened;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<std::pair<double, int>> all, last_day, eu;
  for (int i = 0; i < 1500; ++i) {
    const double ts = kT0 + i * 3600.0 / 20;  // every 3 minutes: 3.1 days
    // Two decimals: many ties, some of them across both classes.
    const double score = std::round(unit(rng) * 100) / 100;
    const int label = unit(rng) < score ? 1 : 0;
    auto r = Scored("r" + std::to_string(i), ts, score);
    const std::string region = i % 3 ? "eu" : "us";
    r.segment = {{"region", region}};
    t.ObservePrediction(r.View());
    t.ObserveLabelLine(LabelLine("r" + std::to_string(i), ts + 60, label));
    all.emplace_back(score, label);
    if (region == "eu") eu.emplace_back(score, label);
  }
  const double newest = kT0 + 1499 * 3600.0 / 20;
  for (int i = 0; i < 1500; ++i) {
    if (kT0 + i * 3600.0 / 20 >= newest - 86400) last_day.push_back(all[i]);
  }
  // Nothing committed or requested yet: a scrape serves no values (it computes nothing).
  EXPECT_FALSE(Served(t, "auc"));
  ASSERT_TRUE(t.Flush());
  const GroundTruthSnapshot background = t.WaitForRecompute();
  const GroundTruthSnapshot inline_snap = t.ComputeSnapshot();
  ASSERT_EQ(background.performance.size(), inline_snap.performance.size());
  for (std::size_t i = 0; i < inline_snap.performance.size(); ++i) {
    const PerformanceValue& a = background.performance[i];
    const PerformanceValue& b = inline_snap.performance[i];
    EXPECT_EQ(std::tie(a.version, a.segment, a.value, a.metric, a.window),
              std::tie(b.version, b.segment, b.value, b.metric, b.window));
    EXPECT_DOUBLE_EQ(a.value_number, b.value_number) << a.metric << " " << a.window;
  }
  EXPECT_EQ(background.match_ratio, inline_snap.match_ratio);
  EXPECT_NEAR(*Value(background, "v1", "auc", "30d"), BruteForceAuc(all), 1e-12);
  EXPECT_NEAR(*Value(background, "v1", "auc", "1d"), BruteForceAuc(last_day), 1e-12);
  EXPECT_NEAR(*Value(background, "v1", "auc", "30d", "eu"), BruteForceAuc(eu), 1e-12);
  EXPECT_NEAR(*Served(t, "auc"), BruteForceAuc(all), 1e-12);
  EXPECT_EQ(t.recompute_errors(), 0u);
}

TEST(GroundTruthRecomputeTest, ServesTheLastResultUntilTheNextCommit) {
  ScratchDir dir;
  auto opened = GroundTruthTracker::Open(BinaryModel(), dir.path(), Background());
  ASSERT_TRUE(opened) << opened.error().ToString();
  GroundTruthTracker& t = **opened;
  t.ObservePrediction(Scored("a", kT0, 0.9).View());
  t.ObservePrediction(Scored("b", kT0 + 1, 0.2).View());
  t.ObserveLabelLine(LabelLine("a", kT0 + 10, 1));
  t.ObserveLabelLine(LabelLine("b", kT0 + 10, 0));
  t.Flush();
  t.WaitForRecompute();
  EXPECT_EQ(Served(t, "auc"), 1.0);
  // A label that reverses the order: not served before Flush() commits it.
  t.ObservePrediction(Scored("c", kT0 + 2, 0.95).View());
  t.ObserveLabelLine(LabelLine("c", kT0 + 10, 0));
  EXPECT_EQ(Served(t, "auc"), 1.0);
  t.Flush();
  t.WaitForRecompute();
  EXPECT_EQ(Served(t, "auc"), 0.5);
}

// Peak RSS growth (kB) of recomputing a store of `rows` labelled predictions with a
// `memory_mb` budget, measured in a child process: -1 when /proc cannot measure it.
long PeakGrowthKb(const std::string& dir, int rows, int memory_mb) {
  ModelConfig m = BinaryModel();
  m.ground_truth->recompute_memory_mb = memory_mb;
  // The store is written in one child, recomputed in another, so that memory the writer
  // freed cannot hide the recomputation's.
  const pid_t writer = ::fork();
  if (writer == 0) {
    std::filesystem::create_directories(std::filesystem::path(dir) / "groundtruth");
    auto store = PredictionStore::Open(GroundTruthTracker::StorePath(dir, "fraud"), {});
    if (!store) ::_exit(1);
    std::mt19937_64 rng(rows);
    std::uniform_real_distribution<double> unit(0, 1);
    for (int i = 0; i < rows; ++i) {
      StoredPrediction p;
      p.key = static_cast<std::uint64_t>(i) + 1;
      p.timestamp = kT0 + i * 0.01;
      p.version = "v1";
      p.segments = "";  // not a null view: the column is NOT NULL
      p.prediction = unit(rng);
      (*store)->Insert(p);
      (*store)->LabelByKey(p.key, unit(rng) < p.prediction ? 1 : 0, p.timestamp + 60);
    }
    const bool ok = (*store)->Commit() && (*store)->CountPredictions() == rows;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(writer, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -2;
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t reader = ::fork();
  if (reader == 0) {
    ::close(fds[0]);
    auto kb = [](const std::string& key) {  // a "Vm...:" line of /proc/self/status, in kB
      std::ifstream in("/proc/self/status");
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
      }
      return -1L;
    };
    auto t = GroundTruthTracker::Open(m, dir, Background());
    long growth = -1;
    if (t) {
      std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM := VmRSS
      const long before = kb("VmRSS:");
      const long hwm = kb("VmHWM:");
      if (before > 0 && hwm >= before && hwm - before < 1024) {  // the reset worked
        (*t)->Flush();
        const GroundTruthSnapshot snap = (*t)->WaitForRecompute();
        growth = snap.performance.empty() ? -3 : kb("VmHWM:") - before;
      }
    }
    if (::write(fds[1], &growth, sizeof growth) != sizeof growth) ::_exit(1);
    ::_exit(0);
  }
  ::close(fds[1]);
  long growth = -1;
  if (::read(fds[0], &growth, sizeof growth) != sizeof growth) growth = -1;
  ::close(fds[0]);
  ::waitpid(reader, &status, 0);
  return growth;
}

TEST(GroundTruthRecomputeTest, PeakMemoryDoesNotGrowWithLabelledRows) {
  ScratchDir small, large;
  const long at_100k = PeakGrowthKb(small.path(), 100000, 4);
  const long at_400k = PeakGrowthKb(large.path(), 400000, 4);
  if (at_100k == -1 || at_400k == -1) GTEST_SKIP() << "peak RSS cannot be reset here";
  ASSERT_GE(at_100k, 0);
  ASSERT_GE(at_400k, 0);
  // Sorting in memory costs ~94 bytes per row: +28 MB for the 300 000 more rows. With the
  // 4 MB budget both stay near it; 8 MB is slack for the allocator and the thread.
  EXPECT_LT(at_400k, at_100k + 8 * 1024)
      << "100k rows: +" << at_100k << " kB, 400k rows: +" << at_400k << " kB";
  EXPECT_LT(at_400k, 16 * 1024);
  std::printf("peak RSS growth of a recomputation: 100k rows +%ld kB, 400k rows +%ld kB\n", at_100k,
              at_400k);
}

}  // namespace
}  // namespace modelwatch
