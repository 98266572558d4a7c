// Test-only CLI for the statistics oracle tests (tests/oracle/*.test.sh):
//
//   drift_oracle baseline ...      the real `modelwatch-exporter baseline` command
//   drift_oracle replay --config.dir=DIR --model=NAME --baseline=FILE --input=FILE
//                       [--checkpoint]
//       feeds every accepted record of FILE to a DriftTracker and prints its samples as
//       JSON lines {"name":…,"labels":{…},"value":…}; with --checkpoint the state goes through
//       SaveState → JSON text → RestoreState of a fresh tracker before printing.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/flags.h"
#include "exporter/baseline/baseline_profile.h"
#include "exporter/commands/baseline_command.h"
#include "exporter/drift/drift_tracker.h"
#include "exporter/parse/record_parser.h"

namespace modelwatch {
namespace {

int Replay(const std::vector<std::string>& args) {
  FlagParser flags("drift_oracle replay", "Replays records through a DriftTracker.",
                   {{"config.dir", "", "", false, true},
                    {"model", "", "", false, true},
                    {"baseline", "baseline file; empty: none", "", false, false},
                    {"input", "", "", false, true},
                    {"checkpoint", "round-trip the state", "", true, false}});
  if (auto ok = flags.Parse(args); !ok) {
    std::cerr << ok.error().ToString() << "\n";
    return 2;
  }
  LoadOptions options;
  options.baseline = BaselineCheck::kAllowMissing;
  auto config = LoadConfigDir(flags.Get("config.dir"), options);
  if (!config) {
    for (const auto& e : config.error()) std::cerr << e.ToString() << "\n";
    return 1;
  }
  const ModelConfig* model = config->Find(flags.Get("model"));
  if (model == nullptr) {
    std::cerr << "no such model\n";
    return 1;
  }
  std::shared_ptr<const BaselineProfile> baseline;
  if (!flags.Get("baseline").empty()) {
    auto loaded = LoadBaselineProfile(flags.Get("baseline"), *model);
    if (!loaded) {
      std::cerr << loaded.error().ToString() << "\n";
      return 1;
    }
    baseline = std::make_shared<const BaselineProfile>(std::move(*loaded));
  }
  auto tracker = std::make_unique<DriftTracker>(*model, baseline);
  RecordParser parser({model});
  std::ifstream in(flags.Get("input"));
  std::string line;
  while (std::getline(in, line)) {
    if (auto parsed = parser.Parse(line)) tracker->Observe(parser.record());
  }
  if (flags.GetBool("checkpoint")) {
    const std::string text = tracker->SaveState().dump();
    tracker = std::make_unique<DriftTracker>(*model, baseline);
    if (auto ok = tracker->RestoreState(nlohmann::json::parse(text)); !ok) {
      std::cerr << ok.error().ToString() << "\n";
      return 1;
    }
  }
  for (const auto& s : tracker->Snapshot()) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [k, v] : s.labels) labels[k] = v;
    nlohmann::json out{{"name", s.name}, {"labels", labels}, {"value", s.value}};
    std::cout << out.dump() << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace modelwatch

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << "usage: drift_oracle baseline|replay [flags]\n";
    return 2;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "baseline") return modelwatch::RunBaselineCommand(args);
  if (command == "replay") return modelwatch::Replay(args);
  std::cerr << "unknown command " << command << "\n";
  return 2;
}
