#include "exporter/drift/drift_tracker.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <optional>

#include "core/hash.h"
#include "exporter/baseline/baseline_builder.h"
#include "exporter/drift/cbpe.h"
#include "exporter/drift/degradation_score.h"
#include "exporter/drift/drift_math.h"
#include "exporter/drift/drift_noise.h"
#include "exporter/drift/drift_tracker_layout.h"
#include "exporter/drift/effect_size.h"
#include "exporter/metrics/metric_family.h"
#include "exporter/parse/bytes_equal.h"
#include "exporter/stats/bin_locator.h"
#include "exporter/stats/entropy.h"
#include "exporter/stats/quantile.h"

namespace modelwatch {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Slot-level count cells before the features'.
constexpr std::size_t kRecordsCell = 0;
constexpr std::size_t kErrorsCell = 1;
constexpr std::size_t kAnomalousCell = 2;
constexpr std::size_t kFirstFeatureCell = 3;

// Version block cells.
constexpr std::size_t kOutputsCell = 0;
constexpr std::size_t kPositivesCell = 1;
constexpr std::size_t kConfidenceCountCell = 2;
constexpr std::size_t kVersionFirstBinCell = 3;
constexpr std::size_t kConfidenceSum = 0;
constexpr std::size_t kEntropySum = 1;
constexpr std::size_t kCorrectSum = 2;
constexpr std::size_t kVersionFirstSum = 3;
// CBPE sums at VersionLayout::cbpe_sum: Σc², and for binary Σs and Σs² over predicted positives.
constexpr std::size_t kCbpeCorrectSq = 0;
constexpr std::size_t kCbpePositiveScore = 1;
constexpr std::size_t kCbpePositiveScoreSq = 2;
constexpr std::size_t kCbpeSums = 3;

std::vector<DriftMethod> ExportedMethods(const DriftConfig& drift, FeatureType type) {
  std::vector<DriftMethod> all = drift.methods;
  if (all.empty()) {
    all = {DriftMethod::kPsi, DriftMethod::kJs, DriftMethod::kKs, DriftMethod::kWasserstein,
           DriftMethod::kChi2};
  }
  std::vector<DriftMethod> out;
  for (DriftMethod m : all) {
    if (MethodApplies(m, type)) out.push_back(m);
  }
  return out;
}

CategoryIndex MakeCategoryIndex(const std::vector<std::string>& categories) {
  CategoryIndex index;
  for (std::size_t i = 0; i < categories.size(); ++i) {
    index.emplace(categories[i], static_cast<std::uint32_t>(i));
  }
  return index;
}

std::uint32_t LookupCategory(const CategoryIndex& index, std::string_view text, std::size_t other) {
  auto it = index.find(text);
  return it == index.end() ? static_cast<std::uint32_t>(other) : it->second;
}

// Computes one method's value for a binned distribution, NaN when undefined.
struct BinnedDistribution {
  FeatureType type = FeatureType::kNumeric;
  const NumericSummary* numeric = nullptr;          // reference, numeric
  const CategoricalSummary* categorical = nullptr;  // reference, categorical
  std::vector<double> counts;                       // current, per (fine) bin
  std::vector<double> sums;                         // current, numeric: per fine bin
  std::vector<double> at_cut;  // current, numeric: values exactly at each fine cut
  // Numeric: WassersteinNoiseMean of the reference, fixed by the baseline and so computed
  // once per tracker (it walks every fine bin).
  double noise_mean = kNaN;
};

double ComputeMethod(DriftMethod method, const BinnedDistribution& d) {
  double n = 0;
  for (double c : d.counts) n += c;
  if (!(n > 0)) return kNaN;
  if (d.type == FeatureType::kCategorical) {
    const CategoricalSummary& ref = *d.categorical;
    std::vector<double> p(d.counts.size());
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = d.counts[i] / n;
    switch (method) {
      case DriftMethod::kPsi:
        return ComputePsi(p, ref.proportions);
      case DriftMethod::kJs:
        return ComputeJsDistance(p, ref.proportions);
      case DriftMethod::kChi2: {
        std::vector<double> ref_counts(ref.counts.begin(), ref.counts.end());
        return ComputeChi2Contingency(ref_counts, d.counts);
      }
      default:
        return kNaN;
    }
  }
  const NumericSummary& ref = *d.numeric;
  switch (method) {
    case DriftMethod::kPsi:
    case DriftMethod::kJs: {
      std::vector<double> p(ref.proportions.size(), 0.0);
      for (std::size_t i = 0; i < d.counts.size(); ++i) p[ref.fine_to_coarse[i]] += d.counts[i];
      for (double& x : p) x /= n;
      return method == DriftMethod::kPsi ? ComputePsi(p, ref.proportions)
                                         : ComputeJsDistance(p, ref.proportions);
    }
    case DriftMethod::kKs:
    case DriftMethod::kWasserstein: {
      std::vector<double> mass(d.counts.size());
      std::vector<double> mean(d.counts.size());
      for (std::size_t i = 0; i < mass.size(); ++i) {
        mass[i] = d.counts[i] / n;
        mean[i] = d.counts[i] > 0 ? d.sums[i] / d.counts[i] : 0.0;
      }
      std::vector<double> at_cut(d.at_cut.size());
      for (std::size_t i = 0; i < at_cut.size(); ++i) at_cut[i] = d.at_cut[i] / n;
      const FineDistribution cur{ref.fine_cuts, mass, mean, at_cut};
      const FineDistribution base{ref.fine_cuts, ref.fine_mass, ref.fine_mean, ref.fine_at_cut};
      if (method == DriftMethod::kKs) return ComputeKsFine(cur, base);
      if (!(ref.std > 0)) return kNaN;  // a constant reference has no scale
      return ComputeWassersteinFine(cur, base) / ref.std;
    }
    default:
      return kNaN;
  }
}

// The value `method` reaches by sampling noise alone with probability `p` (the per-series
// level), for the window's present values in `d` against the baseline (docs/statistics.md,
// "Noise floors and significance"). NaN where the method is undefined.
double CriticalValue(DriftMethod method, const BinnedDistribution& d, double p) {
  double n = 0;
  for (double c : d.counts) n += c;
  if (!(n > 0)) return kNaN;
  auto occupied = [](const std::vector<double>& proportions) {
    int bins = 0;
    for (double q : proportions) bins += q > 0 ? 1 : 0;
    return bins;
  };
  if (d.type == FeatureType::kCategorical) {
    const CategoricalSummary& ref = *d.categorical;
    const double m = static_cast<double>(ref.count);
    const int bins = occupied(ref.proportions);
    switch (method) {
      case DriftMethod::kPsi:
        return PsiCriticalValue(p, n, m, ref.proportions);
      case DriftMethod::kJs:
        return JsCriticalValue(p, n, m, ref.proportions);
      case DriftMethod::kChi2:
        return Chi2CriticalValue(p, bins);
      default:
        return kNaN;
    }
  }
  const NumericSummary& ref = *d.numeric;
  const double m = static_cast<double>(ref.count);
  switch (method) {
    case DriftMethod::kPsi:
      return PsiCriticalValue(p, n, m, ref.proportions);
    case DriftMethod::kJs:
      return JsCriticalValue(p, n, m, ref.proportions);
    case DriftMethod::kKs:
      return KsCriticalValue(p, n, m);
    case DriftMethod::kWasserstein:
      if (!(ref.std > 0)) return kNaN;
      return WassersteinCriticalValue(p, n, m, d.noise_mean);
    default:
      return kNaN;
  }
}

// Appends the critical value sample `name` (skipped where undefined or infinite).
void AppendCriticalValue(const std::string& name, DriftMethod method, const BinnedDistribution& d,
                         double level, std::vector<std::pair<std::string, std::string>> labels,
                         std::vector<DriftSample>& out) {
  const double value = CriticalValue(method, d, level);
  if (std::isnan(value) || std::isinf(value)) return;
  out.push_back({name, std::move(labels), value});
}

}  // namespace

