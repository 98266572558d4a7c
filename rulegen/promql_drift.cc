#include "rulegen/promql_drift.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>

#include "core/distributions.h"
#include "core/metric_catalogue.h"
#include "rulegen/promql_window.h"

namespace modelwatch {

std::string PromqlNumber(double v) {
  char buf[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return v < 0 ? "(" + std::string(buf) + ")" : std::string(buf);
}

namespace {

using json = nlohmann::json;

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

// A number of a JSON object, NaN when absent or null (as the baseline loader reads optional
// statistics).
double NumberOr(const json& section, const char* key) {
  return section.is_object() && section.contains(key) && section[key].is_number()
             ? section[key].get<double>()
             : std::numeric_limits<double>::quiet_NaN();
}

// The inputs of the missing-ratio shift and the positive-rate z-score, as the exporter takes
// them from the baseline (DriftTracker: BaselineProfile::EffectiveCount of the reference's
// records, each non-PII feature profiled with its configured type, the prediction profile of
// a binary classifier with records).
void ReadShiftReferences(const ModelConfig& m, const json& baseline, PromqlDriftReference& ref) {
  const json& reference = baseline.contains("reference") ? baseline["reference"] : json();
  const double records = NumberOr(reference, "records");
  const double distinct = NumberOr(reference, "distinct_records");
  auto effective = [&](double count) {
    return distinct > 0 && records > 0 ? count * distinct / records : count;
  };
  if (records > 0) {
    ref.missing_records = effective(records);
    for (const FeatureConfig& fc : m.features) {
      if (fc.pii) continue;
      for (const json& f : baseline.at("features")) {
        if (f.at("name").get<std::string>() != fc.name) continue;
        if (f.at("type").get<std::string>() == FeatureTypeName(fc.type)) {
          const double rate = NumberOr(f, "missing_rate");
          if (!std::isnan(rate)) ref.missing.push_back({fc.name, rate});
        }
        break;  // the first profile of that name, as BaselineProfile::FindFeature
      }
    }
  }
  const json& pr = baseline.at("prediction");
  const double pr_records = NumberOr(pr, "records");
  const double rate = NumberOr(pr, "positive_rate");
  if (m.task == Task::kBinaryClassification && pr.value("kind", "") == "score" && pr_records > 0 &&
      !std::isnan(rate)) {
    const double daily = NumberOr(pr, "positive_rate_daily_std");
    const double batch = NumberOr(pr, "positive_rate_batch_between_std");
    // effect_size.h's BetweenStd: the larger of the two, either NaN when unknown.
    const double between = std::isnan(daily)   ? batch
                           : std::isnan(batch) ? daily
                                               : std::max(daily, batch);
    double tau = kRateEffectFloor * std::sqrt(std::max(0.0, rate * (1 - rate)));
    if (!std::isnan(between)) tau = std::max(tau, between);
    ref.positive_rate = PositiveRateReference{rate, effective(pr_records), tau * tau};
  }
}

// A numeric profile's coarse bins (a feature's, or the output's with `name` empty); an error
// names the baseline file and what is inconsistent.
Result<BinnedReference> ReadBinned(const ModelConfig& m, const std::string& name, const json& num) {
  const std::string what = name.empty() ? "the output" : "feature \"" + name + "\"";
  BinnedReference b;
  b.feature = name;
  b.edges = num.at("edges").get<std::vector<double>>();
  b.proportions = num.at("proportions").get<std::vector<double>>();
  b.count = CountOf(num);
  if (b.proportions.size() != b.edges.size() + 1) {
    return MakeError(m.baseline + ": " + what + " has " + std::to_string(b.edges.size()) +
                     " edges but " + std::to_string(b.proportions.size()) + " proportions");
  }
  // Each bin is a series named by its bounds' le labels: two edges written alike (the
  // exporter refuses edges that are not strictly increasing) would make one distribution's
  // series duplicates and break the rule every one of the model shares.
  std::set<std::string> les;
  for (double edge : b.edges) {
    if (!les.insert(LeLabel(edge)).second) {
      return MakeError(m.baseline + ": " + what + ": two edges are le=\"" + LeLabel(edge) + "\"");
    }
  }
  return b;
}

// A categorical profile's categories (a feature's, or the output's classes with `name`
// empty).
Result<CategoricalReference> ReadCategorical(const ModelConfig& m, const std::string& name,
                                             const json& cat) {
  const std::string what = name.empty() ? "the output" : "feature \"" + name + "\"";
  CategoricalReference c;
  c.feature = name;
  c.categories = cat.at("categories").get<std::vector<std::string>>();
  c.counts = cat.at("counts").get<std::vector<double>>();
  c.proportions = cat.at("proportions").get<std::vector<double>>();
  c.count = CountOf(cat);
  if (c.counts.size() != c.categories.size() + 1 || c.proportions.size() != c.counts.size()) {
    return MakeError(m.baseline + ": " + what + " has " + std::to_string(c.categories.size()) +
                     " categories but " + std::to_string(c.counts.size()) + " counts and " +
                     std::to_string(c.proportions.size()) + " proportions");
  }
  return c;
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
        auto b = ReadBinned(m, fc.name, num);
        if (!b) return tl::unexpected(b.error());
        ref.features.push_back(std::move(*b));
      }
    }
    for (const FeatureConfig& fc : m.features) {
      if (fc.pii || fc.type != FeatureType::kCategorical) continue;
      for (const json& f : baseline.at("features")) {
        if (f.at("name").get<std::string>() != fc.name || f.at("type") != "categorical") continue;
        const json& cat = f.at("categorical");
        if (!(CountOf(cat) > 0)) continue;
        auto c = ReadCategorical(m, fc.name, cat);
        if (!c) return tl::unexpected(c.error());
        ref.categorical.push_back(std::move(*c));
      }
    }
    // The output's profile, as the exporter's drift tracker takes it: the predicted classes
    // of a multiclass model, the score (binary) or prediction (regression) otherwise, from a
    // profile of that kind with values.
    const json& pr = baseline.at("prediction");
    const std::string kind = pr.at("kind").get<std::string>();
    if (m.task == Task::kMulticlassClassification) {
      if (kind == "class" && pr.contains("classes") && CountOf(pr["classes"]) > 0) {
        auto c = ReadCategorical(m, "", pr["classes"]);
        if (!c) return tl::unexpected(c.error());
        ref.output_classes.push_back(std::move(*c));
      }
    } else if (kind == (m.task == Task::kRegression ? "regression" : "score") &&
               pr.contains("numeric") && CountOf(pr["numeric"]) > 0) {
      auto b = ReadBinned(m, "", pr["numeric"]);
      if (!b) return tl::unexpected(b.error());
      ref.output.push_back(std::move(*b));
    }
    ReadShiftReferences(m, baseline, ref);
    return ref;
  } catch (const json::exception& e) {
    return MakeError(m.baseline + ": not a baseline profile (" + e.what() +
                     "); rebuild it with `modelwatch-exporter baseline`");
  }
}

