// Helpers shared by the ground-truth and shadow tests: configs, records that own their
// strings, and scratch state directories.
#ifndef MODELWATCH_TESTS_UNIT_EXPORTER_GROUNDTRUTH_TEST_UTIL_H_
#define MODELWATCH_TESTS_UNIT_EXPORTER_GROUNDTRUTH_TEST_UTIL_H_

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "exporter/parse/record.h"
#include "tests/unit/scratch_dir.h"

namespace modelwatch::testing {

inline ModelConfig BinaryModel(std::vector<Window> windows = {{"30d", Seconds(30 * 86400)}}) {
  ModelConfig m;
  m.name = "fraud";
  m.task = Task::kBinaryClassification;
  m.threshold = 0.5;
  GroundTruthConfig gt;
  gt.windows = std::move(windows);
  m.ground_truth = gt;
  return m;
}

// Owns the strings a Record points into.
struct OwnedRecord {
  double ts = 0;
  std::string version = "v1";
  std::string request_id;
  std::string entity_id;
  bool ok = true;
  double score = 0;
  bool has_score = true;
  double prediction = 0;
  bool has_prediction = false;
  std::vector<double> probabilities;
  std::string predicted_class;
  double latency_seconds = -1;
  std::vector<std::pair<std::string, std::string>> segment;

  Record View() const {
    Record r;
    r.timestamp = ts;
    r.version = version;
    r.request_id = request_id;
    r.entity_id = entity_id;
    r.ok = ok;
    r.status = ok ? "" : "error";
    r.has_score = has_score;
    r.score = score;
    r.has_prediction = has_prediction;
    r.prediction = prediction;
    r.probabilities = probabilities;
    r.predicted_class = predicted_class;
    r.has_latency = latency_seconds >= 0;
    r.latency_seconds = latency_seconds;
    for (const auto& [k, v] : segment) r.segment.emplace_back(k, v);
    return r;
  }
};

inline OwnedRecord Scored(const std::string& id, double ts, double score,
                          const std::string& version = "v1") {
  OwnedRecord r;
  r.request_id = id;
  r.ts = ts;
  r.score = score;
  r.version = version;
  r.predicted_class = score >= 0.5 ? "1" : "0";
  return r;
}

inline std::string LabelLine(const std::string& id, double ts, int label) {
  return "{\"ts\":" + std::to_string(ts) + ",\"request_id\":\"" + id +
         "\",\"label\":" + std::to_string(label) + "}";
}

}  // namespace modelwatch::testing

#endif  // MODELWATCH_TESTS_UNIT_EXPORTER_GROUNDTRUTH_TEST_UTIL_H_