std::string DriftSample::Label(const std::string& key) const {
  for (const auto& [k, v] : labels) {
    if (k == key) return v;
  }
  return "";
}

DriftTracker::DriftTracker(const ModelConfig& model,
                           std::shared_ptr<const BaselineProfile> baseline)
    : model_(model), baseline_(std::move(baseline)), version_layout_(new VersionLayout) {
  std::size_t counts = kFirstFeatureCell;
  std::size_t sums = 0;
  for (std::size_t i = 0; i < model_.features.size(); ++i) {
    const FeatureConfig& fc = model_.features[i];
    if (fc.pii) continue;
    FeatureTrack f;
    f.config_index = i;
    f.name = fc.name;
    f.type = fc.type;
    f.methods = ExportedMethods(model_.drift, fc.type);
    if (model_.drift.engine == DriftEngine::kPromql) {
      // Prometheus computes these from every replica's histograms and category counters
      // (docs/scale-out.md); a replica's own value would be a second, partial series of the
      // same name. Wasserstein stays the replica's.
      std::erase_if(f.methods, [](DriftMethod m) { return m != DriftMethod::kWasserstein; });
    }
    const FeatureDriftSettings alert = EffectiveFeatureDrift(model_.drift, fc);
    f.alert_method = alert.method;
    f.alert_critical = alert.critical;
    f.missing_cell = counts++;
    const FeatureProfile* fp = baseline_ ? baseline_->FindFeature(fc.name) : nullptr;
    if (fp != nullptr && fp->type == fc.type) {
      f.baseline_missing = fp->missing_rate;
      if (fc.type == FeatureType::kNumeric && fp->numeric.count > 0) {
        f.binned = true;
        f.profile = fp;
        f.locator = BinLocator(fp->numeric.fine_cuts);
        f.noise_mean = ReferenceNoiseMean(fp->numeric);
        f.out_of_range_cell = counts++;
        f.bins_cell = counts;
        f.bin_count = fp->numeric.fine_cuts.size() + 1;
        counts += f.bin_count;
        f.at_cut_cell = counts;
        counts += fp->numeric.fine_cuts.size();
        f.sums_cell = sums;
        sums += f.bin_count;
      } else if (fc.type == FeatureType::kCategorical && fp->categorical.count > 0) {
        f.binned = true;
        f.profile = fp;
        f.categories = MakeCategoryIndex(fp->categorical.categories);
        f.bins_cell = counts;
        f.bin_count = fp->categorical.categories.size() + 1;
        counts += f.bin_count;
      }
    }
    features_.push_back(std::move(f));
  }
  slot_counts_ = counts;
  slot_sums_ = sums;

  VersionLayout& v = *version_layout_;
  switch (model_.task) {
    case Task::kBinaryClassification:
      v.kind = OutputKind::kScore;
      v.hist_classes = 1;
      break;
    case Task::kMulticlassClassification:
      v.kind = OutputKind::kClass;
      v.hist_classes = model_.classes.size();
      break;
    case Task::kRegression:
      v.kind = OutputKind::kRegression;
      v.hist_classes = 0;
      break;
  }
  std::size_t vcounts = kVersionFirstBinCell;
  std::size_t vsums = kVersionFirstSum;
  if (baseline_) {
    const PredictionProfile& pr = baseline_->prediction;
    if (v.kind == OutputKind::kClass && pr.kind == OutputKind::kClass && pr.classes.count > 0) {
      v.binned = true;
      v.classes = &pr.classes;
      v.class_index = MakeCategoryIndex(pr.classes.categories);
      v.bin_count = pr.classes.categories.size() + 1;
      v.methods = ExportedMethods(model_.drift, FeatureType::kCategorical);
      vcounts += v.bin_count;
    } else if (v.kind != OutputKind::kClass && pr.kind == v.kind && pr.numeric.count > 0) {
      v.binned = true;
      v.numeric = &pr.numeric;
      v.locator = BinLocator(pr.numeric.fine_cuts);
      v.noise_mean = ReferenceNoiseMean(pr.numeric);
      v.bin_count = pr.numeric.fine_cuts.size() + 1;
      v.methods = ExportedMethods(model_.drift, FeatureType::kNumeric);
      vcounts += v.bin_count;
      vsums += v.bin_count;
      v.at_cut_cell = vcounts;
      vcounts += pr.numeric.fine_cuts.size();
    }
  }
  if (model_.drift.engine == DriftEngine::kPromql) {
    // As the features': Prometheus computes the output's drift from every replica's
    // model_prediction_output histograms or class counters (docs/scale-out.md); Wasserstein
    // stays the replica's. The degradation score still reads the replica's own.
    std::erase_if(v.methods, [](DriftMethod m) { return m != DriftMethod::kWasserstein; });
  }
  v.hist_cell = vcounts;
  v.hist_sum = vsums;
  vcounts += v.hist_classes * kScoreBins;
  vsums += v.hist_classes * kScoreBins;
  v.cbpe_sum = vsums;
  vsums += kCbpeSums;
  v.counts_size = vcounts;
  v.sums_size = vsums;

  const int sub = std::max(1, model_.drift.sub_windows);
  for (const auto& w : model_.drift.windows) {
    windows_.emplace_back(w.label, w.length, sub, model_.drift.lateness);
    windows_.back().counts.assign(static_cast<std::size_t>(sub) * slot_counts_, 0);
    windows_.back().sums.assign(static_cast<std::size_t>(sub) * slot_sums_, 0.0);
  }
  scratch_bin_.assign(features_.size(), -1);
  scratch_value_.assign(features_.size(), 0.0);
  scratch_out_of_range_.assign(features_.size(), 0);
  scratch_at_cut_.assign(features_.size(), 0);

  std::string layout = "model=" + model_.name + ";baseline=" + (baseline_ ? baseline_->id : "");
  layout += ";sub=" + std::to_string(sub) + ";counts=" + std::to_string(slot_counts_) +
            ";sums=" + std::to_string(slot_sums_) + ";vcounts=" + std::to_string(v.counts_size) +
            ";vsums=" + std::to_string(v.sums_size);
  for (const auto& w : windows_) {
    layout += ";window=" + w.label + ":" + std::to_string(w.length.count());
  }
  for (const auto& f : features_) layout += ";feature=" + f.name;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(Fnv1a64Of(layout)));
  layout_id_ = buf;
  versions_.reserve(static_cast<std::size_t>(std::max(0, model_.max_versions)) + 1);
}

