// Test-only: feeds predictions and labels through a GroundTruthTracker and prints what it
// computes as JSON, for comparison with scikit-learn in sklearn_oracle.test.sh.
//
// groundtruth_oracle_tool --task=binary_classification --threshold=0.5 --classes=a,b
//     --windows=30d,1h --segments=region --sample-rate=1 --delay=0s --state-dir=DIR
//     --predictions=preds.jsonl --labels=labels.jsonl
//     [--recompute=background --recompute-memory-mb=N]   (as the daemon computes; default inline)
// Prediction lines: {"ts":N,"request_id":S,"model_version":S,"score":X | "probabilities":[..]
// | "prediction":X, "segment":{K:V}}. Label lines are label-log lines as the exporter reads.
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/duration.h"
#include "exporter/groundtruth/ground_truth_tracker.h"

namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace modelwatch;
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const auto eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::cerr << "bad flag " << a << "\n";
      return 2;
    }
    flags[a.substr(2, eq - 2)] = a.substr(eq + 1);
  }
  ModelConfig m;
  m.name = "oracle";
  const std::string task = flags["task"];
  m.task = task == "regression"                  ? Task::kRegression
           : task == "multiclass_classification" ? Task::kMulticlassClassification
                                                 : Task::kBinaryClassification;
  if (flags.count("threshold")) m.threshold = std::stod(flags["threshold"]);
  m.classes = Split(flags["classes"]);
  GroundTruthConfig gt;
  for (const std::string& w : Split(flags.count("windows") ? flags["windows"] : "30d")) {
    gt.windows.push_back(Window{w, *ParseDuration(w)});
  }
  gt.segments = Split(flags["segments"]);
  if (flags.count("delay") && flags["delay"] != "0s") gt.delay = *ParseDuration(flags["delay"]);
  if (flags.count("sample-rate")) gt.sample_rate = std::stod(flags["sample-rate"]);
  if (flags.count("recompute-memory-mb")) {
    gt.recompute_memory_mb = std::stoi(flags["recompute-memory-mb"]);
  }
  m.ground_truth = gt;
  GroundTruthOptions options;
  options.recompute_interval = std::chrono::seconds(0);
  const bool background = flags["recompute"] == "background";
  if (background) options.recompute = GroundTruthOptions::Recompute::kBackground;
  auto tracker = GroundTruthTracker::Open(m, flags["state-dir"], options);
  if (!tracker) {
    std::cerr << tracker.error().ToString() << "\n";
    return 1;
  }
  std::ifstream preds(flags["predictions"]);
  std::string line;
  while (std::getline(preds, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const std::string version = j.value("model_version", "unknown");
    const std::string rid = j.value("request_id", "");
    Record r;
    r.timestamp = j.at("ts").get<double>();
    r.version = version;
    r.request_id = rid;
    std::string predicted;
    if (j.contains("score")) {
      r.has_score = true;
      r.score = j["score"].get<double>();
    }
    if (j.contains("probabilities")) {
      r.probabilities = j["probabilities"].get<std::vector<double>>();
      std::size_t best = 0;
      for (std::size_t i = 1; i < r.probabilities.size(); ++i) {
        if (r.probabilities[i] > r.probabilities[best]) best = i;
      }
      predicted = m.classes.at(best);
      r.predicted_class = predicted;
    }
    if (j.contains("prediction")) {
      r.has_prediction = true;
      r.prediction = j["prediction"].get<double>();
    }
    std::vector<std::pair<std::string, std::string>> segs;
    if (j.contains("segment")) {
      for (const auto& [k, v] : j["segment"].items()) segs.emplace_back(k, v.get<std::string>());
    }
    for (const auto& [k, v] : segs) r.segment.emplace_back(k, v);
    (*tracker)->ObservePrediction(r);
  }
  std::ifstream labels(flags["labels"]);
  while (std::getline(labels, line)) (*tracker)->ObserveLabelLine(line);
  (*tracker)->Flush();
  // background: the daemon's way (a second connection, sorts bounded by the memory budget).
  const GroundTruthSnapshot snap =
      background ? (*tracker)->WaitForRecompute() : (*tracker)->ComputeSnapshot();
  if (background && (*tracker)->recompute_errors() > 0) {
    std::cerr << "recomputation failed\n";
    return 1;
  }
  nlohmann::json out;
  out["performance"] = nlohmann::json::array();
  for (const PerformanceValue& v : snap.performance) {
    out["performance"].push_back({{"version", v.version},
                                  {"segment", v.segment},
                                  {"value", v.value},
                                  {"metric", v.metric},
                                  {"window", v.window},
                                  {"number", v.value_number}});
  }
  out["match_ratio"] = nlohmann::json::object();
  for (const auto& [w, r] : snap.match_ratio) out["match_ratio"][w] = r;
  out["unmatched"] = (*tracker)->unmatched();
  out["duplicates"] = (*tracker)->duplicates();
  std::cout << out.dump(1) << "\n";
  return 0;
}
