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
    for (const FeatureConfig& fc : m.features) {
      if (fc.pii || fc.type != FeatureType::kCategorical) continue;
      for (const json& f : baseline.at("features")) {
        if (f.at("name").get<std::string>() != fc.name || f.at("type") != "categorical") continue;
        const json& cat = f.at("categorical");
        if (!(CountOf(cat) > 0)) continue;
        CategoricalReference c;
        c.feature = fc.name;
        c.categories = cat.at("categories").get<std::vector<std::string>>();
        c.counts = cat.at("counts").get<std::vector<double>>();
        c.proportions = cat.at("proportions").get<std::vector<double>>();
        c.count = CountOf(cat);
        if (c.counts.size() != c.categories.size() + 1 || c.proportions.size() != c.counts.size()) {
          return MakeError(m.baseline + ": feature \"" + fc.name + "\" has " +
                           std::to_string(c.categories.size()) + " categories but " +
                           std::to_string(c.counts.size()) + " counts and " +
                           std::to_string(c.proportions.size()) + " proportions");
        }
        ref.categorical.push_back(std::move(c));
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
    if (!m_.promql_reference->categorical.empty()) {
      Add(kCategoryCounts, WindowCount(metric::kModelFeatureCategoryTotal.Name(), range,
                                       "model, feature, category"));
    }
    for (const BinnedReference& f : m_.promql_reference->features) AddFeature(f);
    for (const CategoricalReference& f : m_.promql_reference->categorical) AddCategorical(f);
  }

 private:
  static constexpr const char* kCounts =
      "model_feature_le_window:model_feature_value_bucket:increase";
  static constexpr const char* kRecords = "model_window:model_predictions:increase";
  static constexpr const char* kRatio = "model_feature_bin_window:model_feature_value:ratio";
  static constexpr const char* kCategoryCounts =
      "model_feature_category_window:model_feature_category:increase";
  static constexpr const char* kCategoryRatio =
      "model_feature_category_window:model_feature_category:ratio";

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

  // The recorded series `record` of `feature` in the window.
  std::string Recorded(const char* record, const std::string& feature) const {
    return std::string(record) + "{model=" + PromQuote(m_.name) + ",feature=" + PromQuote(feature) +
           ",window=" + PromQuote(window_) + "}";
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

  // The same for a value from the user (a category): quoted, and `$` doubled (label_replace
  // expands $-references in its replacement).
  static std::string LabelledText(const std::string& expr, const std::string& name,
                                  const std::string& value) {
    std::string expanded;
    for (char c : value) expanded += c == '$' ? std::string("$$") : std::string(1, c);
    return "label_replace(\n" + expr + ",\n\"" + name + "\", " + PromQuote(expanded) +
           ", \"\", \"\")";
  }

  // The feature's values in the window: its +Inf bucket, without the le label.
  std::string Present(const BinnedReference& f) const {
    return "sum by (model, feature) (" + Counts(f, "+Inf") + ")";
  }
  std::string Present(const CategoricalReference& f) const {
    return "sum by (model, feature) (" + Recorded(kCategoryCounts, f.feature) + ")";
  }

  // The exporter serves a feature's drift once the window holds drift.min_samples records
  // and the feature has values in it (`present`).
  std::string Gate(const std::string& present) const {
    return "\nand on (model) (" + std::string(kRecords) + "{model=" + PromQuote(m_.name) +
           ",window=" + PromQuote(window_) + "} >= " + std::to_string(m_.drift.min_samples) +
           ")\nand on (model, feature) (" + present + " > 0)";
  }

  // PSI and JS (those exported) of the ε-floored window proportions `p` (one series per
  // value of label `by`) against the floored reference proportions `q`, an inline vector
  // labelled by `by`: a few series selections per feature instead of some per bin (what
  // Prometheus spends its time on).
  void AddPsiJs(const std::string& p, const std::string& q, const std::string& by,
                const std::string& gate, std::vector<std::string>& methods) const {
    const std::string on = " on (" + by + ") ";
    const std::string psi = "(" + p + " -" + on + "group_left () " + q + ") * ln(" + p + " /" + on +
                            "group_left () " + q + ")";
    const std::string mid = "(0.5 * (" + p + " +" + on + "group_left () " + q + "))";
    const std::string kl_pm = p + " * ln(" + p + " / " + mid + ")";
    const std::string kl_qm =
        q + " *" + on + "group_right () ln(" + q + " /" + on + "group_right () " + mid + ")";
    if (Exports(DriftMethod::kPsi)) {
      methods.push_back(
          Labelled("sum by (model, feature) (\n  " + psi + "\n)" + gate, "method", "psi"));
    }
    if (Exports(DriftMethod::kJs)) {
      methods.push_back(Labelled("sqrt(clamp_min(\n  0.5 * sum by (model, feature) (\n  " + kl_pm +
                                     "\n  )\n  + 0.5 * sum by (model, feature) (\n  " + kl_qm +
                                     "\n  ),\n  0))" + gate,
                                 "method", "js"));
    }
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
    const std::string buckets = Recorded(kCounts, f.feature);
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
    std::string q;
    for (std::size_t i = 0; i < bins; ++i) {
      q += (i == 0 ? "" : " or ") +
           Labelled("vector(" + Num(Floor(f.proportions[i])) + ")", "bin", std::to_string(i));
    }
    const std::string gate = Gate(Present(f));
    std::vector<std::string> methods;
    AddPsiJs(Recorded(kRatio, f.feature), "(" + q + ")", "bin", gate, methods);
    if (Exports(DriftMethod::kKs) && !f.edges.empty()) {
      // KS at the bin edges: the summed cumulative bucket counts are F_current at every
      // edge; F_baseline there is the running sum of the baseline's proportions, an inline
      // vector labelled by `le` (group_left keeps the bucket's model and feature labels). The
      // +Inf bucket, where both are 1, matches none.
      std::string cdf;
      double cumulative = 0;
      for (std::size_t i = 0; i < f.edges.size(); ++i) {
        cumulative += f.proportions[i];
        cdf += (i == 0 ? "" : " or ") +
               Labelled("vector(" + Num(cumulative) + ")", "le", LeLabel(f.edges[i]));
      }
      methods.push_back(Labelled("max by (model, feature) (\n  abs(\n  (" + buckets +
                                     " / on (model, feature, window) group_left () " + total +
                                     ")\n  - on (le) group_left () (" + cdf + ")\n  )\n)" + gate,
                                 "method", "ks"));
    }
    if (!methods.empty()) {
      Add(metric::kModelFeatureDrift.Name(), Join(methods), {{"feature", f.feature}});
    }
    std::vector<std::string> critical;
    AddPsiJsCriticalValues(f.proportions, f.count, Present(f), gate, critical);
    if (Exports(DriftMethod::kKs) && !f.edges.empty()) {
      // drift_noise.h's KsCriticalValue: Kolmogorov's limit at the per-series level over the
      // effective size, K⁻¹(level)·sqrt(1/n + 1/m).
      critical.push_back(Labelled(
          Num(KolmogorovUpperQuantile(Level())) + " * sqrt" + Inverses(Present(f), f.count) + gate,
          "method", "ks"));
    }
    if (!critical.empty()) {
      Add(metric::kModelFeatureDriftCriticalValue.Name(), Join(critical), {{"feature", f.feature}});
    }
  }

  // A categorical feature: its window counts by category (the baseline's and __other__),
  // their ε-floored proportions, PSI, JS and the chi-square statistic of the 2 × K table of
  // reference and window counts, and their critical values.
  void AddCategorical(const CategoricalReference& f) {
    const std::size_t bins = f.counts.size();
    auto category = [&](std::size_t i) {
      return i < f.categories.size() ? f.categories[i] : std::string(kOverflowLabelValue);
    };
    const std::string counts = Recorded(kCategoryCounts, f.feature);
    const std::string total = "sum without (category) (" + counts + ")";
    const std::string ratio =
        "(" + counts + " / on (model, feature, window) group_left () " + total + ")";
    Add(kCategoryRatio, ratio + " > 0\nor\n" + ratio + " * 0 + " + Num(kDriftEpsilon),
        {{"feature", f.feature}});
    std::string q, a;
    for (std::size_t i = 0; i < bins; ++i) {
      q += (i == 0 ? "" : " or ") +
           LabelledText("vector(" + Num(Floor(f.proportions[i])) + ")", "category", category(i));
      a += (i == 0 ? "" : " or ") +
           LabelledText("vector(" + Num(f.counts[i]) + ")", "category", category(i));
    }
    const std::string present = Present(f);
    const std::string gate = Gate(present);
    std::vector<std::string> methods;
    AddPsiJs(Recorded(kCategoryRatio, f.feature), "(" + q + ")", "category", gate, methods);
    if (Exports(DriftMethod::kChi2)) {
      // scipy's chi2_contingency on the table of reference counts a (row total m) and window
      // counts b (row total n), over the columns with a + b > 0 (ComputeChi2Contingency):
      // Σ D²/(m·n·(a + b)) with D = a·n − b·m, and with Yates' correction when exactly two
      // columns are left (one degree of freedom) Σ max(|D| − (n + m)/2, 0)²/(m·n·(a + b)).
      const std::string m = Num(f.count);
      const std::string n =
          "(" + counts + " * 0 + on (model, feature, window) group_left () " + total + ")";
      const std::string d =
          "(" + n + " * on (category) group_left () (" + a + ") - " + counts + " * " + m + ")";
      const std::string columns =
          "((" + counts + " + on (category) group_left () (" + a + ")) > 0)";
      const std::string denominator = "(" + columns + " * " + n + " * " + m + ")";
      const std::string width = "count by (model, feature) (" + columns + ")";
      methods.push_back(Labelled("(\n  sum by (model, feature) (" + d + " ^ 2 / " + denominator +
                                     ")\n  and on (model, feature) (" + width + " != 2)\n  or\n  " +
                                     "sum by (model, feature) (clamp_min(abs(" + d + ") - (" + n +
                                     " + " + m + ") / 2, 0) ^ 2 / " + denominator +
                                     ")\n  and on (model, feature) (" + width + " == 2)\n)" + gate,
                                 "method", "chi2"));
    }
    if (!methods.empty()) {
      Add(metric::kModelFeatureDrift.Name(), Join(methods), {{"feature", f.feature}});
    }
    std::vector<std::string> critical;
    AddPsiJsCriticalValues(f.proportions, f.count, present, gate, critical);
    int occupied = 0;
    for (double q_i : f.proportions) occupied += q_i > 0 ? 1 : 0;
    if (Exports(DriftMethod::kChi2) && occupied >= 2) {
      // drift_noise.h's Chi2CriticalValue: χ²(bins − 1) at the per-series level, whatever n.
      critical.push_back(Labelled("(" + present + " * 0 + " +
                                      Num(ChiSquareUpperQuantile(Level(), occupied - 1)) + ")" +
                                      gate,
                                  "method", "chi2"));
    }
    if (!critical.empty()) {
      Add(metric::kModelFeatureDriftCriticalValue.Name(), Join(critical), {{"feature", f.feature}});
    }
  }

  // Whether the exporter would export `method` (drift.methods, by default every method),
  // so that the rules record what a replica of the exporter engine would serve.
  bool Exports(DriftMethod method) const {
    const std::vector<DriftMethod>& listed = m_.drift.methods;
    return listed.empty() || std::find(listed.begin(), listed.end(), method) != listed.end();
  }

  // One rule's alternatives, each labelled by its method.
  static std::string Join(const std::vector<std::string>& alternatives) {
    std::string expr;
    for (const std::string& a : alternatives) expr += (expr.empty() ? "" : "\nor\n") + a;
    return expr;
  }

  // The exporter's per-series level: drift.alpha over its drift series (Bonferroni).
  double Level() const { return m_.drift.alpha / std::max(1, m_.promql_reference->drift_series); }

  // (1/n + 1/m), n the window's values (`present`), m the reference's.
  static std::string Inverses(const std::string& present, double m) {
    return "(1 / " + present + " + " + Num(1 / m) + ")";
  }

  // drift_noise.h's PsiCriticalValue and JsCriticalValue with the reference embedded: the
  // chi-square limit at the exporter's per-series level, plus the allowance of each bin a
  // window of this many values is likely to leave empty.
  void AddPsiJsCriticalValues(const std::vector<double>& proportions, double count,
                              const std::string& present, const std::string& gate,
                              std::vector<std::string>& methods) const {
    int occupied = 0;
    for (double q : proportions) occupied += q > 0 ? 1 : 0;
    // With fewer than 2 bins of reference mass nothing can drift: the exporter serves no
    // PSI or JS critical value.
    if (occupied < 2) return;
    const double level = Level();
    const double chi2 = ChiSquareUpperQuantile(level, occupied - 1);
    const std::string& n = present;
    const std::string inv = Inverses(present, count);
    const double log_limit = std::log(level / occupied);
    std::string psi_allow, js_allow;
    for (double q : proportions) {
      if (!(q > 0) || !(q < 1)) continue;
      const std::string empty =
          "(" + n + " * " + Num(std::log1p(-q)) + " > bool " + Num(log_limit) + ")";
      constexpr double eps = kDriftEpsilon;
      if (q > eps) psi_allow += " + " + Num((q - eps) * std::log(q / eps)) + " * " + empty;
      const double mid = 0.5 * (q + eps);
      js_allow += " + " + Num(0.5 * q * std::log(q / mid) + 0.5 * eps * std::log(eps / mid)) +
                  " * " + empty;
    }
    if (Exports(DriftMethod::kPsi)) {
      methods.push_back(Labelled(
          inv + " * " + Num(chi2) + (psi_allow.empty() ? "" : " + (0" + psi_allow + ")") + gate,
          "method", "psi"));
    }
    if (Exports(DriftMethod::kJs)) {
      methods.push_back(Labelled("sqrt(" + inv + " * " + Num(chi2) + " / 8" +
                                     (js_allow.empty() ? "" : " + (0" + js_allow + ")") + ")" +
                                     gate,
                                 "method", "js"));
    }
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
