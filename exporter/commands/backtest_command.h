// `modelwatch-exporter backtest`: a prediction history (and its labels) through the daemon's
// trackers (the replay), the generated recording and alerting rules over it on a private
// Prometheus, and the alerts scored against the incidents the labels show (docs/backtest.md).
#ifndef MODELWATCH_EXPORTER_COMMANDS_BACKTEST_COMMAND_H_
#define MODELWATCH_EXPORTER_COMMANDS_BACKTEST_COMMAND_H_

#include <string>
#include <vector>

namespace modelwatch {

// Exit codes: 0 done, 1 bad input or a failed tool, 2 usage.
int RunBacktestCommand(const std::vector<std::string>& args);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_COMMANDS_BACKTEST_COMMAND_H_