DriftTracker::~DriftTracker() = default;

void DriftTracker::AddVersion(std::string name) {
  versions_.push_back(std::move(name));
  const VersionLayout& v = *version_layout_;
  for (auto& w : windows_) {
    const std::size_t sub = static_cast<std::size_t>(w.clock.sub_windows());
    w.vcounts.emplace_back(sub * v.counts_size, 0);
    w.vsums.emplace_back(sub * v.sums_size, 0.0);
  }
}

std::size_t DriftTracker::VersionIndex(std::string_view version) {
  if (version.empty()) version = "unknown";
  for (std::size_t i = 0; i < versions_.size(); ++i) {
    if (BytesEqual(versions_[i], version)) return i;
  }
  const std::size_t limit = static_cast<std::size_t>(std::max(1, model_.max_versions));
  std::size_t named = versions_.size();
  for (const auto& v : versions_) {
    if (v == kOverflowLabelValue) --named;
  }
  if (named < limit) {
    AddVersion(std::string(version));
    return versions_.size() - 1;
  }
  for (std::size_t i = 0; i < versions_.size(); ++i) {
    if (versions_[i] == kOverflowLabelValue) return i;
  }
  AddVersion(std::string(kOverflowLabelValue));
  return versions_.size() - 1;
}

void DriftTracker::ClearSlot(Window& w, int slot) {
  const std::size_t s = static_cast<std::size_t>(slot);
  std::fill_n(w.counts.begin() + static_cast<std::ptrdiff_t>(s * slot_counts_), slot_counts_, 0);
  std::fill_n(w.sums.begin() + static_cast<std::ptrdiff_t>(s * slot_sums_), slot_sums_, 0.0);
  const VersionLayout& v = *version_layout_;
  for (auto& c : w.vcounts) {
    std::fill_n(c.begin() + static_cast<std::ptrdiff_t>(s * v.counts_size), v.counts_size, 0);
  }
  for (auto& c : w.vsums) {
    std::fill_n(c.begin() + static_cast<std::ptrdiff_t>(s * v.sums_size), v.sums_size, 0.0);
  }
}

