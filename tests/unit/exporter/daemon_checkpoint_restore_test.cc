#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "exporter/daemon/exporter_daemon.h"
#include "exporter/daemon/logger.h"

namespace modelwatch {
namespace {

// A checkpoint is read from disk: any field may have any type. Each document below once
// made Exporter::Start() throw nlohmann::json::type_error (found with checkpoint_fuzz), so
// the exporter could not start at all; now the fields that do not fit restore nothing.
class CheckpointRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/checkpoint_restore_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    std::filesystem::create_directories(root_ + "/models");
    std::ofstream(root_ + "/models/a.yaml") << R"(model: a
owner: {team: t}
tier: 2
task: binary_classification
source: {paths: ["/modelwatch-test/predictions/*.jsonl"]}
drift: {windows: [1h], min_samples: 10}
ground_truth: {paths: ["/modelwatch-test/labels/a.jsonl"], windows: [1h]}
)";
    Log().Configure(LogLevel::kError, false);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Starts an exporter on `checkpoint`; returns the reasons of the state resets it counted.
  std::vector<std::string> StartWith(const std::string& checkpoint) {
    const std::string state = root_ + "/state";
    std::filesystem::remove_all(state);
    std::filesystem::create_directories(state);
    std::ofstream(state + "/checkpoint.json") << checkpoint;
    ExporterOptions options;
    options.config_dir = root_ + "/models";
    options.state_dir = state;
    Exporter exporter(options);
    auto started = exporter.Start();
    EXPECT_TRUE(started.has_value()) << checkpoint;
    Exposition exposition;
    exporter.CollectAll(exposition);
    const auto& families = exposition.families;
    std::vector<std::string> reasons;
    for (const auto& f : families) {
      if (f.name != "modelwatch_state_resets_total") continue;
      for (const auto& m : f.metric) {
        for (const auto& l : m.label) {
          if (l.name == "reason") reasons.push_back(l.value);
        }
      }
    }
    return reasons;
  }
  std::string root_;
};

TEST_F(CheckpointRestoreTest, FormatVersionThatIsNotANumberIsACorruptCheckpoint) {
  EXPECT_EQ(StartWith(R"({"format_version":"x","state":{}})"), std::vector<std::string>{"corrupt"});
}

TEST_F(CheckpointRestoreTest, SourceCountersOfTheWrongTypeRestoreNothing) {
  constexpr const char* kSource = R"({"format_version":1,"state":{"sources":{"a":{"patterns":)"
                                  R"(["/modelwatch-test/predictions/*.jsonl"],"tailer":{},)";
  EXPECT_TRUE(StartWith(std::string(kSource) + R"("counters":{"lines_read":"many"}}}}})").empty());
  EXPECT_TRUE(StartWith(std::string(kSource) + R"("rejected":[1,2]}}}})").empty());
  EXPECT_TRUE(StartWith(std::string(kSource) + R"("rejected":{"too_long":-1.5}}}}})").empty());
  EXPECT_TRUE(StartWith(R"({"format_version":1,"state":{"sources":{"a":7}}})").empty());
}

TEST_F(CheckpointRestoreTest, LabelStateThatIsNotAnObjectRestoresNothing) {
  EXPECT_TRUE(StartWith(R"({"format_version":1,"state":{"models":{"a":{"labels":[1]}}}})").empty());
}

TEST_F(CheckpointRestoreTest, DriftStateWithFieldsOfTheWrongTypeRestoresNothing) {
  EXPECT_TRUE(
      StartWith(R"({"format_version":1,"state":{"models":{"a":{"drift":{"format":1}}}}})").empty());
  EXPECT_TRUE(StartWith(R"({"format_version":1,"state":{"models":{"a":{"drift":)"
                        R"({"format":"modelwatch-drift-state","version":1,"layout":[]}}}}})")
                  .empty());
}

}  // namespace
}  // namespace modelwatch
