// The exporter daemon: sources (a LogTailer and a RecordParser per set of prediction-log
// globs), per-model trackers (ModelTrackers plus the model's label tailer), the checkpoint,
// reloads and the self-metrics. One ingest thread (Run()) does all reading and counting;
// HTTP threads only read the trackers under a mutex at scrape time (CollectAll(),
// LandingPage()).
#ifndef MODELWATCH_EXPORTER_DAEMON_EXPORTER_DAEMON_H_
#define MODELWATCH_EXPORTER_DAEMON_EXPORTER_DAEMON_H_

#include <prometheus/metric_family.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/error.h"
#include "exporter/aggregate/serving_aggregator.h"
#include "exporter/parse/record_parser.h"

namespace modelwatch {

struct ExporterOptions {
  std::string config_dir;
  std::string telemetry_path = "/metrics";
  std::string state_dir;
  std::chrono::milliseconds checkpoint_interval{5000};
  std::chrono::milliseconds poll_interval{250};
  std::vector<double> latency_buckets = DefaultLatencyBuckets();
  // A record whose event time is later than the wall clock plus this is rejected
  // (reason future_timestamp): it moves no window, retention or checkpoint.
  std::chrono::seconds future_tolerance{300};
};

// SIGTERM and SIGINT make Exporter::Run() return after a final checkpoint; SIGHUP reloads the
// configuration. SIGPIPE is ignored.
void InstallSignalHandlers();

// Wall-clock time, Unix seconds.
double WallSeconds();

class Exporter {
 public:
  explicit Exporter(ExporterOptions options);

  // Loads the config and baselines, restores the checkpoint. Errors are fatal at start.
  MultiResult<void> Start();
  // The ingest loop; returns at SIGTERM/SIGINT after the final checkpoint.
  void Run();

  void CollectAll(std::vector<prometheus::MetricFamily>& out);
  bool Ready() const { return ready_.load(); }
  std::string LandingPage();

  ~Exporter();

  // Implementation types (defined in exporter_daemon.cc).
  struct TailCounters;
  struct ModelRuntime;
  struct Source;

 private:
  // Builds models and sources for `config`; restores their state from `state` (a checkpoint
  // document or the in-memory snapshot taken before a reload). Caller holds mu_.
  Result<void> Build(ConfigSet config, const nlohmann::json& state);
  nlohmann::json SaveState() const;  // caller holds mu_
  void PollOnce();
  void Checkpoint();
  void Reload();
  void LogRejects(Source& source, const Rejection& why);
  void AppendSelfMetrics(std::vector<prometheus::MetricFamily>& out) const;
  // The latest event time accepted now: wall clock + future tolerance.
  double FutureLimit() const;
  // Counts and logs saved state thrown away at restore (`part`: what, `reason`: why).
  void StateReset(const std::string& model, const std::string& part, const std::string& reason,
                  const std::string& detail);

  ExporterOptions options_;
  mutable std::mutex mu_;
  ConfigSet config_;
  std::map<std::string, std::unique_ptr<ModelRuntime>> models_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::atomic<bool> ready_{false};

  // Self-metric state, guarded by mu_.
  double start_time_ = WallSeconds();
  double last_checkpoint_time_ = 0;
  double last_checkpoint_duration_ = 0;
  std::size_t last_checkpoint_bytes_ = 0;
  std::uint64_t checkpoint_failures_ = 0;
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  bool last_reload_ok_ = true;
  double last_reload_time_ = 0;
  std::uint64_t baseline_errors_ = 0;
  // (part, reason) -> saved state thrown away at restore.
  std::map<std::pair<std::string, std::string>, std::uint64_t> state_resets_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DAEMON_EXPORTER_DAEMON_H_
