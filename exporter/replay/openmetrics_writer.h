// Writes metric families observed at successive timestamps as one OpenMetrics text file: each
// family once (HELP, TYPE, then all its samples in time order), every sample with its timestamp
// in seconds, "# EOF" last — what `promtool tsdb create-blocks-from openmetrics` reads to
// backfill Prometheus. Samples are spooled to one temporary file per family, so memory does
// not grow with the number of timestamps.
#ifndef MODELWATCH_EXPORTER_REPLAY_OPENMETRICS_WRITER_H_
#define MODELWATCH_EXPORTER_REPLAY_OPENMETRICS_WRITER_H_

#include <prometheus/metric_family.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace modelwatch {

// The OpenMetrics text of a number: shortest round-trip decimal, NaN, +Inf, -Inf.
std::string OpenMetricsNumber(double v);

class OpenMetricsWriter {
 public:
  // `spool_dir` must exist; the writer creates and removes its files there.
  explicit OpenMetricsWriter(std::string spool_dir);
  ~OpenMetricsWriter();

  // Appends every sample of `families` at `timestamp` (Unix seconds). Timestamps must not
  // decrease from one call to the next.
  Result<void> Add(const std::vector<prometheus::MetricFamily>& families, double timestamp);

  // Writes the file to `path` atomically (a temporary file beside it, fsync, rename).
  Result<void> Finish(const std::string& path);

  std::uint64_t samples() const { return samples_; }

 private:
  struct Family {
    std::string name;  // OpenMetrics family name (a counter's without "_total")
    std::string help;
    prometheus::MetricType type;
    std::string spool_path;
    std::ofstream spool;
  };
  Family& FamilyFor(const prometheus::MetricFamily& f);

  std::string spool_dir_;
  std::vector<std::unique_ptr<Family>> families_;  // in order of first appearance
  std::unordered_map<std::string, Family*> by_name_;
  std::uint64_t samples_ = 0;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_REPLAY_OPENMETRICS_WRITER_H_
