// A private Prometheus server over a backfilled TSDB, for the backtest: started on
// 127.0.0.1 at a free port with its own empty configuration (no scraping, no rules), queried
// over its HTTP API, stopped when the object goes.
#ifndef MODELWATCH_EXPORTER_BACKTEST_PROMETHEUS_SERVER_H_
#define MODELWATCH_EXPORTER_BACKTEST_PROMETHEUS_SERVER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "exporter/backtest/process.h"

namespace modelwatch {

// One series of a range query: its labels (with __name__ when the expression keeps it) and
// its samples in time order.
struct RangeSeries {
  std::map<std::string, std::string> labels;
  std::vector<std::pair<double, double>> samples;  // (unix seconds, value)
};

class PrometheusServer {
 public:
  // Starts `prometheus` over `tsdb_dir`, with its configuration and log in `work_dir`, and
  // waits (up to 120 s) until it answers /-/ready.
  static Result<std::unique_ptr<PrometheusServer>> Start(const std::string& tsdb_dir,
                                                         const std::string& work_dir);
  ~PrometheusServer();

  // "http://127.0.0.1:PORT".
  const std::string& url() const { return url_; }

  // query_range of `expr` at every `step` seconds from `start` to `end` (inclusive), split
  // into requests of at most 10,000 steps (Prometheus refuses 11,000); series of the pieces
  // are joined by their labels.
  Result<std::vector<RangeSeries>> QueryRange(const std::string& expr, double start, double end,
                                              double step) const;

 private:
  PrometheusServer(std::string url, ChildProcess process, std::string log_path)
      : url_(std::move(url)), process_(std::move(process)), log_path_(std::move(log_path)) {}
  Result<std::string> Get(const std::string& path_and_query) const;

  std::string url_;
  ChildProcess process_;
  std::string log_path_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_BACKTEST_PROMETHEUS_SERVER_H_
