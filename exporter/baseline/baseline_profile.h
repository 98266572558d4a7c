// Baseline profiles: what the reference data looked like, as the drift tracker compares
// against it. Built by `modelwatch-exporter baseline` (baseline_builder.h), stored as
// deterministic, versioned JSON whose `id` is a content hash (format in docs/statistics.md).
#ifndef MODELWATCH_EXPORTER_BASELINE_BASELINE_PROFILE_H_
#define MODELWATCH_EXPORTER_BASELINE_BASELINE_PROFILE_H_

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace modelwatch {

inline constexpr int kBaselineFormatVersion = 1;
inline constexpr const char* kBaselineFormatName = "modelwatch-baseline";
inline constexpr int kDefaultFineQuantiles = 400;
inline constexpr int kBaselineBatches = 20;
inline constexpr int kMinBatchRecords = 20;

// A numeric distribution. Coarse bins (PSI, JS, model_feature_value buckets): closed on the
// right over `edges` (numpy linear quantiles at k/bins, duplicates merged), open-ended first
// and last bin, so edges.size() + 1 bins. Fine bins (KS, Wasserstein): the same scheme over
// `fine_cuts` = the quantiles at k/fine_quantiles, k = 0..fine_quantiles (so min and max are
// cuts), merged with `edges` and, when the reference has at most fine_quantiles distinct
// values, with every distinct value; duplicates removed; every coarse edge is a fine cut.
struct NumericSummary {
  std::int64_t count = 0;  // non-missing values
  double min = 0;          // training range
  double max = 0;
  double mean = 0;
  double std = 0;  // ddof = 0
  std::vector<double> edges;
  std::vector<std::int64_t> counts;  // per coarse bin
  std::vector<double> proportions;   // per coarse bin, counts / count
  std::vector<double> fine_cuts;
  std::vector<double> fine_mass;  // per fine bin: proportion of values
  std::vector<double> fine_mean;  // per fine bin: mean of its values (0 where empty)
  // Per fine cut: proportion of values exactly equal to it (part of fine_mass of the bin the
  // cut closes), so KS sees both one-sided limits of the CDF at every cut. Stored as
  // `fine.at_cut`; a file without it (built before the key existed) gets it derived on load:
  // a bin's whole mass when its mean equals its right cut (all its values sit on the cut,
  // always so for a discrete reference), else 0.
  std::vector<double> fine_at_cut;

  // Derived on load, not stored: the coarse bin of each fine bin.
  std::vector<std::uint32_t> fine_to_coarse;
};

// A categorical distribution: the most frequent reference categories (by count, then name)
// plus one "other" bin last.
struct CategoricalSummary {
  std::int64_t count = 0;  // non-missing values
  std::vector<std::string> categories;
  std::vector<std::int64_t> counts;  // categories.size() + 1, last = other
  std::vector<double> proportions;
};

struct FeatureProfile {
  std::string name;
  FeatureType type = FeatureType::kNumeric;
  double missing_rate = 0;         // of all reference records
  NumericSummary numeric;          // type numeric
  CategoricalSummary categorical;  // type categorical
};

// Mean and spread of a per-record quantity (confidence, entropy).
struct MomentSummary {
  std::int64_t count = 0;
  double mean = 0;
  double std = 0;  // per record, ddof = 0
  // Standard deviation (ddof 0) of the daily means over the reference's UTC days; NaN when
  // the reference covers fewer than two days.
  double daily_std = std::numeric_limits<double>::quiet_NaN();
  // Between-batch standard deviation of the mean beyond sampling noise: the reference in time
  // order cut into kBaselineBatches equal batches of b records, sqrt(max(0, var(batch means,
  // ddof 1) − std²/b)). NaN with fewer than kBaselineBatches × kMinBatchRecords records, and in
  // files written before it existed.
  double batch_between_std = std::numeric_limits<double>::quiet_NaN();
};

enum class OutputKind { kScore, kClass, kRegression };
const char* OutputKindName(OutputKind kind);  // score class regression

struct PredictionProfile {
  OutputKind kind = OutputKind::kScore;
  std::int64_t records = 0;    // ok records with an output
  NumericSummary numeric;      // kScore: the score; kRegression: the prediction
  CategoricalSummary classes;  // kClass: the predicted class
  // Binary only: positive = predicted class "1".
  std::int64_t positive_count = 0;
  double positive_rate = 0;
  double positive_rate_daily_std = std::numeric_limits<double>::quiet_NaN();
  // As MomentSummary::batch_between_std, for the positive rate (std² = p(1 − p)).
  double positive_rate_batch_between_std = std::numeric_limits<double>::quiet_NaN();
  MomentSummary confidence;  // classifiers
  MomentSummary entropy;     // classifiers
};

// Performance of the model on the labelled reference records (`baseline --labels`), the
// reference point for model_performance. Metric names and definitions as in
// docs/ground-truth.md.
struct ReferencePerformance {
  std::int64_t labelled = 0;              // reference records that received a label
  std::map<std::string, double> metrics;  // e.g. auc -> 0.91
};

struct BaselineProfile {
  int version = kBaselineFormatVersion;
  std::string id;  // 16 hex digits: FNV-1a 64 of the canonical content (all but "id")
  std::string model;
  Task task = Task::kBinaryClassification;
  std::int64_t records = 0;  // accepted reference records
  // Distinct reference records (features and output): below `records` when the reference
  // repeats records (a bootstrap, an upsampled set). 0 in files written before it existed.
  std::int64_t distinct_records = 0;
  double first_timestamp = 0;
  double last_timestamp = 0;
  int days = 0;  // distinct UTC days with records
  int bins = 10;
  int top_categories = 20;
  int fine_quantiles = kDefaultFineQuantiles;
  std::vector<FeatureProfile> features;  // config order, PII features left out
  PredictionProfile prediction;
  std::optional<ReferencePerformance> performance;  // absent without labels

  // Returns nullptr when there is no such feature.
  const FeatureProfile* FindFeature(const std::string& name) const;

  // The number of independent reference values behind `count` values: count scaled by
  // distinct_records / records (repeated records carry no new information), count itself
  // when distinct_records is unknown.
  double EffectiveCount(std::int64_t count) const;
};

// Serialises with sorted keys; ToJson fills "id" from the content (ignoring profile.id).
nlohmann::json BaselineToJson(const BaselineProfile& profile);

// Returns the content hash of a baseline JSON document (its "id" member ignored).
std::string BaselineContentId(const nlohmann::json& document);

// Parses and validates a baseline document. `source` names it in errors. Checks the format
// name and version, the content hash, array shapes and ordering. Never throws.
Result<BaselineProfile> ParseBaselineProfile(const nlohmann::json& document,
                                             const std::string& source);

// Checks that `profile` fits `model`: same model name and task, every non-PII configured
// feature present with the same type. Errors are located at the model's YAML file.
Result<void> CheckBaselineMatchesModel(const BaselineProfile& profile, const ModelConfig& model);

// Reads, parses and checks the file model.baseline. Never throws.
Result<BaselineProfile> LoadBaselineProfile(const ModelConfig& model);
// Same for an explicit path.
Result<BaselineProfile> LoadBaselineProfile(const std::string& path, const ModelConfig& model);

// Writes `profile` (with its content id) to `path` atomically: a temporary file in the same
// directory, fsync, rename. Returns the id written.
Result<std::string> WriteBaselineProfile(const BaselineProfile& profile, const std::string& path);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_BASELINE_BASELINE_PROFILE_H_