std::string Balanced(const std::vector<std::string>& leaves, std::size_t begin, std::size_t end) {
  if (end - begin == 1) return leaves[begin];
  const std::size_t mid = begin + (end - begin) / 2;
  return "(" + Balanced(leaves, begin, mid) + " or " + Balanced(leaves, mid, end) + ")";
}

// `expr` with label `name` set to `value`: quoted, `$` doubled (label_replace expands
// $-references in its replacement).
std::string LabelledText(const std::string& expr, const std::string& name,
                         const std::string& value) {
  std::string expanded;
  for (char c : value) expanded += c == '$' ? std::string("$$") : std::string(1, c);
  return "label_replace(" + expr + ", \"" + name + "\", " + PromQuote(expanded) + ", \"\", \"\")";
}

double Floor(double p) { return p > 0 ? p : kDriftEpsilon; }

using Constant = PromqlConstant;

// What the rules compare with the baseline: the features (one distribution per feature, the
// baseline's series labelled with it) or the output (one distribution per version, each
// against the baseline's one output profile). The formulas are the same; the names, and the
// labels that tell the distributions apart, differ.
struct Subject {
  const char* key;               // the label naming a distribution besides model: feature, version
  const char* base;              // the labels the baseline's series share with the window's
  const char* category;          // the label of a categorical bin: category, class
  const MetricSpec& histogram;   // every replica's histogram on the baseline's edges
  const MetricSpec& categories;  // every replica's counter per baseline category
  const MetricSpec& drift;       // the drift gauge the rules record, and its critical value
  const MetricSpec& critical;
  // Per window (model, the key, the bin's label, window).
  const char* counts;           // the summed histogram buckets
  const char* ratio;            // each bin's ε-floored share
  const char* category_counts;  // the summed category counters
  const char* category_ratio;   // each category's ε-floored share
  // The baseline (no window label).
  const char* base_ratio;           // a bin's floored proportion {le, lower_le, bin}
  const char* base_cumulative;      // the running sum at each edge {le}
  const char* base_category_ratio;  // a category's floored proportion {category, bin}
  const char* base_category_count;  // its reference count
  const char* base_count;           // m
  const char* chi2_quantile;        // χ²(bins − 1) at the per-series level
  const char* log_limit;            // log(level / bins)
  const char* log1p;                // log1p(−q) {bin}
  const char* allowance;            // an empty bin's share of PSI's and JS's noise floor

