// Replay: runs a prediction log (and optionally its labels) through the exporter's trackers in
// event time and writes what /metrics would have served at every step as OpenMetrics with
// timestamps (backfill with `promtool tsdb create-blocks-from openmetrics`). The engine of
// `modelwatch-exporter replay` (exporter/commands/replay_command.cc) and of the backtest.
#ifndef MODELWATCH_EXPORTER_REPLAY_REPLAY_H_
#define MODELWATCH_EXPORTER_REPLAY_REPLAY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace modelwatch {

struct ReplayOptions {
  std::vector<const ModelConfig*> models;  // non-empty; they share the input log
  std::string input;                       // prediction log, JSON Lines, read whole
  std::string labels;  // ground-truth label log for every model with ground truth, or ""
  double step = 60;    // seconds between the timestamps written
  // A record later than the log's own now (the median event time of the 50 records before
  // and after it) plus this is rejected (reason future_timestamp).
  double future_tolerance = 300;
  std::string output;  // OpenMetrics file, written atomically
  // Threads the models' trackers run on (each model on one; the output is the same for any
  // number); 0: one per core.
  std::size_t threads = 0;
};

struct ReplaySummary {
  std::string source;  // the models' names joined by "+"
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t label_lines = 0;
  std::uint64_t steps = 0;
  double first_step = 0;
  double last_step = 0;
  std::uint64_t samples = 0;
};

// Replays `options.input` into `options.output`. Errors (unreadable files, no valid record,
// --labels without a model with ground truth, too many steps, an unwritable output) leave no
// output file.
Result<ReplaySummary> Replay(const ReplayOptions& options);

// "replayed N record(s) (M line(s) rejected) [and L label line(s)] of SOURCE in S step(s) of
// STEP from T0 to T1: K samples to OUTPUT", the line both commands print.
std::string DescribeReplay(const ReplaySummary& summary, const std::string& step_text,
                           const std::string& output);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_REPLAY_REPLAY_H_
