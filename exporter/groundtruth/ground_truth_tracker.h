// Joins delayed ground-truth labels to stored predictions and computes performance over
// rolling windows of labelled predictions.
//
// The main loop hands every accepted prediction record of the model to ObservePrediction()
// and every line of the model's label files to ObserveLabelLine(); Collect() adds the
// families below at scrape time; Flush() commits everything observed so far to the
// prediction store and must be called before the caller checkpoints its read positions
// (re-reading lines after the last checkpoint is harmless: inserts and label joins are
// idempotent).
//
// Exported (label values per the modelwatch contract):
//   model_performance{model,version,metric,window}                      gauge
//   model_segment_performance{model,version,segment,value,metric,window} gauge
//   model_performance_samples{model,version,window}                     gauge, labelled count
//   model_label_match_ratio{model,window}                               gauge
//   model_labels_total{model}, model_labels_matched_total{model},
//   model_labels_duplicate_total{model}, model_labels_unmatched_total{model},
//   model_labels_sampled_out_total{model}                               counters
//   model_label_lines_rejected_total{model,reason}                      counter
//   model_ground_truth_sample_rate{model}                               gauge, stored/observed
//   model_ground_truth_store_errors_total{model}                        counter
//   modelwatch_cardinality_overflow_total{model,label="segment"}         counter, stored
//                                        predictions whose segment value went to __other__
//   model_shadow_performance{model,champion,challenger,version,metric,window}
//                                        gauge, both versions on the same labelled requests
//   model_performance_recompute_duration_seconds{model}                 gauge, last recomputation
//   model_performance_recompute_errors_total{model}                     counter
//   drift.engine: promql with request_id joins (PromqlPerformanceMetrics() not empty):
//   model_labelled_predictions_total{model,version,outcome}             counter, binary:
//                                        joined predictions by tp, fp, tn, fn at the threshold
//   model_prediction_absolute_error{model,version},
//   model_prediction_squared_error{model,version}                       summaries (sum,
//                                        count), regression: the joined predictions' errors
//   and model_performance leaves out the metrics Prometheus records from them for the fleet.
//
// Windows (ground_truth.windows, default [30d]) end at the newest prediction event time seen.
// Not thread-safe: the caller serialises every call (Collect() included). With
// Recompute::kBackground the tracker runs one thread of its own, which touches nothing the
// caller can reach; the destructor stops it.
#ifndef MODELWATCH_EXPORTER_GROUNDTRUTH_GROUND_TRUTH_TRACKER_H_
#define MODELWATCH_EXPORTER_GROUNDTRUTH_GROUND_TRUTH_TRACKER_H_

#include <prometheus/metric_family.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "exporter/groundtruth/keyed_hash.h"
#include "exporter/groundtruth/label_parser.h"
#include "exporter/groundtruth/prediction_store.h"
#include "exporter/groundtruth/sliding_performance.h"
#include "exporter/parse/record.h"

namespace modelwatch {

// Settings of the tracker that are not part of the model's configuration (the tunables are
// GroundTruthConfig fields: retention_buffer, sample_rate, label_grace, recompute_interval,
// max_segment_values).
struct GroundTruthOptions {
  // Overrides ground_truth.recompute_interval; zero recomputes on every Collect() (tests).
  std::optional<std::chrono::steady_clock::duration> recompute_interval;
  std::size_t batch_size = 20000;  // store writes per transaction
  // Stored predictions with a later event time (left by a future-dated record before event
  // times were bounded) are deleted at Open(), so they cannot hold the windows' end.
  double max_event_time = std::numeric_limits<double>::infinity();
  // The daemon's mode. kInline: Collect() recomputes on the caller's thread, from the writing
  // connection (replay, offline commands, tests). kBackground: Flush() hands the
  // recomputation to a thread of the tracker's own, which reads what Flush() committed
  // through a second connection (memory bounded by ground_truth.recompute_memory_mb); Collect()
  // only serves the last finished result, so a scrape never waits for it.
  enum class Recompute { kInline, kBackground };
  Recompute recompute = Recompute::kInline;
  // false: the store is a temporary database, in memory up to its page cache (replay,
  // backtest: a scratch store thrown away at exit).
  bool durable_store = true;
  // true: the windows' performance is kept up to date row by row (SlidingPerformance) instead
  // of recomputed from the store's rows at every Collect(): what replay needs, recomputing at
  // every step. Only for a new, empty store with request_id joins and Recompute::kInline (it
  // sees each label as it joins); otherwise ignored. The values are the same up to rounding.
  bool sliding_performance = false;
};

// One computed value.
struct PerformanceValue {
  std::string version;
  std::string segment;  // empty: the whole version
  std::string value;    // the segment value
  std::string metric;
  std::string window;
  double value_number = 0;
};

struct GroundTruthSnapshot {
  bool has_data = false;
  double newest = 0;  // window end
  std::vector<PerformanceValue> performance;
  std::vector<std::pair<std::string, std::pair<std::string, double>>> samples;  // version,window
  std::vector<std::pair<std::string, double>> match_ratio;                      // window, ratio
  // Shadow: version is the champion's or the challenger's, same requests for both.
  std::vector<PerformanceValue> shadow;
};

class GroundTruthTracker {
 public:
  // Opens (or creates) `<state_dir>/groundtruth/<model>.sqlite` and the hash key
  // `<state_dir>/groundtruth.key` (both created on first start). `model` is copied; when it
  // has no ground_truth section the defaults apply.
  static Result<std::unique_ptr<GroundTruthTracker>> Open(const ModelConfig& model,
                                                          const std::string& state_dir,
                                                          const GroundTruthOptions& options = {});
  ~GroundTruthTracker();  // Flush()es

