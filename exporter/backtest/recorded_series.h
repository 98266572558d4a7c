// Recording-rule results as OpenMetrics with timestamps, for `promtool tsdb
// create-blocks-from openmetrics`: the series a recording rule would have written.
#ifndef MODELWATCH_EXPORTER_BACKTEST_RECORDED_SERIES_H_
#define MODELWATCH_EXPORTER_BACKTEST_RECORDED_SERIES_H_

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "exporter/backtest/prometheus_server.h"

namespace modelwatch {

class RecordedSeriesWriter {
 public:
  // Adds the result of a recording rule: each series named `record`, with the rule's labels
  // replacing the result's (as Prometheus does); series of one name are kept together.
  void Add(const std::string& record, const std::map<std::string, std::string>& rule_labels,
           const std::vector<RangeSeries>& result);
  std::size_t samples() const { return samples_; }
  // Writes the OpenMetrics text (families in name order, samples in time order, `# EOF`).
  Result<void> Write(const std::string& path) const;

 private:
  // name -> labels -> samples
  std::map<std::string,
           std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>>>
      families_;
  std::size_t samples_ = 0;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_BACKTEST_RECORDED_SERIES_H_