void DriftTracker::Observe(const Record& r) {
  ++generation_;
  // Per-record work shared by every window: bins, flags, prediction quantities.
  bool anomalous = false;
  std::array<char, 32> buf;
  for (std::size_t i = 0; i < features_.size(); ++i) {
    const FeatureTrack& f = features_[i];
    scratch_bin_[i] = -1;
    scratch_out_of_range_[i] = 0;
    scratch_at_cut_[i] = 0;
    if (f.config_index >= r.features.size()) continue;
    const FeatureValue& v = r.features[f.config_index];
    if (v.kind == FeatureValue::Kind::kMissing) continue;
    if (f.type == FeatureType::kNumeric) {
      if (v.kind != FeatureValue::Kind::kNumber || std::isnan(v.number)) continue;
      scratch_bin_[i] = -2;  // present, not binned
      if (!f.binned) continue;
      const NumericSummary& ns = f.profile->numeric;
      const std::size_t fine_bin = f.locator.Find(v.number);
      scratch_bin_[i] = static_cast<std::int64_t>(fine_bin);
      scratch_at_cut_[i] =
          fine_bin < ns.fine_cuts.size() && v.number == ns.fine_cuts[fine_bin] ? 1 : 0;
      scratch_value_[i] = v.number;
      const bool out = v.number < ns.min || v.number > ns.max;
      scratch_out_of_range_[i] = out ? 1 : 0;
      anomalous = anomalous || out;
    } else {
      scratch_bin_[i] = -2;
      if (!f.binned) continue;
      scratch_bin_[i] = LookupCategory(f.categories, CategoryOf(v, buf), f.bin_count - 1);
    }
  }

  const VersionLayout& vl = *version_layout_;
  bool has_output = false;
  bool has_confidence = false;
  bool positive = false;
  double confidence = 0;
  double entropy = 0;
  double correct = 0;
  std::int64_t output_bin = -1;
  double output_value = 0;
  if (r.ok) {
    switch (vl.kind) {
      case OutputKind::kScore:
        if (!r.has_score) break;
        has_output = has_confidence = true;
        confidence = std::max(r.score, 1 - r.score);
        entropy = BinaryEntropy(r.score);
        positive = IsPositivePrediction(r, model_.threshold);
        correct = positive ? r.score : 1 - r.score;
        output_value = r.score;
        if (vl.binned) output_bin = static_cast<std::int64_t>(vl.locator.Find(r.score));
        break;
      case OutputKind::kClass:
        if (r.probabilities.empty() && r.predicted_class.empty()) break;
        has_output = true;
        if (!r.probabilities.empty()) {
          has_confidence = true;
          confidence = *std::max_element(r.probabilities.begin(), r.probabilities.end());
          entropy = ClassEntropy(r.probabilities);
          correct = confidence;
        }
        if (vl.binned && !r.predicted_class.empty()) {
          output_bin = LookupCategory(vl.class_index, r.predicted_class, vl.bin_count - 1);
        }
        break;
      case OutputKind::kRegression:
        if (!r.has_prediction || std::isnan(r.prediction)) break;
        has_output = true;
        output_value = r.prediction;
        if (vl.binned) {
          output_bin = static_cast<std::int64_t>(vl.locator.Find(r.prediction));
        }
        break;
    }
  }
  const std::size_t version = VersionIndex(r.version);

  for (auto& w : windows_) {
    int slot = 0;
    const auto placement = w.clock.Place(r.timestamp, &slot, [&](int s) { ClearSlot(w, s); });
    if (placement == WindowClock::Placement::kLate) {
      ++w.late;
      continue;
    }
    if (placement != WindowClock::Placement::kInWindow) continue;
    const std::size_t s = static_cast<std::size_t>(slot);
    Window::Cell* counts = w.counts.data() + s * slot_counts_;
    double* sums = w.sums.data() + s * slot_sums_;
    ++counts[kRecordsCell];
    if (!r.ok) ++counts[kErrorsCell];
    if (anomalous) ++counts[kAnomalousCell];
    for (std::size_t i = 0; i < features_.size(); ++i) {
      const FeatureTrack& f = features_[i];
      const std::int64_t b = scratch_bin_[i];
      if (b == -1) {
        ++counts[f.missing_cell];
        continue;
      }
      if (b < 0) continue;
      ++counts[f.bins_cell + static_cast<std::size_t>(b)];
      if (f.type == FeatureType::kNumeric) {
        sums[f.sums_cell + static_cast<std::size_t>(b)] += scratch_value_[i];
        if (scratch_at_cut_[i]) ++counts[f.at_cut_cell + static_cast<std::size_t>(b)];
        if (scratch_out_of_range_[i]) ++counts[f.out_of_range_cell];
      }
    }
    if (!has_output) continue;
    Window::Cell* vc = w.vcounts[version].data() + s * vl.counts_size;
    double* vs = w.vsums[version].data() + s * vl.sums_size;
    ++vc[kOutputsCell];
    if (positive) ++vc[kPositivesCell];
    if (has_confidence) {
      ++vc[kConfidenceCountCell];
      vs[kConfidenceSum] += confidence;
      vs[kEntropySum] += entropy;
      vs[kCorrectSum] += correct;
      vs[vl.cbpe_sum + kCbpeCorrectSq] += correct * correct;
      if (positive && vl.kind == OutputKind::kScore) {
        vs[vl.cbpe_sum + kCbpePositiveScore] += r.score;
        vs[vl.cbpe_sum + kCbpePositiveScoreSq] += r.score * r.score;
      }
    }
    if (output_bin >= 0) {
      ++vc[kVersionFirstBinCell + static_cast<std::size_t>(output_bin)];
      if (vl.kind != OutputKind::kClass) {
        const std::size_t ob = static_cast<std::size_t>(output_bin);
        vs[kVersionFirstSum + ob] += output_value;
        if (ob < vl.numeric->fine_cuts.size() && output_value == vl.numeric->fine_cuts[ob]) {
          ++vc[vl.at_cut_cell + ob];
        }
      }
    }
    if (vl.kind == OutputKind::kScore) {
      const int hb = std::clamp(static_cast<int>(r.score * kScoreBins), 0, kScoreBins - 1);
      ++vc[vl.hist_cell + static_cast<std::size_t>(hb)];
      vs[vl.hist_sum + static_cast<std::size_t>(hb)] += r.score;
    } else if (vl.kind == OutputKind::kClass && r.probabilities.size() == vl.hist_classes) {
      for (std::size_t c = 0; c < vl.hist_classes; ++c) {
        const double p = r.probabilities[c];
        const int hb = std::clamp(static_cast<int>(p * kScoreBins), 0, kScoreBins - 1);
        const std::size_t cell = c * kScoreBins + static_cast<std::size_t>(hb);
        ++vc[vl.hist_cell + cell];
        vs[vl.hist_sum + cell] += p;
      }
    }
  }
}

