#include "rulegen/promql_signals.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/distributions.h"
#include "core/metric_catalogue.h"
#include "rulegen/promql_drift.h"
#include "rulegen/promql_window.h"

namespace modelwatch {
namespace {

// The records in the window, summed over the replicas: the drift.min_samples gate and the
// denominator of the per-record ratios.
constexpr const char* kRecords = "model_window:model_predictions:window_count";
// The ok records with a score or class probabilities in the window, by version: the
// denominator of the mean confidence and the positive rate.
constexpr const char* kConfidenceCount =
    "model_version_window:model_prediction_confidence:window_count";

// The rate pooled over the window and the baseline, by version (the z-score's p̄), and each
// feature's missing share pooled likewise (the shift's critical value).
constexpr const char* kPooledRate = "model_version_window:model_positive_rate:pooled_with_baseline";
constexpr const char* kPooledMissing =
    "model_feature_window:model_feature_missing_ratio:pooled_with_baseline";

class SignalsBuilder {
 public:
  SignalsBuilder(const ModelConfig& m, RuleGroup& group, PromqlCounts& counts)
      : m_(m), rules_(m, group, counts) {}

  void AddWindow(const Window& w) {
    rules_.Start(w);
    const std::string gate = Gate();
    Add(kRecords, WindowCount(metric::kModelPredictionsTotal.Name(), "model"));
    if (m_.task != Task::kRegression) {
      Add(kConfidenceCount,
          WindowCount(metric::kModelPredictionConfidence.Count(), "model, version"));
      const std::string count = Recorded(kConfidenceCount) + " > 0";
      Add(metric::kModelPredictionConfidenceMean.Name(),
          WindowCount(metric::kModelPredictionConfidence.Sum(), "model, version") +
              "\n/ on (model, version)\n(" + count + ")" + gate);
      Add(metric::kModelPredictionEntropyMean.Name(),
          WindowCount(metric::kModelPredictionEntropy.Sum(), "model, version") +
              "\n/ on (model, version)\n(" +
              WindowCount(metric::kModelPredictionEntropy.Count(), "model, version") + " > 0)" +
              gate);
      if (m_.task == Task::kBinaryClassification) {
        Add(metric::kModelPositiveRate.Name(),
            WindowCount(metric::kModelPositivePredictionsTotal.Name(), "model, version") +
                "\n/ on (model, version)\n(" + count + ")" + gate);
        if (m_.promql_reference && m_.promql_reference->positive_rate) {
          AddPositiveRateZ(*m_.promql_reference->positive_rate);
        }
      }
    }
    const bool features = std::any_of(m_.features.begin(), m_.features.end(),
                                      [](const FeatureConfig& f) { return !f.pii; });
    if (features) {
      // The gate is the denominator: the window's records, at least drift.min_samples.
      Add(metric::kModelFeatureMissingRatio.Name(),
          WindowCount(metric::kModelFeatureMissingTotal.Name(), "model, feature") +
              "\n/ on (model) group_left ()\n(" + Recorded(kRecords) + " >= " + MinRecords() + ")");
      if (m_.promql_reference && !m_.promql_reference->missing.empty() &&
          m_.promql_reference->missing_records > 0) {
        AddMissingShift(*m_.promql_reference);
      }
    }
    if (m_.promql_reference && !m_.promql_reference->features.empty()) {
      Add(metric::kModelFeatureOutOfRangeRatio.Name(),
          WindowCount(metric::kModelFeatureOutOfRangeTotal.Name(), "model, feature") +
              "\n/ on (model, feature)\n(" +
              WindowCount(metric::kModelFeatureValue.Count(), "model, feature") + " > 0)" + gate);
    }
    Add(metric::kModelAnomalousRequestsRatio.Name(),
        WindowCount(metric::kModelAnomalousRequestsTotal.Name(), "model") + "\n/ on (model)\n(" +
            Recorded(kRecords) + " >= " + MinRecords() + ")");
  }

