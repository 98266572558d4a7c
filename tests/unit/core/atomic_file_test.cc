#include "core/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/temp_dir.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

TempDir MakeDir() {
  auto dir = TempDir::Create("atomic-file-test");
  if (!dir) throw std::runtime_error(dir.error().message);
  return std::move(*dir);
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFileTest, ReplacesTheFileAndLeavesNothingElse) {
  TempDir dir = MakeDir();
  const std::string path = dir.path() + "/out.json";
  ASSERT_TRUE(WriteFileAtomically(path, "old\n").has_value());
  auto ok = WriteFileAtomically(path, "new content\n");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(Slurp(path), "new content\n");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"out.json"});
}

TEST(AtomicFileTest, GivesTheModeLessTheUmask) {
  TempDir dir = MakeDir();
  const std::string path = dir.path() + "/key";
  const mode_t old = ::umask(022);
  ASSERT_TRUE(WriteFileAtomically(path, "secret", 0600).has_value());
  ASSERT_TRUE(WriteFileAtomically(path + "2", "public", 0666).has_value());
  ::umask(old);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(path + "2").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
}

TEST(AtomicFileTest, AnUncommittedWriterLeavesTheTargetAsItWas) {
  TempDir dir = MakeDir();
  const std::string path = dir.path() + "/state";
  ASSERT_TRUE(WriteFileAtomically(path, "before").has_value());
  {
    auto writer = AtomicFileWriter::Create(path);
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE(writer->Write("half of the new").has_value());
    EXPECT_EQ(Slurp(path), "before");  // readers never see a part
  }
  EXPECT_EQ(Slurp(path), "before");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"state"});
}

TEST(AtomicFileTest, StreamsPiecesAndIsSpentAfterCommit) {
  TempDir dir = MakeDir();
  const std::string path = dir.path() + "/om";
  auto writer = AtomicFileWriter::Create(path);
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE(writer->Write("a").has_value());
  ASSERT_TRUE(writer->Write(std::string(100000, 'b')).has_value());
  ASSERT_TRUE(writer->Commit().has_value());
  EXPECT_EQ(Slurp(path), "a" + std::string(100000, 'b'));
  EXPECT_FALSE(writer->Write("c").has_value());
  EXPECT_FALSE(writer->Commit().has_value());
  EXPECT_EQ(Slurp(path).size(), 100001u);
}

TEST(AtomicFileTest, ATemporaryFileLeftByACrashIsReplacedNotPiledUp) {
  TempDir dir = MakeDir();
  const std::string path = dir.path() + "/checkpoint.json";
  { std::ofstream(path + ".tmp") << "torn write from a killed process"; }
  ::chmod((path + ".tmp").c_str(), 0400);  // even one the writer could not open for writing
  ASSERT_TRUE(WriteFileAtomically(path, "{}").has_value());
  EXPECT_EQ(Slurp(path), "{}");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"checkpoint.json"});
}

TEST(AtomicFileTest, FailuresNameTheFileAndChangeNothing) {
  TempDir dir = MakeDir();
  auto missing = WriteFileAtomically(dir.path() + "/no/such/dir/file", "x");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("/no/such/dir/file.tmp"), std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos);

  // The target is a directory: rename fails after the content was written and flushed.
  const std::string target = dir.path() + "/taken";
  fs::create_directories(target + "/inside");
  auto taken = WriteFileAtomically(target, "x");
  ASSERT_FALSE(taken.has_value());
  EXPECT_NE(taken.error().message.find("cannot rename"), std::string::npos)
      << taken.error().message;
  EXPECT_TRUE(fs::is_directory(target + "/inside"));
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"taken"});
}

// A directory `<dir>/<name>` holding `files` (name -> content), written in full.
std::string MakeTree(const std::string& dir, const std::string& name,
                     const std::vector<std::pair<std::string, std::string>>& files) {
  const fs::path root = fs::path(dir) / name;
  fs::create_directories(root);
  for (const auto& [file, content] : files) {
    fs::create_directories((root / file).parent_path());
    std::ofstream(root / file, std::ios::binary) << content;
  }
  return root.string();
}

