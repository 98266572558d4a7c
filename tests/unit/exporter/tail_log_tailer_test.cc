#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "exporter/tail/log_tailer.h"
#include "tests/unit/scratch_dir.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ScratchDir;

// Appends through a fresh O_APPEND descriptor, like a writer that reopens per write.
void Append(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
}

// A writer holding its descriptor across renames, like an application between logrotate's
// rename and its reopen.
class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path) { Reopen(); }
  ~Writer() {
    if (fd_ >= 0) close(fd_);
  }
  void Reopen() {
    if (fd_ >= 0) close(fd_);
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) std::abort();
  }
  void Write(const std::string& text) {
    if (write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) std::abort();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::string Lines(int from, int to, const std::string& prefix = "line ") {
  std::string out;
  for (int i = from; i <= to; ++i) out += prefix + std::to_string(i) + "\n";
  return out;
}

std::vector<std::string> Numbered(int from, int to, const std::string& prefix = "line ") {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

void Truncate(const std::string& path) { ASSERT_EQ(truncate(path.c_str(), 0), 0); }

std::uint64_t Inode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) std::abort();
  return st.st_ino;
}

struct Harness {
  explicit Harness(LogTailerOptions options) : tailer(std::move(options)) {}
  std::vector<std::string> Poll() {
    std::vector<std::string> got;
    tailer.Poll([&](std::string_view line) { got.emplace_back(line); });
    all.insert(all.end(), got.begin(), got.end());
    return got;
  }
  LogTailer tailer;
  std::vector<std::string> all;
};

LogTailerOptions Options(const std::string& pattern, StartAt start = StartAt::kBeginning,
                         const Clock* clock = nullptr) {
  LogTailerOptions o;
  o.patterns = {pattern};
  o.start_at = start;
  o.clock = clock;
  return o;
}

TEST(LogTailerTest, StartAtBeginningReadsExistingLines) {
  ScratchDir dir;
  Append(dir.File("app.log"), Lines(1, 3));
  Harness h(Options(dir.File("*.log")));
  EXPECT_EQ(h.Poll(), Numbered(1, 3));
  EXPECT_TRUE(h.Poll().empty());
  Append(dir.File("app.log"), Lines(4, 5));
  EXPECT_EQ(h.Poll(), Numbered(4, 5));
  LogTailerStats s = h.tailer.Stats();
  EXPECT_EQ(s.lines_delivered, 5u);
  EXPECT_EQ(s.files_open, 1u);
  EXPECT_EQ(s.lag_bytes, 0u);
}

TEST(LogTailerTest, StartAtEndSkipsExistingLinesButNotTheLineBeingWritten) {
  ScratchDir dir;
  Append(dir.File("app.log"), Lines(1, 3) + "par");
  Harness h(Options(dir.File("*.log"), StartAt::kEnd));
  EXPECT_TRUE(h.Poll().empty());
  Append(dir.File("app.log"), "tial\n" + Lines(4, 4));
  EXPECT_EQ(h.Poll(), (std::vector<std::string>{"partial", "line 4"}));
}

TEST(LogTailerTest, StartAtEndAppliesOnlyToFilesPresentAtFirstPoll) {
  ScratchDir dir;
  Append(dir.File("a.log"), Lines(1, 2, "a"));
  Harness h(Options(dir.File("*.log"), StartAt::kEnd));
  EXPECT_TRUE(h.Poll().empty());
  Append(dir.File("b.log"), Lines(1, 2, "b"));
  EXPECT_EQ(h.Poll(), Numbered(1, 2, "b"));
}

TEST(LogTailerTest, ScannedAfterFirstPollEvenWithoutMatches) {
  ScratchDir dir;
  Harness h(Options(dir.File("*.log")));
  EXPECT_FALSE(h.tailer.Scanned());
  h.Poll();
  EXPECT_TRUE(h.tailer.Scanned());
  EXPECT_EQ(h.tailer.Stats().files_open, 0u);
  Append(dir.File("x.log"), Lines(1, 1));
  EXPECT_EQ(h.Poll(), Numbered(1, 1));
}