  // Whether the baseline's series carry the key (one per distribution) or serve every
  // distribution of the model (the output's versions): then a match between a window's
  // series and a baseline's is many-to-one.
  bool BaseHasKey() const { return std::string_view(base).find(key) != std::string_view::npos; }
};

const Subject kFeatures{"feature",
                        "model, feature",
                        "category",
                        metric::kModelFeatureValue,
                        metric::kModelFeatureCategoryTotal,
                        metric::kModelFeatureDrift,
                        metric::kModelFeatureDriftCriticalValue,
                        kPromqlFeatureBucketIncrease,
                        "model_feature_le_window:model_feature_value:ratio",
                        kPromqlCategoryIncrease,
                        "model_feature_category_window:model_feature_category:ratio",
                        "model_feature_le:model_feature_value:baseline_ratio",
                        "model_feature_le:model_feature_value:baseline_cumulative_ratio",
                        "model_feature_category:model_feature_category:baseline_ratio",
                        "model_feature_category:model_feature_category:baseline_count",
                        "model_feature:model_feature_drift:baseline_count",
                        "model_feature:model_feature_drift_critical_value:chi2_quantile",
                        "model_feature:model_feature_drift_critical_value:empty_bin_log_limit",
                        "model_feature_bin:model_feature_drift_critical_value:"
                        "log1p_neg_baseline_ratio",
                        "model_feature_bin_method:model_feature_drift_critical_value:"
                        "empty_bin_allowance"};

const Subject kOutput{"version",
                      "model",
                      "class",
                      metric::kModelPredictionOutput,
                      metric::kModelPredictionOutputClassTotal,
                      metric::kModelPredictionDrift,
                      metric::kModelPredictionDriftCriticalValue,
                      "model_version_le_window:model_prediction_output_bucket:increase",
                      "model_version_le_window:model_prediction_output:ratio",
                      "model_version_class_window:model_prediction_output_class:increase",
                      "model_version_class_window:model_prediction_output_class:ratio",
                      "model_le:model_prediction_output:baseline_ratio",
                      "model_le:model_prediction_output:baseline_cumulative_ratio",
                      "model_class:model_prediction_output_class:baseline_ratio",
                      "model_class:model_prediction_output_class:baseline_count",
                      "model:model_prediction_drift:baseline_count",
                      "model:model_prediction_drift_critical_value:chi2_quantile",
                      "model:model_prediction_drift_critical_value:empty_bin_log_limit",
                      "model_bin:model_prediction_drift_critical_value:log1p_neg_baseline_ratio",
                      "model_bin_method:model_prediction_drift_critical_value:"
                      "empty_bin_allowance"};

// The two groups' rules. The baseline goes into Prometheus as constant series that rulegen
// records from the baseline file (window-independent, one rule per quantity covering every
// feature of the model, in a group of its own evaluated less often); per window, one rule per
// quantity covers every feature by vector matching on (model, feature, le | category | bin)
// instead of one rule per feature with inline constants: Prometheus parses each rule's text
// at every evaluation, and per-feature rules with inline vectors of bounds cost 10–40 ms
// apiece (docs/scale-out.md, *Cost*).
class GroupBuilder {
 public:
  GroupBuilder(const ModelConfig& m, RuleGroup& baseline, RuleGroup& group, PromqlCounts& counts)
      : m_(m), baseline_(baseline), rules_(m, group, counts) {}

  // The baseline's constant series, into the baseline group (the drift group reads their
  // latest samples, at most kPromqlBaselineInterval old): the features', then the output's.
  void AddBaseline() {
    const PromqlDriftReference& ref = *m_.promql_reference;
    AddBaseline({&kFeatures, &ref.features, &ref.categorical});
    AddBaseline({&kOutput, &ref.output, &ref.output_classes});
  }

  // Per window: the features' rules, then the output's (both read the window's records).
  void AddWindow(const Window& w) {
    rules_.Start(w);
    const PromqlDriftReference& ref = *m_.promql_reference;
    AddSubject({&kFeatures, &ref.features, &ref.categorical}, true);
    AddSubject({&kOutput, &ref.output, &ref.output_classes}, false);
  }

 private:
  // One subject's distributions in the baseline: the numeric and the categorical ones.
  struct Distributions {
    const Subject* s;
    const std::vector<BinnedReference>* numeric;
    const std::vector<CategoricalReference>* categorical;
  };

