// What every subcommand of both programs does first, done one way: the exit codes of the
// README ("0 ok, 1 invalid input or failed check, 2 usage error"), loading --config.dir with
// every problem reported as file:line:column, and choosing the models --model names.
#ifndef MODELWATCH_CORE_COMMAND_H_
#define MODELWATCH_CORE_COMMAND_H_

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/config_loader.h"

namespace modelwatch {

inline constexpr int kExitOk = 0;
// Invalid input is what the flags point at: a config directory that is missing or does not
// validate, a --model it does not have, a model without the section the command needs, an
// unreadable input file; also a failed check.
inline constexpr int kExitInvalidInput = 1;
// A usage error is the command line itself: an unknown or missing flag, a malformed value.
inline constexpr int kExitUsage = 2;

// Loads the config directory; on failure prints every error (sorted, file:line:column) and
// their count to stderr and returns nullopt: exit kExitInvalidInput.
std::optional<ConfigSet> LoadConfigOrReport(const std::string& dir,
                                            const LoadOptions& options = {});

// The models a command runs on: the one named `name`, or all of them when `name` is empty.
// When no model matches, prints `error: no model "NAME" in DIR (models: a, b)` and returns
// an empty list: exit kExitInvalidInput.
std::vector<const ModelConfig*> SelectModels(const ConfigSet& config, const std::string& name,
                                             const std::string& dir);

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_COMMAND_H_
