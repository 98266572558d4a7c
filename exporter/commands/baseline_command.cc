#include "exporter/commands/baseline_command.h"

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "core/command.h"
#include "core/config_loader.h"
#include "core/flags.h"
#include "exporter/baseline/baseline_builder.h"
#include "exporter/groundtruth/offline_ground_truth.h"
#include "exporter/parse/record_parser.h"

namespace modelwatch {
namespace {

constexpr const char* kReferenceVersion = "reference";

// The whole-reference performance, or nullopt (with a warning) when no record got a label.
std::optional<ReferencePerformance> ReferencePerformanceOf(const OfflineGroundTruth& offline,
                                                           const std::string& labels_path) {
  const GroundTruthTracker& tracker = offline.tracker();
  const GroundTruthSnapshot snap = tracker.ComputeSnapshot();
  ReferencePerformance perf;
  for (const auto& [version, window_count] : snap.samples) {
    if (version == kReferenceVersion) perf.labelled = std::llround(window_count.second);
  }
  for (const PerformanceValue& v : snap.performance) {
    if (v.version == kReferenceVersion && v.segment.empty())
      perf.metrics[v.metric] = v.value_number;
  }
  std::cerr << labels_path << ": " << tracker.labels() << " label(s), " << perf.labelled
            << " labelled reference record(s)";
  if (offline.Unmatched() > 0) std::cerr << ", " << offline.Unmatched() << " matching no record";
  if (tracker.duplicates() > 0) std::cerr << ", " << tracker.duplicates() << " duplicate(s)";
  std::uint64_t rejected = 0;
  for (int i = 0; i < kLabelRejectCount; ++i) rejected += tracker.rejected(LabelReject(i));
  if (rejected > 0) std::cerr << ", " << rejected << " invalid line(s) skipped";
  std::cerr << "\n";
  if (perf.labelled == 0 || perf.metrics.empty()) {
    std::cerr << labels_path
              << ": warning: no reference record has a label; the baseline has no performance\n";
    return std::nullopt;
  }
  return perf;
}

}  // namespace

int RunBaselineCommand(const std::vector<std::string>& args) {
  FlagParser flags(
      "modelwatch-exporter baseline --config.dir=DIR --model=NAME --input=FILE --output=FILE "
      "[--labels=FILE]",
      "Builds a model's baseline profile (bin edges, distributions, training ranges) from "
      "reference data in the prediction-log format; with --labels also the model's "
      "performance on the labelled reference records.",
      {{"config.dir", "Directory of model YAML files.", "", false, true},
       {"model", "The model to profile.", "", false, true},
       {"input", "Reference data, JSON Lines in the prediction-log format.", "", false, true},
       {"output", "Baseline file to write (atomically).", "", false, true},
       {"labels",
        "Ground-truth labels of the reference records (label-log format, joined as "
        "ground_truth configures).",
        "", false, false}});
  if (auto exit_code = flags.ParseOrExit(args, "modelwatch-exporter baseline")) return *exit_code;
  LoadOptions options;
  options.baseline = BaselineCheck::kAllowMissing;
  auto config = LoadConfigOrReport(flags.Get("config.dir"), options);
  if (!config) return kExitInvalidInput;
  const auto selected = SelectModels(*config, flags.Get("model"), flags.Get("config.dir"));
  if (selected.empty()) return kExitInvalidInput;
  const ModelConfig* model = selected.front();
  const std::string input_path = flags.Get("input");
  std::ifstream input(input_path, std::ios::binary);
  if (!input) {
    std::cerr << input_path << ": error: cannot read: " << std::strerror(errno) << "\n";
    return kExitInvalidInput;
  }

  std::unique_ptr<OfflineGroundTruth> labels;
  if (!flags.Get("labels").empty()) {
    auto opened = OfflineGroundTruth::Open(*model);
    if (!opened) {
      std::cerr << opened.error().ToString() << "\n";
      return kExitInvalidInput;
    }
    labels = std::move(*opened);
  }
  RecordParser parser({model});
  BaselineBuilder builder(*model);
  std::array<std::int64_t, kRejectReasonCount> rejected{};
  std::int64_t rejected_total = 0;
  std::int64_t first_bad_line = 0;
  std::string line;
  std::int64_t line_number = 0;
  while (std::getline(input, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto parsed = parser.Parse(line);
    if (!parsed) {
      ++rejected[static_cast<std::size_t>(parsed.error().reason)];
      ++rejected_total;
      if (first_bad_line == 0) first_bad_line = line_number;
      continue;
    }
    builder.Add(parser.record());
    if (labels) {
      Record reference = parser.record();
      reference.version = kReferenceVersion;  // one group, whatever versions the data has
      labels->tracker().ObservePrediction(reference);
    }
  }
  if (input.bad()) {
    std::cerr << input_path << ": error: read failed: " << std::strerror(errno) << "\n";
    return kExitInvalidInput;
  }
  if (rejected_total > 0) {
    std::cerr << input_path << ": warning: skipped " << rejected_total
              << " invalid line(s), first at line " << first_bad_line << " (";
    bool first = true;
    for (int i = 0; i < kRejectReasonCount; ++i) {
      if (rejected[static_cast<std::size_t>(i)] == 0) continue;
      std::cerr << (first ? "" : ", ") << RejectReasonName(static_cast<RejectReason>(i)) << ": "
                << rejected[static_cast<std::size_t>(i)];
      first = false;
    }
    std::cerr << ")\n";
  }
  auto profile = builder.Finish();
  if (!profile) {
    std::cerr << input_path << ": error: " << profile.error().message << "\n";
    return kExitInvalidInput;
  }
  if (labels) {
    if (auto read = labels->ReadLabels(flags.Get("labels")); !read) {
      std::cerr << read.error().ToString() << "\n";
      return kExitInvalidInput;
    }
    profile->performance = ReferencePerformanceOf(*labels, flags.Get("labels"));
  }
  auto id = WriteBaselineProfile(*profile, flags.Get("output"));
  if (!id) {
    std::cerr << "error: " << id.error().message << "\n";
    return kExitInvalidInput;
  }
  std::cerr << "wrote baseline " << *id << " for model " << model->name << " from "
            << profile->records << " record(s) to " << flags.Get("output") << "\n";
  return kExitOk;
}

}  // namespace modelwatch