namespace {

// Sums a window's ring into one block of `size` cells per slot.
template <typename T>
std::vector<double> SumSlots(const std::vector<T>& cells, std::size_t size, int sub_windows) {
  std::vector<double> total(size, 0.0);
  for (int s = 0; s < sub_windows; ++s) {
    const T* block = cells.data() + static_cast<std::size_t>(s) * size;
    for (std::size_t i = 0; i < size; ++i) total[i] += static_cast<double>(block[i]);
  }
  return total;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

// `prefix`, then `extra`, then the window: the label order of every drift series.
Labels WindowLabels(Labels prefix, std::initializer_list<std::pair<std::string, std::string>> extra,
                    const std::string& window) {
  prefix.insert(prefix.end(), extra.begin(), extra.end());
  prefix.emplace_back("window", window);
  return prefix;
}

// The exported methods' values of `d` as `name` and their critical values as `critical_name`,
// labelled `prefix`, method, window.
void AppendMethodValues(const std::string& name, const std::string& critical_name,
                        const std::vector<DriftMethod>& methods, const BinnedDistribution& d,
                        double level, const Labels& prefix, const std::string& window,
                        std::vector<DriftSample>& out) {
  for (DriftMethod m : methods) {
    const double value = ComputeMethod(m, d);
    if (std::isnan(value)) continue;
    out.push_back({name, WindowLabels(prefix, {{"method", DriftMethodName(m)}}, window), value});
    AppendCriticalValue(critical_name, m, d, level,
                        WindowLabels(prefix, {{"method", DriftMethodName(m)}}, window), out);
  }
}

// What the alerting method's value of `d` is compared with: its noise over `n` window records
// against the reference, Bonferroni-split over `tests` distributions.
DriftNoise AlertNoise(const BinnedDistribution& d, std::size_t bin_count, double n, int tests,
                      const BaselineProfile& baseline) {
  DriftNoise noise;
  noise.n = n;
  noise.tests = tests;
  if (d.type == FeatureType::kNumeric) {
    noise.bins = static_cast<int>(d.numeric->proportions.size());
    noise.m = baseline.EffectiveCount(d.numeric->count);
    noise.spread = CdfSpreadOfNoiseMean(d.noise_mean);
  } else {
    noise.bins = static_cast<int>(bin_count);
    noise.m = baseline.EffectiveCount(d.categorical->count);
  }
  return noise;
}

}  // namespace

// A window's ring summed over its sub-windows, with what every part of its computation shares.
struct DriftTracker::WindowTotals {
  const std::string& label;
  const std::vector<double>& counts;
  const std::vector<double>& sums;
  double n = 0;      // records
  double level = 0;  // SeriesLevel()
  int drift_tests = 0;
};

// One window's counters summed over its sub-windows; past drift.min_samples (`complete`)
// all of them, else only the record count.
struct DriftTracker::WindowSums {
  std::string label;
  Seconds length{0};
  std::uint64_t late = 0;
  double records = 0;
  bool complete = false;
  std::vector<double> counts;
  std::vector<double> sums;
  std::vector<std::vector<double>> vcounts;  // per version
  std::vector<std::vector<double>> vsums;
};

struct DriftTracker::Totals {
  std::uint64_t generation = 0;
  // Set when the samples of this generation were computed already; then nothing else is.
  std::shared_ptr<const std::vector<DriftSample>> cached;
  std::vector<std::string> versions;
  std::vector<WindowSums> windows;
};

std::shared_ptr<const DriftTracker::Totals> DriftTracker::TakeTotals() const {
  auto totals = std::make_shared<Totals>();
  totals->generation = generation_;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cached_samples_ && cached_generation_ == generation_) {
      totals->cached = cached_samples_;
      return totals;
    }
  }
  totals->versions = versions_;
  const VersionLayout& vl = *version_layout_;
  for (const Window& w : windows_) {
    const int sub = w.clock.sub_windows();
    WindowSums& ws = totals->windows.emplace_back();
    ws.label = w.label;
    ws.length = w.length;
    ws.late = w.late;
    for (int s = 0; s < sub; ++s) {
      ws.records +=
          static_cast<double>(w.counts[static_cast<std::size_t>(s) * slot_counts_ + kRecordsCell]);
    }
    ws.complete = ws.records > 0 && ws.records >= static_cast<double>(model_.drift.min_samples);
    if (!ws.complete) continue;
    ws.counts = SumSlots(w.counts, slot_counts_, sub);
    ws.sums = SumSlots(w.sums, slot_sums_, sub);
    for (std::size_t vi = 0; vi < versions_.size(); ++vi) {
      ws.vcounts.push_back(SumSlots(w.vcounts[vi], vl.counts_size, sub));
      ws.vsums.push_back(SumSlots(w.vsums[vi], vl.sums_size, sub));
    }
  }
  return totals;
}

void DriftTracker::ComputeWindow(const WindowSums& w, const std::vector<std::string>& versions,
                                 std::vector<DriftSample>& out,
                                 std::vector<DegradationInputs>* degradation) const {
  const std::string& model = model_.name;
  out.push_back({metric::kModelLateRecordsTotal.Name(),
                 {{"model", model}, {"window", w.label}},
                 static_cast<double>(w.late)});
  const double n = w.records;
  out.push_back({metric::kModelWindowSamples.Name(), {{"model", model}, {"window", w.label}}, n});
  if (!w.complete) return;
  const WindowTotals t{w.label, w.counts, w.sums, n, SeriesLevel(), DriftTests()};

  // Degradation inputs: drift beyond its noise floor, Bonferroni-split over the distributions
  // the alerting method is applied to (docs/statistics.md, "Degradation score").
  DegradationInputs shared;
  shared.drift_excess = AppendFeatureSeries(t, out);
  // drift.engine: promql: Prometheus records the proxy signals from every replica's counters
  // (the serving aggregator's; docs/scale-out.md), so a replica serves none of its own.
  if (baseline_ && !PromqlSignals()) {
    out.push_back({metric::kModelAnomalousRequestsRatio.Name(),
                   {{"model", model}, {"window", w.label}},
                   t.counts[kAnomalousCell] / n});
  }
  shared.records = n;
  shared.anomaly_ratio = t.counts[kAnomalousCell] / n;
  const std::vector<double> range_counts = ReferenceRangeCounts();
  shared.anomaly_expected =
      ExpectedOutOfRangeShare(range_counts.data(), static_cast<int>(range_counts.size()));
  shared.error_rate = t.counts[kErrorsCell] / n;

  for (std::size_t vi = 0; vi < versions.size(); ++vi) {
    auto deg = AppendVersionSeries(w, versions[vi], vi, t, shared, out);
    if (deg && degradation != nullptr) degradation->push_back(std::move(*deg));
  }
}

