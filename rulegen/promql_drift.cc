#include "rulegen/promql_drift.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/distributions.h"
#include "core/metric_catalogue.h"

namespace modelwatch {
namespace {

using json = nlohmann::json;

// A constant written so that Prometheus reads back the same double.
std::string Num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return v < 0 ? "(" + std::string(buf) + ")" : std::string(buf);
}

// The count of a numeric JSON field, 0 when absent.
double CountOf(const json& section) {
  return section.is_object() && section.contains("count") && section["count"].is_number()
             ? section["count"].get<double>()
             : 0.0;
}

// How the exporter splits drift.alpha (DriftTracker::SeriesLevel): the binned features the
// alerting method applies to, plus a binned output.
int DriftSeries(const ModelConfig& m, const json& baseline) {
  std::map<std::string, const json*> profiles;
  for (const json& f : baseline.at("features")) profiles[f.at("name").get<std::string>()] = &f;
  int series = 0;
  for (const FeatureConfig& fc : m.features) {
    if (fc.pii) continue;
    auto it = profiles.find(fc.name);
    if (it == profiles.end()) continue;
    const json& f = *it->second;
    if (f.at("type").get<std::string>() != FeatureTypeName(fc.type)) continue;
    const char* section = fc.type == FeatureType::kNumeric ? "numeric" : "categorical";
    if (!f.contains(section) || !(CountOf(f[section]) > 0)) continue;
    if (MethodApplies(EffectiveFeatureDrift(m.drift, fc).method, fc.type)) ++series;
  }
  const json& pr = baseline.at("prediction");
  const std::string kind = pr.at("kind").get<std::string>();
  if (m.task == Task::kMulticlassClassification) {
    if (kind == "class" && pr.contains("classes") && CountOf(pr["classes"]) > 0 &&
        MethodApplies(m.drift.method, FeatureType::kCategorical)) {
      ++series;
    }
  } else {
    const std::string want = m.task == Task::kRegression ? "regression" : "score";
    if (kind == want && pr.contains("numeric") && CountOf(pr["numeric"]) > 0 &&
        MethodApplies(m.drift.method, FeatureType::kNumeric)) {
      ++series;
    }
  }
  return series;
}

Result<PromqlDriftReference> ReadReference(const ModelConfig& m) {
  std::ifstream in(m.baseline);
  if (!in) return MakeError(m.baseline + ": cannot read the baseline (drift.engine: promql)");
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json baseline = json::parse(text.str());
    PromqlDriftReference ref;
    ref.drift_series = DriftSeries(m, baseline);
    for (const FeatureConfig& fc : m.features) {
      if (fc.pii || fc.type != FeatureType::kNumeric) continue;
      for (const json& f : baseline.at("features")) {
        if (f.at("name").get<std::string>() != fc.name || f.at("type") != "numeric") continue;
        const json& num = f.at("numeric");
        if (!(CountOf(num) > 0)) continue;
        BinnedReference b;
        b.feature = fc.name;
        b.edges = num.at("edges").get<std::vector<double>>();
        b.proportions = num.at("proportions").get<std::vector<double>>();
        b.count = CountOf(num);
        if (b.proportions.size() != b.edges.size() + 1) {
          return MakeError(m.baseline + ": feature \"" + fc.name + "\" has " +
                           std::to_string(b.edges.size()) + " edges but " +
                           std::to_string(b.proportions.size()) + " proportions");
        }
        ref.features.push_back(std::move(b));
      }
    }
    return ref;
  } catch (const json::exception& e) {
    return MakeError(m.baseline + ": not a baseline profile (" + e.what() +
                     "); rebuild it with `modelwatch-exporter baseline`");
  }
}

double Floor(double p) { return p > 0 ? p : kDriftEpsilon; }

class GroupBuilder {
 public:
  GroupBuilder(const ModelConfig& m, RuleGroup& group) : m_(m), group_(group) {}

  void AddWindow(const Window& w) {
    window_ = w.label;
    const std::string range = std::to_string(w.length.count()) + "s";
    Add(kCounts, WindowCount(metric::kModelFeatureValue.Bucket(), range, "model, feature, le"));
    Add(kRecords, WindowCount(metric::kModelPredictionsTotal.Name(), range, "model"));
    for (const BinnedReference& f : m_.promql_reference->features) AddFeature(f);
  }

 private:
  static constexpr const char* kCounts =
      "model_feature_le_window:model_feature_value_bucket:increase";
  static constexpr const char* kRecords = "model_window:model_predictions:increase";
  static constexpr const char* kRatio = "model_feature_bin_window:model_feature_value:ratio";

