#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "exporter/stats/bin_locator.h"
#include "exporter/stats/quantile.h"

namespace modelwatch {
namespace {

void ExpectSameAsBinIndex(const std::vector<double>& cuts, std::size_t cells, std::uint32_t seed) {
  const BinLocator locator(cuts, cells);
  std::vector<double> probes = {
      -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
      std::numeric_limits<double>::lowest(), std::numeric_limits<double>::max()};
  for (double c : cuts) {
    probes.push_back(c);
    probes.push_back(std::nextafter(c, -INFINITY));
    probes.push_back(std::nextafter(c, INFINITY));
  }
  std::mt19937 rng(seed);
  probes.push_back(std::nan(""));
  if (std::isfinite(cuts.back() - cuts.front() + 2)) {
    std::uniform_real_distribution<double> u(cuts.front() - 1, cuts.back() + 1);
    for (int i = 0; i < 20000; ++i) probes.push_back(u(rng));
  }
  for (double x : probes) {
    ASSERT_EQ(locator.Find(x), BinIndex(cuts, x)) << "x=" << x;
  }
}

TEST(BinLocatorTest, AgreesWithBinarySearchOnNormalQuantiles) {
  std::mt19937 rng(1);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> values(20000);
  for (double& v : values) v = normal(rng);
  std::sort(values.begin(), values.end());
  std::vector<double> cuts;
  for (int k = 0; k <= 400; ++k) cuts.push_back(LinearQuantile(values, k / 400.0));
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  ExpectSameAsBinIndex(cuts, 1024, 2);
  ExpectSameAsBinIndex(cuts, 3, 3);
}

TEST(BinLocatorTest, AgreesOnHeavyTailsAndTinyAndHugeRanges) {
  std::vector<double> heavy = {0.001, 0.002, 0.003, 0.01, 0.1, 1, 10, 1e3, 1e6, 1e9};
  ExpectSameAsBinIndex(heavy, 1024, 4);
  std::vector<double> tiny = {1.0, std::nextafter(1.0, 2.0),
                              std::nextafter(std::nextafter(1.0, 2.0), 2.0)};
  ExpectSameAsBinIndex(tiny, 1024, 5);
  std::vector<double> huge = {-1e308, 0, 1e308};
  ExpectSameAsBinIndex(huge, 1024, 6);
  ExpectSameAsBinIndex({42.0}, 1024, 7);
}

TEST(BinLocatorTest, EmptyCutsGiveOneBin) {
  const std::vector<double> none;
  const BinLocator locator(none);
  EXPECT_EQ(locator.Find(3.0), 0u);
}

}  // namespace
}  // namespace modelwatch
