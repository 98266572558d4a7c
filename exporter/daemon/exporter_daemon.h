// The exporter daemon: sources (a LogTailer and a RecordParser per set of prediction-log
// globs), per-model trackers (ModelTrackers plus the model's label tailer), the checkpoint,
// reloads and the self-metrics. The sources are split into shards (each source with its
// models and their label tailers in exactly one); in every poll round each shard is read by
// one thread under the shard's own mutex, the shards in parallel. Everything else (reloads,
// rewinds, checkpoints, readiness) is done by the thread in Run() between rounds, while no
// shard is being read. HTTP threads only read the trackers, under the shard mutexes, at
// scrape time (CollectAll(), LandingPage()). With a statistics interval a thread of its own
// computes the drift statistics on that schedule (ComputeStatistics()) and scrapes serve the
// text it last published.
#ifndef MODELWATCH_EXPORTER_DAEMON_EXPORTER_DAEMON_H_
#define MODELWATCH_EXPORTER_DAEMON_EXPORTER_DAEMON_H_

#include <prometheus/metric_family.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/config_loader.h"
#include "core/error.h"
#include "exporter/aggregate/serving_aggregator.h"
#include "exporter/metrics/family_merge.h"
#include "exporter/parse/record_parser.h"
#include "exporter/state/checkpoint.h"

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
  // Called at every SIGHUP reload, before the model configuration is reloaded, to re-read and
  // apply --web.config.file (empty without one). An error means the running web config stays;
  // the reload then counts as failed.
  std::function<Result<void>()> reload_web_config;
  // Shards the sources are split into, at most: threads reading logs at once (capped by the
  // number of sources). 1 reads every source on the thread that calls Run().
  std::size_t ingest_threads = 1;
  // How often the statistics thread recomputes the drift statistics of the models that read
  // records since, from copies of their windows taken under the shard mutexes; a scrape and the
  // landing page serve the last text it published. Zero: no statistics thread, every scrape
  // computes the models that changed (exact at every scrape, the cost paid by the scrape).
  std::chrono::milliseconds statistics_interval{0};
  // Called by each statistics round after its copies are taken and the mutexes released,
  // before it computes anything (tests hold it there to show a scrape does not wait for it).
  std::function<void()> statistics_started;
};

// The CPU cores this process may run on (its affinity mask); at least 1.
std::size_t UsableCores();

