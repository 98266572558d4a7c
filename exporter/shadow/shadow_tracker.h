// Shadow mode: compares a challenger version with the champion on the same requests.
//
// Records of the two versions named in ShadowConfig that carry the same request_id are
// paired when both arrive within `pairing_timeout` (event time) of each other; a record whose
// partner does not arrive in time counts as unpaired. Over each window (drift.windows,
// default [1h, 24h]; windows end at the newest event time seen, at the resolution of
// drift.sub_windows) it exports:
//   model_shadow_agreement_ratio{model,champion,challenger,window}   same predicted class
//       (binary: both sides of the threshold; multiclass: arg-max class; regression: within 5 %
//       of the champion's prediction)
//   model_shadow_score_correlation{...}   Pearson correlation of the paired scores (binary:
//       score; multiclass: highest probability; regression: prediction)
//   model_shadow_score_ks{...}            two-sample KS statistic of the paired scores
//       (classifiers: 1000 equal bins over [0, 1]; regression: the predictions in 4001
//       order-preserving bins 1.86 % wide in |value|, see RegressionBin in the .cc)
//   model_shadow_pairs{...}               pairs in the window
//   model_shadow_latency_p99_seconds{model,champion,challenger,version,window}  (log buckets,
//       2 % wide; the bucket's upper bound is reported)
//   model_shadow_error_ratio{model,champion,challenger,version,window}  non-ok share
//   model_shadow_unpaired_total{model,version}                           counter
// Memory is bounded by the configuration (windows x sub-windows x bins), plus the requests
// waiting for their partner (bounded by traffic x pairing_timeout). Waiting requests are
// kept as keyed hashes only, also in SaveState().
//
// Not thread-safe: the caller serialises every call (Collect() included).
#ifndef MODELWATCH_EXPORTER_SHADOW_SHADOW_TRACKER_H_
#define MODELWATCH_EXPORTER_SHADOW_SHADOW_TRACKER_H_

#include <prometheus/metric_family.h>

#include <cstdint>
#include <deque>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "exporter/groundtruth/keyed_hash.h"
#include "exporter/parse/record.h"

namespace modelwatch {

// One window's comparison. Ratios are NaN when undefined (no pairs, no variance, ...).
struct ShadowWindowStats {
  std::string window;
  std::int64_t pairs = 0;
  double agreement = 0;
  double correlation = 0;
  double ks = 0;
  // Index 0: champion, 1: challenger.
  std::int64_t records[2] = {0, 0};
  std::int64_t errors[2] = {0, 0};
  double error_ratio[2] = {0, 0};
  double latency_p99_seconds[2] = {0, 0};
};

class ShadowTracker {
 public:
  static constexpr int kScoreBins = 1000;
  static constexpr int kRegressionBins = 4001;
  static constexpr int kLatencyBins = 1000;

  // `model.shadow` must be set. `hasher` hashes request ids (KeyedHasher::FromStateDir).
  ShadowTracker(const ModelConfig& model, const KeyedHasher& hasher);

  // Any accepted record of the model; other versions than champion/challenger are ignored.
  void Observe(const Record& record);

  void Collect(std::vector<prometheus::MetricFamily>& out) const;

  // The windows' statistics at the newest event time, in drift.windows order.
  std::vector<ShadowWindowStats> Stats() const;

  std::uint64_t unpaired(int side) const { return unpaired_[side]; }
  std::uint64_t paired() const { return paired_; }
  // Records waiting for their partner, of champion (0) or challenger (1).
  std::size_t waiting(int side) const;
  // The newest event time seen (the windows' end), or -inf before the first record.
  double NewestEventTime() const {
    return has_newest_ ? newest_ : -std::numeric_limits<double>::infinity();
  }

  // Checkpoint of waiting requests, windows and counters. RestoreState() accepts only a
  // state saved with the same versions, windows and task; otherwise it returns an error and
  // leaves the tracker empty.
  nlohmann::json SaveState() const;
  Result<void> RestoreState(const nlohmann::json& state);

 private:
  struct Half {
    double ts = 0;
    int side = 0;
    bool ok = true;
    double score = 0;
    int cls = 0;
  };
  struct Bucket {
    std::int64_t index = -1;
    std::int64_t pairs = 0, agree = 0;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    std::vector<std::uint32_t> score_hist[2];
    std::int64_t records[2] = {0, 0}, errors[2] = {0, 0};
    std::vector<std::uint32_t> latency_hist[2];
  };
  struct Ring {
    std::string label;
    double sub_length = 0;
    std::vector<Bucket> buckets;
  };

  int ScoreBinOf(double score) const;
  Bucket* BucketFor(Ring& ring, double ts);
  void AddPair(const Half& champion, const Half& challenger, double ts);
  void Expire();
  std::string Signature() const;

  ModelConfig model_;
  ShadowConfig shadow_;
  KeyedHasher hasher_;
  int score_bins_;
  std::unordered_map<std::string, int> class_index_;
  std::vector<Ring> rings_;
  std::unordered_map<std::uint64_t, Half> waiting_;
  std::deque<std::pair<double, std::uint64_t>> arrival_;  // (ts, key) in arrival order
  double newest_ = 0;
  bool has_newest_ = false;
  std::uint64_t unpaired_[2] = {0, 0};
  std::uint64_t paired_ = 0;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_SHADOW_SHADOW_TRACKER_H_