  void AddBaseline(const Distributions& d) {
    d_ = &d;
    const Subject& s = *d.s;
    std::vector<Constant> ratio, cumulative, category_ratio, category_count, count, log1p,
        allowance, chi2, log_limit;
    const double level = Level();
    // The critical values' inputs of a feature's proportions (drift_noise.h's
    // PsiCriticalValue and JsCriticalValue): the χ² quantile over the bins with reference
    // mass, and per bin with 0 < q < 1 what an empty bin adds to PSI and JS and how likely a
    // window of n values leaves it empty (n·log1p(−q) above log(level / occupied bins)).
    auto critical_inputs = [&](const std::string& feature, const std::vector<double>& q) {
      int occupied = 0;
      for (double q_i : q) occupied += q_i > 0 ? 1 : 0;
      // With fewer than 2 bins of reference mass nothing can drift: the exporter serves no
      // PSI, JS or chi2 critical value.
      if (occupied < 2) return;
      chi2.push_back({{{"feature", feature}}, ChiSquareUpperQuantile(level, occupied - 1)});
      log_limit.push_back({{{"feature", feature}}, std::log(level / occupied)});
      for (std::size_t i = 0; i < q.size(); ++i) {
        if (!(q[i] > 0) || !(q[i] < 1)) continue;
        const std::string bin = std::to_string(i);
        log1p.push_back({{{"feature", feature}, {"bin", bin}}, std::log1p(-q[i])});
        constexpr double eps = kDriftEpsilon;
        if (q[i] > eps && Exports(DriftMethod::kPsi)) {
          allowance.push_back({{{"feature", feature}, {"bin", bin}, {"method", "psi"}},
                               (q[i] - eps) * std::log(q[i] / eps)});
        }
        const double mid = 0.5 * (q[i] + eps);
        if (Exports(DriftMethod::kJs)) {
          allowance.push_back(
              {{{"feature", feature}, {"bin", bin}, {"method", "js"}},
               0.5 * q[i] * std::log(q[i] / mid) + 0.5 * eps * std::log(eps / mid)});
        }
      }
    };
    for (const BinnedReference& f : *d.numeric) {
      double running = 0;
      for (std::size_t i = 0; i < f.proportions.size(); ++i) {
        // A bin is named by the bucket bound that closes it (le) and the one that opens it
        // (lower_le, none for the first): its count is the difference of their cumulative
        // counts.
        std::vector<std::pair<std::string, std::string>> labels = {
            {"feature", f.feature},
            {"le", i < f.edges.size() ? LeLabel(f.edges[i]) : "+Inf"},
            {"bin", std::to_string(i)}};
        if (i > 0) labels.emplace_back("lower_le", LeLabel(f.edges[i - 1]));
        ratio.push_back({labels, Floor(f.proportions[i])});
        if (i < f.edges.size()) {
          running += f.proportions[i];
          cumulative.push_back({{{"feature", f.feature}, {"le", LeLabel(f.edges[i])}}, running});
        }
      }
      count.push_back({{{"feature", f.feature}}, f.count});
      critical_inputs(f.feature, f.proportions);
    }
    for (const CategoricalReference& f : *d.categorical) {
      // One series per category label: a category the baseline lists twice, or one literally
      // named __other__, shares its counter series with the other (the exporter counts both
      // under one label), so their proportions and counts add up in one bin.
      std::vector<std::string> labels_seen;
      std::vector<double> proportion, counted;
      for (std::size_t i = 0; i < f.counts.size(); ++i) {
        const std::string label =
            i < f.categories.size() ? f.categories[i] : std::string(kOverflowLabelValue);
        const auto at = std::find(labels_seen.begin(), labels_seen.end(), label);
        if (at == labels_seen.end()) {
          labels_seen.push_back(label);
          proportion.push_back(f.proportions[i]);
          counted.push_back(f.counts[i]);
        } else {
          proportion[at - labels_seen.begin()] += f.proportions[i];
          counted[at - labels_seen.begin()] += f.counts[i];
        }
      }
      for (std::size_t i = 0; i < labels_seen.size(); ++i) {
        const std::vector<std::pair<std::string, std::string>> labels = {
            {"feature", f.feature}, {s.category, labels_seen[i]}, {"bin", std::to_string(i)}};
        category_ratio.push_back({labels, Floor(proportion[i])});
        category_count.push_back({labels, counted[i]});
      }
      count.push_back({{{"feature", f.feature}}, f.count});
      critical_inputs(f.feature, f.proportions);
    }
    const bool psi_js = Exports(DriftMethod::kPsi) || Exports(DriftMethod::kJs);
    AddConstants(s.base_ratio, ratio);
    if (Exports(DriftMethod::kKs)) AddConstants(s.base_cumulative, cumulative);
    AddConstants(s.base_category_ratio, category_ratio);
    if (Exports(DriftMethod::kChi2)) AddConstants(s.base_category_count, category_count);
    AddConstants(s.base_count, count);
    if (d.s == &kFeatures) {
      std::vector<Constant> missing;
      for (const MissingReference& f : m_.promql_reference->missing)
        missing.push_back({{{"feature", f.feature}}, f.rate});
      AddConstants(kPromqlBaselineMissingRatio, missing);
    }
    if (psi_js || Exports(DriftMethod::kChi2)) AddConstants(s.chi2_quantile, chi2);
    if (psi_js) {
      AddConstants(s.log_limit, log_limit);
      AddConstants(s.log1p, log1p);
      AddConstants(s.allowance, allowance);
    }
  }

