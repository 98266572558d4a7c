// Child processes for the backtest: run a tool to completion (promtool, amtool) or keep a
// server running (prometheus) and stop it by its pid.
#ifndef MODELWATCH_EXPORTER_BACKTEST_PROCESS_H_
#define MODELWATCH_EXPORTER_BACKTEST_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace modelwatch {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (looked up in PATH) with argv and waits for it. Returns an error only when it
// cannot be started; a non-zero exit is in the result.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv);

// Makes SIGINT and SIGTERM stop every running ChildProcess (SIGTERM) before the program exits
// with 128 + the signal, so an interrupted backtest leaves no server behind.
void StopChildrenOnSignal();

// A started child process that is stopped (SIGTERM, then SIGKILL after `grace`) when the
// object goes. Not thread-safe.
class ChildProcess {
 public:
  // Starts argv with stdout and stderr appended to `log_path`.
  static Result<ChildProcess> Start(const std::vector<std::string>& argv,
                                    const std::string& log_path);
  ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess() { Stop(); }

  // True while the process has not exited.
  bool Running();
  // SIGTERM, wait up to 10 s, then SIGKILL. Idempotent.
  void Stop();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_BACKTEST_PROCESS_H_
