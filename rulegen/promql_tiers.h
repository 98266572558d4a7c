// drift.engine: promql in one tier or two (docs/scale-out.md, "Two tiers: Thanos and Mimir").
// Every rule of the engine starts from sums over the exporter replicas of each replica's
// counter increase over a window. With one tier (drift.tiers: 1) those sums are computed in
// the rules that use them, from the replicas' counters. With two, each sum is recorded by a
// local-tier rule that every Prometheus scraping exporters evaluates over its own replicas,
// and the global tier (a Thanos Ruler or Mimir ruler, which sees every Prometheus' series)
// sums the local tier's series over the Prometheus servers; the drift and signal formulas on
// top are the same text in both cases.
#ifndef MODELWATCH_RULEGEN_PROMQL_TIERS_H_
#define MODELWATCH_RULEGEN_PROMQL_TIERS_H_

#include <set>
#include <string>

#include "core/config.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

class PromqlCounts {
 public:
  // One tier: WindowSum is the replicas' sum itself.
  explicit PromqlCounts(const ModelConfig& m) : m_(m), local_(nullptr) {}
  // Two tiers: WindowSum records the per-Prometheus sum in `local` (once per metric, labels
  // and window) and returns the sum of those over every Prometheus.
  PromqlCounts(const ModelConfig& m, RuleGroup& local) : m_(m), local_(&local) {}

  // The sum by the labels `by` ("model, feature, le") over the replicas of each replica's
  // increase of `metric` over `w`, exact and not extrapolated: its value now minus its value
  // a window ago; its value now where it has none then (a series younger than the window)
  // or went down (a counter reset). increase() would weight the replicas by their own scrape
  // times (docs/scale-out.md, "The rules").
  std::string WindowSum(const std::string& metric, const Window& w, const std::string& by);

  bool two_tiers() const { return local_ != nullptr; }

 private:
  const ModelConfig& m_;
  RuleGroup* local_;
  std::set<std::string> recorded_;  // local-tier records already added, name and window
};

// The local tier's record of the sum of `metric` by `by` ("model, feature, le" ->
// model_feature_le_window:<metric>:local_increase; level:metric:operation, the window a label).
std::string LocalIncreaseRecord(const std::string& metric, const std::string& by);

// The local tier's group of model `name`: `modelwatch-<name>-promql-local`.
std::string LocalGroupName(const std::string& name);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_PROMQL_TIERS_H_