  // The rules of one subject's distributions in the window (the window's records first,
  // with `records`).
  void AddSubject(const Distributions& d, bool records) {
    d_ = &d;
    const Subject& s = *d.s;
    const bool numeric = !d.numeric->empty(), categorical = !d.categorical->empty();
    const std::string key = s.key;
    // The replicas' counts over the window (PromqlCounts: in these rules with one tier,
    // summed from the local tier's with two).
    if (numeric) {
      rules_.Add(s.counts, rules_.WindowSum(s.histogram.Bucket(), "model, " + key + ", le"));
    }
    if (records) {
      rules_.Add(kRecords, rules_.WindowSum(metric::kModelPredictionsTotal.Name(), "model"));
    }
    if (!numeric && !categorical) return;
    if (categorical) {
      rules_.Add(s.category_counts,
                 rules_.WindowSum(s.categories.Name(), "model, " + key + ", " + s.category));
    }
    if (numeric) {
      // Each bin's count: its upper bound's cumulative count minus its lower bound's, the
      // lower bucket found through the baseline series' lower_le (the bucket relabelled so
      // that its le is a lower_le); the first bin (no lower_le) is its bucket's count. The
      // output's baseline bins serve every version: the bucket's labels are kept and the
      // bin's le taken from the baseline (group_right).
      const std::string counts = rules_.Windowed(s.counts);
      const std::string lower =
          "(" + rules_.Selector(s.base_ratio) + " * 0 + on (" + s.base + ", lower_le) " +
          (s.BaseHasKey() ? "group_left ()" : "group_right (le)") + " label_replace(" + counts +
          ", \"lower_le\", \"$1\", \"le\", \"(.+)\"))";
      const std::string count = "(" + counts + " - on (model, " + key + ", le) group_left () " +
                                lower + "\nor\n" + counts + " and on (" + s.base + ", le) " +
                                rules_.Selector(s.base_ratio) + ")";
      const std::string ratio =
          "(" + count + " / on (model, " + key + ", window) group_left () " + Total() + ")";
      // The exporter's floor: an empty bin counts as ε.
      rules_.Add(s.ratio, ratio + " > 0\nor\n" + ratio + " * 0 + " + PromqlNumber(kDriftEpsilon));
    }
    if (categorical) {
      const std::string ratio = "(" + rules_.Windowed(s.category_counts) + " / on (model, " + key +
                                ", window) group_left () " + CategoryTotal() + ")";
      rules_.Add(s.category_ratio,
                 ratio + " > 0\nor\n" + ratio + " * 0 + " + PromqlNumber(kDriftEpsilon));
    }
    AddDrift();
    AddCriticalValues();
  }

  static constexpr const char* kRecords = "model_window:model_predictions:increase";

  void AddConstants(const char* record, const std::vector<Constant>& constants) {
    if (!constants.empty()) {
      baseline_.recording.push_back(PromqlConstantsRule(m_.name, record, constants));
    }
  }

  // Each numeric distribution's values in the window (its +Inf bucket), by model, its key
  // (feature or version) and window.
  std::string Total() const {
    return "sum without (le) (" + rules_.Windowed(d_->s->counts, ",le=\"+Inf\"") + ")";
  }
  std::string CategoryTotal() const {
    return "sum without (" + std::string(d_->s->category) + ") (" +
           rules_.Windowed(d_->s->category_counts) + ")";
  }
  // The same by model and key: n, each distribution's values in the window.
  std::string NumericPresent() const {
    return "sum by (" + By() + ") (" + rules_.Windowed(d_->s->counts, ",le=\"+Inf\"") + ")";
  }
  std::string CategoricalPresent() const {
    return "sum by (" + By() + ") (" + rules_.Windowed(d_->s->category_counts) + ")";
  }
  // n of every distribution of the subject in the reference, numeric and categorical.
  std::string Present() const {
    if (d_->categorical->empty()) return NumericPresent();
    if (d_->numeric->empty()) return CategoricalPresent();
    return "(" + NumericPresent() + " or " + CategoricalPresent() + ")";
  }
  // The labels of one distribution's drift value (method and window aside).
  std::string By() const { return "model, " + std::string(d_->s->key); }
  // The matching modifier of a window's series (left) against a baseline's series every
  // distribution shares (the output's versions): many-to-one; none for the features' own.
  std::string ManyToOne() const { return d_->s->BaseHasKey() ? "" : "group_left () "; }

