#include "rulegen/promql_degradation.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "core/degradation_constants.h"
#include "core/distributions.h"
#include "core/metric_catalogue.h"
#include "rulegen/promql_drift.h"
#include "rulegen/promql_window.h"

namespace modelwatch {
namespace {

using json = nlohmann::json;

// Series of the signals group (promql_signals.cc) read here.
constexpr const char* kRecords = "model_window:model_predictions:window_count";
constexpr const char* kConfidenceCount =
    "model_version_window:model_prediction_confidence:window_count";

// The baseline group's constants (no window label).
constexpr const char* kFloorFactor =
    "model_feature_method:model_degradation_signal:drift_floor_factor";
constexpr const char* kInverseReference =
    "model_feature:model_degradation_signal:drift_inverse_reference";
constexpr const char* kCritical = "model_feature:model_degradation_signal:drift_critical";

// Per window.
constexpr const char* kOutputs = "model_version_window:model_predictions:ok_window_count";
constexpr const char* kFeatureExcess = "model_window:model_degradation_signal:feature_drift_excess";
// The larger of the features' and the version's output excess, by version.
constexpr const char* kDriftExcess = "model_version_window:model_degradation_signal:drift_excess";
constexpr const char* kPoints = "model_version_window:model_degradation_signal:points";
constexpr const char* kScore = "model_version_window:model_degradation_score:points";
// The shortest window holding drift.min_samples records, by model (its window label).
constexpr const char* kChosen = "model_window:model_degradation_score:chosen_window";

double NumberOr(const json& section, const char* key, double otherwise) {
  return section.is_object() && section.contains(key) && section[key].is_number()
             ? section[key].get<double>()
             : otherwise;
}

// effect_size.h's DriftNoiseFloor as PromQL: the floor of `method` from `inverse` (1/n +
// 1/m), `n` and the method's `factor` (FloorFactor), matched `on` ("on (model, feature) "
// for series of constants, "" for a number); nothing for wasserstein, which is not recorded
// fleet-wide.
std::string NoiseFloor(DriftMethod method, const std::string& inverse, const std::string& n,
                       const std::string& factor, const std::string& on) {
  const std::string times = " * " + on;
  switch (method) {
    case DriftMethod::kPsi:
      return inverse + times + factor;
    case DriftMethod::kJs:
      return "sqrt(" + inverse + times + factor + " / 8)";
    case DriftMethod::kKs:
      return "sqrt(" + factor + times + inverse + ")";
    case DriftMethod::kChi2:
      return "(" + n + " * 0 + " + on + factor + ")";
    case DriftMethod::kWasserstein:
      break;
  }
  return "";
}

// What DriftNoiseFloor's formula of `method` multiplies by at kNoiseAlpha split over `tests`
// distributions: ln(2/α′)/2 for ks, else the χ² quantile of bins − 1 degrees of freedom.
double FloorFactor(DriftMethod method, int bins, int tests) {
  const double alpha = kNoiseAlpha / std::max(1, tests);
  return method == DriftMethod::kKs ? std::log(2 / alpha) / 2
                                    : ChiSquareUpperQuantile(alpha, std::max(1, bins - 1));
}

// A per-record quantity's baseline moments, as the exporter's MeanShift takes them.
struct Moments {
  double mean = 0;
  double sd = 0;         // max(0, std)
  double between = 0;    // BetweenStd, 0 when unknown
  double inverse_m = 0;  // 1 / the effective reference count
};

// What the rules embed from the baseline file beyond the drift's reference.
struct DegradationReference {
  double records = 0, distinct = 0;  // the reference's, for EffectiveCount
  std::optional<Moments> confidence, entropy;