TEST(LogTailerTest, ReadsEveryFileOfSeveralPatterns) {
  ScratchDir dir;
  fs::create_directory(dir.File("sub"));
  Append(dir.File("a.jsonl"), Lines(1, 2, "a"));
  Append(dir.File("b.jsonl"), Lines(1, 2, "b"));
  Append(dir.File("c.txt"), Lines(1, 2, "c"));
  Append(dir.File("sub/d.jsonl"), Lines(1, 2, "d"));
  LogTailerOptions o = Options(dir.File("*.jsonl"));
  o.patterns.push_back(dir.File("sub/*.jsonl"));
  o.patterns.push_back(dir.File("a.jsonl"));  // overlapping: read once
  Harness h(o);
  std::vector<std::string> got = h.Poll();
  std::vector<std::string> want = Numbered(1, 2, "a");
  for (const char* p : {"b", "d"}) {
    std::vector<std::string> more = Numbered(1, 2, p);
    want.insert(want.end(), more.begin(), more.end());
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(h.tailer.Stats().files_open, 3u);
}

TEST(LogTailerTest, HoldsPartialLineUntilNewlineAndStripsCarriageReturn) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, "first\r\nsec");
  Harness h(Options(log));
  EXPECT_EQ(h.Poll(), std::vector<std::string>{"first"});
  EXPECT_EQ(h.tailer.SaveState()["files"][0]["offset"], 7u);
  EXPECT_EQ(h.tailer.Stats().files[0].lag_bytes, 3u);
  Append(log, "ond");
  EXPECT_TRUE(h.Poll().empty());
  Append(log, "\r\n\nlast\n");
  EXPECT_EQ(h.Poll(), (std::vector<std::string>{"second", "", "last"}));
  EXPECT_EQ(h.tailer.SaveState()["files"][0]["offset"], 21u);
}

TEST(LogTailerTest, SkipsAndCountsOverlongLinesAndKeepsTailing) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  LogTailerOptions o = Options(log);
  o.max_line_bytes = 10;
  Harness h(o);
  Append(log, "0123456789\n" + std::string(11, 'x') + "\nok\n");
  EXPECT_EQ(h.Poll(), (std::vector<std::string>{"0123456789", "ok"}));
  EXPECT_EQ(h.tailer.Stats().lines_too_long, 1u);
  // A long line arriving in pieces is never held whole and is counted once.
  Append(log, "abcdef");
  EXPECT_TRUE(h.Poll().empty());
  Append(log, "ghijkl");
  EXPECT_TRUE(h.Poll().empty());
  EXPECT_EQ(h.tailer.Stats().lines_too_long, 1u);
  Append(log, std::string(100, 'y'));
  EXPECT_TRUE(h.Poll().empty());
  Append(log, "zz\nafter\n");
  EXPECT_EQ(h.Poll(), std::vector<std::string>{"after"});
  EXPECT_EQ(h.tailer.Stats().lines_too_long, 2u);
  // A partial line plus its rest over the limit.
  Append(log, "12345");
  EXPECT_TRUE(h.Poll().empty());
  Append(log, "678901\nend\n");
  EXPECT_EQ(h.Poll(), std::vector<std::string>{"end"});
  EXPECT_EQ(h.tailer.Stats().lines_too_long, 3u);
}

TEST(LogTailerTest, ReadsRenamedFileToEndBeforeSwitching) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 3));
  Harness h(Options(log));
  EXPECT_EQ(h.Poll(), Numbered(1, 3));
  Append(log, Lines(4, 6));
  fs::rename(log, dir.File("app.log.1"));
  Append(log, Lines(7, 9));
  EXPECT_EQ(h.Poll(), Numbered(4, 9));
  EXPECT_EQ(h.tailer.Stats().rotations, 1u);
  EXPECT_EQ(h.tailer.Stats().truncations, 0u);
}

TEST(LogTailerTest, KeepsReadingRenamedFileWhenNewFileAppearsLate) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  FakeClock clock;
  Writer w(log);
  w.Write(Lines(1, 2));
  Harness h(Options(log, StartAt::kBeginning, &clock));
  EXPECT_EQ(h.Poll(), Numbered(1, 2));
  fs::rename(log, dir.File("app.log.1"));
  w.Write(Lines(3, 4));  // the application has not reopened yet
  EXPECT_EQ(h.Poll(), Numbered(3, 4));
  clock.Advance(milliseconds(150));
  w.Write(Lines(5, 6));
  EXPECT_EQ(h.Poll(), Numbered(5, 6));
  w.Reopen();  // creates the new app.log
  w.Write(Lines(7, 8));
  EXPECT_EQ(h.Poll(), Numbered(7, 8));
  EXPECT_EQ(h.tailer.Stats().files_open, 2u);  // the old one stays open for rotate_wait
  clock.Advance(seconds(6));
  h.Poll();
  EXPECT_EQ(h.tailer.Stats().files_open, 1u);
  EXPECT_EQ(h.all, Numbered(1, 8));
  EXPECT_EQ(h.tailer.Stats().rotations, 1u);
}