 private:
  // model_positive_rate_zscore {model, version, window}: effect_size.h's PositiveRateZ of the
  // window's rate r over its n scored records against the baseline's rate p0 over m records,
  //   z = (r − p0) / sqrt(p̄(1 − p̄)(1/n + 1/m) + τ²),  p̄ = (r·n + p0·m) / (n + m),
  // the pooled rate recorded first; the operations in the exporter's order, so both engines
  // give the same double. Where the denominator is 0 (τ = 0 and p̄ at 0 or 1) it is 0, as
  // from the exporter.
  void AddPositiveRateZ(const PositiveRateReference& pr) {
    const std::string rate = Recorded(metric::kModelPositiveRate.Name());
    const std::string n = Recorded(kConfidenceCount);
    Add(kPooledRate, "(" + rate + " * " + n + " + " + PromqlNumber(pr.rate * pr.records) +
                         ")\n/ (" + n + " + " + PromqlNumber(pr.records) + ")");
    const std::string pooled = Recorded(kPooledRate);
    const std::string sigma = "sqrt(\n  " + pooled + " * (1 - " + pooled + ") * (1 / " + n + " + " +
                              PromqlNumber(1 / pr.records) + ")\n  + " +
                              PromqlNumber(pr.tau_squared) + "\n)";
    const std::string shift = "(" + rate + " - " + PromqlNumber(pr.rate) + ")";
    Add(metric::kModelPositiveRateZscore.Name(),
        pr.tau_squared > 0 ? shift + "\n/ " + sigma
                           : "(" + shift + "\n/ (" + sigma + " > 0))\nor\n" + shift + " * 0");
  }

  // model_feature_missing_ratio_shift {model, feature, window}: the window's missing share
  // minus the baseline's (kPromqlBaselineMissingRatio); its critical value drift_noise.h's
  // MissingShiftCriticalValue at drift.alpha split over the features the baseline profiles,
  //   z(1 − level)·sqrt(p̄(1 − p̄)(1/n + 1/m)),  p̄ = (p·n + p0·m) / (n + m),
  // n the window's records, m the baseline's (effective), the pooled share recorded first.
  void AddMissingShift(const PromqlDriftReference& ref) {
    const std::string ratio = Recorded(metric::kModelFeatureMissingRatio.Name());
    const std::string baseline = rules_.Selector(kPromqlBaselineMissingRatio);
    const std::string n = Recorded(kRecords);
    const std::string m = PromqlNumber(ref.missing_records);
    Add(metric::kModelFeatureMissingRatioShift.Name(),
        ratio + "\n- on (model, feature)\n" + baseline);
    Add(kPooledMissing, "(\n  " + ratio + " * on (model) group_left () " + n +
                            "\n  + on (model, feature)\n  " + baseline + " * " + m +
                            "\n)\n/ on (model) group_left ()\n(" + n + " + " + m + ")");
    const std::string pooled = Recorded(kPooledMissing);
    const double level = m_.drift.alpha / static_cast<double>(ref.missing.size());
    Add(metric::kModelFeatureMissingRatioShiftCriticalValue.Name(),
        PromqlNumber(NormalQuantile(1 - level)) + " * sqrt(\n  " + pooled + " * (1 - " + pooled +
            ")\n  * on (model) group_left ()\n  (1 / " + n + " + " +
            PromqlNumber(1 / ref.missing_records) + ")\n)");
  }

  void Add(std::string record, std::string expr) { rules_.Add(std::move(record), std::move(expr)); }
  std::string WindowCount(const std::string& metric, const std::string& by) const {
    return rules_.WindowSum(metric, by);
  }
  std::string Recorded(const std::string& record) const { return rules_.Windowed(record); }

  // The exporter serves a window's signals once it holds drift.min_samples records (and at
  // least one).
  std::string MinRecords() const { return rules_.MinRecords(); }
  std::string Gate() const {
    return "\nand on (model) (" + Recorded(kRecords) + " >= " + MinRecords() + ")";
  }

  const ModelConfig& m_;
  PromqlWindowRules rules_;
};

}  // namespace

RuleGroup PromqlSignalsGroup(const ModelConfig& m, Seconds interval) {
  PromqlCounts counts(m);
  return PromqlSignalsGroup(m, interval, counts);
}

RuleGroup PromqlSignalsGroup(const ModelConfig& m, Seconds interval, PromqlCounts& counts) {
  RuleGroup group{"modelwatch-" + m.name + "-signals-promql", interval, {}, {}};
  SignalsBuilder builder(m, group, counts);
  for (const Window& w : m.drift.windows) builder.AddWindow(w);
  return group;
}

}  // namespace modelwatch
