// modelwatch-exporter: tails prediction and label logs and serves per-model metrics (the
// daemon), and runs the one-shot subcommands. Every subcommand, the daemon included, is in
// exporter/commands/: its flags, its exit codes and its use of the modules.
#include <iostream>
#include <string>
#include <vector>

#include "exporter/commands/daemon_command.h"
#include "exporter/commands/subcommands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    for (const modelwatch::Subcommand& sub : modelwatch::Subcommands()) {
      if (!args.empty() && args[0] == sub.name) return sub.run({args.begin() + 1, args.end()});
    }
    return modelwatch::RunDaemon(args);
  } catch (const std::exception& e) {
    std::cerr << "modelwatch-exporter: fatal: " << e.what() << "\n";
    return 1;
  }
}
