// `modelwatch-exporter baseline`: builds a model's baseline profile from reference data.
#ifndef MODELWATCH_EXPORTER_COMMANDS_BASELINE_COMMAND_H_
#define MODELWATCH_EXPORTER_COMMANDS_BASELINE_COMMAND_H_

#include <string>
#include <vector>

namespace modelwatch {

// Runs `baseline --config.dir=DIR --model=NAME --input=REF.jsonl --output=FILE` with `args`
// being the arguments after the subcommand name. Reads the whole input with the model's
// record parser (rejected lines are counted and reported, not fatal), writes the profile
// atomically and prints a one-line summary to stderr. Returns the exit code: 0 ok, 1 invalid
// input (config errors, unknown model, no valid record, unwritable output), 2 usage.
int RunBaselineCommand(const std::vector<std::string>& args);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_COMMANDS_BASELINE_COMMAND_H_
