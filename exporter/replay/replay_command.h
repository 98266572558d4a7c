// `modelwatch-exporter replay`: runs a prediction log (and optionally its labels) through the
// exporter's trackers in event time and writes what /metrics would have served at every step
// as OpenMetrics with timestamps (backfill with `promtool tsdb create-blocks-from openmetrics`).
#ifndef MODELWATCH_EXPORTER_REPLAY_REPLAY_COMMAND_H_
#define MODELWATCH_EXPORTER_REPLAY_REPLAY_COMMAND_H_

#include <string>
#include <vector>

namespace modelwatch {

// Runs `replay --config.dir=DIR --input=FILE [--labels=FILE] [--model=NAME] [--step=1m]
// --output=FILE` with `args` being the arguments after the subcommand name. Exit code: 0 ok,
// 1 invalid input (config errors, unreadable files, no valid record, unwritable output; no
// output file is written), 2 usage (bad flags, unknown model, --labels but no replayed model
// has ground truth).
int RunReplayCommand(const std::vector<std::string>& args);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_REPLAY_REPLAY_COMMAND_H_
