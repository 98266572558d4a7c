#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

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

// The files under `dir`, relative to it.
std::set<std::string> FilesUnder(const std::string& dir) {
  std::set<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.insert(std::filesystem::relative(e.path(), dir).string());
  }
  return files;
}

// Write() with the parts of `parts` (the other models keep their files).
Result<CheckpointWriter::Written> WriteParts(CheckpointWriter& writer, const nlohmann::json& state,
                                             const std::map<std::string, nlohmann::json>& parts,
                                             const std::vector<std::string>& models) {
  return writer.Write(state, models, [&](const std::string& m) -> std::optional<nlohmann::json> {
    auto it = parts.find(m);
    if (it == parts.end()) return std::nullopt;
    return it->second;
  });
}

TEST_F(CheckpointTest, MissingCheckpointIsNotAnError) {
  auto r = ReadCheckpoint(dir_);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
  auto nowhere = ReadCheckpoint(dir_ + "/does/not/exist");
  ASSERT_TRUE(nowhere.has_value());
  EXPECT_FALSE(nowhere->has_value());
}

TEST_F(CheckpointTest, RoundTripRewritesOnlyTheModelsGiven) {
  const std::string state_dir = dir_ + "/state";
  CheckpointWriter writer(state_dir, 0);
  const nlohmann::json state = {{"sources", {{"fraud", {{"offset", 12345678901234ULL}}}}},
                                {"models", {{"b", {{"labels", {{"offset", 7}}}}}}},
                                {"label", "Zürich"}};
  const nlohmann::json a1 = {{"drift", {1, 2, 3}}}, b1 = {{"drift", {4}}, {"serving", "x"}};
  auto w = WriteParts(writer, state, {{"a", a1}, {"b", b1}}, {"a", "b"});
  ASSERT_TRUE(w.has_value()) << w.error().ToString();
  EXPECT_EQ(w->parts_written, 2u);
  EXPECT_EQ(w->bytes_written, w->total_bytes);
  EXPECT_EQ(FilesUnder(state_dir),
            (std::set<std::string>{"checkpoint.json", "checkpoint.models/a.1.json",
                                   "checkpoint.models/b.1.json"}));
  auto r = ReadCheckpoint(state_dir);
  ASSERT_TRUE(r.has_value() && r->has_value()) << r.error().ToString();
  EXPECT_EQ((*r)->sequence, 1u);
  nlohmann::json want = state;
  want["models"]["a"] = a1;
  want["models"]["b"]["drift"] = b1["drift"];
  want["models"]["b"]["serving"] = b1["serving"];
  EXPECT_EQ((*r)->state, want);

  // Only a changed: b keeps its file, a's old file goes once the manifest names the new one.
  const nlohmann::json a2 = {{"drift", {9}}};
  w = WriteParts(writer, state, {{"a", a2}}, {"a", "b"});
  ASSERT_TRUE(w.has_value()) << w.error().ToString();
  EXPECT_EQ(w->parts_written, 1u);
  EXPECT_LT(w->bytes_written, w->total_bytes);
  EXPECT_EQ(FilesUnder(state_dir),
            (std::set<std::string>{"checkpoint.json", "checkpoint.models/a.2.json",
                                   "checkpoint.models/b.1.json"}));
  r = ReadCheckpoint(state_dir);
  ASSERT_TRUE(r.has_value() && r->has_value());
  want["models"]["a"] = a2;
  EXPECT_EQ((*r)->state, want);

  // A model no longer listed is dropped, its file removed; a model never saved needs a part.
  EXPECT_FALSE(WriteParts(writer, state, {}, {"a", "c"}).has_value());
  ASSERT_TRUE(WriteParts(writer, state, {}, {"a"}).has_value());
  EXPECT_EQ(FilesUnder(state_dir),
            (std::set<std::string>{"checkpoint.json", "checkpoint.models/a.2.json"}));
  EXPECT_FALSE(writer.HasPart("b"));

  // A new writer continues after the sequence restored, so it never replaces a named file.
  r = ReadCheckpoint(state_dir);
  ASSERT_TRUE(r.has_value() && r->has_value());
  CheckpointWriter restarted(state_dir, (*r)->sequence);
  ASSERT_TRUE(WriteParts(restarted, state, {{"a", a1}}, {"a"}).has_value());
  EXPECT_EQ(FilesUnder(state_dir),
            (std::set<std::string>{"checkpoint.json", "checkpoint.models/a.5.json"}));
}

