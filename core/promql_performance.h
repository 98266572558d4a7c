// Which label-based performance metrics drift.engine: promql records for the fleet: one
// definition for the exporter (which then does not serve them and serves the counters they are
// computed from) and rulegen (which writes their recording rules).
#ifndef MODELWATCH_CORE_PROMQL_PERFORMANCE_H_
#define MODELWATCH_CORE_PROMQL_PERFORMANCE_H_

#include <string>
#include <vector>

#include "core/config.h"

namespace modelwatch {

// drift.engine: promql and ground truth joined by request_id: the `model_performance`
// metrics that are ratios of sums over the joined predictions (binary: precision, recall, f1,
// accuracy; regression: mae, rmse), which Prometheus records for the fleet from every
// replica's counters (docs/scale-out.md, "Ground truth across replicas"). Empty for every
// other model (multiclass, entity_id joins, no ground_truth, the exporter engine): its
// exporters serve every metric themselves.
std::vector<std::string> PromqlPerformanceMetrics(const ModelConfig& m);

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_PROMQL_PERFORMANCE_H_
