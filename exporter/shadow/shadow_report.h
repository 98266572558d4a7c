// The shadow-mode promotion report: does the challenger meet the promotion criteria?
//
// Criteria (each PASS, FAIL, or SKIP when it cannot be evaluated; the challenger is promoted
// when none fails and `pairs` passes):
//   pairs                at least drift.min_samples paired requests
//   latency_slo          challenger latency p99 <= slo.latency_p99_ms (SKIP without it)
//   error_rate_slo       challenger error ratio <= slo.error_rate (SKIP without it)
//   errors_not_worse     challenger error ratio <= the champion's
//   agreement            agreement ratio >= shadow.min_agreement
//   labelled_performance on the same labelled requests, the challenger's primary metric
//                        (ground_truth.retrain_when.metric, else auc / macro_f1 / rmse) is not
//                        worse than the champion's (SKIP without labels)
#ifndef MODELWATCH_EXPORTER_SHADOW_SHADOW_REPORT_H_
#define MODELWATCH_EXPORTER_SHADOW_SHADOW_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "exporter/groundtruth/ground_truth_tracker.h"
#include "exporter/shadow/shadow_tracker.h"

namespace modelwatch {

struct ShadowCriterion {
  std::string name;
  bool evaluated = false;
  bool passed = false;
  std::string detail;
};

struct ShadowReport {
  std::string model;
  std::string champion;
  std::string challenger;
  std::int64_t pairs = 0;
  std::vector<ShadowCriterion> criteria;
  bool promote = false;
  std::string text;  // human-readable, ends with "Verdict: PROMOTE ..." or "Verdict: DO NOT ..."
};

// `stats`: the comparison window; `unpaired`: unpaired records of champion and challenger;
// `labelled`: GroundTruthSnapshot::shadow values for that window (empty without labels).
ShadowReport BuildShadowReport(const ModelConfig& model, const ShadowWindowStats& stats,
                               const std::uint64_t unpaired[2],
                               const std::vector<PerformanceValue>& labelled);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_SHADOW_SHADOW_REPORT_H_
