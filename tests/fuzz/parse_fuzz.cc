// libFuzzer target: the record parser must accept any byte sequence without crashing or
// throwing, every accepted record must satisfy the Record contract, and the plain-line path
// must read every line exactly as simdjson's path does (the same rejection, or the same
// record bit for bit).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exporter/parse/record_parser.h"
#include "tests/unit/exporter/parse_outcome.h"

namespace {

using modelwatch::FeatureType;
using modelwatch::ModelConfig;
using modelwatch::Task;

ModelConfig Make(const char* name, Task task) {
  ModelConfig m;
  m.name = name;
  m.task = task;
  m.source.max_line_bytes = 4096;
  m.features = {{"amount", FeatureType::kNumeric, false, true, {}},
                {"country", FeatureType::kCategorical, false, false, {}},
                {"email", FeatureType::kCategorical, true, false, {}}};
  if (task == Task::kMulticlassClassification) m.classes = {"a", "b", "c"};
  return m;
}

void Check(const modelwatch::Record& r, const ModelConfig& m) {
  if (!std::isfinite(r.timestamp) || r.timestamp < 0) std::abort();
  if (r.version.empty()) std::abort();
  if (r.features.size() != m.features.size()) std::abort();
  if (r.has_score && !(r.score >= 0 && r.score <= 1)) std::abort();
  if (r.ok && m.task == Task::kBinaryClassification && !r.has_score) std::abort();
  if (r.ok && m.task == Task::kRegression && !r.has_prediction) std::abort();
  if (r.ok && m.task == Task::kMulticlassClassification && r.probabilities.empty()) std::abort();
  if (!r.ok && r.status.empty()) std::abort();
  if (r.features[2].kind != modelwatch::FeatureValue::Kind::kMissing) std::abort();  // PII
  for (const auto& f : r.features) {
    if (f.kind == modelwatch::FeatureValue::Kind::kNumber && std::isnan(f.number)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ModelConfig binary = Make("fraud", Task::kBinaryClassification);
  static ModelConfig multi = Make("intent", Task::kMulticlassClassification);
  static ModelConfig regression = Make("eta", Task::kRegression);
  static modelwatch::RecordParser single({&binary});
  static modelwatch::RecordParser shared({&binary, &multi, &regression});
  static modelwatch::RecordParser single_simdjson({&binary}, false);
  static modelwatch::RecordParser shared_simdjson({&binary, &multi, &regression}, false);
  std::string_view line(reinterpret_cast<const char*>(data), size);
  using modelwatch::testing::ParseOutcome;
  if (ParseOutcome(single, line) != ParseOutcome(single_simdjson, line)) std::abort();
  if (ParseOutcome(shared, line) != ParseOutcome(shared_simdjson, line)) std::abort();
  if (auto r = single.Parse(line)) Check(single.record(), binary);
  if (auto r = shared.Parse(line)) {
    const ModelConfig* models[] = {&binary, &multi, &regression};
    Check(shared.record(), *models[*r]);
  }
  return 0;
}
