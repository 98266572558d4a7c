// Soak: a writer appends N numbered lines while the file is rotated in both styles
// (rename + create, with and without a late reopen, and copytruncate), polls happen at random
// points (sometimes after several rotations), and the tailer is "killed" and restarted from a
// checkpoint. The delivered numbers must be exactly 1..N, each once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "exporter/tail/log_tailer.h"
#include "tests/unit/scratch_dir.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

class Writer {
 public:
  explicit Writer(std::string path) : path_(std::move(path)) { Reopen(); }
  ~Writer() { close(fd_); }
  void Reopen() {
    if (fd_ >= 0) close(fd_);
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) std::abort();
  }
  void Write(const std::string& s) {
    if (write(fd_, s.data(), s.size()) != static_cast<ssize_t>(s.size())) std::abort();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

struct SoakParam {
  unsigned seed;
  bool pattern_matches_rotated;  // app.log* instead of app.log
};

void PrintTo(const SoakParam& p, std::ostream* os) {
  *os << "seed " << p.seed << (p.pattern_matches_rotated ? ", app.log*" : ", app.log");
}

class LogTailerSoakTest : public ::testing::TestWithParam<SoakParam> {};

TEST_P(LogTailerSoakTest, DeliversEveryNumberExactlyOnce) {
  constexpr int kLines = 20000;
  constexpr int kGenerations = 6;
  const SoakParam param = GetParam();
  std::mt19937 rng(param.seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  ScratchDir dir;
  const std::string log = dir.File("app.log");
  auto gen = [&](int k) { return log + "." + std::to_string(k); };
  FakeClock clock;
  LogTailerOptions options;
  options.patterns = {param.pattern_matches_rotated ? log + "*" : log};
  options.start_at = StartAt::kBeginning;
  options.max_line_bytes = 4096;
  options.clock = &clock;

  auto tailer = std::make_unique<LogTailer>(options);
  std::vector<int> delivered;
  std::size_t bad_lines = 0;
  auto poll = [&] {
    tailer->Poll([&](std::string_view line) {
      if (line.substr(0, 2) != "n=") {
        ++bad_lines;
        return;
      }
      delivered.push_back(std::atoi(std::string(line.substr(2, line.find(' ') - 2)).c_str()));
    });
  };
  nlohmann::json checkpoint;
  std::size_t checkpoint_count = 0;
  bool have_checkpoint = false;

  Writer writer(log);
  poll();  // the first scan: what was rotated away before it is not ours to read
  bool writer_on_old = false;  // renamed away, application not reopened yet
  int rotations_since_poll = 0;
  int rotations_since_checkpoint = 0;
  std::uint64_t rotations = 0;
  int restarts = 0;
  auto shift_generations = [&] {
    std::error_code ec;
    fs::remove(gen(kGenerations), ec);
    for (int k = kGenerations - 1; k >= 1; --k) {
      if (fs::exists(gen(k))) fs::rename(gen(k), gen(k + 1));
    }
  };

  int next = 1;
  while (next <= kLines) {
    // Write a batch of lines; sometimes the last one in two pieces across a poll.
    int batch = pick(1, 40);
    for (int i = 0; i < batch && next <= kLines; ++i, ++next) {
      std::string line = "n=" + std::to_string(next) + " " + std::string(pick(0, 300), 'p') + "\n";
      if (chance(0.05)) {
        std::size_t cut = pick(1, static_cast<int>(line.size()) - 1);
        writer.Write(line.substr(0, cut));
        if (chance(0.5)) poll();
        writer.Write(line.substr(cut));
      } else {
        writer.Write(line);
      }
    }
    if (writer_on_old && chance(0.3)) {
      writer.Reopen();  // the new file appears late
      writer_on_old = false;
    }
    if (!writer_on_old && rotations_since_poll < 3 && chance(0.08)) {
      ++rotations;
      ++rotations_since_poll;
      ++rotations_since_checkpoint;
      shift_generations();
      if (chance(0.5)) {
        fs::rename(log, gen(1));
        if (chance(0.5)) {
          writer.Reopen();
        } else {
          writer_on_old = true;
        }
      } else {
        fs::copy_file(log, gen(1));
        if (truncate(log.c_str(), 0) != 0) std::abort();
      }
    }
    if (chance(0.4)) {
      poll();
      rotations_since_poll = 0;
      if (!writer_on_old && chance(0.2)) clock.Advance(std::chrono::seconds(6));
      if (chance(0.1)) {
        checkpoint = nlohmann::json::parse(tailer->SaveState().dump());
        checkpoint_count = delivered.size();
        have_checkpoint = true;
        rotations_since_checkpoint = 0;
      } else if (have_checkpoint && rotations_since_checkpoint > kGenerations / 2) {
        // Down for longer than logrotate keeps generations: loss would be expected.
        have_checkpoint = false;
      } else if (have_checkpoint && chance(0.3)) {
        // kill -9: whatever was delivered after the checkpoint is forgotten.
        delivered.resize(checkpoint_count);
        tailer = std::make_unique<LogTailer>(options);
        ASSERT_TRUE(tailer->RestoreState(checkpoint).has_value());
        have_checkpoint = false;
        ++restarts;
      }
    }
  }
  if (writer_on_old) writer.Reopen();
  poll();
  poll();

  EXPECT_EQ(bad_lines, 0u);
  ASSERT_EQ(delivered.size(), static_cast<std::size_t>(kLines));
  std::vector<int> sorted = delivered;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < kLines; ++i) {
    ASSERT_EQ(sorted[i], i + 1) << "first difference at index " << i;
  }
  EXPECT_GT(rotations, 20u);
  EXPECT_GT(restarts, 0);
  LogTailerStats s = tailer->Stats();
  EXPECT_EQ(s.lines_too_long, 0u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, LogTailerSoakTest,
                         ::testing::Values(SoakParam{1, false}, SoakParam{2, false},
                                           SoakParam{3, true}, SoakParam{4, true}),
                         [](const ::testing::TestParamInfo<SoakParam>& p) {
                           return "seed" + std::to_string(p.param.seed) +
                                  (p.param.pattern_matches_rotated ? "_MatchesRotated"
                                                                   : "_CurrentOnly");
                         });

}  // namespace
}  // namespace modelwatch