  // The exporter serves a distribution's drift once the window holds drift.min_samples
  // records and the distribution has values in it (`present`).
  std::string Gate(const std::string& present) const {
    return "\nand on (model) (" + rules_.Windowed(kRecords) +
           " >= " + std::to_string(m_.drift.min_samples) + ")\nand on (" + By() + ") (" + present +
           " > 0)";
  }

  // PSI or JS (`method`) of the ε-floored window proportions `p` against the baseline's
  // floored proportions `q`, matched on (the baseline's labels, `bin`).
  std::string PsiJs(DriftMethod method, const std::string& p, const std::string& q,
                    const std::string& bin) const {
    const std::string on = " on (" + std::string(d_->s->base) + ", " + bin + ") ";
    const std::string by = "sum by (" + By() + ") (";
    if (method == DriftMethod::kPsi) {
      return by + "\n  (" + p + " -" + on + "group_left () " + q + ") * ln(" + p + " /" + on +
             "group_left () " + q + ")\n)";
    }
    const std::string mid = "(0.5 * (" + p + " +" + on + "group_left () " + q + "))";
    const std::string kl_pm = p + " * ln(" + p + " / " + mid + ")";
    const std::string kl_qm =
        q + " *" + on + "group_right () ln(" + q + " /" + on + "group_right () " + mid + ")";
    return "sqrt(clamp_min(\n  0.5 * " + by + "\n  " + kl_pm + "\n  )\n  + 0.5 * " + by + "\n  " +
           kl_qm + "\n  ),\n  0))";
  }

  // One drift rule per method (labelled by it), covering every distribution of the subject.
  void AddDrift() {
    const Subject& s = *d_->s;
    const std::string base = s.base, by = By();
    const bool numeric = !d_->numeric->empty(), categorical = !d_->categorical->empty();
    const std::string numeric_gate = Gate(NumericPresent());
    const std::string categorical_gate = Gate(CategoricalPresent());
    for (DriftMethod method : {DriftMethod::kPsi, DriftMethod::kJs}) {
      if (!Exports(method)) continue;
      std::vector<std::string> parts;
      if (numeric) {
        parts.push_back(
            PsiJs(method, rules_.Windowed(s.ratio), rules_.Selector(s.base_ratio), "le") +
            numeric_gate);
      }
      if (categorical) {
        parts.push_back(PsiJs(method, rules_.Windowed(s.category_ratio),
                              rules_.Selector(s.base_category_ratio), s.category) +
                        categorical_gate);
      }
      AddMethod(s.drift.Name(), method, parts);
    }
    if (Exports(DriftMethod::kKs) && numeric) {
      // KS at the bin edges: the summed cumulative bucket counts over the distribution's
      // values are F_current at every edge; F_baseline there is the running sum of the
      // baseline's proportions (matched on le). The +Inf bucket, where both are 1, matches
      // none.
      AddMethod(
          s.drift.Name(), DriftMethod::kKs,
          {"max by (" + by + ") (\n  abs(\n  (" + rules_.Windowed(s.counts) + " / on (" + by +
           ", window) group_left () " + Total() + ")\n  - on (" + base + ", le) group_left () " +
           rules_.Selector(s.base_cumulative) + "\n  )\n)" + numeric_gate});
    }
    if (Exports(DriftMethod::kChi2) && categorical) {
      // scipy's chi2_contingency on the table of reference counts a (row total m) and window
      // counts b (row total n), over the columns with a + b > 0 (ComputeChi2Contingency):
      // Σ D²/(m·n·(a + b)) with D = a·n − b·m, and with Yates' correction when exactly two
      // columns are left (one degree of freedom) Σ max(|D| − (n + m)/2, 0)²/(m·n·(a + b)).
      const std::string category = s.category;
      const std::string b = rules_.Windowed(s.category_counts);
      const std::string a = rules_.Selector(s.base_category_count);
      const std::string m = "on (" + base + ") group_left () " + rules_.Selector(s.base_count);
      const std::string n =
          "(" + b + " * 0 + on (" + by + ", window) group_left () " + CategoryTotal() + ")";
      const std::string d = "(" + n + " * on (" + base + ", " + category + ") group_left () " + a +
                            " - " + b + " * " + m + ")";
      const std::string columns =
          "((" + b + " + on (" + base + ", " + category + ") group_left () " + a + ") > 0)";
      const std::string denominator = "(" + columns + " * " + n + " * " + m + ")";
      const std::string width = "count by (" + by + ") (" + columns + ")";
      AddMethod(s.drift.Name(), DriftMethod::kChi2,
                {"(\n  sum by (" + by + ") (" + d + " ^ 2 / " + denominator + ")\n  and on (" + by +
                 ") (" + width + " != 2)\n  or\n  " + "sum by (" + by + ") (clamp_min(abs(" + d +
                 ") - (" + n + " + " + m + ") / 2, 0) ^ 2 / " + denominator + ")\n  and on (" + by +
                 ") (" + width + " == 2)\n)" + categorical_gate});
    }
  }

