#include <gtest/gtest.h>

#include <vector>

#include "exporter/stats/quantile.h"

namespace modelwatch {
namespace {

TEST(QuantileTest, MatchesNumpyLinear) {
  std::vector<double> x = {1, 1, 2, 3, 3, 4, 5, 5, 5, 6, 9};  // sorted [3,1,4,1,5,9,2,6,5,3,5]
  // numpy.quantile(x, [0.1, 0.25, 0.5, 0.9, 1/3]) = [1.0, 2.5, 4.0, 6.0, 3.0]
  EXPECT_DOUBLE_EQ(LinearQuantile(x, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(LinearQuantile(x, 0.25), 2.5);
  EXPECT_DOUBLE_EQ(LinearQuantile(x, 0.5), 4.0);
  EXPECT_DOUBLE_EQ(LinearQuantile(x, 0.9), 6.0);
  EXPECT_DOUBLE_EQ(LinearQuantile(x, 1.0 / 3), 3.0);
  EXPECT_DOUBLE_EQ(LinearQuantile(x, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(LinearQuantile(x, 1.0), 9.0);
  EXPECT_DOUBLE_EQ(LinearQuantile(std::vector<double>{7}, 0.3), 7.0);
}

TEST(QuantileTest, CutsMergeDuplicates) {
  const std::vector<double> x = {0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  const auto cuts = QuantileCuts(x, 10);
  // Levels 0.1..0.5 give 0; 0.6..0.9 give 0.4, 1.3, 2.2, 3.1.
  ASSERT_EQ(cuts.size(), 5u);
  EXPECT_EQ(cuts[0], 0.0);
  EXPECT_NEAR(cuts[1], 0.4, 1e-12);
  EXPECT_NEAR(cuts[4], 3.1, 1e-12);
}

TEST(QuantileTest, BinsAreClosedOnTheRight) {
  const std::vector<double> cuts = {1, 2, 3};
  EXPECT_EQ(BinIndex(cuts, 0.5), 0u);
  EXPECT_EQ(BinIndex(cuts, 1.0), 0u);  // equal to an edge: lower bin
  EXPECT_EQ(BinIndex(cuts, 1.5), 1u);
  EXPECT_EQ(BinIndex(cuts, 3.0), 2u);
  EXPECT_EQ(BinIndex(cuts, 3.5), 3u);
}

}  // namespace
}  // namespace modelwatch
