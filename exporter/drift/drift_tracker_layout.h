// The layout of DriftTracker's counters (its private types), shared by the files that make up
// the tracker: drift_tracker.cc (observing, computing, collecting) and drift_tracker_state.cc
// (checkpoint save and restore). Not for use elsewhere.
#ifndef MODELWATCH_EXPORTER_DRIFT_DRIFT_TRACKER_LAYOUT_H_
#define MODELWATCH_EXPORTER_DRIFT_DRIFT_TRACKER_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "exporter/baseline/baseline_profile.h"
#include "exporter/drift/drift_tracker.h"
#include "exporter/stats/bin_locator.h"
#include "exporter/stats/window_clock.h"

namespace modelwatch {

namespace drift_detail {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
// Category (or class) name -> its bin, looked up without building a std::string.
using CategoryIndex = std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>>;

}  // namespace drift_detail

using drift_detail::CategoryIndex;

struct DriftTracker::FeatureTrack {
  std::size_t config_index = 0;
  std::string name;
  FeatureType type = FeatureType::kNumeric;
  const FeatureProfile* profile = nullptr;  // set when binned
  // The baseline's missing ratio (NaN without a profile of this feature): FeatureMissing.
  double baseline_missing = std::numeric_limits<double>::quiet_NaN();
  bool binned = false;
  std::size_t missing_cell = 0;
  std::size_t out_of_range_cell = 0;  // numeric, binned
  std::size_t bins_cell = 0;          // first bin's count cell
  std::size_t bin_count = 0;
  std::size_t sums_cell = 0;    // numeric, binned: first bin's sum cell
  std::size_t at_cut_cell = 0;  // numeric, binned: first cut's exact-hit count cell
  CategoryIndex categories;     // categorical, binned
  BinLocator locator;           // numeric, binned: over the baseline's fine cuts
  double noise_mean = 0;        // numeric, binned: ReferenceNoiseMean of its profile
  std::vector<DriftMethod> methods;
  // FeatureDrift's method and page threshold for this feature (its own, else the model's).
  DriftMethod alert_method = DriftMethod::kPsi;
  double alert_critical = 0;
};

struct DriftTracker::VersionLayout {
  OutputKind kind = OutputKind::kScore;
  bool binned = false;  // output distribution against the baseline
  const NumericSummary* numeric = nullptr;
  const CategoricalSummary* classes = nullptr;
  CategoryIndex class_index;
  BinLocator locator;           // numeric output
  double noise_mean = 0;        // numeric output: ReferenceNoiseMean of its profile
  std::size_t at_cut_cell = 0;  // numeric output: first cut's exact-hit count cell
  std::size_t bin_count = 0;
  std::size_t hist_classes = 0;  // score histograms: 1 binary, C multiclass, 0 regression
  std::size_t hist_cell = 0;     // first histogram count cell
  std::size_t hist_sum = 0;      // first histogram sum cell
  std::size_t cbpe_sum = 0;      // kCbpeSums cells after the histograms (CbpeSums)
  std::size_t counts_size = 0;
  std::size_t sums_size = 0;
  std::vector<DriftMethod> methods;
};

struct DriftTracker::Window {
  // A count cell of a window's sub-window slot. 64-bit: a slot of a 7-day window at 12
  // sub-windows spans 14 hours, which a model serving 100,000 records/s fills with 5 billion
  // records — past what 32 bits hold.
  using Cell = std::uint64_t;

  std::string label;
  Seconds length{0};
  WindowClock clock;
  std::uint64_t late = 0;
  std::vector<Cell> counts;                // sub_windows × slot counts
  std::vector<double> sums;                // sub_windows × slot sums
  std::vector<std::vector<Cell>> vcounts;  // per version: sub_windows × block
  std::vector<std::vector<double>> vsums;

  Window(std::string l, Seconds len, int sub_windows, Seconds lateness)
      : label(std::move(l)), length(len), clock(len, sub_windows, lateness) {}
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_DRIFT_DRIFT_TRACKER_LAYOUT_H_
