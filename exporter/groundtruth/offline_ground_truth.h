// Ground truth over whole files, for the one-shot commands (`baseline --labels`,
// `shadow-report --labels`): a GroundTruthTracker with one window covering everything,
// nothing dropped or sampled, and its store in a temporary directory that is removed with
// this object.
#ifndef MODELWATCH_EXPORTER_GROUNDTRUTH_OFFLINE_GROUND_TRUTH_H_
#define MODELWATCH_EXPORTER_GROUNDTRUTH_OFFLINE_GROUND_TRUTH_H_

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "exporter/groundtruth/ground_truth_tracker.h"
#include "exporter/groundtruth/keyed_hash.h"

namespace modelwatch {

class OfflineGroundTruth {
 public:
  // The window that covers every record: label "all", 100 years.
  static Window AllWindow();

  // `model` may lack a ground_truth section; the label fields and the join then have their
  // defaults. The model's windows, delay, retention and sampling are replaced.
  static Result<std::unique_ptr<OfflineGroundTruth>> Open(const ModelConfig& model);

  GroundTruthTracker& tracker() { return *tracker_; }
  const GroundTruthTracker& tracker() const { return *tracker_; }
  // The hasher of the temporary state directory (for a ShadowTracker next to it).
  const KeyedHasher& hasher() const { return hasher_; }

  // Labels that matched no prediction (given up on, or still waiting because they are newer
  // than every prediction).
  std::uint64_t Unmatched() const;

  // Feeds every non-blank line of a label file, then flushes. Call it after every prediction
  // has been observed. Errors: the file cannot be read.
  Result<void> ReadLabels(const std::string& path);

 private:
  OfflineGroundTruth(TempDir dir, KeyedHasher hasher);
  TempDir dir_;  // declared first: destroyed after the tracker has closed its store
  KeyedHasher hasher_;
  std::unique_ptr<GroundTruthTracker> tracker_;
  std::uint64_t lines_read_ = 0;  // every label line is read once: its number is its position
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_GROUNDTRUTH_OFFLINE_GROUND_TRUTH_H_
