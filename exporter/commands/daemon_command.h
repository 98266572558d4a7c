// `modelwatch-exporter` without a subcommand: the daemon. Parses its flags, loads the
// configuration, starts the exporter (exporter/daemon/) and its HTTP server
// (exporter/http/), and runs until SIGTERM or SIGINT; SIGHUP reloads.
#ifndef MODELWATCH_EXPORTER_COMMANDS_DAEMON_COMMAND_H_
#define MODELWATCH_EXPORTER_COMMANDS_DAEMON_COMMAND_H_

#include <string>
#include <vector>

namespace modelwatch {

// `args`: every argument (argv[1..]). Exit code: 0 after a clean stop, 1 invalid input or a
// failure to start (config errors, a port in use), 2 usage.
int RunDaemon(const std::vector<std::string>& args);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_COMMANDS_DAEMON_COMMAND_H_
