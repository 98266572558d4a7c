#include "exporter/commands/subcommands.h"

#include "exporter/commands/backtest_command.h"
#include "exporter/commands/baseline_command.h"
#include "exporter/commands/replay_command.h"
#include "exporter/commands/shadow_report_command.h"

namespace modelwatch {
namespace {

constexpr Subcommand kSubcommands[] = {
    {"baseline", "build a model's baseline profile (see `baseline --help`)", RunBaselineCommand},
    {"shadow-report",
     "say whether a shadow challenger meets the promotion criteria\n"
     "(see `shadow-report --help`)",
     RunShadowReportCommand},
    {"replay",
     "write what /metrics would have served over a prediction log, as\n"
     "OpenMetrics with timestamps (see `replay --help`)",
     RunReplayCommand},
    {"backtest",
     "score the generated alerts against a history's incidents\n"
     "(see `backtest --help`)",
     RunBacktestCommand},
};

constexpr std::size_t kNameColumn = 16;

}  // namespace

std::span<const Subcommand> Subcommands() { return kSubcommands; }

std::string SubcommandHelp() {
  std::string out = "Subcommands:";
  for (const Subcommand& sub : kSubcommands) {
    std::string name = sub.name;
    name.resize(kNameColumn, ' ');
    out += "\n  " + name;
    for (const char* c = sub.summary; *c != '\0'; ++c) {
      out += *c;
      if (*c == '\n') out += std::string(2 + kNameColumn, ' ');
    }
  }
  return out;
}

}  // namespace modelwatch