TEST(LogTailerTest, ReadsUnfinishedLineOfRenamedFileWhenItCompletes) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Writer w(log);
  w.Write("a\nhalf");
  Harness h(Options(log));
  EXPECT_EQ(h.Poll(), std::vector<std::string>{"a"});
  fs::rename(log, dir.File("app.log.1"));
  w.Write(" done\n");
  w.Reopen();
  w.Write("b\n");
  EXPECT_EQ(h.Poll(), (std::vector<std::string>{"half done", "b"}));
}

TEST(LogTailerTest, ReadsDeletedFileToItsEnd) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  FakeClock clock;
  Writer w(log);
  w.Write(Lines(1, 1));
  Harness h(Options(log, StartAt::kBeginning, &clock));
  EXPECT_EQ(h.Poll(), Numbered(1, 1));
  w.Write(Lines(2, 3));
  fs::remove(log);
  EXPECT_EQ(h.Poll(), Numbered(2, 3));
  EXPECT_EQ(h.tailer.Stats().rotations, 1u);
  clock.Advance(seconds(10));
  h.Poll();
  EXPECT_EQ(h.tailer.Stats().files_open, 0u);
}

TEST(LogTailerTest, FindsGenerationsRotatedAwayBetweenTwoPolls) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 2));
  Harness h(Options(log));
  EXPECT_EQ(h.Poll(), Numbered(1, 2));
  Append(log, Lines(3, 4));
  fs::rename(log, dir.File("app.log.1"));
  Append(log, Lines(5, 6));  // a generation we never see under its own name
  fs::rename(dir.File("app.log.1"), dir.File("app.log.2"));
  fs::rename(log, dir.File("app.log.1"));
  Append(log, Lines(7, 8));
  Append(dir.File("app.log.0.gz"), "compressed\n");  // never read
  Append(dir.File("other.log.1"), "unrelated\n");    // never read
  EXPECT_EQ(h.Poll(), Numbered(3, 8));
  EXPECT_TRUE(h.Poll().empty());
}

TEST(LogTailerTest, RestartsCopytruncatedFileFromZero) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 5));
  Harness h(Options(log));
  EXPECT_EQ(h.Poll(), Numbered(1, 5));
  Truncate(log);
  Append(log, Lines(6, 7));  // shorter than before
  EXPECT_EQ(h.Poll(), Numbered(6, 7));
  EXPECT_EQ(h.tailer.Stats().truncations, 1u);
  EXPECT_EQ(h.tailer.Stats().rotations, 1u);
}

TEST(LogTailerTest, DetectsTruncationRefilledBeyondOldOffset) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 3));
  Harness h(Options(log));
  EXPECT_EQ(h.Poll(), Numbered(1, 3));
  Truncate(log);
  Append(log, Lines(100, 120));  // larger than the old offset at once
  EXPECT_EQ(h.Poll(), Numbered(100, 120));
  EXPECT_EQ(h.tailer.Stats().truncations, 1u);
}

TEST(LogTailerTest, DetectsTruncationRefilledWithSameFirstLine) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, "header\n" + Lines(1, 3));
  Harness h(Options(log));
  h.Poll();
  Truncate(log);
  Append(log, "header\n" + Lines(10, 20));  // same head: the bytes before the offset differ
  std::vector<std::string> want{"header"};
  for (auto& l : Numbered(10, 20)) want.push_back(l);
  EXPECT_EQ(h.Poll(), want);
  EXPECT_EQ(h.tailer.Stats().truncations, 1u);
}

TEST(LogTailerTest, CopytruncateRecoversUnreadLinesFromTheCopy) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 3));
  Harness h(Options(log));
  EXPECT_EQ(h.Poll(), Numbered(1, 3));
  Append(log, Lines(4, 6));
  fs::copy_file(log, dir.File("app.log.1"));
  Truncate(log);
  Append(log, Lines(7, 8));
  EXPECT_EQ(h.Poll(), Numbered(4, 8));
  EXPECT_TRUE(h.Poll().empty());
}

