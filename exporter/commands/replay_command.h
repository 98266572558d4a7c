// `modelwatch-exporter replay`: the command line of the replay (exporter/replay/replay.h).
#ifndef MODELWATCH_EXPORTER_COMMANDS_REPLAY_COMMAND_H_
#define MODELWATCH_EXPORTER_COMMANDS_REPLAY_COMMAND_H_

#include <string>
#include <vector>

namespace modelwatch {

// Runs `replay --config.dir=DIR --input=FILE [--labels=FILE] [--model=NAME] [--step=1m]
// --output=FILE` with `args` being the arguments after the subcommand name. Exit code: 0 ok,
// 1 invalid input (config errors, unknown model, unreadable files, no valid record,
// unwritable output, --labels but no replayed model has ground truth; no output file is
// written), 2 usage (bad flags).
int RunReplayCommand(const std::vector<std::string>& args);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_COMMANDS_REPLAY_COMMAND_H_
