#include "exporter/stats/window_clock.h"

#include <gtest/gtest.h>

#include <vector>

namespace modelwatch {
namespace {

using Placement = WindowClock::Placement;

TEST(WindowClockTest, WindowEndsAtNewestEventAndSlidesBySubWindows) {
  WindowClock clock(Seconds(3600), 12, Seconds(300));  // 5-minute sub-windows
  std::vector<int> cleared;
  auto clear = [&](int s) { cleared.push_back(s); };
  int slot = -1;
  EXPECT_EQ(clock.Place(36000 + 10, &slot, clear), Placement::kInWindow);  // sub-window 120
  EXPECT_EQ(slot, 0);
  EXPECT_DOUBLE_EQ(clock.start(), 36000 - 11 * 300);
  EXPECT_TRUE(cleared.empty());
  // Two sub-windows later: 121 and 122 are cleared before use.
  EXPECT_EQ(clock.Place(36000 + 610, &slot, clear), Placement::kInWindow);
  EXPECT_EQ(slot, 2);
  EXPECT_EQ(cleared, (std::vector<int>{1, 2}));
  EXPECT_DOUBLE_EQ(clock.end(), 36610);
  // An older record still inside the window goes to its own sub-window.
  EXPECT_EQ(clock.Place(36000 - 5, &slot, clear), Placement::kInWindow);
  EXPECT_EQ(slot, 11);
  EXPECT_DOUBLE_EQ(clock.end(), 36610);  // never moves backwards
}

TEST(WindowClockTest, LatenessSeparatesOutsideFromLate) {
  WindowClock clock(Seconds(3600), 12, Seconds(300));
  int slot = -1;
  auto clear = [](int) {};
  clock.Place(36000, &slot, clear);
  const double start = clock.start();  // 32700
  EXPECT_EQ(clock.Place(start, &slot, clear), Placement::kInWindow);
  EXPECT_EQ(clock.Place(start - 1, &slot, clear), Placement::kOutside);
  EXPECT_EQ(clock.Place(start - 300, &slot, clear), Placement::kOutside);
  EXPECT_EQ(clock.Place(start - 300.5, &slot, clear), Placement::kLate);
}

TEST(WindowClockTest, LongGapClearsEverySlotOnce) {
  WindowClock clock(Seconds(60), 6, Seconds(0));
  std::vector<int> cleared;
  int slot = -1;
  clock.Place(1000, &slot, [&](int s) { cleared.push_back(s); });
  clock.Place(1000 + 86400, &slot, [&](int s) { cleared.push_back(s); });
  ASSERT_EQ(cleared.size(), 6u);
  std::vector<int> sorted = cleared;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST(WindowClockTest, NegativeAndHugeTimestampsStayInRange) {
  WindowClock clock(Seconds(60), 7, Seconds(0));
  int slot = -1;
  auto clear = [&](int s) { ASSERT_TRUE(s >= 0 && s < 7); };
  EXPECT_EQ(clock.Place(-123.4, &slot, clear), Placement::kInWindow);
  EXPECT_TRUE(slot >= 0 && slot < 7);
  EXPECT_EQ(clock.Place(1e300, &slot, clear), Placement::kInWindow);
  EXPECT_TRUE(slot >= 0 && slot < 7);
  EXPECT_EQ(clock.Place(5, &slot, clear), Placement::kLate);
}

}  // namespace
}  // namespace modelwatch
