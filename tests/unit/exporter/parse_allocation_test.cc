// The parser, the serving aggregator and the sample of recent records allocate nothing per
// record once warm. Counted by replacing the global operator new for this test binary
// (counting only while enabled).
#if defined(__GNUC__) && !defined(__clang__)
// The replacement operators below pair malloc with free; gcc cannot see that through inlining.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "exporter/aggregate/serving_aggregator.h"
#include "exporter/parse/record_parser.h"
#include "exporter/sample/recent_records.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace modelwatch {
namespace {

TEST(ParseAllocationTest, NoAllocationPerRecordOnceWarm) {
  ModelConfig m;
  m.name = "fraud";
  m.task = Task::kBinaryClassification;
  m.features = {{"amount", FeatureType::kNumeric, false, true, {}},
                {"country", FeatureType::kCategorical, false, false, {}},
                {"age", FeatureType::kNumeric, false, false, {}}};
  RecordParser parser({&m});
  ServingAggregator agg(m, DefaultLatencyBuckets());
  RecentRecords recent(m, 50, 3);  // kept records are copied into reused ring slots
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) {
    lines.push_back(R"({"ts":"2026-11-22T10:00:00.123Z","model_version":"v)" +
                    std::to_string(i % 3) + R"(","request_id":"r)" + std::to_string(i) +
                    R"(","latency_ms":)" + std::to_string(i) + R"(,"score":0.)" +
                    std::to_string(i % 10) + R"(,"status":")" + (i % 7 ? "ok" : "timeout") +
                    R"(","features":{"amount":)" + (i % 5 ? std::to_string(i) : "NaN") +
                    R"(,"country":"DE","age":33,"extra":[1,{"a":null}]},"segment":{"r":"eu"}})");
  }
  auto run = [&] {
    for (const std::string& line : lines) {
      auto r = parser.Parse(line);
      ASSERT_TRUE(r.has_value()) << line;
      agg.Observe(parser.record());
      recent.Observe(parser.record());
    }
  };
  g_counting = true;
  run();  // warm: buffers grow, versions/classes/error types are interned
  g_counting = false;
  EXPECT_GT(g_allocations.load(), 0);  // the counter does see allocations
  g_allocations = 0;
  g_counting = true;
  run();
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(agg.predictions(), 400u);
  EXPECT_EQ(recent.size(), 50u);
}

}  // namespace
}  // namespace modelwatch
