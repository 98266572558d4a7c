// libFuzzer target: the ground-truth label parser must accept any byte sequence without
// crashing or throwing, and every accepted label must satisfy the LabelRecord contract.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exporter/groundtruth/label_parser.h"

namespace {

using modelwatch::JoinKey;
using modelwatch::ModelConfig;
using modelwatch::Task;

ModelConfig Make(Task task, JoinKey join, std::vector<std::string> classes) {
  ModelConfig m;
  m.name = "m";
  m.task = task;
  m.classes = std::move(classes);
  m.source.max_line_bytes = 4096;
  modelwatch::GroundTruthConfig gt;
  gt.join_on = join;
  m.ground_truth = gt;
  return m;
}

void Check(const modelwatch::LabelRecord& l, const ModelConfig& m) {
  if (!std::isfinite(l.timestamp) || l.timestamp < 0) std::abort();
  if (m.ground_truth->join_on == JoinKey::kRequestId && l.request_id.empty()) std::abort();
  if (m.ground_truth->join_on == JoinKey::kEntityId && l.entity_id.empty()) std::abort();
  switch (m.task) {
    case Task::kBinaryClassification:
      if (l.label != 0 && l.label != 1) std::abort();
      break;
    case Task::kMulticlassClassification:
      if (l.label < 0 || l.label >= static_cast<double>(m.classes.size()) ||
          l.label != std::floor(l.label)) {
        std::abort();
      }
      break;
    case Task::kRegression:
      if (!std::isfinite(l.label)) std::abort();
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ModelConfig models[] = {
      Make(Task::kBinaryClassification, JoinKey::kRequestId, {}),
      Make(Task::kBinaryClassification, JoinKey::kEntityId, {"legit", "fraud"}),
      Make(Task::kMulticlassClassification, JoinKey::kRequestId, {"a", "b", "2", "c"}),
      Make(Task::kRegression, JoinKey::kEntityId, {})};
  static modelwatch::LabelParser parsers[] = {
      modelwatch::LabelParser(models[0]), modelwatch::LabelParser(models[1]),
      modelwatch::LabelParser(models[2]), modelwatch::LabelParser(models[3])};
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 4; ++i) {
    if (auto l = parsers[i].Parse(line)) Check(*l, models[i]);
  }
  return 0;
}
