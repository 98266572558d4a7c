// The generate, check and mutate subcommands of modelwatch-rulegen (validate lives in main.cc).
#ifndef MODELWATCH_RULEGEN_COMMANDS_H_
#define MODELWATCH_RULEGEN_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace modelwatch {

// LoadConfigOrReport, then what drift.engine: promql models need of their baselines
// (LoadPromqlReferences); an error is printed and gives nullopt (exit kExitInvalidInput).
std::optional<ConfigSet> LoadRulegenConfig(const std::string& dir);

// Each takes the arguments after the subcommand name and returns the process exit code:
// 0 ok, 1 invalid input or failed check, 2 usage error.
int RunGenerate(const std::vector<std::string>& args);
int RunCheck(const std::vector<std::string>& args);
int RunMutate(const std::vector<std::string>& args);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_COMMANDS_H_
