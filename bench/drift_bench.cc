// Micro benchmarks of the drift statistics and the per-model tracker.
//
//   BM_DriftTracker_Observe   one record (10 numeric + 5 categorical features, binary
//                             score) into two windows, with a baseline
//   BM_DriftTracker_Snapshot  computing every gauge of one model (a scrape)
//   BM_Drift_ComputePsi / Js  10 bins
//   BM_Drift_ComputeKsFine / WassersteinFine  ~400 fine bins
//   BM_Baseline_SummariseNumeric  100k reference values
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "exporter/baseline/baseline_builder.h"
#include "exporter/drift/drift_math.h"
#include "exporter/drift/drift_tracker.h"

namespace modelwatch {
namespace {

constexpr int kNumeric = 20;
constexpr int kCategorical = 5;
const char* const kCategories[] = {"a", "b", "c", "d", "e", "f", "g", "h"};

ModelConfig BenchModel() {
  ModelConfig m;
  m.name = "bench";
  m.task = Task::kBinaryClassification;
  for (int i = 0; i < kNumeric; ++i) {
    m.features.push_back({"n" + std::to_string(i), FeatureType::kNumeric, false, false, {}});
  }
  for (int i = 0; i < kCategorical; ++i) {
    m.features.push_back({"c" + std::to_string(i), FeatureType::kCategorical, false, false, {}});
  }
  m.drift.windows = {{"1h", Seconds(3600)}, {"24h", Seconds(86400)}};
  m.drift.min_samples = 100;
  return m;
}

std::vector<Record> MakeRecords(int n, double shift, double t0, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(shift, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<Record> records(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Record& r = records[static_cast<std::size_t>(i)];
    r.timestamp = t0 + i * 0.01;
    r.version = "v1";
    r.has_score = true;
    r.score = uniform(rng);
    r.predicted_class = r.score >= 0.5 ? "1" : "0";
    r.features.resize(kNumeric + kCategorical);
    for (int f = 0; f < kNumeric; ++f) {
      r.features[static_cast<std::size_t>(f)].kind = FeatureValue::Kind::kNumber;
      r.features[static_cast<std::size_t>(f)].number = normal(rng);
    }
    for (int f = 0; f < kCategorical; ++f) {
      auto& v = r.features[static_cast<std::size_t>(kNumeric + f)];
      v.kind = FeatureValue::Kind::kString;
      v.text = kCategories[rng() % 8];
    }
  }
  return records;
}

std::shared_ptr<const BaselineProfile> BenchBaseline(const ModelConfig& m) {
  BaselineBuilder b(m);
  for (const auto& r : MakeRecords(50000, 0, 1.7e9, 1)) b.Add(r);
  return std::make_shared<const BaselineProfile>(*b.Finish());
}

void BM_DriftTracker_Observe(benchmark::State& state) {
  const ModelConfig m = BenchModel();
  DriftTracker tracker(m, BenchBaseline(m));
  std::vector<Record> records = MakeRecords(1 << 14, 0.2, 1.8e9, 2);
  std::size_t i = 0;
  double t = 1.8e9;
  for (auto _ : state) {
    Record& r = records[i++ & (records.size() - 1)];
    r.timestamp = (t += 0.01);  // event time moves forward: sub-windows rotate as live
    tracker.Observe(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DriftTracker_Observe);

void BM_DriftTracker_Snapshot(benchmark::State& state) {
  const ModelConfig m = BenchModel();
  DriftTracker tracker(m, BenchBaseline(m));
  for (const auto& r : MakeRecords(100000, 0.2, 1.8e9, 3)) tracker.Observe(r);
  for (auto _ : state) benchmark::DoNotOptimize(tracker.Snapshot());
}
BENCHMARK(BM_DriftTracker_Snapshot)->Unit(benchmark::kMillisecond);

std::vector<double> Proportions(int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  std::vector<double> p(static_cast<std::size_t>(n));
  double sum = 0;
  for (double& x : p) sum += (x = u(rng));
  for (double& x : p) x /= sum;
  return p;
}

void BM_Drift_ComputePsi(benchmark::State& state) {
  const auto p = Proportions(10, 1);
  const auto q = Proportions(10, 2);
  for (auto _ : state) benchmark::DoNotOptimize(ComputePsi(p, q));
}
BENCHMARK(BM_Drift_ComputePsi);

void BM_Drift_ComputeJs(benchmark::State& state) {
  const auto p = Proportions(10, 1);
  const auto q = Proportions(10, 2);
  for (auto _ : state) benchmark::DoNotOptimize(ComputeJsDistance(p, q));
}
BENCHMARK(BM_Drift_ComputeJs);

struct FineFixture {
  std::vector<double> cuts, mass_a, mean_a, mass_b, mean_b;
  FineFixture() {
    const int n = 400;
    for (int i = 0; i < n; ++i) cuts.push_back(i);
    mass_a = Proportions(n + 1, 1);
    mass_b = Proportions(n + 1, 2);
    for (int i = 0; i <= n; ++i) {
      mean_a.push_back(i - 0.3);
      mean_b.push_back(i - 0.6);
    }
  }
};

void BM_Drift_ComputeKsFine(benchmark::State& state) {
  FineFixture f;
  const FineDistribution a{f.cuts, f.mass_a, f.mean_a};
  const FineDistribution b{f.cuts, f.mass_b, f.mean_b};
  for (auto _ : state) benchmark::DoNotOptimize(ComputeKsFine(a, b));
}
BENCHMARK(BM_Drift_ComputeKsFine);

void BM_Drift_ComputeWassersteinFine(benchmark::State& state) {
  FineFixture f;
  const FineDistribution a{f.cuts, f.mass_a, f.mean_a};
  const FineDistribution b{f.cuts, f.mass_b, f.mean_b};
  for (auto _ : state) benchmark::DoNotOptimize(ComputeWassersteinFine(a, b));
}
BENCHMARK(BM_Drift_ComputeWassersteinFine);

void BM_Baseline_SummariseNumeric(benchmark::State& state) {
  std::mt19937 rng(4);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> values(100000);
  for (double& v : values) v = normal(rng);
  for (auto _ : state)
    benchmark::DoNotOptimize(SummariseNumeric(values, 10, kDefaultFineQuantiles));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(values.size()));
}
BENCHMARK(BM_Baseline_SummariseNumeric)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace modelwatch