int DriftTracker::DriftTests() const {
  int tests = 0;
  for (const auto& f : features_) {
    if (f.binned && MethodApplies(f.alert_method, f.type)) ++tests;
  }
  const VersionLayout& vl = *version_layout_;
  const FeatureType output_type =
      vl.kind == OutputKind::kClass ? FeatureType::kCategorical : FeatureType::kNumeric;
  if (vl.binned && MethodApplies(model_.drift.method, output_type)) ++tests;
  return tests;
}

std::vector<double> DriftTracker::ReferenceRangeCounts() const {
  std::vector<double> range_counts;  // effective reference counts of the numeric features
  for (const auto& f : features_) {
    if (f.binned && f.type == FeatureType::kNumeric) {
      range_counts.push_back(baseline_->EffectiveCount(f.profile->numeric.count));
    }
  }
  return range_counts;
}

double DriftTracker::AppendFeatureSeries(const WindowTotals& t,
                                         std::vector<DriftSample>& out) const {
  const std::string& model = model_.name;
  const std::vector<double>& counts = t.counts;
  const std::vector<double>& sums = t.sums;
  const double n = t.n;
  double max_feature_drift = 0;
  // FeatureMissing's noise guard: drift.alpha, Bonferroni-split over the features tested.
  int missing_tests = 0;
  for (const auto& f : features_) missing_tests += std::isnan(f.baseline_missing) ? 0 : 1;
  const double missing_level = model_.drift.alpha / std::max(1, missing_tests);
  const double reference_records = baseline_ ? baseline_->EffectiveCount(baseline_->records) : 0.0;
  for (const auto& f : features_) {
    const double missing = counts[f.missing_cell] / n;
    if (!PromqlSignals()) {
      out.push_back({metric::kModelFeatureMissingRatio.Name(),
                     {{"model", model}, {"feature", f.name}, {"window", t.label}},
                     missing});
    }
    // drift.engine: promql: Prometheus records the shift from every replica's counters.
    if (!std::isnan(f.baseline_missing) && reference_records > 0 && !PromqlSignals()) {
      out.push_back({metric::kModelFeatureMissingRatioShift.Name(),
                     {{"model", model}, {"feature", f.name}, {"window", t.label}},
                     missing - f.baseline_missing});
      out.push_back({metric::kModelFeatureMissingRatioShiftCriticalValue.Name(),
                     {{"model", model}, {"feature", f.name}, {"window", t.label}},
                     MissingShiftCriticalValue(missing_level, missing, n, f.baseline_missing,
                                               reference_records)});
    }
    if (!f.binned) continue;
    BinnedDistribution d;
    d.type = f.type;
    d.counts.assign(counts.begin() + static_cast<std::ptrdiff_t>(f.bins_cell),
                    counts.begin() + static_cast<std::ptrdiff_t>(f.bins_cell + f.bin_count));
    double present = 0;
    for (double c : d.counts) present += c;
    if (f.type == FeatureType::kNumeric) {
      d.numeric = &f.profile->numeric;
      d.noise_mean = f.noise_mean;
      d.sums.assign(sums.begin() + static_cast<std::ptrdiff_t>(f.sums_cell),
                    sums.begin() + static_cast<std::ptrdiff_t>(f.sums_cell + f.bin_count));
      d.at_cut.assign(
          counts.begin() + static_cast<std::ptrdiff_t>(f.at_cut_cell),
          counts.begin() + static_cast<std::ptrdiff_t>(f.at_cut_cell + f.bin_count - 1));
      if (present > 0 && !PromqlSignals()) {
        out.push_back({metric::kModelFeatureOutOfRangeRatio.Name(),
                       {{"model", model}, {"feature", f.name}, {"window", t.label}},
                       counts[f.out_of_range_cell] / present});
      }
    } else {
      d.categorical = &f.profile->categorical;
    }
    if (!(present > 0)) continue;
    AppendMethodValues(metric::kModelFeatureDrift.Name(),
                       metric::kModelFeatureDriftCriticalValue.Name(), f.methods, d, t.level,
                       {{"model", model}, {"feature", f.name}}, t.label, out);
    if (MethodApplies(f.alert_method, f.type)) {
      const double value = ComputeMethod(f.alert_method, d);
      const DriftNoise noise = AlertNoise(d, f.bin_count, present, t.drift_tests, *baseline_);
      max_feature_drift = std::max(
          max_feature_drift, DriftExcessRatio(f.alert_method, value, noise, f.alert_critical));
    }
  }
  return max_feature_drift;
}

