// The exporter's subcommands, in one table: main.cc dispatches on it, the daemon's --help
// lists it. Running without a subcommand starts the daemon (daemon_command.h).
#ifndef MODELWATCH_EXPORTER_COMMANDS_SUBCOMMANDS_H_
#define MODELWATCH_EXPORTER_COMMANDS_SUBCOMMANDS_H_

#include <span>
#include <string>
#include <vector>

namespace modelwatch {

struct Subcommand {
  const char* name;
  const char* summary;  // for --help; '\n' continues it on the next line
  // Runs it with the arguments after its name; returns the exit code (0 ok, 1 invalid
  // input, 2 usage).
  int (*run)(const std::vector<std::string>& args);
};

std::span<const Subcommand> Subcommands();

// "Subcommands:" and one entry per subcommand, as the daemon's --help prints them.
std::string SubcommandHelp();

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_COMMANDS_SUBCOMMANDS_H_
