#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "exporter/daemon/exporter_daemon.h"
#include "exporter/daemon/logger.h"
#include "tests/unit/scratch_dir.h"

namespace modelwatch {
namespace {

// The statistics thread's rounds (Exporter::ComputeStatistics) against what a scrape serves:
// with a statistics interval a scrape serves the text the last round published, never computes
// (so it never waits for a round in progress), and a round brings it up to date.
//
// Records are read by Exporter::Run() after SIGTERM has been delivered: a run that is stopping
// reads what the logs hold once, checkpoints and returns (and starts no statistics thread), so
// every read here is one whole, deterministic poll. The stop flag stays set for the rest of the
// process; no other test runs Run().
class StatisticsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(root_ + "/models");
    std::filesystem::create_directories(root_ + "/logs");
    std::filesystem::create_directories(root_ + "/state");
    std::ofstream(root_ + "/models/a.yaml") << "model: a\nowner: {team: t}\ntier: 2\n"
                                            << "task: regression\nsource: {paths: [\"" << root_
                                            << "/logs/a.jsonl\"], start_at: beginning}\n"
                                            << "features:\n  - {name: x, type: numeric}\n"
                                            << "drift: {windows: [1h], min_samples: 10}\n";
    Log().Configure(LogLevel::kError, false);
    InstallSignalHandlers();
    raise(SIGTERM);
  }

  void Append(int records) {
    std::ofstream log(root_ + "/logs/a.jsonl", std::ios::app);
    const double now = WallSeconds();
    for (int i = 0; i < records; ++i, ++written_) {
      char line[160];
      // Every fifth record lacks the feature: the missing ratio changes with every record.
      if (written_ % 5 == 0) {
        std::snprintf(line, sizeof line, "{\"ts\":%.3f,\"prediction\":%d,\"features\":{}}\n",
                      now - 60 + written_ * 0.01, written_ % 7);
      } else {
        std::snprintf(line, sizeof line,
                      "{\"ts\":%.3f,\"prediction\":%d,\"features\":{\"x\":%d}}\n",
                      now - 60 + written_ * 0.01, written_ % 7, written_ % 13);
      }
      log << line;
    }
  }

  ExporterOptions Options(std::chrono::milliseconds statistics_interval) const {
    ExporterOptions options;
    options.config_dir = root_ + "/models";
    options.state_dir = root_ + "/state";
    options.statistics_interval = statistics_interval;
    return options;
  }

  // The value of model_window_samples{model="a"} in a scrape (-1 when absent).
  static double WindowSamples(Exporter& exporter) {
    Exposition exposition;
    exporter.CollectAll(exposition);
    std::string text;
    WriteExposition(exposition, text);
    const std::string key = "model_window_samples{model=\"a\",window=\"1h\"} ";
    const auto at = text.find(key);
    return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
  }

  // The drift part of a scrape: every line of a model_* family but the serving ones'.
  static std::string DriftText(Exporter& exporter) {
    Exposition exposition;
    exporter.CollectAll(exposition);
    std::string text, drift;
    WriteExposition(exposition, text);
    std::size_t begin = 0;
    while (begin < text.size()) {
      std::size_t end = text.find('\n', begin);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(begin, end - begin);
      if (line.rfind("model_feature_", 0) == 0 || line.rfind("model_window_", 0) == 0 ||
          line.rfind("model_late_", 0) == 0 || line.rfind("model_output_", 0) == 0) {
        drift += line + "\n";
      }
      begin = end + 1;
    }
    return drift;
  }

  testing::ScratchDir dir_{"daemon_statistics_test"};
  const std::string root_ = dir_.path();
  int written_ = 0;
};

TEST_F(StatisticsTest, ScrapeServesThePublishedTextUntilTheNextRound) {
  Exporter exporter(Options(std::chrono::seconds(1)));
  ASSERT_TRUE(exporter.Start().has_value());
  Append(50);
  exporter.Run();
  EXPECT_EQ(exporter.ComputeStatistics(), 1u);
  EXPECT_EQ(WindowSamples(exporter), 50);
  EXPECT_EQ(exporter.ComputeStatistics(), 0u);  // nothing read since: nothing computed

  Append(30);
  exporter.Run();
  EXPECT_EQ(WindowSamples(exporter), 50);  // read, not computed yet: the last round's text
  EXPECT_EQ(exporter.ComputeStatistics(), 1u);
  EXPECT_EQ(WindowSamples(exporter), 80);

  // What it serves then is exactly what an exporter computing at every scrape serves.
  Exporter exact(Options(std::chrono::milliseconds(0)));
  std::filesystem::remove_all(root_ + "/state");
  std::filesystem::create_directories(root_ + "/state");
  ASSERT_TRUE(exact.Start().has_value());
  exact.Run();
  ASSERT_EQ(WindowSamples(exact), 80);
  const std::string served = DriftText(exporter);
  EXPECT_NE(
      served.find("model_feature_missing_ratio{model=\"a\",feature=\"x\",window=\"1h\"} 0.2\n"),
      std::string::npos)
      << served;
  EXPECT_EQ(served, DriftText(exact));
}

TEST_F(StatisticsTest, WithoutAnIntervalEveryScrapeComputes) {
  Exporter exporter(Options(std::chrono::milliseconds(0)));
  ASSERT_TRUE(exporter.Start().has_value());
  Append(20);
  exporter.Run();
  EXPECT_EQ(WindowSamples(exporter), 20);
  Append(5);
  exporter.Run();
  EXPECT_EQ(WindowSamples(exporter), 25);
}

TEST_F(StatisticsTest, ModelWithNothingPublishedIsComputedAtTheScrape) {
  Exporter exporter(Options(std::chrono::seconds(1)));
  ASSERT_TRUE(exporter.Start().has_value());
  Append(15);
  exporter.Run();
  EXPECT_EQ(WindowSamples(exporter), 15);
}

TEST_F(StatisticsTest, ScrapeDoesNotWaitForARoundInProgress) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  bool hold = false;
  ExporterOptions options = Options(std::chrono::seconds(1));
  options.statistics_started = [&] {
    if (!hold) return;
    entered.set_value();
    released.wait();
  };
  Exporter exporter(options);
  ASSERT_TRUE(exporter.Start().has_value());
  Append(40);
  exporter.Run();
  exporter.ComputeStatistics();
  Append(60);
  exporter.Run();

  hold = true;
  auto round = std::async(std::launch::async, [&] { return exporter.ComputeStatistics(); });
  entered.get_future().wait();  // the round has copied the windows and is about to compute
  // The scrape serves the last published text while the round is held; were it to wait for
  // the round it would never finish (the liveness bound is a failure, not a measurement).
  auto scrape = std::async(std::launch::async, [&] { return WindowSamples(exporter); });
  const bool done = scrape.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  release.set_value();
  ASSERT_TRUE(done) << "the scrape waited for the statistics round";
  EXPECT_EQ(scrape.get(), 40);
  EXPECT_EQ(round.get(), 1u);
  EXPECT_EQ(WindowSamples(exporter), 100);
}

}  // namespace
}  // namespace modelwatch
