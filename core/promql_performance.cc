#include "core/promql_performance.h"

namespace modelwatch {

std::vector<std::string> PromqlPerformanceMetrics(const ModelConfig& m) {
  if (m.drift.engine != DriftEngine::kPromql || !m.ground_truth ||
      m.ground_truth->join_on != JoinKey::kRequestId) {
    return {};
  }
  switch (m.task) {
    case Task::kBinaryClassification:
      return {"precision", "recall", "f1", "accuracy"};
    case Task::kRegression:
      return {"mae", "rmse"};
    case Task::kMulticlassClassification:
      break;
  }
  return {};
}

}  // namespace modelwatch
