// Builds a BaselineProfile from reference records (validation set or early production).
#ifndef MODELWATCH_EXPORTER_BASELINE_BASELINE_BUILDER_H_
#define MODELWATCH_EXPORTER_BASELINE_BASELINE_BUILDER_H_

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "exporter/baseline/baseline_profile.h"
#include "exporter/parse/record.h"

namespace modelwatch {

// Accumulates reference records in memory (reference sets are bounded by the user) and
// computes the profile. Settings (bins, top categories) come from model.drift.
// Not thread-safe.
class BaselineBuilder {
 public:
  // `model` must outlive the builder.
  explicit BaselineBuilder(const ModelConfig& model, int fine_quantiles = kDefaultFineQuantiles);

  // Adds one accepted record (features indexed as ModelConfig::features).
  void Add(const Record& record);

  std::int64_t records() const { return records_; }

  // Returns the profile (id filled) or an error when no record was added.
  Result<BaselineProfile> Finish() const;

 private:
  struct FeatureData {
    std::size_t config_index = 0;
    std::int64_t missing = 0;
    std::vector<double> values;                            // numeric
    std::unordered_map<std::string, std::int64_t> counts;  // categorical
  };
  struct DayData {
    std::int64_t outputs = 0;
    std::int64_t positives = 0;
    double confidence_sum = 0;
    double entropy_sum = 0;
  };

  const ModelConfig& model_;
  int fine_quantiles_;
  std::int64_t records_ = 0;
  double first_ts_ = 0;
  double last_ts_ = 0;
  std::vector<FeatureData> features_;
  std::vector<double> outputs_;                                 // score or regression output
  std::unordered_map<std::string, std::int64_t> class_counts_;  // multiclass predicted class
  std::int64_t output_records_ = 0;
  std::int64_t positives_ = 0;
  std::vector<double> confidence_;
  std::vector<double> entropy_;
  std::vector<double> confidence_ts_;  // event time of each confidence_ entry
  std::vector<double> output_ts_;      // event time of each output record
  std::vector<char> output_positive_;  // binary: whether it predicts the positive class
  std::map<std::int64_t, DayData> days_;
  std::unordered_set<std::uint64_t> distinct_;  // hashes of (features, output) per record
};

// Summarises numeric values (any order; non-finite values must be removed first).
NumericSummary SummariseNumeric(std::vector<double> values, int bins, int fine_quantiles);

// Keeps the `top` most frequent categories (count descending, then name) plus "other";
// `fixed`, when non-empty, gives the categories and their order instead.
CategoricalSummary SummariseCategorical(const std::unordered_map<std::string, std::int64_t>& counts,
                                        int top, const std::vector<std::string>& fixed = {});

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_BASELINE_BASELINE_BUILDER_H_