  // BaselineProfile::EffectiveCount: the count scaled by distinct_records / records.
  double Effective(double count) const {
    if (!(distinct > 0) || !(records > 0)) return count;
    return count * distinct / records;
  }
};

std::optional<DegradationReference> ReadDegradationReference(const ModelConfig& m) {
  // The drift's reader (LoadPromqlReferences) has read and checked this file already.
  std::ifstream in(m.baseline);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json baseline = json::parse(text.str());
    DegradationReference ref;
    const json& reference = baseline.contains("reference") ? baseline["reference"] : json();
    ref.records = NumberOr(reference, "records", 0);
    ref.distinct = NumberOr(reference, "distinct_records", 0);
    const json& pr = baseline.at("prediction");
    auto moments = [&](const char* key) -> std::optional<Moments> {
      if (!pr.contains(key)) return std::nullopt;
      const json& s = pr[key];
      const double count = NumberOr(s, "count", 0);
      if (!(count > 0)) return std::nullopt;
      const double nan = std::numeric_limits<double>::quiet_NaN();
      const double daily = NumberOr(s, "daily_std", nan);
      const double batch = NumberOr(s, "batch_between_std", nan);
      // effect_size.h's BetweenStd (NaN unknown) and MeanShiftEffect (unknown counts 0).
      double between = std::isnan(daily)   ? batch
                       : std::isnan(batch) ? daily
                                           : std::max(daily, batch);
      if (std::isnan(between)) between = 0;
      Moments mo;
      mo.mean = NumberOr(s, "mean", nan);
      mo.sd = std::max(0.0, NumberOr(s, "std", 0));
      mo.between = between;
      mo.inverse_m = 1 / ref.Effective(count);
      if (std::isnan(mo.mean)) return std::nullopt;
      return mo;
    };
    // The exporter takes both from the baseline when it holds confidences
    // (DriftTracker::AppendConfidenceSeries).
    ref.confidence = moments("confidence");
    if (ref.confidence) ref.entropy = moments("entropy");
    return ref;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

class DegradationBuilder {
 public:
  DegradationBuilder(const ModelConfig& m, const DegradationReference& ref,
                     PromqlDegradationRules& out, PromqlCounts& counts)
      : m_(m), ref_(ref), out_(out), rules_(m, out.group, counts) {}

  // Each feature's noise floor inputs, by its alerting method (effect_size.h's
  // DriftNoiseFloor at kNoiseAlpha split over the model's tested distributions): psi and js
  // the χ² quantile of bins − 1 degrees of freedom, chi2 that quantile itself, ks
  // ln(2/α')/2; with 1/m and drift.critical (1 when not positive).
  void AddBaseline() {
    const PromqlDriftReference& drift = *m_.promql_reference;
    std::vector<PromqlConstant> factor, inverse, critical;
    auto add = [&](const std::string& feature, int bins, double count) {
      const FeatureConfig* fc = FindFeature(feature);
      if (fc == nullptr) return;
      const FeatureDriftSettings s = EffectiveFeatureDrift(m_.drift, *fc);
      if (!MethodApplies(s.method, fc->type) || s.method == DriftMethod::kWasserstein) return;
      factor.push_back({{{"feature", feature}, {"method", DriftMethodName(s.method)}},
                        FloorFactor(s.method, bins, drift.drift_series)});
      inverse.push_back({{{"feature", feature}}, 1 / ref_.Effective(count)});
      critical.push_back({{{"feature", feature}}, s.critical > 0 ? s.critical : 1.0});
      methods_.insert(s.method);
    };
    for (const BinnedReference& f : drift.features) {
      add(f.feature, static_cast<int>(f.proportions.size()), f.count);
    }
    for (const CategoricalReference& f : drift.categorical) {
      add(f.feature, static_cast<int>(f.counts.size()), f.count);
    }
    if (factor.empty()) return;
    out_.baseline.push_back(PromqlConstantsRule(m_.name, kFloorFactor, factor));
    out_.baseline.push_back(PromqlConstantsRule(m_.name, kInverseReference, inverse));
    out_.baseline.push_back(PromqlConstantsRule(m_.name, kCritical, critical));
  }

  void AddWindow(const Window& w) {
    rules_.Start(w);
    const std::string records = rules_.Windowed(kRecords);
    // The versions with outputs in the window: the records that are ok (every ok record has
    // its task's output; the parser rejects one without).
    const std::string predictions =
        rules_.WindowSum(metric::kModelPredictionsTotal.Name(), "model, version");
    const std::string errors =
        rules_.WindowSum(metric::kModelPredictionErrorsTotal.Name(), "model, version");
    rules_.Add(kOutputs,
               predictions + "\n- on (model, version)\n(" + errors + " or " + predictions + " * 0)",
               {});
    const std::string outputs = "(" + rules_.Windowed(kOutputs) + " > 0)";
    AddFeatureExcess();
    AddDriftExcess(outputs);

    for (const auto& [signal, weight] : m_.degradation.weights) {
      const std::string points = PromqlNumber(weight) + " * ";
      std::string expr;
      if (signal == "drift") {
        expr = points + "clamp(" + rules_.Windowed(kDriftExcess) + ", 0, 1) * 100";
      } else if (signal == "confidence" || signal == "entropy") {
        const std::optional<Moments>& mo = signal == "confidence" ? ref_.confidence : ref_.entropy;
        const std::string zero = outputs + " * 0";
        if (mo) {
          const std::string mean =
              rules_.Windowed(signal == "confidence" ? metric::kModelPredictionConfidenceMean.Name()
                                                     : metric::kModelPredictionEntropyMean.Name());
          expr = points + "(" + MeanShift(*mo, mean, signal == "confidence") + "\nor\n" + zero +
                 ") * 100\nand on (model, version) " + outputs;
        } else {
          expr = points + zero + " * 100";
        }
      } else if (signal == "anomaly_rate") {
        expr = Broadcast(outputs, points + Anomaly(records) + " * 100");
      } else if (signal == "errors") {
        const std::string sum =
            rules_.WindowSum(metric::kModelPredictionErrorsTotal.Name(), "model");
        expr = Broadcast(outputs, points + "clamp(\n  (" + sum + " / on (model) " + records +
                                      "\n  or on (model) " + records + " * 0)\n  / " +
                                      PromqlNumber(ErrorSaturation(m_)) + ",\n  0, 1) * 100");
      } else {
        continue;  // the config allows none other
      }
      rules_.Add(kPoints, expr, {{"signal", signal}});
    }
    std::string sum;
    for (const auto& [signal, weight] : m_.degradation.weights) {
      sum += (sum.empty() ? "" : "\n+ ignoring (signal) ") +
             rules_.Windowed(kPoints, ",signal=" + PromQuote(signal));
    }
    rules_.Add(kScore, "clamp(\n" + sum + ",\n0, 100)", {});
  }

  // The shortest window holding drift.min_samples records, then its series without the
  // window label.
  void AddChoice() {
    std::vector<const Window*> windows;
    for (const Window& w : m_.drift.windows) windows.push_back(&w);
    std::stable_sort(windows.begin(), windows.end(),
                     [](const Window* a, const Window* b) { return a->length < b->length; });
    std::string chosen;
    for (const Window* w : windows) {
      chosen += (chosen.empty() ? "" : "\nor ignoring (window)\n") + std::string(kRecords) +
                "{model=" + PromQuote(m_.name) + ",window=" + PromQuote(w->label) +
                "} >= " + rules_.MinRecords();
    }
    out_.group.recording.push_back({kChosen, chosen, {}});
    const std::string picked = "\nand on (model, window)\n" + rules_.Selector(kChosen) + ")";
    out_.group.recording.push_back({metric::kModelDegradationSignal.Name(),
                                    "max without (window) (\n" + rules_.Selector(kPoints) + picked,
                                    {}});
    out_.group.recording.push_back({metric::kModelDegradationScore.Name(),
                                    "max without (window) (\n" + rules_.Selector(kScore) + picked,
                                    {}});
  }

 private:
  // The largest drift beyond its noise floor over drift.critical of the model's features in
  // the window (degradation_score.h's DriftExcessRatio, at least 0), 0 without any: one
  // part per alerting method, each matching the drift series of that method to the
  // features whose constants carry it.
  void AddFeatureExcess() {
    const std::string zero = "max by (model) (" + rules_.Windowed(kRecords) + " * 0)";
    if (methods_.empty()) {
      rules_.Add(kFeatureExcess, zero, {});
      return;
    }
    const PromqlDriftReference& drift = *m_.promql_reference;
    std::vector<std::string> present;
    if (!drift.features.empty()) {
      present.push_back("sum by (model, feature) (" +
                        rules_.Windowed(kPromqlFeatureBucketIncrease, ",le=\"+Inf\"") + ")");
    }
    if (!drift.categorical.empty()) {
      present.push_back("sum by (model, feature) (" + rules_.Windowed(kPromqlCategoryIncrease) +
                        ")");
    }
    const std::string n =
        present.size() == 1 ? present[0] : "(" + present[0] + " or " + present[1] + ")";
    // 1/n + 1/m, n the feature's values in the window.
    const std::string inverse =
        "(1 / " + n + " + on (model, feature) " + rules_.Selector(kInverseReference) + ")";
    std::string parts;
    for (DriftMethod method : methods_) {
      const std::string name = DriftMethodName(method);
      const std::string factor = rules_.Selector(kFloorFactor, ",method=\"" + name + "\"");
      const std::string floor = NoiseFloor(method, inverse, n, factor, "on (model, feature) ");
      if (floor.empty()) continue;
      const std::string value =
          rules_.Windowed(metric::kModelFeatureDrift.Name(), ",method=\"" + name + "\"");
      parts += (parts.empty() ? "" : "\n  or\n  ") + std::string("clamp_min(") + value +
               " - on (model, feature) " + floor + ", 0)\n  / on (model, feature) " +
               rules_.Selector(kCritical);
    }
    rules_.Add(kFeatureExcess, "max by (model) (\n  " + parts + "\n)\nor on (model)\n" + zero, {});
  }

  // Per version with outputs, the larger of the features' excess and its output's: the
  // version's model_prediction_drift of drift.method beyond its noise floor (n the version's
  // outputs in the window, m the output profile's effective count, bins its bins or classes)
  // over drift.critical, as DriftTracker::AppendVersionSeries takes it.
  void AddDriftExcess(const std::string& outputs) {
    const std::string features = Broadcast(outputs, rules_.Windowed(kFeatureExcess));
    const PromqlDriftReference& drift = *m_.promql_reference;
    const DriftMethod method = m_.drift.method;
    int bins = 0;
    double count = 0;
    FeatureType type = FeatureType::kNumeric;
    if (!drift.output.empty()) {
      bins = static_cast<int>(drift.output.front().proportions.size());
      count = drift.output.front().count;
    } else if (!drift.output_classes.empty()) {
      bins = static_cast<int>(drift.output_classes.front().counts.size());
      count = drift.output_classes.front().count;
      type = FeatureType::kCategorical;
    }
    if (!(count > 0) || !MethodApplies(method, type) || method == DriftMethod::kWasserstein) {
      rules_.Add(kDriftExcess, features, {});
      return;
    }
    const std::string n = rules_.Windowed(kOutputs);
    const std::string inverse = "(1 / " + n + " + " + PromqlNumber(1 / ref_.Effective(count)) + ")";
    const std::string floor = NoiseFloor(
        method, inverse, n, PromqlNumber(FloorFactor(method, bins, drift.drift_series)), "");
    const std::string critical = PromqlNumber(m_.drift.critical > 0 ? m_.drift.critical : 1.0);
    const std::string output =
        "(\n  clamp_min(" +
        rules_.Windowed(metric::kModelPredictionDrift.Name(),
                        ",method=\"" + std::string(DriftMethodName(method)) + "\"") +
        " - on (model, version) " + floor + ", 0) / " + critical +
        "\n  or on (model, version)\n  " + outputs + " * 0\n)";
    rules_.Add(kDriftExcess,
               output + "\n> on (model, version)\n(" + features + ")\nor on (model, version)\n(" +
                   features + ")",
               {});
  }

  // effect_size.h's MeanShiftEffect over kEffectSaturation, clamped to 0–1: the drop
  // (`drop`) or rise of the window's mean `mean` beyond z·σ, σ = sqrt(between² + std²·(1/n +
  // 1/m)), over max(std, kMinEffectScale); the operations in the exporter's order.
  std::string MeanShift(const Moments& mo, const std::string& mean, bool drop) const {
    const std::string change = drop ? "(" + PromqlNumber(mo.mean) + " - " + mean + ")"
                                    : "(" + mean + " - " + PromqlNumber(mo.mean) + ")";
    const std::string sigma =
        "sqrt(" + PromqlNumber(mo.between * mo.between) + " + " + PromqlNumber(mo.sd * mo.sd) +
        " * (1 / " + rules_.Windowed(kConfidenceCount) + " + " + PromqlNumber(mo.inverse_m) + "))";
    return "clamp(\n  clamp_min(" + change + " - " + PromqlNumber(NormalQuantile(1 - kNoiseAlpha)) +
           " * " + sigma + ", 0)\n  / " + PromqlNumber(std::max(mo.sd, kMinEffectScale)) + " / " +
           PromqlNumber(kEffectSaturation) + ",\n  0, 1)";
  }

  // NormalisedSignal's anomaly_rate: the anomalous share beyond p0 (ExpectedOutOfRangeShare
  // of the numeric features' effective reference counts) and its binomial noise at the
  // window's records, over kAnomalySaturation, clamped to 0–1; 0 without anomalous records.
  std::string Anomaly(const std::string& records) const {
    std::vector<double> counts;
    for (const BinnedReference& f : m_.promql_reference->features) {
      counts.push_back(ref_.Effective(f.count));
    }
    double p0 = 0;
    for (double c : counts) {
      if (c > 0) p0 += 2 / (c + 1);
    }
    p0 = std::clamp(std::min(1.0, p0), 0.0, 1.0);
    const std::string ratio = "(" + rules_.Windowed(metric::kModelAnomalousRequestsRatio.Name()) +
                              " or " + records + " * 0)";
    return "clamp(\n  (" + ratio + " - " + PromqlNumber(p0) + " - " +
           PromqlNumber(NormalQuantile(1 - kNoiseAlpha)) + " * sqrt(" +
           PromqlNumber(p0 * (1 - p0)) + " / " + records + ")) / " +
           PromqlNumber(kAnomalySaturation) + ",\n  0, 1)";
  }

  // A model-level value ({model} or {model, window}) as one series per version with outputs.
  static std::string Broadcast(const std::string& outputs, const std::string& value) {
    return outputs + " * 0\n+ on (model) group_left ()\n" + value;
  }

  const FeatureConfig* FindFeature(const std::string& name) const {
    for (const FeatureConfig& f : m_.features) {
      if (f.name == name && !f.pii) return &f;
    }
    return nullptr;
  }

  const ModelConfig& m_;
  const DegradationReference& ref_;
  PromqlDegradationRules& out_;
  PromqlWindowRules rules_;
  std::set<DriftMethod> methods_;  // the features' alerting methods
};

}  // namespace

PromqlDegradationRules PromqlDegradationGroup(const ModelConfig& m, Seconds interval,
                                              PromqlCounts& counts) {
  PromqlDegradationRules out{{"modelwatch-" + m.name + "-degradation-promql", interval, {}, {}},
                             {}};
  if (!m.promql_reference) return out;
  const std::optional<DegradationReference> ref = ReadDegradationReference(m);
  if (!ref) return out;
  DegradationBuilder builder(m, *ref, out, counts);
  builder.AddBaseline();
  for (const Window& w : m.drift.windows) builder.AddWindow(w);
  builder.AddChoice();
  return out;
}

}  // namespace modelwatch
