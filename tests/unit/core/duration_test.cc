#include "core/duration.h"

#include <gtest/gtest.h>

namespace modelwatch {
namespace {

TEST(DurationTest, ParsesSingleUnits) {
  EXPECT_EQ(ParseDuration("30s").value(), Seconds(30));
  EXPECT_EQ(ParseDuration("5m").value(), Seconds(300));
  EXPECT_EQ(ParseDuration("24h").value(), Seconds(86400));
  EXPECT_EQ(ParseDuration("30d").value(), Seconds(30 * 86400));
  EXPECT_EQ(ParseDuration("2w").value(), Seconds(14 * 86400));
}

TEST(DurationTest, ParsesCompoundInDecreasingOrder) {
  EXPECT_EQ(ParseDuration("1h30m").value(), Seconds(5400));
  EXPECT_EQ(ParseDuration("1d12h").value(), Seconds(36 * 3600));
  EXPECT_FALSE(ParseDuration("30m1h").has_value());
  EXPECT_FALSE(ParseDuration("1h1h").has_value());
}

TEST(DurationTest, RejectsMalformedZeroAndHuge) {
  for (const char* bad : {"", "0s", "0d", "-1h", "1", "h", "1.5h", "24hours", "1y", " 1h", "1h ",
                          "99999999999999999999s", "36600d"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
  EXPECT_NE(ParseDuration("1x").error().message.find("invalid duration \"1x\""), std::string::npos);
}

TEST(DurationTest, FormatsLikePrometheus) {
  EXPECT_EQ(FormatDuration(Seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(Seconds(86400)), "1d");
  EXPECT_EQ(FormatDuration(Seconds(7 * 86400)), "1w");
  EXPECT_EQ(FormatDuration(Seconds(30 * 86400)), "4w2d");
  EXPECT_EQ(FormatDuration(Seconds(0)), "0s");
  EXPECT_EQ(ParseDuration(FormatDuration(Seconds(93784))).value(), Seconds(93784));
}

}  // namespace
}  // namespace modelwatch