TEST(LogTailerTest, CopyMatchedByPatternIsNotReadTwice) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 3));
  Harness h(Options(dir.File("app.log*")));
  EXPECT_EQ(h.Poll(), Numbered(1, 3));
  Append(log, Lines(4, 4));
  fs::copy_file(log, dir.File("app.log.1"));  // not truncated (yet)
  EXPECT_EQ(h.Poll(), Numbered(4, 4));
  Truncate(log);
  Append(log, Lines(5, 5));
  EXPECT_EQ(h.Poll(), Numbered(5, 5));
  EXPECT_EQ(h.all, Numbered(1, 5));
}

TEST(LogTailerTest, RenameWithinPatternIsFollowedByInode) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 2));
  Harness h(Options(dir.File("app.log*")));
  EXPECT_EQ(h.Poll(), Numbered(1, 2));
  Append(log, Lines(3, 3));
  fs::rename(log, dir.File("app.log.1"));
  Append(log, Lines(4, 4));
  EXPECT_EQ(h.Poll(), Numbered(3, 4));
  EXPECT_EQ(h.tailer.Stats().files_open, 2u);
  EXPECT_EQ(h.tailer.Stats().rotations, 1u);
}

// A tailer behind its writer reads at most max_bytes_per_poll per Poll(), so it scans for new
// and rotated files often; a generation rotated and deleted while the backlog is read was
// opened at one of those scans and is still read whole.
TEST(LogTailerTest, ABacklogIsReadInBoundedPollsThatKeepFindingNewGenerations) {
  ScratchDir dir;
  const std::string log = dir.File("app.log");
  Append(log, Lines(1, 2000));  // about 16 KiB
  LogTailerOptions o = Options(dir.File("app.log"));
  o.max_bytes_per_poll = 4096;
  Harness h(o);
  const auto first = h.Poll();
  EXPECT_GT(first.size(), 0u);
  EXPECT_LT(first.size(), 2000u);
  EXPECT_TRUE(h.tailer.WaitForChange(std::chrono::milliseconds(0)));  // more to read at once
  // Rotated while the backlog is read; the next Poll() opens the new file before the old one
  // is drained, and the old one's name is then deleted, as logrotate's rotate count does.
  fs::rename(log, dir.File("app.log.1"));
  Append(log, Lines(2001, 2100));
  h.Poll();
  fs::remove(dir.File("app.log.1"));
  fs::rename(log, dir.File("app.log.2"));
  Append(log, Lines(2101, 2200));
  for (int i = 0; i < 100 && h.all.size() < 2200; ++i) h.Poll();
  fs::remove(dir.File("app.log.2"));
  for (int i = 0; i < 100 && h.all.size() < 2200; ++i) h.Poll();
  EXPECT_EQ(h.all, Numbered(1, 2200));  // every line once, in order
}

TEST(LogTailerTest, RestartResumesExactlyAfterLastDeliveredLine) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 3) + "hel");
  nlohmann::json state;
  {
    Harness h(Options(log));
    EXPECT_EQ(h.Poll(), Numbered(1, 3));
    state = h.tailer.SaveState();
  }
  Append(log, "d\n" + Lines(4, 5));
  // Round trip through text, as the exporter stores it.
  nlohmann::json loaded = nlohmann::json::parse(state.dump());
  Harness h(Options(log, StartAt::kEnd));
  ASSERT_TRUE(h.tailer.RestoreState(loaded).has_value());
  std::vector<std::string> want{"held"};
  for (auto& l : Numbered(4, 5)) want.push_back(l);
  EXPECT_EQ(h.Poll(), want);
}

TEST(LogTailerTest, RestartReadsFilesUnknownToTheStateFromZero) {
  ScratchDir dir;
  Append(dir.File("a.log"), Lines(1, 2, "a"));
  nlohmann::json state;
  {
    Harness h(Options(dir.File("*.log"), StartAt::kEnd));
    h.Poll();
    state = h.tailer.SaveState();
  }
  Append(dir.File("b.log"), Lines(1, 2, "b"));
  Harness h(Options(dir.File("*.log"), StartAt::kEnd));
  ASSERT_TRUE(h.tailer.RestoreState(state).has_value());
  EXPECT_EQ(h.Poll(), Numbered(1, 2, "b"));
}