TEST_F(CheckpointTest, CrashBeforeTheManifestLeavesThePreviousCheckpoint) {
  CheckpointWriter writer(dir_, 0);
  ASSERT_TRUE(WriteParts(writer, {{"n", 1}}, {{"a", {{"v", 1}}}}, {"a"}).has_value());
  // What a crash between a part and its manifest leaves: a part no manifest names.
  std::ofstream(dir_ + "/checkpoint.models/a.2.json") << "{\"model\":\"a\",\"sta";
  auto r = ReadCheckpoint(dir_);
  ASSERT_TRUE(r.has_value() && r->has_value());
  EXPECT_EQ((*r)->state["models"]["a"]["v"], 1);
  CheckpointWriter restarted(dir_, (*r)->sequence);
  ASSERT_TRUE(WriteParts(restarted, {{"n", 2}}, {{"a", {{"v", 2}}}}, {"a"}).has_value());
  EXPECT_EQ(FilesUnder(dir_),
            (std::set<std::string>{"checkpoint.json", "checkpoint.models/a.2.json"}));
  r = ReadCheckpoint(dir_);
  ASSERT_TRUE(r.has_value() && r->has_value());
  EXPECT_EQ((*r)->state["models"]["a"]["v"], 2);
}

TEST_F(CheckpointTest, FormatVersionOneIsStillRead) {
  std::ofstream(CheckpointPath(dir_)) << R"({"format_version":1,"state":{"models":{"a":{}}}})";
  auto r = ReadCheckpoint(dir_);
  ASSERT_TRUE(r.has_value() && r->has_value());
  EXPECT_EQ((*r)->state, nlohmann::json::parse(R"({"models":{"a":{}}})"));
  EXPECT_EQ((*r)->sequence, 0u);
}

TEST_F(CheckpointTest, CorruptCheckpointIsAnError) {
  std::ofstream(CheckpointPath(dir_)) << "{\"format_version\":1,\"state\":{\"a\":";
  EXPECT_FALSE(ReadCheckpoint(dir_).has_value());
  std::ofstream(CheckpointPath(dir_)) << "{\"format_version\":99,\"state\":{}}";
  EXPECT_FALSE(ReadCheckpoint(dir_).has_value());
  // A manifest naming a missing part, a part of another model, or a file elsewhere.
  std::filesystem::create_directories(dir_ + "/checkpoint.models");
  std::ofstream(dir_ + "/checkpoint.models/b.1.json") << R"({"model":"b","state":{}})";
  std::ofstream(dir_ + "/x.json") << R"({"model":"a","state":{}})";
  for (const char* named : {"a.1.json", "b.1.json", "../x.json", "a.json", "A.1.json"}) {
    std::ofstream(CheckpointPath(dir_))
        << R"({"format_version":2,"sequence":1,"state":{},"parts":{"a":")" << named << "\"}}";
    EXPECT_FALSE(ReadCheckpoint(dir_).has_value()) << named;
  }
  std::ofstream(CheckpointPath(dir_))
      << R"({"format_version":2,"sequence":1,"state":{},"parts":{"b":"b.1.json"}})";
  EXPECT_TRUE(ReadCheckpoint(dir_).has_value());
}

TEST_F(CheckpointTest, UnwritableDirectoryFailsAndKeepsThePreviousCheckpoint) {
  if (geteuid() == 0) {
    // root writes anywhere; use a path under a regular file instead.
    std::ofstream(dir_ + "/file") << "x";
    CheckpointWriter writer(dir_ + "/file/sub", 0);
    EXPECT_FALSE(WriteParts(writer, {{"a", 1}}, {{"m", {}}}, {"m"}).has_value());
    // A part directory that cannot be created: the checkpoint before stays whole.
    CheckpointWriter ok(dir_ + "/state", 0);
    ASSERT_TRUE(WriteParts(ok, {{"n", 1}}, {{"m", {{"v", 1}}}}, {"m"}).has_value());
    std::filesystem::remove_all(dir_ + "/state/checkpoint.models");
    std::ofstream(dir_ + "/state/checkpoint.models") << "x";
    EXPECT_FALSE(WriteParts(ok, {{"n", 2}}, {{"m", {{"v", 2}}}}, {"m"}).has_value());
    auto r = ReadCheckpoint(dir_ + "/state");
    EXPECT_FALSE(r.has_value());  // its part is gone (removed above), not half-replaced
    return;
  }
  std::filesystem::permissions(
      dir_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  CheckpointWriter writer(dir_, 0);
  EXPECT_FALSE(WriteParts(writer, {{"a", 1}}, {{"m", {}}}, {"m"}).has_value());
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
}

}  // namespace
}  // namespace modelwatch