  // One critical-value rule per method, covering every distribution of the subject.
  void AddCriticalValues() {
    const Subject& s = *d_->s;
    const std::string base = s.base, by = By();
    const std::string name = s.critical.Name();
    const std::string present = Present();
    // (1/n + 1/m), n the window's values, m the reference's.
    const auto inverses = [&](const std::string& n) {
      return "(1 / " + n + " + on (" + base + ") " + ManyToOne() + "(1 / " +
             rules_.Selector(s.base_count) + "))";
    };
    const std::string chi2 =
        " * on (" + base + ") " + ManyToOne() + rules_.Selector(s.chi2_quantile);
    // drift_noise.h's PsiCriticalValue and JsCriticalValue: the chi-square limit at the
    // exporter's per-series level, plus the allowance of each bin a window of n values is
    // likely to leave empty (0 for a distribution without such bins).
    const auto allowance = [&](const char* method) {
      const std::string allowances =
          rules_.Selector(s.allowance, ",method=\"" + std::string(method) + "\"");
      if (s.BaseHasKey()) {
        const std::string empty = "(" + rules_.Selector(s.log1p) + " * on (" + base +
                                  ") group_left () " + present + " > bool on (" + base +
                                  ") group_left () " + rules_.Selector(s.log_limit) + ")";
        return "(sum by (" + by + ") (" + allowances + " * on (" + base + ", bin) " + empty +
               ") or " + rules_.Selector(s.chi2_quantile) + " * 0)";
      }
      // The baseline's bins serve every distribution (the output's versions): each bin of
      // each one is first taken from its window's counts, labelled with the baseline's bin
      // (value 0).
      const std::string bins = d_->numeric->empty()
                                   ? "(" + rules_.Windowed(s.category_counts) + " * 0 + on (" +
                                         base + ", " + s.category + ") group_left (bin) (" +
                                         rules_.Selector(s.base_category_ratio) + " * 0))"
                                   : "(" + rules_.Windowed(s.counts) + " * 0 + on (" + base +
                                         ", le) group_left (bin) (" +
                                         rules_.Selector(s.base_ratio) + " * 0))";
      const std::string empty = "((" + bins + " + on (" + base + ", bin) group_left () " +
                                rules_.Selector(s.log1p) + ") * on (" + by + ") group_left () " +
                                present + " > bool on (" + base + ") group_left () " +
                                rules_.Selector(s.log_limit) + ")";
      return "(sum by (" + by + ") (" + allowances + " * on (" + base + ", bin) group_right () " +
             empty + ") or " + present + " * 0)";
    };
    const std::string gate = Gate(present);
    if (Exports(DriftMethod::kPsi)) {
      AddMethod(name, DriftMethod::kPsi,
                {inverses(present) + chi2 + " + on (" + by + ") " + allowance("psi") + gate});
    }
    if (Exports(DriftMethod::kJs)) {
      AddMethod(name, DriftMethod::kJs,
                {"sqrt(" + inverses(present) + chi2 + " / 8 + on (" + by + ") " + allowance("js") +
                 ")" + gate});
    }
    if (Exports(DriftMethod::kKs) && !d_->numeric->empty()) {
      // drift_noise.h's KsCriticalValue: Kolmogorov's limit at the per-series level over the
      // effective size, K⁻¹(level)·sqrt(1/n + 1/m); for the distributions with bin edges.
      AddMethod(name, DriftMethod::kKs,
                {PromqlNumber(KolmogorovUpperQuantile(Level())) + " * sqrt" +
                 inverses(NumericPresent()) + "\nand on (" + base + ") " +
                 rules_.Selector(s.base_cumulative) + Gate(NumericPresent())});
    }
    if (Exports(DriftMethod::kChi2) && !d_->categorical->empty()) {
      // drift_noise.h's Chi2CriticalValue: χ²(bins − 1) at the per-series level, whatever n.
      AddMethod(name, DriftMethod::kChi2,
                {"(" + CategoricalPresent() + " * 0 + on (" + base + ") " + ManyToOne() +
                 rules_.Selector(s.chi2_quantile) + ")" + Gate(CategoricalPresent())});
    }
  }

  // A rule of `record` for one method: its parts (numeric, categorical) joined by `or`.
  void AddMethod(const std::string& record, DriftMethod method,
                 const std::vector<std::string>& parts) {
    std::string expr;
    for (const std::string& p : parts) expr += (expr.empty() ? "" : "\nor\n") + p;
    rules_.Add(record, expr, {{"method", DriftMethodName(method)}});
  }

