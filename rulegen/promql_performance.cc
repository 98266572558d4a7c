#include "rulegen/promql_performance.h"

#include <string>
#include <utility>
#include <vector>

#include "core/metric_catalogue.h"
#include "rulegen/promql_tiers.h"
#include "rulegen/promql_window.h"

namespace modelwatch {
namespace {

// The joined predictions in the window by version and outcome (binary), and by version
// (regression: the error summaries' count).
constexpr const char* kOutcomes =
    "model_version_outcome_window:model_labelled_predictions:window_count";
constexpr const char* kErrorCount =
    "model_version_window:model_prediction_absolute_error:window_count";

class PerformanceBuilder {
 public:
  PerformanceBuilder(const ModelConfig& m, RuleGroup& group, PromqlCounts& counts)
      : m_(m), rules_(m, group, counts) {}

  void AddWindow(const Window& w, const std::vector<std::string>& metrics) {
    rules_.Start(w);
    if (m_.task == Task::kBinaryClassification) {
      Add(kOutcomes, "",
          WindowCount(metric::kModelLabelledPredictionsTotal.Name(), "model, version, outcome"));
      const std::string tp = Outcomes("tp");
      // Where the ratio's denominator is 0 but the window holds joined predictions, 0
      // (zero_division=0); absent without any.
      const std::string zero =
          "\nor on (model, version)\n0 * (" + Outcomes("tp|fp|tn|fn") + " > 0)";
      for (const std::string& metric : metrics) {
        if (metric == "precision") {
          Add(metric::kModelPerformance.Name(), metric,
              tp + "\n/ on (model, version)\n(" + Outcomes("tp|fp") + " > 0)" + zero);
        } else if (metric == "recall") {
          Add(metric::kModelPerformance.Name(), metric,
              tp + "\n/ on (model, version)\n(" + Outcomes("tp|fn") + " > 0)" + zero);
        } else if (metric == "f1") {
          // 2 tp / (2 tp + fp + fn)
          Add(metric::kModelPerformance.Name(), metric,
              "2 * " + tp + "\n/ on (model, version)\n((" + tp + " + on (model, version) " +
                  Outcomes("tp|fp|fn") + ") > 0)" + zero);
        } else if (metric == "accuracy") {
          Add(metric::kModelPerformance.Name(), metric,
              Outcomes("tp|tn") + "\n/ on (model, version)\n(" + Outcomes("tp|fp|tn|fn") + " > 0)");
        }
      }
      return;
    }
    Add(kErrorCount, "",
        WindowCount(metric::kModelPredictionAbsoluteError.Count(), "model, version"));
    const std::string count = "(" + Recorded(kErrorCount) + " > 0)";
    for (const std::string& metric : metrics) {
      if (metric == "mae") {
        Add(metric::kModelPerformance.Name(), metric,
            WindowCount(metric::kModelPredictionAbsoluteError.Sum(), "model, version") +
                "\n/ on (model, version)\n" + count);
      } else if (metric == "rmse") {
        Add(metric::kModelPerformance.Name(), metric,
            "sqrt(\n" + WindowCount(metric::kModelPredictionSquaredError.Sum(), "model, version") +
                "\n/ on (model, version)\n" + count + "\n)");
      }
    }
  }

 private:
  void Add(std::string record, const std::string& metric, std::string expr) {
    std::vector<std::pair<std::string, std::string>> labels;
    if (!metric.empty()) labels.emplace_back("metric", metric);
    rules_.Add(std::move(record), std::move(expr), std::move(labels));
  }

  // The replicas' sum by `by` of each one's exact increase of `metric` over the window
  // (promql_tiers.h: in this rule with one tier, from the local tier's records with two).
  std::string WindowCount(const std::string& metric, const std::string& by) const {
    return rules_.WindowSum(metric, by);
  }

  std::string Recorded(const char* record) const { return rules_.Windowed(record); }

  // The window's joined predictions of the outcomes matching `regex`, by version.
  std::string Outcomes(const std::string& regex) const {
    const std::string outcome = regex.find('|') == std::string::npos
                                    ? "outcome=" + PromQuote(regex)
                                    : "outcome=~" + PromQuote(regex);
    return "sum by (model, version) (" + rules_.Windowed(kOutcomes, "," + outcome) + ")";
  }

  const ModelConfig& m_;
  PromqlWindowRules rules_;
};

}  // namespace

RuleGroup PromqlPerformanceGroup(const ModelConfig& m, Seconds interval) {
  PromqlCounts counts(m);
  return PromqlPerformanceGroup(m, interval, counts);
}

RuleGroup PromqlPerformanceGroup(const ModelConfig& m, Seconds interval, PromqlCounts& counts) {
  RuleGroup group{"modelwatch-" + m.name + "-performance-promql", interval, {}, {}};
  const std::vector<std::string> metrics = PromqlPerformanceMetrics(m);
  if (metrics.empty()) return group;
  PerformanceBuilder builder(m, group, counts);
  std::vector<Window> windows = m.ground_truth->windows;
  if (windows.empty()) windows.push_back(Window{"30d", Seconds(30 * 86400)});
  for (const Window& w : windows) builder.AddWindow(w, metrics);
  return group;
}

}  // namespace modelwatch
