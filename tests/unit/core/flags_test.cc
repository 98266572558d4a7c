#include "core/flags.h"

#include <gtest/gtest.h>

namespace modelwatch {
namespace {

FlagParser MakeParser() {
  return FlagParser("prog [flags]", "Does things.",
                    {{"config.dir", "config directory", "", false, true},
                     {"web.listen-address", "address", ":9841", false, false},
                     {"update", "rewrite", "", true, false}});
}

TEST(FlagParserTest, ParsesBothValueForms) {
  FlagParser p = MakeParser();
  ASSERT_TRUE(p.Parse({"--config.dir=models", "--web.listen-address", "127.0.0.1:1"}));
  EXPECT_EQ(p.Get("config.dir"), "models");
  EXPECT_EQ(p.Get("web.listen-address"), "127.0.0.1:1");
  EXPECT_FALSE(p.GetBool("update"));
}

TEST(FlagParserTest, AppliesDefaultsAndBools) {
  FlagParser p = MakeParser();
  ASSERT_TRUE(p.Parse({"--config.dir=m", "--update"}));
  EXPECT_EQ(p.Get("web.listen-address"), ":9841");
  EXPECT_TRUE(p.GetBool("update"));
}

TEST(FlagParserTest, SuggestsNearMissAndRejectsMissingRequired) {
  FlagParser p = MakeParser();
  auto r = p.Parse({"--config.dri=m"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "unknown flag --config.dri (did you mean --config.dir?)");
  FlagParser q = MakeParser();
  auto missing = q.Parse({});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "missing required flag --config.dir");
  FlagParser z = MakeParser();
  EXPECT_FALSE(z.Parse({"--config.dir"}));
  FlagParser pos = MakeParser();
  EXPECT_FALSE(pos.Parse({"--config.dir=x", "stray"}));
}

TEST(FlagParserTest, HelpListsEveryFlag) {
  FlagParser p = MakeParser();
  ASSERT_TRUE(p.Parse({"--help"}));
  EXPECT_TRUE(p.help_requested());
  std::string help = p.Help();
  EXPECT_NE(help.find("--config.dir"), std::string::npos);
  EXPECT_NE(help.find("(default: :9841)"), std::string::npos);
}

TEST(SuggestTest, OnlyNearMisses) {
  EXPECT_EQ(Suggest("drfit", {"drift", "slo"}).value(), "drift");
  EXPECT_FALSE(Suggest("zzzzzz", {"drift", "slo"}).has_value());
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
}

}  // namespace
}  // namespace modelwatch
