// Prediction-store throughput: inserts per second into the SQLite (WAL) store, directly and
// through GroundTruthTracker::ObservePrediction (keyed hashing, caps, sampling included), and
// the cost of a window recomputation.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "exporter/groundtruth/ground_truth_tracker.h"
#include "exporter/groundtruth/keyed_hash.h"
#include "exporter/groundtruth/prediction_store.h"

namespace modelwatch {
namespace {

std::string TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "mw-store-bench-XXXXXX").string();
  return ::mkdtemp(templ.data());
}

// Inserts into a store that holds state.range(0) predictions already (stored before the
// timing starts): the cost of the random-key index grows once it outgrows the page cache.
void BM_PredictionStore_Insert(benchmark::State& state) {
  const std::string dir = TempDir();
  auto store = PredictionStore::Open(dir + "/bench.sqlite", {});
  if (!store) {
    state.SkipWithError(store.error().ToString().c_str());
    return;
  }
  std::mt19937_64 rng(1);
  double ts = 1795939200;
  auto insert = [&] {
    StoredPrediction p;
    p.key = rng();
    p.entity = rng();
    p.timestamp = ts += 0.001;
    p.version = "v3";
    p.prediction = static_cast<double>(rng() % 1000) / 1000;
    p.segments = "eu\x1fios";
    return (*store)->Insert(p);
  };
  for (std::int64_t i = 0; i < state.range(0); ++i) insert();
  (*store)->Commit();
  std::int64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(insert());
    ++n;
  }
  (*store)->Commit();
  state.SetItemsProcessed(n);
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PredictionStore_Insert)
    ->Arg(0)
    ->Arg(1000000)
    ->Arg(4000000)
    ->Iterations(500000)
    ->Unit(benchmark::kNanosecond);

void BM_GroundTruthTracker_ObservePrediction(benchmark::State& state) {
  const std::string dir = TempDir();
  ModelConfig m;
  m.name = "bench";
  GroundTruthConfig gt;
  gt.segments = {"region"};
  gt.sample_rate = state.range(0) / 100.0;
  m.ground_truth = gt;
  auto tracker = GroundTruthTracker::Open(m, dir);
  if (!tracker) {
    state.SkipWithError(tracker.error().ToString().c_str());
    return;
  }
  std::mt19937_64 rng(2);
  std::vector<std::string> ids(1 << 16);
  for (auto& id : ids) id = "req-" + std::to_string(rng()) + "-" + std::to_string(rng());
  Record r;
  r.version = "v3";
  r.has_score = true;
  r.segment = {{"region", "eu"}, {"device", "ios"}};
  double ts = 1795939200;
  std::size_t i = 0;
  std::int64_t n = 0;
  for (auto _ : state) {
    // Unique ids: the suffix changes every pass over the id table.
    const std::string id = ids[i % ids.size()] + std::to_string(i / ids.size());
    r.request_id = id;
    r.timestamp = ts += 0.001;
    r.score = static_cast<double>(rng() % 1000) / 1000;
    (*tracker)->ObservePrediction(r);
    ++i;
    ++n;
  }
  (*tracker)->Flush();
  state.SetItemsProcessed(n);
  tracker->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_GroundTruthTracker_ObservePrediction)
    ->Arg(100)
    ->Arg(10)
    ->Iterations(300000)
    ->Unit(benchmark::kNanosecond);

void BM_GroundTruthTracker_ComputeSnapshot(benchmark::State& state) {
  const std::string dir = TempDir();
  ModelConfig m;
  m.name = "bench";
  GroundTruthConfig gt;
  gt.segments = {"region"};
  gt.windows = {{"1d", Seconds(86400)}, {"30d", Seconds(30 * 86400)}};
  m.ground_truth = gt;
  auto tracker = GroundTruthTracker::Open(m, dir, {});
  if (!tracker) {
    state.SkipWithError(tracker.error().ToString().c_str());
    return;
  }
  std::mt19937_64 rng(3);
  const char* regions[] = {"eu", "us", "apac"};
  Record r;
  r.version = "v3";
  r.has_score = true;
  const int n = static_cast<int>(state.range(0));
  for (int i = 0; i < n; ++i) {
    const std::string id = "req-" + std::to_string(i);
    r.request_id = id;
    r.timestamp = 1795939200 + i * (30.0 * 86400 / n);
    r.score = static_cast<double>(rng() % 1000) / 1000;
    r.segment = {{"region", regions[i % 3]}};
    (*tracker)->ObservePrediction(r);
    const std::string label = "{\"ts\":" + std::to_string(r.timestamp + 60) + ",\"request_id\":\"" +
                              id + "\",\"label\":" + std::to_string(rng() % 2) + "}";
    (*tracker)->ObserveLabelLine(label);
  }
  (*tracker)->Flush();
  for (auto _ : state) benchmark::DoNotOptimize((*tracker)->ComputeSnapshot());
  state.SetItemsProcessed(state.iterations() * n);
  tracker->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_GroundTruthTracker_ComputeSnapshot)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace modelwatch