  // `labels` after the window's (a feature's rules also name it: promtool refuses rules of
  // one name whose labels do not tell them apart).
  void Add(std::string record, std::string expr,
           std::vector<std::pair<std::string, std::string>> labels = {}) {
    labels.emplace(labels.begin(), "window", window_);
    group_.recording.push_back({std::move(record), std::move(expr), std::move(labels)});
  }

  // Each replica's increase of `metric` over the window, exact and not extrapolated (its
  // value now minus its value a window ago; its value now where it has none then or went
  // down), summed `by`.
  std::string WindowCount(const std::string& metric, const std::string& range,
                          const std::string& by) const {
    const std::string sel = metric + "{model=" + PromQuote(m_.name) + "}";
    return "sum by (" + by + ") (\n  (" + sel + " - " + sel + " offset " + range +
           ") >= 0\n  or\n  " + sel + "\n)";
  }

  std::string Counts(const BinnedReference& f, const std::string& le) const {
    return std::string(kCounts) + "{model=" + PromQuote(m_.name) +
           ",feature=" + PromQuote(f.feature) + ",window=" + PromQuote(window_) +
           ",le=" + PromQuote(le) + "}";
  }

  // `expr` with label `name` set to `value`: one rule records all of a feature's bins (or
  // both methods), and inline constant vectors carry per-bin values.
  static std::string Labelled(const std::string& expr, const std::string& name,
                              const std::string& value) {
    return "label_replace(\n" + expr + ",\n\"" + name + "\", \"" + value + "\", \"\", \"\")";
  }

  // The feature's values in the window: its +Inf bucket, without the le label.
  std::string Present(const BinnedReference& f) const {
    return "sum by (model, feature) (" + Counts(f, "+Inf") + ")";
  }

  // The exporter serves a feature's drift once the window holds drift.min_samples records
  // and the feature has values in it.
  std::string Gate(const BinnedReference& f) const {
    return "\nand on (model) (" + std::string(kRecords) + "{model=" + PromQuote(m_.name) +
           ",window=" + PromQuote(window_) + "} >= " + std::to_string(m_.drift.min_samples) +
           ")\nand on (model, feature) (" + Present(f) + " > 0)";
  }

  void AddFeature(const BinnedReference& f) {
    const std::size_t bins = f.proportions.size();
    // Each bin's count is its upper bound's cumulative count minus its lower bound's: the
    // feature's bucket series are matched on `le` with inline vectors that name the bin each
    // bound closes (upper) or opens (lower), so the feature's series are selected a few
    // times rather than twice per bin.
    std::string upper_map, lower_map;
    for (std::size_t i = 0; i < bins; ++i) {
      const std::string bin = std::to_string(i);
      const std::string upper = i < f.edges.size() ? LeLabel(f.edges[i]) : "+Inf";
      upper_map +=
          (i == 0 ? "" : " or ") + Labelled(Labelled("vector(1)", "le", upper), "bin", bin);
      if (i > 0) {
        lower_map += (i == 1 ? "" : " or ") +
                     Labelled(Labelled("vector(1)", "le", LeLabel(f.edges[i - 1])), "bin", bin);
      }
    }
    const std::string buckets = std::string(kCounts) + "{model=" + PromQuote(m_.name) +
                                ",feature=" + PromQuote(f.feature) +
                                ",window=" + PromQuote(window_) + "}";
    const std::string upper =
        "sum without (le) (" + buckets + " * on (le) group_left (bin) (" + upper_map + "))";
    const std::string lower =
        "sum without (le) (" + buckets + " * on (le) group_left (bin) (" + lower_map + "))";
    const std::string count = "((" + upper + " - " + lower + ") or " + upper + ")";
    const std::string total = "sum without (le) (" + Counts(f, "+Inf") + ")";
    const std::string ratio =
        "(" + count + " / on (model, feature, window) group_left () " + total + ")";
    // The exporter's floor: an empty bin counts as ε.
    Add(kRatio, ratio + " > 0\nor\n" + ratio + " * 0 + " + Num(kDriftEpsilon),
        {{"feature", f.feature}});
    // The baseline's floored proportions as an inline vector labelled by bin, matched on bin
    // with the feature's bin ratios: a few series selections per feature instead of some per
    // bin (what Prometheus spends its time on).
    std::string q;
    for (std::size_t i = 0; i < bins; ++i) {
      q += (i == 0 ? "" : " or ") +
           Labelled("vector(" + Num(Floor(f.proportions[i])) + ")", "bin", std::to_string(i));
    }
    q = "(" + q + ")";
    const std::string p = std::string(kRatio) + "{model=" + PromQuote(m_.name) +
                          ",feature=" + PromQuote(f.feature) + ",window=" + PromQuote(window_) +
                          "}";
    const std::string psi = "(" + p + " - on (bin) group_left () " + q + ") * ln(" + p +
                            " / on (bin) group_left () " + q + ")";
    const std::string mid = "(0.5 * (" + p + " + on (bin) group_left () " + q + "))";
    const std::string kl_pm = p + " * ln(" + p + " / " + mid + ")";
    const std::string kl_qm =
        q + " * on (bin) group_right () ln(" + q + " / on (bin) group_right () " + mid + ")";
    const std::string drift = metric::kModelFeatureDrift.Name();
    Add(drift,
        Labelled("sum by (model, feature) (\n  " + psi + "\n)" + Gate(f), "method", "psi") +
            "\nor\n" +
            Labelled("sqrt(clamp_min(\n  0.5 * sum by (model, feature) (\n  " + kl_pm +
                         "\n  )\n  + 0.5 * sum by (model, feature) (\n  " + kl_qm +
                         "\n  ),\n  0))" + Gate(f),
                     "method", "js"),
        {{"feature", f.feature}});
    AddCriticalValues(f);
  }