  // Whether the exporter would export `method` (drift.methods, by default every method),
  // so that the rules record what a replica of the exporter engine would serve.
  bool Exports(DriftMethod method) const {
    const std::vector<DriftMethod>& listed = m_.drift.methods;
    return listed.empty() || std::find(listed.begin(), listed.end(), method) != listed.end();
  }

  // The exporter's per-series level: drift.alpha over its drift series (Bonferroni).
  double Level() const { return m_.drift.alpha / std::max(1, m_.promql_reference->drift_series); }

  const ModelConfig& m_;
  RuleGroup& baseline_;
  PromqlWindowRules rules_;
  const Distributions* d_ = nullptr;  // the subject being written
};
}  // namespace

// A rule recording `constants` as series of `record` labelled with the model (a rule
// label) and each constant's labels, written so that Prometheus parses and evaluates
// little per constant (it parses a rule's text at every evaluation): each constant is
// vector(value) with one label, `key`, holding its labels other than feature and category
// (bounds, bin numbers, methods: never a `;`) joined by `;`; a feature's constants are
// joined by `or` under one label_replace of the feature; the features' under one
// label_replace per key label, each taking its field of `key` (an empty field: no label),
// and one that drops `key`. The `or`s form balanced trees (a chain would match each
// alternative against all before it). A category, free text, is set on its constant.
RecordingRule PromqlConstantsRule(const std::string& model, const std::string& record,
                                  const std::vector<PromqlConstant>& constants) {
  std::vector<std::string> key_names;
  for (const PromqlConstant& c : constants) {
    for (const auto& [name, value] : c.labels) {
      if (name != "feature" && name != "category" && name != "class" &&
          std::find(key_names.begin(), key_names.end(), name) == key_names.end()) {
        key_names.push_back(name);
      }
    }
  }
  std::vector<std::string> features, leaves;
  std::string feature;
  auto close_feature = [&] {
    if (!leaves.empty()) {
      const std::string tree = Balanced(leaves, 0, leaves.size());
      features.push_back(feature.empty() ? tree : LabelledText(tree, "feature", feature));
    }
    leaves.clear();
  };
  for (const PromqlConstant& c : constants) {
    std::string feature_of, category, category_label, key;
    std::vector<std::string> fields(key_names.size());
    for (const auto& [name, value] : c.labels) {
      if (name == "feature") {
        feature_of = value;
      } else if (name == "category" || name == "class") {
        category = value;
        category_label = name;
      } else {
        fields[std::find(key_names.begin(), key_names.end(), name) - key_names.begin()] = value;
      }
    }
    if (feature_of != feature) close_feature();
    feature = feature_of;
    std::string leaf = "vector(" + PromqlNumber(c.value) + ")";
    if (!key_names.empty()) {
      for (std::size_t k = 0; k < fields.size(); ++k) key += (k ? ";" : "") + fields[k];
      leaf = LabelledText(leaf, "key", key);
    }
    if (!category_label.empty()) leaf = LabelledText(leaf, category_label, category);
    leaves.push_back(std::move(leaf));
  }
  close_feature();
  std::string expr = Balanced(features, 0, features.size());
  if (!key_names.empty()) {
    std::string pattern;
    for (std::size_t k = 0; k < key_names.size(); ++k)
      pattern += (k ? ";" : "") + std::string("([^;]*)");
    for (std::size_t k = 0; k < key_names.size(); ++k) {
      expr = "label_replace(" + expr + ", \"" + key_names[k] + "\", \"$" + std::to_string(k + 1) +
             "\", \"key\", \"" + pattern + "\")";
    }
    expr = "label_replace(" + expr + ", \"key\", \"\", \"\", \"\")";
  }
  return {record, expr, {{"model", model}}};
}

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

std::vector<RuleGroup> PromqlDriftGroups(const ModelConfig& m, Seconds interval) {
  PromqlCounts counts(m);
  return PromqlDriftGroups(m, interval, counts);
}

std::vector<RuleGroup> PromqlDriftGroups(const ModelConfig& m, Seconds interval,
                                         PromqlCounts& counts) {
  RuleGroup baseline{"modelwatch-" + m.name + "-drift-promql-baseline",
                     std::max(interval, kPromqlBaselineInterval),
                     {},
                     {}};
  RuleGroup group{"modelwatch-" + m.name + "-drift-promql", interval, {}, {}};
  if (!m.promql_reference) return {};
  GroupBuilder builder(m, baseline, group, counts);
  builder.AddBaseline();
  for (const Window& w : m.drift.windows) builder.AddWindow(w);
  return {std::move(baseline), std::move(group)};
}

}  // namespace modelwatch
