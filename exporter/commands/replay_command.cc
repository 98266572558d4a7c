#include "exporter/commands/replay_command.h"

#include <cstdlib>
#include <iostream>
#include <string>

#include "core/command.h"
#include "core/config_loader.h"
#include "core/duration.h"
#include "core/flags.h"
#include "exporter/replay/replay.h"

namespace modelwatch {

int RunReplayCommand(const std::vector<std::string>& args) {
  FlagParser flags(
      "modelwatch-exporter replay --config.dir=DIR --input=FILE [--labels=FILE] [--model=NAME] "
      "[--step=1m] [--threads=N] --output=FILE",
      "Runs a prediction log (and its labels) through the exporter in event time and writes "
      "the metrics it would have served at every step as OpenMetrics with timestamps, for "
      "`promtool tsdb create-blocks-from openmetrics`.",
      {{"config.dir", "Directory of model YAML files.", "", false, true},
       {"input", "Prediction log, JSON Lines, read whole.", "", false, true},
       {"labels", "Ground-truth label log, read by every replayed model with ground truth.", "",
        false, false},
       {"model", "Replay only this model (default: every model in config.dir).", "", false, false},
       {"step", "Interval between the timestamps written.", "1m", false, false},
       {"ingest.future-tolerance",
        "Reject records whose event time is later than the log's own now (the median event "
        "time of the 50 records before and after) plus this (reason future_timestamp).",
        "5m", false, false},
       {"threads",
        "Threads the models are replayed on (each model on one; the output is the same for "
        "any number); 0: one per core.",
        "0", false, false},
       {"output", "OpenMetrics file to write (atomically).", "", false, true}});
  if (auto exit_code = flags.ParseOrExit(args, "modelwatch-exporter replay")) return *exit_code;
  ReplayOptions options;
  for (auto [flag, seconds] : {std::pair{"step", &options.step},
                               std::pair{"ingest.future-tolerance", &options.future_tolerance}}) {
    auto duration = ParseDuration(flags.Get(flag));
    if (!duration) {
      std::cerr << "modelwatch-exporter replay: --" << flag << ": " << duration.error().message
                << "\n";
      return kExitUsage;
    }
    *seconds = static_cast<double>(duration->count());
  }
  {
    const std::string threads = flags.Get("threads");
    char* end = nullptr;
    const unsigned long n = std::strtoul(threads.c_str(), &end, 10);
    if (threads.empty() || *end != '\0' || threads[0] == '-' || n > 1024) {
      std::cerr << "modelwatch-exporter replay: --threads: not a number from 0 to 1024: " << threads
                << "\n";
      return kExitUsage;
    }
    options.threads = n;
  }
  auto config = LoadConfigOrReport(flags.Get("config.dir"));
  if (!config) return kExitInvalidInput;
  options.models = SelectModels(*config, flags.Get("model"), flags.Get("config.dir"));
  if (options.models.empty()) return kExitInvalidInput;
  options.input = flags.Get("input");
  options.labels = flags.Get("labels");
  options.output = flags.Get("output");
  auto replayed = Replay(options);
  if (!replayed) {
    std::cerr << replayed.error().ToString() << "\n";
    return kExitInvalidInput;
  }
  std::cerr << DescribeReplay(*replayed, flags.Get("step"), options.output) << "\n";
  return kExitOk;
}

}  // namespace modelwatch