// SIGTERM and SIGINT make Exporter::Run() return after a final checkpoint; SIGHUP reloads the
// configuration (the model configuration and the web config). SIGPIPE is ignored.
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

  void CollectAll(Exposition& out);
  // One round of the statistics thread: copies the windows of every model whose drift text is
  // older than its windows (under the mutexes, no statistics), then computes and publishes
  // their text (without any mutex). Returns the number of models computed.
  std::size_t ComputeStatistics();
  bool Ready() const { return ready_.load(); }
  std::string LandingPage();
  // The model's recent records as JSON (/api/v1/samples/<model>); nullopt for an unknown
  // model or one with limits.sample_size 0.
  std::optional<std::string> Sample(const std::string& model);

  ~Exporter();

  // Implementation types (defined in exporter_daemon.cc).
  struct TailCounters;
  struct ModelRuntime;
  struct Source;
  struct Shard;

 private:
  // Builds models and sources for `config`; restores their state from `state` (a checkpoint
  // document or the in-memory snapshot taken before a reload). Caller holds mu_.
  Result<void> Build(ConfigSet config, const nlohmann::json& state);
  // The state a restart would restore: positions and line counts, and with `with_counts` every
  // model's counts and windows (else only the label positions of each). Caller holds mu_, or
  // is the Run() thread between poll rounds (when nothing else changes what is saved;
  // scrapes only read it).
  nlohmann::json SaveState(bool with_counts) const;
  // The last checkpoint written (or restored at start), read back from disk: where a rewind
  // goes. Empty when there is none.
  nlohmann::json RestorePoint() const;
  // One poll round: every shard polled (in parallel, one thread each), then the stores
  // checked and readiness updated. Called by the Run() thread only.
  void PollOnce();
  // Reads what the shard's tailers have (a batch of lines at a time under the shard's mutex).
  void PollShard(Shard& shard);
  // Splits sources_ (with their models and label tailers) into shards_. Caller holds mu_.
  void AssignShards();
  // The pool of shard threads: thread i polls shards_[i] at every round (shard 0 is polled by
  // the Run() thread itself).
  void StartShardThreads();
  void StopShardThreads();
  // The statistics thread (options_.statistics_interval > 0): started and stopped by Run().
  void StartStatisticsThread();
  void StopStatisticsThread();
  void ShardThread(std::size_t index);
  void Checkpoint();
  void Reload();
  void LogRejects(Source& source, const Rejection& why);
  void AppendSelfMetrics(std::vector<prometheus::MetricFamily>& out) const;
  // Adds the ground-truth stores' new errors to store_write_errors_; true when there were any.
  bool CheckStores();
  // After a failed store write: rebuilds every model and source from the last checkpoint
  // written (read positions, counts and windows consistent with what the stores hold), so
  // the lines since are read again once the store can write. Caller holds mu_.
  void Rewind();
  // The latest event time accepted now: wall clock + future tolerance.
  double FutureLimit() const;
  // Counts and logs saved state thrown away at restore (`part`: what, `reason`: why).
  void StateReset(const std::string& model, const std::string& part, const std::string& reason,
                  const std::string& detail);

  // For a reader (a scrape): every shard's mutex, taken in shard order, each announced to its
  // poller while waiting. Caller holds mu_.
  std::vector<std::unique_lock<std::mutex>> ReaderLocks(std::size_t first, std::size_t end) const;
  static void YieldToReaders(const Shard& shard);

  ExporterOptions options_;
  // Guards what the Run() thread changes between poll rounds: the config, models_, sources_
  // and shards_ (the sets, not the trackers inside), the store state and the self-metric
  // state below. Held by the Run() thread for its global work and by readers (scrapes, the
  // landing page, samples) for a whole read; never by a shard thread. Order: mu_, then shard
  // mutexes in shard order, then resets_mu_.
  mutable std::mutex mu_;
  ConfigSet config_;
  std::map<std::string, std::unique_ptr<ModelRuntime>> models_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<bool> ready_{false};

  // The shard threads (options_.ingest_threads - 1 of them, started by Run()) and the round
  // they are told to poll: round_ counts rounds started, round_pending_ the threads still busy.
  std::vector<std::thread> shard_threads_;
  std::mutex round_mu_;
  std::condition_variable round_start_;
  std::condition_variable round_done_;
  std::uint64_t round_ = 0;
  std::size_t round_pending_ = 0;
  bool shard_threads_quit_ = false;

  std::thread statistics_thread_;
  std::mutex statistics_mu_;
  std::condition_variable statistics_wake_;
  bool statistics_quit_ = false;  // guarded by statistics_mu_

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
  // Writes the checkpoints (built at Start()); whether one is on disk (written or restored).
  std::unique_ptr<CheckpointWriter> writer_;
  bool checkpoint_written_ = false;
  // Ground-truth store health: errors per model (across rewinds), the models failing now,
  // and when ingestion may retry after a failed write.
  std::map<std::string, std::uint64_t> store_write_errors_;
  std::map<std::string, std::uint64_t> store_errors_seen_;
  std::map<std::string, bool> store_down_;
  std::chrono::steady_clock::time_point retry_at_{};
  bool store_failing_ = false;
  std::set<std::string> corrupt_stores_;  // quarantined at the next rewind
  // The checkpoint could not be read at start: files present are read from the beginning.
  bool checkpoint_lost_ = false;
  // (part, reason) -> saved state thrown away at restore (or an offset found invalid by a
  // shard thread). Guarded by resets_mu_, a leaf lock.
  mutable std::mutex resets_mu_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> state_resets_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DAEMON_EXPORTER_DAEMON_H_
