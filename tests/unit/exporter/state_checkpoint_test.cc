#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "exporter/state/checkpoint.h"

namespace modelwatch {
namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/checkpoint_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(CheckpointTest, MissingCheckpointIsNotAnError) {
  auto r = ReadCheckpoint(dir_);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
  auto nowhere = ReadCheckpoint(dir_ + "/does/not/exist");
  ASSERT_TRUE(nowhere.has_value());
  EXPECT_FALSE(nowhere->has_value());
}

TEST_F(CheckpointTest, RoundTripReplacesAtomically) {
  nlohmann::json a = {{"sources", {{"fraud", {{"offset", 12345678901234ULL}}}}},
                      {"label", "Zürich"}};
  auto w = WriteCheckpoint(dir_ + "/state", a);
  ASSERT_TRUE(w.has_value()) << w.error().ToString();
  EXPECT_GT(*w, 0u);
  auto r = ReadCheckpoint(dir_ + "/state");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, a);

  nlohmann::json b = {{"n", 2}};
  ASSERT_TRUE(WriteCheckpoint(dir_ + "/state", b));
  r = ReadCheckpoint(dir_ + "/state");
  ASSERT_TRUE(r.has_value() && r->has_value());
  EXPECT_EQ(**r, b);
  // No temporary file is left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/state")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(CheckpointTest, CorruptCheckpointIsAnError) {
  std::ofstream(CheckpointPath(dir_)) << "{\"format_version\":1,\"state\":{\"a\":";
  EXPECT_FALSE(ReadCheckpoint(dir_).has_value());
  std::ofstream(CheckpointPath(dir_)) << "{\"format_version\":99,\"state\":{}}";
  EXPECT_FALSE(ReadCheckpoint(dir_).has_value());
}

TEST_F(CheckpointTest, UnwritableDirectoryFails) {
  if (geteuid() == 0) {
    // root writes anywhere; use a path under a regular file instead.
    std::ofstream(dir_ + "/file") << "x";
    EXPECT_FALSE(WriteCheckpoint(dir_ + "/file/sub", {{"a", 1}}).has_value());
    return;
  }
  std::filesystem::permissions(
      dir_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  EXPECT_FALSE(WriteCheckpoint(dir_, {{"a", 1}}).has_value());
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
}

}  // namespace
}  // namespace modelwatch