std::optional<DegradationInputs> DriftTracker::AppendVersionSeries(
    const WindowSums& w, const std::string& version, std::size_t vi, const WindowTotals& t,
    const DegradationInputs& shared, std::vector<DriftSample>& out) const {
  const VersionLayout& vl = *version_layout_;
  const std::vector<double>& vc = w.vcounts[vi];
  const std::vector<double>& vs = w.vsums[vi];
  const double outputs = vc[kOutputsCell];
  if (!(outputs > 0)) return std::nullopt;
  const Labels prefix{{"model", model_.name}, {"version", version}};
  auto labels = [&](std::initializer_list<std::pair<std::string, std::string>> extra) {
    return WindowLabels(prefix, extra, t.label);
  };
  DegradationInputs deg = shared;
  deg.version = version;
  AppendConfidenceSeries(vc, vs, prefix, t.label, deg, out);
  // Confidence-based AUC: binary from the score histogram; multiclass one-vs-rest macro.
  if (vl.hist_classes > 0) {
    double auc_sum = 0;
    int auc_n = 0;
    for (std::size_t c = 0; c < vl.hist_classes; ++c) {
      const std::size_t off = c * kScoreBins;
      std::span<const double> cnt(vc.data() + vl.hist_cell + off, kScoreBins);
      std::span<const double> pos(vs.data() + vl.hist_sum + off, kScoreBins);
      const double auc = EstimateBinnedAuc(pos, cnt);
      if (!std::isnan(auc)) {
        auc_sum += auc;
        ++auc_n;
      }
    }
    if (auc_n > 0) {
      out.push_back({metric::kModelEstimatedPerformance.Name(), labels({{"metric", "auc"}}),
                     auc_sum / auc_n});
    }
  }
  if (vl.kind == OutputKind::kScore) {
    const PredictionProfile* ref = baseline_ ? &baseline_->prediction : nullptr;
    const double rate = vc[kPositivesCell] / outputs;
    if (!PromqlSignals()) out.push_back({metric::kModelPositiveRate.Name(), labels({}), rate});
    if (ref != nullptr && ref->records > 0 && !PromqlSignals()) {
      const double z = PositiveRateZ(
          rate, outputs, ref->positive_rate, baseline_->EffectiveCount(ref->records),
          BetweenStd(ref->positive_rate_daily_std, ref->positive_rate_batch_between_std));
      out.push_back({metric::kModelPositiveRateZscore.Name(), labels({}), z});
    }
  }
  if (vl.binned) {
    BinnedDistribution d;
    d.type = vl.kind == OutputKind::kClass ? FeatureType::kCategorical : FeatureType::kNumeric;
    d.numeric = vl.numeric;
    d.noise_mean = vl.noise_mean;
    d.categorical = vl.classes;
    d.counts.assign(vc.begin() + kVersionFirstBinCell,
                    vc.begin() + static_cast<std::ptrdiff_t>(kVersionFirstBinCell + vl.bin_count));
    if (d.type == FeatureType::kNumeric) {
      d.sums.assign(vs.begin() + kVersionFirstSum,
                    vs.begin() + static_cast<std::ptrdiff_t>(kVersionFirstSum + vl.bin_count));
      d.at_cut.assign(vc.begin() + static_cast<std::ptrdiff_t>(vl.at_cut_cell),
                      vc.begin() + static_cast<std::ptrdiff_t>(vl.at_cut_cell + vl.bin_count - 1));
    }
    AppendMethodValues(metric::kModelPredictionDrift.Name(),
                       metric::kModelPredictionDriftCriticalValue.Name(), vl.methods, d, t.level,
                       prefix, t.label, out);
    if (MethodApplies(model_.drift.method, d.type)) {
      const double value = ComputeMethod(model_.drift.method, d);
      const DriftNoise noise = AlertNoise(d, vl.bin_count, outputs, t.drift_tests, *baseline_);
      deg.drift_excess = std::max(deg.drift_excess, DriftExcessRatio(model_.drift.method, value,
                                                                     noise, model_.drift.critical));
    }
  }
  return deg;
}

void DriftTracker::AppendConfidenceSeries(
    const std::vector<double>& vc, const std::vector<double>& vs,
    const std::vector<std::pair<std::string, std::string>>& prefix, const std::string& window,
    DegradationInputs& deg, std::vector<DriftSample>& out) const {
  const double conf_n = vc[kConfidenceCountCell];
  if (!(conf_n > 0)) return;
  const VersionLayout& vl = *version_layout_;
  const PredictionProfile* ref = baseline_ ? &baseline_->prediction : nullptr;
  const double conf = vs[kConfidenceSum] / conf_n;
  const double ent = vs[kEntropySum] / conf_n;
  if (!PromqlSignals()) {
    out.push_back(
        {metric::kModelPredictionConfidenceMean.Name(), WindowLabels(prefix, {}, window), conf});
    out.push_back(
        {metric::kModelPredictionEntropyMean.Name(), WindowLabels(prefix, {}, window), ent});
  }
  CbpeSums cbpe;
  cbpe.records = conf_n;
  cbpe.correct = vs[kCorrectSum];
  cbpe.correct_sq = vs[vl.cbpe_sum + kCbpeCorrectSq];
  std::vector<std::pair<const char*, CbpeEstimate>> estimates = {
      {"accuracy", EstimateAccuracy(cbpe)}};
  if (vl.kind == OutputKind::kScore) {
    cbpe.positives = vc[kPositivesCell];
    cbpe.positive_score = vs[vl.cbpe_sum + kCbpePositiveScore];
    cbpe.positive_score_sq = vs[vl.cbpe_sum + kCbpePositiveScoreSq];
    for (int b = 0; b < kScoreBins; ++b) {
      cbpe.score += vs[vl.hist_sum + static_cast<std::size_t>(b)];
    }
    estimates.emplace_back("precision", EstimatePrecision(cbpe));
    estimates.emplace_back("recall", EstimateRecall(cbpe));
  }
  for (const auto& [metric, e] : estimates) {
    if (std::isnan(e.value)) continue;
    out.push_back({metric::kModelEstimatedPerformance.Name(),
                   WindowLabels(prefix, {{"metric", metric}}, window), e.value});
    out.push_back({metric::kModelEstimatedPerformanceLower.Name(),
                   WindowLabels(prefix, {{"metric", metric}}, window), e.lower});
    out.push_back({metric::kModelEstimatedPerformanceUpper.Name(),
                   WindowLabels(prefix, {{"metric", metric}}, window), e.upper});
  }
  if (ref != nullptr && ref->confidence.count > 0) {
    auto shift = [&](const MomentSummary& m, double window_mean) {
      MeanShift s;
      s.baseline_mean = m.mean;
      s.baseline_std = m.std;
      s.baseline_between_std = BetweenStd(m.daily_std, m.batch_between_std);
      s.baseline_n = baseline_->EffectiveCount(m.count);
      s.window_mean = window_mean;
      s.window_n = conf_n;
      return s;
    };
    deg.confidence = shift(ref->confidence, conf);
    deg.entropy = shift(ref->entropy, ent);
  }
}