TEST(LogTailerTest, RestartAfterRotationToUnmatchedNameReadsTheRestFirst) {
  ScratchDir dir;
  std::string log = dir.File("app.jsonl");
  Append(log, Lines(1, 2));
  nlohmann::json state;
  {
    Harness h(Options(dir.File("*.jsonl")));
    EXPECT_EQ(h.Poll(), Numbered(1, 2));
    state = h.tailer.SaveState();
  }
  Append(log, Lines(3, 4));
  fs::rename(log, dir.File("app.jsonl.1"));  // not matched by *.jsonl
  Append(log, Lines(5, 6));
  Harness h(Options(dir.File("*.jsonl")));
  ASSERT_TRUE(h.tailer.RestoreState(state).has_value());
  EXPECT_EQ(h.Poll(), Numbered(3, 6));
  EXPECT_EQ(h.tailer.Stats().positions_lost, 0u);
  // The rename happened while nobody watched; it still counts as one rotation.
  EXPECT_EQ(h.tailer.Stats().rotations, 1u);
}

TEST(LogTailerTest, ARotationCountedBeforeARestartIsNotCountedAgain) {
  ScratchDir dir;
  std::string log = dir.File("app.jsonl");
  Append(log, Lines(1, 2));
  nlohmann::json state;
  {
    Harness h(Options(dir.File("*.jsonl")));
    EXPECT_EQ(h.Poll(), Numbered(1, 2));
    Append(log, Lines(3, 3));
    fs::rename(log, dir.File("app.jsonl.1"));
    Append(log, Lines(4, 4));
    EXPECT_EQ(h.Poll(), Numbered(3, 4));
    EXPECT_EQ(h.tailer.Stats().rotations, 1u);
    Append(dir.File("app.jsonl.1"), Lines(5, 5));  // still open: written a little more
    state = h.tailer.SaveState();
  }
  Harness h(Options(dir.File("*.jsonl")));
  ASSERT_TRUE(h.tailer.RestoreState(state).has_value());
  EXPECT_EQ(h.Poll(), Numbered(5, 5));
  EXPECT_EQ(h.tailer.Stats().rotations, 0u);  // the restarted tailer's own count
}

TEST(LogTailerTest, RestartAfterCopytruncateFindsTheCopy) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 2));
  nlohmann::json state;
  {
    Harness h(Options(log));
    EXPECT_EQ(h.Poll(), Numbered(1, 2));
    state = h.tailer.SaveState();
  }
  Append(log, Lines(3, 4));
  fs::copy_file(log, dir.File("app.log.1"));
  Truncate(log);
  Append(log, Lines(5, 6));
  Harness h(Options(log));
  ASSERT_TRUE(h.tailer.RestoreState(state).has_value());
  std::vector<std::string> got = h.Poll();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, Numbered(3, 6));
}

TEST(LogTailerTest, RestartRecognisesInodeReuseByFingerprint) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 50));
  nlohmann::json state;
  {
    Harness h(Options(log));
    h.Poll();
    state = h.tailer.SaveState();
  }
  fs::remove(log);
  Append(log, Lines(1, 3, "new "));
  // Whatever inode the file system picked, make the saved position claim it.
  state["files"][0]["ino"] = Inode(log);
  Harness h(Options(log));
  ASSERT_TRUE(h.tailer.RestoreState(state).has_value());
  EXPECT_EQ(h.Poll(), Numbered(1, 3, "new "));
}

TEST(LogTailerTest, RestartWithSameContentResumesWhenFingerprintMatches) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 300));  // longer than the head fingerprint
  nlohmann::json state;
  {
    Harness h(Options(log));
    EXPECT_EQ(h.Poll().size(), 300u);
    state = h.tailer.SaveState();
  }
  EXPECT_EQ(state["files"][0]["head_len"], 1024u);
  Append(log, Lines(301, 302));
  Harness h(Options(log));
  ASSERT_TRUE(h.tailer.RestoreState(state).has_value());
  EXPECT_EQ(h.Poll(), Numbered(301, 302));
}

TEST(LogTailerTest, StartAtEndSkipsOverlongUnfinishedLineWithoutCountingIt) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, "old\n" + std::string(70000, 'x'));  // start not found near the end
  LogTailerOptions o = Options(log, StartAt::kEnd);
  o.max_line_bytes = 10;
  Harness h(o);
  EXPECT_TRUE(h.Poll().empty());
  Append(log, "xx\nnew\n");
  EXPECT_EQ(h.Poll(), std::vector<std::string>{"new"});
  EXPECT_EQ(h.tailer.Stats().lines_too_long, 0u);
}

TEST(LogTailerTest, CountsUnfinishedLineOfClosedRotatedFile) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  FakeClock clock;
  Append(log, "a\nunfinished");
  Harness h(Options(log, StartAt::kBeginning, &clock));
  EXPECT_EQ(h.Poll(), std::vector<std::string>{"a"});
  fs::rename(log, dir.File("app.log.1"));
  h.Poll();
  clock.Advance(seconds(6));
  h.Poll();
  EXPECT_EQ(h.tailer.Stats().files_open, 0u);
  EXPECT_EQ(h.tailer.Stats().partial_lines_dropped, 1u);
}

