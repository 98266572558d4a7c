#include "exporter/commands/shadow_report_command.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "core/command.h"
#include "core/config_loader.h"
#include "core/flags.h"
#include "exporter/groundtruth/offline_ground_truth.h"
#include "exporter/parse/record_parser.h"
#include "exporter/shadow/shadow_report.h"

namespace modelwatch {

int RunShadowReportCommand(const std::vector<std::string>& args) {
  FlagParser flags(
      "modelwatch-exporter shadow-report --config.dir=DIR --model=NAME --input=FILE "
      "[--labels=FILE]",
      "Compares a model's shadow challenger with its champion over a prediction log (and "
      "optionally its labels) and says whether the challenger meets the promotion criteria. "
      "Exit 0: promote, 1: do not promote, 2: usage.",
      {{"config.dir", "Directory of model YAML files.", "", false, true},
       {"model", "The model whose shadow section names champion and challenger.", "", false, true},
       {"input", "Prediction log, JSON Lines.", "", false, true},
       {"labels", "Ground-truth label log, JSON Lines.", "", false, false}});
  if (auto exit_code = flags.ParseOrExit(args, "modelwatch-exporter shadow-report"))
    return *exit_code;
  LoadOptions load_options;
  load_options.baseline = BaselineCheck::kAllowMissing;
  auto config = LoadConfigOrReport(flags.Get("config.dir"), load_options);
  if (!config) return kExitInvalidInput;
  const auto selected = SelectModels(*config, flags.Get("model"), flags.Get("config.dir"));
  if (selected.empty()) return kExitInvalidInput;
  const ModelConfig* found = selected.front();
  if (!found->shadow) {
    std::cerr << "error: model \"" << found->name << "\" has no shadow section\n";
    return kExitInvalidInput;
  }
  // One window over everything in the files.
  ModelConfig model = *found;
  model.drift.windows = {OfflineGroundTruth::AllWindow()};
  model.drift.sub_windows = 1;
  auto offline = OfflineGroundTruth::Open(model);
  if (!offline) {
    std::cerr << offline.error().ToString() << "\n";
    return kExitInvalidInput;
  }
  GroundTruthTracker* labels = flags.Get("labels").empty() ? nullptr : &(*offline)->tracker();
  ShadowTracker shadow(model, (*offline)->hasher());
  RecordParser parser({&model});
  std::int64_t rejected = 0;
  const std::string input_path = flags.Get("input");
  std::ifstream input(input_path, std::ios::binary);
  if (!input) {
    std::cerr << input_path << ": error: cannot read: " << std::strerror(errno) << "\n";
    return kExitInvalidInput;
  }
  std::string line;
  while (std::getline(input, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto parsed = parser.Parse(line);
    if (!parsed) {
      ++rejected;
      continue;
    }
    shadow.Observe(parser.record());
    if (labels) labels->ObservePrediction(parser.record());
  }
  if (rejected > 0) {
    std::cerr << input_path << ": warning: skipped " << rejected << " invalid lines\n";
  }
  std::vector<PerformanceValue> labelled;
  if (labels) {
    if (auto read = (*offline)->ReadLabels(flags.Get("labels")); !read) {
      std::cerr << read.error().ToString() << "\n";
      return kExitInvalidInput;
    }
    labelled = labels->ComputeSnapshot().shadow;
  }
  const std::vector<ShadowWindowStats> stats = shadow.Stats();
  const std::uint64_t unpaired[2] = {shadow.unpaired(0) + shadow.waiting(0),
                                     shadow.unpaired(1) + shadow.waiting(1)};
  ShadowReport report = BuildShadowReport(model, stats.front(), unpaired, labelled);
  std::cout << report.text;
  return report.promote ? kExitOk : kExitInvalidInput;  // not promoting: a failed check
}

}  // namespace modelwatch