void DriftTracker::AppendDegradation(const std::vector<DegradationInputs>& inputs,
                                     std::vector<DriftSample>& out) const {
  for (const auto& in : inputs) {
    const DegradationResult result = ComputeDegradation(model_, in);
    for (const auto& [signal, value] : result.signals) {
      out.push_back({metric::kModelDegradationSignal.Name(),
                     {{"model", model_.name}, {"version", in.version}, {"signal", signal}},
                     value});
    }
    out.push_back({metric::kModelDegradationScore.Name(),
                   {{"model", model_.name}, {"version", in.version}},
                   result.score});
  }
}

double DriftTracker::SeriesLevel() const {
  // Bonferroni over the model's drift series of one window: every binned feature the
  // alerting method (its own drift.method, else the model's) applies to, plus the output.
  int series = version_layout_->binned ? 1 : 0;
  for (const auto& f : features_) {
    if (f.binned && MethodApplies(f.alert_method, f.type)) ++series;
  }
  return model_.drift.alpha / std::max(1, series);
}

std::vector<DriftSample> DriftTracker::Compute(const Totals& totals) const {
  if (totals.cached) return *totals.cached;
  std::vector<DriftSample> out = ComputeSamples(totals);
  auto shared = std::make_shared<const std::vector<DriftSample>>(out);
  std::lock_guard<std::mutex> lock(cache_mu_);
  // Keep the newest samples (an older scrape finishing late would only cost a recompute:
  // the generation is the key).
  if (!cached_samples_ || totals.generation > cached_generation_) {
    cached_generation_ = totals.generation;
    cached_samples_ = std::move(shared);
    cached_rendered_.reset();
  }
  return out;
}

RenderedFamilies DriftTracker::Render(const Totals& totals) const {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cached_rendered_ && cached_generation_ == totals.generation) return cached_rendered_;
  }
  auto samples = std::make_shared<const std::vector<DriftSample>>(Compute(totals));
  std::vector<prometheus::MetricFamily> families;
  AppendToFamilies(*samples, families);
  auto rendered =
      std::make_shared<const std::vector<RenderedFamily>>(RenderFamilies(std::move(families)));
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cached_generation_ == totals.generation) cached_rendered_ = rendered;
  // Published only forward: a reader that took its totals earlier and finishes later does not
  // replace newer text with older.
  if (!published_.text || totals.generation >= published_.generation) {
    published_ = {totals.generation, std::move(samples), rendered};
  }
  return rendered;
}

DriftTracker::Published DriftTracker::LastPublished() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return published_;
}

std::vector<DriftSample> DriftTracker::ComputeSamples(const Totals& totals) const {
  std::vector<DriftSample> out;
  if (baseline_) {
    out.push_back({metric::kModelBaselineInfo.Name(),
                   {{"model", model_.name}, {"baseline_id", baseline_->id}},
                   1.0});
    if (baseline_->performance) {
      for (const auto& [metric, value] : baseline_->performance->metrics) {
        out.push_back({metric::kModelBaselinePerformance.Name(),
                       {{"model", model_.name}, {"metric", metric}},
                       value});
      }
    }
    const MomentSummary& entropy = baseline_->prediction.entropy;
    if (entropy.count > 0) {  // classifiers: EntropyRise's reference (entropy.compare: baseline)
      out.push_back({metric::kModelBaselinePredictionEntropyMean.Name(),
                     {{"model", model_.name}},
                     entropy.mean});
      out.push_back({metric::kModelBaselinePredictionEntropyStddev.Name(),
                     {{"model", model_.name}},
                     entropy.std});
    }
  }
  // The degradation score reads the shortest window that has min_samples records.
  std::size_t chosen = totals.windows.size();
  for (std::size_t i = 0; i < totals.windows.size(); ++i) {
    const WindowSums& w = totals.windows[i];
    if (w.complete &&
        (chosen == totals.windows.size() || w.length < totals.windows[chosen].length)) {
      chosen = i;
    }
  }
  // drift.engine: promql: Prometheus records the fleet's score from the fleet's drift and
  // signals (rulegen/promql_degradation.h), so a replica serves none of its own.
  const bool degradation_here = baseline_ && !PromqlSignals();
  std::vector<DegradationInputs> degradation;
  for (std::size_t i = 0; i < totals.windows.size(); ++i) {
    ComputeWindow(totals.windows[i], totals.versions, out,
                  i == chosen && degradation_here ? &degradation : nullptr);
  }
  AppendDegradation(degradation, out);
  return out;
}

std::vector<DriftSample> DriftTracker::Snapshot() const { return Compute(*TakeTotals()); }

void DriftTracker::Collect(std::vector<prometheus::MetricFamily>& out) const {
  AppendToFamilies(Snapshot(), out);
}

void DriftTracker::AppendToFamilies(std::vector<DriftSample> samples,
                                    std::vector<prometheus::MetricFamily>& out) {
  // Family name -> index of its first family in `out` (a scrape of many models appends
  // thousands of samples to a hundred families).
  std::unordered_map<std::string, std::size_t> first;
  for (std::size_t i = out.size(); i-- > 0;) first[out[i].name] = i;
  for (auto& sample : samples) {
    auto [at, added] = first.try_emplace(sample.name, out.size());
    if (added) {
      // Every name a DriftSample carries is catalogued (DriftTrackerTest checks it).
      const MetricSpec* spec = FindMetric(sample.name);
      out.push_back(spec != nullptr ? MakeFamily(*spec)
                                    : prometheus::MetricFamily{
                                          sample.name, "", prometheus::MetricType::Gauge, {}});
    }
    prometheus::MetricFamily* family = &out[at->second];
    prometheus::ClientMetric metric;
    metric.label.reserve(sample.labels.size());
    for (auto& [k, v] : sample.labels) metric.label.push_back({std::move(k), std::move(v)});
    if (family->type == prometheus::MetricType::Counter) {
      metric.counter.value = sample.value;
    } else {
      metric.gauge.value = sample.value;
    }
    family->metric.push_back(std::move(metric));
  }
}

}  // namespace modelwatch