  // An accepted prediction record of this model. Error-status records and records without
  // the join key (request_id, or entity_id for entity joins) are not stored.
  void ObservePrediction(const Record& record);

  // Where a label line was read: its file (device, inode) and the offset after its newline.
  struct LineSource {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint64_t end_offset = 0;
  };

  // One line of a label file (without its newline). Rejected lines are counted by reason.
  // The same label the store holds already (the same line written twice) is a duplicate only
  // when `source` shows the line is read for the first time: a line at or before the furthest
  // position of its file whose effects the store holds is a re-read after a restart, counted
  // then. Without `source`, such a label is not counted (it may be a re-read).
  void ObserveLabelLine(std::string_view line, const LineSource* source = nullptr);

  // Commits to the store, gives up on labels that waited too long and enforces retention.
  // Returns false when the store reported an error (counted in the errors metric).
  bool Flush();

  // Appends the families listed above.
  void Collect(std::vector<prometheus::MetricFamily>& out) const;

  // Recomputes and returns the windows' values now (ignores recompute_interval), on the
  // caller's thread from the writing connection, uncommitted writes included.
  GroundTruthSnapshot ComputeSnapshot() const;

  // Recompute::kBackground: blocks until no recomputation is requested or running, and
  // returns the last result (tests, benchmarks). kInline: the last result Collect() computed.
  GroundTruthSnapshot WaitForRecompute() const;
  // Recomputations that failed (a store read error); the last result stays served.
  std::uint64_t recompute_errors() const;

  // The joined predictions of one version since the store began, each counted once, as its
  // label joins: what the promql engine's counters serve. Binary outcomes add the row's
  // sampling weight; regression rows count 1 each (they all weigh the same, 1 / sample_rate,
  // so the sums' ratios are the weighted means).
  struct JoinedCounts {
    double tp = 0, fp = 0, tn = 0, fn = 0;               // binary, at the model's threshold
    double count = 0, abs_error = 0, squared_error = 0;  // regression
  };
  // By version; empty unless PromqlPerformanceMetrics(model) is not.
  const std::map<std::string, JoinedCounts>& joined() const { return joined_; }

  // Counters (for tests and the shadow report).
  std::uint64_t labels() const { return labels_; }
  std::uint64_t matched() const { return matched_; }
  std::uint64_t duplicates() const { return duplicates_; }
  std::uint64_t unmatched() const { return unmatched_; }
  std::uint64_t sampled_out() const { return sampled_out_; }
  std::size_t pending_key_filter_size() const { return pending_keys_.size(); }
  std::uint64_t rejected(LabelReject reason) const { return rejected_[static_cast<int>(reason)]; }
  std::uint64_t observed() const { return observed_; }
  // Labels waiting for their prediction (a query of the store).
  std::int64_t WaitingLabels() const { return store_->CountWaitingLabels(); }
  std::uint64_t stored() const { return stored_; }
  // Errors the prediction store reported since Open(), and the last one.
  std::uint64_t store_errors() const { return store_->errors(); }
  const std::string& store_last_error() const { return store_->last_error(); }
  bool store_corrupt() const { return store_->corrupt(); }
  // <state_dir>/groundtruth/<model>.sqlite
  static std::string StorePath(const std::string& state_dir, const std::string& model);
  // Future-dated predictions deleted at Open() (see GroundTruthOptions::max_event_time).
  std::int64_t future_rows_deleted() const { return future_rows_deleted_; }
  std::int64_t StoredRows() const { return store_->CountPredictions(); }