  // drift_noise.h's PsiCriticalValue and JsCriticalValue with the reference embedded: the
  // chi-square limit at the exporter's per-series level, plus the allowance of each bin a
  // window of this many values is likely to leave empty.
  void AddCriticalValues(const BinnedReference& f) {
    int occupied = 0;
    for (double q : f.proportions) occupied += q > 0 ? 1 : 0;
    if (occupied < 2) return;  // nothing can drift: the exporter serves no critical value
    const double level = m_.drift.alpha / std::max(1, m_.promql_reference->drift_series);
    const double chi2 = ChiSquareUpperQuantile(level, occupied - 1);
    const std::string n = Present(f);
    const std::string inv = "(1 / " + n + " + " + Num(1 / f.count) + ")";
    const double log_limit = std::log(level / occupied);
    std::string psi_allow, js_allow;
    for (double q : f.proportions) {
      if (!(q > 0) || !(q < 1)) continue;
      const std::string empty =
          "(" + n + " * " + Num(std::log1p(-q)) + " > bool " + Num(log_limit) + ")";
      constexpr double eps = kDriftEpsilon;
      if (q > eps) psi_allow += " + " + Num((q - eps) * std::log(q / eps)) + " * " + empty;
      const double mid = 0.5 * (q + eps);
      js_allow += " + " + Num(0.5 * q * std::log(q / mid) + 0.5 * eps * std::log(eps / mid)) +
                  " * " + empty;
    }
    const std::string critical = metric::kModelFeatureDriftCriticalValue.Name();
    Add(critical,
        Labelled(inv + " * " + Num(chi2) + (psi_allow.empty() ? "" : " + (0" + psi_allow + ")") +
                     Gate(f),
                 "method", "psi") +
            "\nor\n" +
            Labelled("sqrt(" + inv + " * " + Num(chi2) + " / 8" +
                         (js_allow.empty() ? "" : " + (0" + js_allow + ")") + ")" + Gate(f),
                     "method", "js"),
        {{"feature", f.feature}});
  }

  const ModelConfig& m_;
  RuleGroup& group_;
  std::string window_;
};

}  // namespace

std::string LeLabel(double bound) {
  if (std::isinf(bound)) return bound > 0 ? "+Inf" : "-Inf";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.16g", bound);
  return buf;
}

Result<void> LoadPromqlReferences(ConfigSet& config) {
  for (ModelConfig& m : config.models) {
    if (m.drift.engine != DriftEngine::kPromql) continue;
    auto ref = ReadReference(m);
    if (!ref) return tl::unexpected(ref.error());
    m.promql_reference = std::move(*ref);
  }
  return {};
}

RuleGroup PromqlDriftGroup(const ModelConfig& m, Seconds interval) {
  RuleGroup group{"modelwatch-" + m.name + "-drift-promql", interval, {}, {}};
  if (!m.promql_reference) return group;
  GroupBuilder builder(m, group);
  for (const Window& w : m.drift.windows) builder.AddWindow(w);
  return group;
}

}  // namespace modelwatch
