#include "core/config.h"

#include <algorithm>

namespace modelwatch {

const char* TaskName(Task t) {
  switch (t) {
    case Task::kBinaryClassification:
      return "binary_classification";
    case Task::kMulticlassClassification:
      return "multiclass_classification";
    case Task::kRegression:
      return "regression";
  }
  return "?";
}

const char* FeatureTypeName(FeatureType t) {
  return t == FeatureType::kNumeric ? "numeric" : "categorical";
}

const char* DriftMethodName(DriftMethod m) {
  switch (m) {
    case DriftMethod::kPsi:
      return "psi";
    case DriftMethod::kJs:
      return "js";
    case DriftMethod::kKs:
      return "ks";
    case DriftMethod::kWasserstein:
      return "wasserstein";
    case DriftMethod::kChi2:
      return "chi2";
  }
  return "?";
}

const char* StartAtName(StartAt s) { return s == StartAt::kEnd ? "end" : "beginning"; }

const char* JoinKeyName(JoinKey k) { return k == JoinKey::kRequestId ? "request_id" : "entity_id"; }

bool MethodApplies(DriftMethod method, FeatureType type) {
  switch (method) {
    case DriftMethod::kPsi:
    case DriftMethod::kJs:
      return true;
    case DriftMethod::kKs:
    case DriftMethod::kWasserstein:
      return type == FeatureType::kNumeric;
    case DriftMethod::kChi2:
      return type == FeatureType::kCategorical;
  }
  return false;
}

FeatureDriftSettings EffectiveFeatureDrift(const DriftConfig& drift, const FeatureConfig& f) {
  FeatureDriftSettings s{drift.method, drift.warn, drift.critical, drift.windows, false};
  if (!f.drift) return s;
  const FeatureDriftOverride& o = *f.drift;
  s.method = o.method.value_or(drift.method);
  s.warn = o.warn.value_or(drift.warn);
  s.critical = o.critical.value_or(drift.critical);
  if (!o.windows.empty()) {
    s.windows.clear();
    for (const Window& w : drift.windows) {
      if (std::find(o.windows.begin(), o.windows.end(), w.label) != o.windows.end()) {
        s.windows.push_back(w);
      }
    }
  }
  s.overridden = s.method != drift.method || s.warn != drift.warn || s.critical != drift.critical ||
                 s.windows.size() != drift.windows.size();
  return s;
}

TierDefaults DefaultTier(int tier) {
  TierDefaults t;
  switch (tier) {
    case 1:
      t.evaluation_interval = Seconds(30);
      t.for_duration = Seconds(5 * 60);
      t.model_down_after = Seconds(2 * 60);  // the seeds: no success for 2 minutes -> P0
      t.group_wait = Seconds(30);
      t.group_interval = Seconds(5 * 60);
      t.repeat_interval = Seconds(1 * 3600);
      break;
    case 2:
      t.evaluation_interval = Seconds(60);
      t.for_duration = Seconds(15 * 60);
      t.model_down_after = Seconds(15 * 60);
      t.group_wait = Seconds(60);
      t.group_interval = Seconds(10 * 60);
      t.repeat_interval = Seconds(4 * 3600);
      break;
    default:
      t.evaluation_interval = Seconds(5 * 60);
      t.for_duration = Seconds(60 * 60);
      t.model_down_after = Seconds(60 * 60);
      t.group_wait = Seconds(5 * 60);
      t.group_interval = Seconds(30 * 60);
      t.repeat_interval = Seconds(24 * 3600);
      break;
  }
  return t;
}

const ModelConfig* ConfigSet::Find(const std::string& name) const {
  auto it = std::find_if(models.begin(), models.end(),
                         [&](const ModelConfig& m) { return m.name == name; });
  return it == models.end() ? nullptr : &*it;
}

}  // namespace modelwatch