 private:
  GroundTruthTracker(const ModelConfig& model, KeyedHasher hasher,
                     std::unique_ptr<PredictionStore> store, const GroundTruthOptions& options);
  std::string CapVersion(std::string_view version);
  void EncodeSegments(const Record& record);
  bool KeepSample(std::uint64_t key, double confidence) const;
  void ResolvePending(std::uint64_t key);
  void ObserveEntityLabel(const LabelRecord& label, PendingLabel& pending, bool first_reading);
  void HandleGivenUp(const PendingLabel& label);
  void SaveCaps();
  // The windows' values ending at `newest`, from `rows`. Reads only members fixed at
  // construction, so the background thread may call it while the owner observes.
  GroundTruthSnapshot Compute(LabelledRowSource& rows, double newest) const;
  // The recomputation thread (Recompute::kBackground).
  class Background;
  nlohmann::json Counters() const;
  // The families of joined_ (binary: model_labelled_predictions_total; regression: the two
  // error summaries).
  void CollectJoined(std::vector<prometheus::MetricFamily>& out) const;
  // Adds a row the store has just labelled to joined_.
  void CountJoined(const LabelledRow& row);
  void LoadCounters(const std::string& text);

  ModelConfig model_;
  GroundTruthConfig gt_;
  std::chrono::steady_clock::duration recompute_interval_;
  KeyedHasher hasher_;
  std::unique_ptr<PredictionStore> store_;
  // GroundTruthOptions::sliding_performance: fed by the store as labels join, advanced by
  // Compute() (which is const for the background thread's sake; this mode is inline only).
  std::unique_ptr<SlidingPerformance> sliding_;
  LabelParser label_parser_;
  std::unordered_map<std::string, int> class_index_;
  std::vector<Window> windows_;
  double newest_ = 0;
  bool has_newest_ = false;
  double last_purge_ = 0;
  std::int64_t future_rows_deleted_ = 0;
  // Keys with a label waiting (or matched after waiting) in the store: a prediction whose key
  // is not here needs no look-up. A superset, rebuilt in Flush() when it has doubled.
  std::unordered_set<std::uint64_t> pending_keys_;
  std::size_t pending_keys_rebuilt_ = 0;
  std::set<std::string> versions_;
  std::vector<std::set<std::string>> segment_values_;
  std::string segments_buf_;
  bool caps_dirty_ = false;

  std::uint64_t labels_ = 0, matched_ = 0, duplicates_ = 0, unmatched_ = 0, sampled_out_ = 0;
  std::uint64_t observed_ = 0, stored_ = 0;
  std::uint64_t segment_overflow_ = 0;  // stored predictions with a segment value capped
  bool segment_overflowed_ = false;     // set by EncodeSegments() for the current record
  std::uint64_t rejected_[kLabelRejectCount] = {};
  // PromqlPerformanceMetrics(model_): counted by CountJoined(), saved with the counters in
  // the commit that stores the joins they count, so a restart neither loses nor repeats one.
  std::vector<std::string> promql_metrics_;
  std::map<std::string, JoinedCounts> joined_;
  // The furthest label-line position per file (dev, ino) whose effects are in the store:
  // saved with the counters in every commit. At most kMaxLabelFiles files, the least
  // recently read dropped first.
  struct ReadUpTo {
    std::uint64_t end_offset = 0;
    std::uint64_t last_use = 0;
  };
  static constexpr std::size_t kMaxLabelFiles = 64;
  std::map<std::pair<std::uint64_t, std::uint64_t>, ReadUpTo> label_read_up_to_;
  std::uint64_t label_reads_ = 0;
  // True when `source` lies at or before what the store holds (a line read again); records
  // it as read otherwise.
  bool ReadBefore(const LineSource* source);
  void CountDuplicateWithoutWrite();
  nlohmann::json LabelPositions() const;
  void LoadLabelPositions(const std::string& text);

  mutable GroundTruthSnapshot cached_;  // kInline
  mutable double cached_seconds_ = 0;   // how long computing cached_ took
  mutable bool dirty_ = true;
  mutable std::chrono::steady_clock::time_point computed_at_{};
  std::unique_ptr<Background> background_;  // kBackground; declared last: stopped first
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_GROUNDTRUTH_GROUND_TRUTH_TRACKER_H_
