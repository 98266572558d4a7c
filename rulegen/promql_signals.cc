#include "rulegen/promql_signals.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/metric_catalogue.h"

namespace modelwatch {
namespace {

// The records in the window, summed over the replicas: the drift.min_samples gate and the
// denominator of the per-record ratios.
constexpr const char* kRecords = "model_window:model_predictions:window_count";
// The ok records with a score or class probabilities in the window, by version: the
// denominator of the mean confidence and the positive rate.
constexpr const char* kConfidenceCount =
    "model_version_window:model_prediction_confidence:window_count";

class SignalsBuilder {
 public:
  SignalsBuilder(const ModelConfig& m, RuleGroup& group) : m_(m), group_(group) {}

  void AddWindow(const Window& w) {
    window_ = w.label;
    range_ = std::to_string(w.length.count()) + "s";
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
      }
    }
    const bool features = std::any_of(m_.features.begin(), m_.features.end(),
                                      [](const FeatureConfig& f) { return !f.pii; });
    if (features) {
      // The gate is the denominator: the window's records, at least drift.min_samples.
      Add(metric::kModelFeatureMissingRatio.Name(),
          WindowCount(metric::kModelFeatureMissingTotal.Name(), "model, feature") +
              "\n/ on (model) group_left ()\n(" + Recorded(kRecords) + " >= " + MinRecords() + ")");
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
  void Add(std::string record, std::string expr) {
    group_.recording.push_back({std::move(record), std::move(expr), {{"window", window_}}});
  }

  // Each replica's increase of `metric` over the window, exact and not extrapolated (its
  // value now minus its value a window ago; its value now where it has none then or went
  // down), summed `by`: increase() would weight the replicas by their own scrape times
  // (docs/scale-out.md, "The rules").
  std::string WindowCount(const std::string& metric, const std::string& by) const {
    const std::string sel = metric + "{model=" + PromQuote(m_.name) + "}";
    return "sum by (" + by + ") (\n  (" + sel + " - " + sel + " offset " + range_ +
           ") >= 0\n  or\n  " + sel + "\n)";
  }

  std::string Recorded(const char* record) const {
    return std::string(record) + "{model=" + PromQuote(m_.name) + ",window=" + PromQuote(window_) +
           "}";
  }

  // The exporter serves a window's signals once it holds drift.min_samples records (and at
  // least one).
  std::string MinRecords() const {
    return std::to_string(std::max<std::int64_t>(1, m_.drift.min_samples));
  }
  std::string Gate() const {
    return "\nand on (model) (" + Recorded(kRecords) + " >= " + MinRecords() + ")";
  }

  const ModelConfig& m_;
  RuleGroup& group_;
  std::string window_;
  std::string range_;
};

}  // namespace

RuleGroup PromqlSignalsGroup(const ModelConfig& m, Seconds interval) {
  RuleGroup group{"modelwatch-" + m.name + "-signals-promql", interval, {}, {}};
  SignalsBuilder builder(m, group);
  for (const Window& w : m.drift.windows) builder.AddWindow(w);
  return group;
}

}  // namespace modelwatch