TEST(LogTailerTest, FileReusingInodeOfClosedFileIsReadFromZero) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  FakeClock clock;
  Append(log, Lines(1, 40));
  Harness h(Options(log, StartAt::kBeginning, &clock));
  EXPECT_EQ(h.Poll(), Numbered(1, 40));
  const std::uint64_t old_inode = Inode(log);
  fs::remove(log);
  h.Poll();
  clock.Advance(seconds(6));
  h.Poll();  // closed; its position is remembered
  EXPECT_EQ(h.tailer.Stats().files_open, 0u);
  Append(log, Lines(1, 2, "new "));  // often gets the freed inode back
  EXPECT_EQ(h.Poll(), Numbered(1, 2, "new "));
  if (Inode(log) != old_inode) GTEST_LOG_(INFO) << "inode not reused this time";
}

TEST(LogTailerTest, RestartRemembersClosedFiles) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  FakeClock clock;
  Writer w(log);
  w.Write(Lines(1, 2));
  nlohmann::json state;
  {
    Harness h(Options(log, StartAt::kBeginning, &clock));
    EXPECT_EQ(h.Poll(), Numbered(1, 2));
    fs::rename(log, dir.File("app.log.1"));
    h.Poll();
    clock.Advance(seconds(6));
    h.Poll();
    ASSERT_EQ(h.tailer.Stats().files_open, 0u);
    state = h.tailer.SaveState();
  }
  EXPECT_EQ(state["closed"].size(), 1u);
  // The application writes to its old descriptor after we closed it, and is then rotated
  // again: the remembered position avoids reading app.log.1 from its start.
  w.Write(Lines(3, 3));
  w.Reopen();
  w.Write(Lines(4, 4));
  Harness h(Options(log, StartAt::kBeginning, &clock));
  ASSERT_TRUE(h.tailer.RestoreState(state).has_value());
  std::vector<std::string> got = h.Poll();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, Numbered(3, 4));
}

TEST(LogTailerTest, RejectsMalformedState) {
  ScratchDir dir;
  LogTailer t(Options(dir.File("*.log")));
  EXPECT_FALSE(t.RestoreState(nlohmann::json::array()).has_value());
  EXPECT_FALSE(t.RestoreState({{"version", 2}, {"scan_time_ns", 0}}).has_value());
  nlohmann::json bad = {
      {"version", 1}, {"scan_time_ns", 0}, {"files", {{{"path", "/x"}, {"dev", 1}, {"ino", "2"}}}}};
  EXPECT_FALSE(t.RestoreState(bad).has_value());
  nlohmann::json good = {{"version", 1}, {"scan_time_ns", 0}, {"files", nlohmann::json::array()}};
  EXPECT_TRUE(t.RestoreState(good).has_value());
  t.Poll([](std::string_view) {});
  EXPECT_FALSE(t.RestoreState(good).has_value());
}

TEST(LogTailerTest, ReportsLagOfUnreadBytes) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, "abc\nde");
  Harness h(Options(log));
  h.Poll();
  LogTailerStats s = h.tailer.Stats();
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_EQ(s.files[0].path, log);
  EXPECT_EQ(s.files[0].size, 6u);
  EXPECT_EQ(s.files[0].offset, 4u);
  EXPECT_EQ(s.files[0].lag_bytes, 2u);
  EXPECT_EQ(s.lag_bytes, 2u);
}

TEST(LogTailerTest, WaitForChangeWakesOnWriteAndTimesOutOtherwise) {
  ScratchDir dir;
  std::string log = dir.File("app.log");
  Append(log, Lines(1, 1));
  Harness h(Options(log));
  h.Poll();
  h.tailer.WaitForChange(milliseconds(0));  // drain whatever the first scan caused
  EXPECT_FALSE(h.tailer.WaitForChange(milliseconds(20)));
  Append(log, Lines(2, 2));
  EXPECT_TRUE(h.tailer.WaitForChange(seconds(10)));
  EXPECT_EQ(h.Poll(), Numbered(2, 2));
  Append(dir.File("new.log"), "x\n");  // a creation in the watched directory
  EXPECT_TRUE(h.tailer.WaitForChange(seconds(10)));
}

}  // namespace
}  // namespace modelwatch
