// One accepted prediction-log record, as the parser hands it to aggregation.
#ifndef MODELWATCH_EXPORTER_PARSE_RECORD_H_
#define MODELWATCH_EXPORTER_PARSE_RECORD_H_

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

namespace modelwatch {

// Value of one configured feature in one record.
struct FeatureValue {
  enum class Kind { kMissing, kNumber, kString };
  Kind kind = Kind::kMissing;
  double number = NAN;    // kNumber (finite or +/-inf); NaN is reported as kMissing
  std::string_view text;  // kString; a categorical logged as a number is printed here
};

// The category a present categorical value counts under, everywhere (the baseline, the drift
// windows, the category counters): its text, or its number printed without ".0" when
// integral, else with 17 significant digits into `buf`. Views `v.text` or `buf`.
inline std::string_view CategoryOf(const FeatureValue& v, std::array<char, 32>& buf) {
  if (!v.text.empty() || v.kind == FeatureValue::Kind::kString) return v.text;
  int n = 0;
  if (std::isfinite(v.number) && v.number == std::floor(v.number) && std::fabs(v.number) < 1e15) {
    n = std::snprintf(buf.data(), buf.size(), "%.0f", v.number);
  } else {
    n = std::snprintf(buf.data(), buf.size(), "%.17g", v.number);
  }
  return std::string_view(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
}

// A parsed record. string_views point into the parser's buffers and stay valid until the
// parser's next Parse() call. Vectors are reused between records (no per-record allocation
// once warm). Indexes of `features` follow ModelConfig::features.
struct Record {
  double timestamp = 0;         // event time, Unix seconds
  std::string_view model;       // routing field; empty when absent
  std::string_view version;     // "unknown" when absent
  std::string_view request_id;  // empty when absent
  std::string_view entity_id;   // empty when absent
  bool has_latency = false;
  double latency_seconds = 0;
  bool ok = true;           // status absent or "ok"
  std::string_view status;  // raw status when !ok
  // Binary: score in [0,1] (has_score). Multiclass: probabilities (class order of
  // ModelConfig::classes). Regression: prediction.
  bool has_score = false;
  double score = 0;
  std::vector<double> probabilities;
  bool has_prediction = false;
  double prediction = 0;
  // Classifiers: the predicted class (binary: "1" if score >= threshold else "0", unless the
  // record logs `prediction`; multiclass: arg-max class name). Empty for regression.
  std::string_view predicted_class;
  std::vector<FeatureValue> features;
  std::vector<std::pair<std::string_view, std::string_view>> segment;
};

// The one rule for "this binary classifier's record predicts the positive class": the class
// the model served, i.e. the logged `prediction` when the record has one, else score >=
// threshold (the parser fills `predicted_class` that way). Used wherever a decision is
// counted: the positive rate (baseline and drift), champion/challenger agreement. Label-based
// precision/recall/F1 are instead the classifier's metrics at the configured threshold on the
// score, as scikit-learn computes them from y_score >= t (docs/ground-truth.md).
inline bool IsPositivePrediction(const Record& record, double threshold) {
  if (!record.predicted_class.empty()) return record.predicted_class == "1";
  return record.has_score && record.score >= threshold;
}

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_PARSE_RECORD_H_