TEST(ReplaceDirectoryTest, TheTargetHoldsTheWholeNewTreeAndNothingIsLeftBeside) {
  TempDir dir = MakeDir();
  const std::string target = MakeTree(dir.path(), "out", {{"a/old.yml", "old\n"}, {"b", "b"}});
  const std::string staged = MakeTree(dir.path(), ".out.new", {{"a/x.yml", "x\n"}, {"c", "c"}});
  auto ok = ReplaceDirectoryAtomically(staged, target);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(Names(target), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(Names(target + "/a"), std::vector<std::string>{"x.yml"});
  EXPECT_EQ(Slurp(target + "/a/x.yml"), "x\n");
  EXPECT_EQ(Slurp(target + "/c"), "c");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"out"});  // the old tree is gone
}

TEST(ReplaceDirectoryTest, AMissingTargetIsCreated) {
  TempDir dir = MakeDir();
  const std::string staged = MakeTree(dir.path(), ".gen.new", {{"rules/m.yml", "m"}});
  auto ok = ReplaceDirectoryAtomically(staged, dir.path() + "/gen");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(Slurp(dir.path() + "/gen/rules/m.yml"), "m");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"gen"});
}

TEST(ReplaceDirectoryTest, ATargetThatIsNotADirectoryIsLeftAsItWas) {
  TempDir dir = MakeDir();
  const std::string target = dir.path() + "/gen";
  { std::ofstream(target) << "a file"; }
  const std::string staged = MakeTree(dir.path(), ".gen.new", {{"x", "x"}});
  auto failed = ReplaceDirectoryAtomically(staged, target);
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().message.find("not a directory"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(Slurp(target), "a file");
  EXPECT_EQ(Slurp(staged + "/x"), "x");  // left to the caller
}

TEST(ReplaceDirectoryTest, AParentThatCannotBeWrittenFailsAndKeepsTheOldTree) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores permissions";
  TempDir dir = MakeDir();
  const std::string parent = dir.path() + "/locked";
  const std::string target = MakeTree(parent, "out", {{"old", "old"}});
  const std::string staged = MakeTree(parent, ".out.new", {{"new", "new"}});
  ::chmod(parent.c_str(), 0500);
  auto failed = ReplaceDirectoryAtomically(staged, target);
  ::chmod(parent.c_str(), 0700);
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().message.find(target), std::string::npos) << failed.error().message;
  EXPECT_NE(failed.error().message.find("Permission denied"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(Names(target), std::vector<std::string>{"old"});
  EXPECT_EQ(Slurp(target + "/old"), "old");
}

TEST(ReplaceDirectoryTest, SyncFailuresNameThePath) {
  TempDir dir = MakeDir();
  auto file = SyncFile(dir.path() + "/missing");
  ASSERT_FALSE(file.has_value());
  EXPECT_NE(file.error().message.find("cannot open " + dir.path() + "/missing: No such file"),
            std::string::npos)
      << file.error().message;
  auto directory = SyncDirectory(dir.path() + "/missing");
  ASSERT_FALSE(directory.has_value());
  EXPECT_NE(directory.error().message.find("cannot open the directory " + dir.path()),
            std::string::npos)
      << directory.error().message;
  EXPECT_TRUE(SyncDirectory(dir.path()).has_value());
  // A missing staged tree: nothing is renamed and the target stays.
  const std::string target = MakeTree(dir.path(), "out", {{"kept", "kept"}});
  EXPECT_FALSE(ReplaceDirectoryAtomically(dir.path() + "/.out.missing", target).has_value());
  EXPECT_EQ(Slurp(target + "/kept"), "kept");
}

}  // namespace
}  // namespace modelwatch
