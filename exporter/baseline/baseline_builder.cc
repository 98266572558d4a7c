#include "exporter/baseline/baseline_builder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "core/hash.h"
#include "exporter/stats/entropy.h"
#include "exporter/stats/quantile.h"

namespace modelwatch {
namespace {

// FNV-1a 64 over what a record says (features and output, not time or ids): equal for a
// record repeated by a bootstrap or upsampling.
class ContentHasher {
 public:
  void Number(double x) { h_.AddBytesOf(x); }
  void Text(std::string_view t) {
    Number(static_cast<double>(t.size()));
    h_.Add(t);
  }
  std::uint64_t value() const { return h_.value(); }

 private:
  Fnv1a64 h_;
};

std::uint64_t RecordContentHash(const Record& r) {
  ContentHasher h;
  for (const FeatureValue& v : r.features) {
    h.Number(static_cast<double>(static_cast<int>(v.kind)));
    h.Number(v.number);
    h.Text(v.text);
  }
  h.Number(r.ok ? 1 : 0);
  h.Number(r.has_score ? r.score : -1);
  h.Number(r.has_prediction ? r.prediction : -1);
  for (double p : r.probabilities) h.Number(p);
  h.Text(r.predicted_class);
  return h.value();
}

struct Moments {
  double mean = 0;
  double std = 0;
};

Moments ComputeMoments(const std::vector<double>& v) {
  Moments m;
  if (v.empty()) return m;
  const double n = static_cast<double>(v.size());
  m.mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double ss = 0;
  for (double x : v) ss += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(ss / n);
  return m;
}

// Standard deviation (ddof 0) of per-day values; NaN with fewer than two days.
double DailyStd(const std::vector<double>& per_day) {
  if (per_day.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  return ComputeMoments(per_day).std;
}

// The reference in time order (ties in input order) cut into kBaselineBatches batches
// (record i of N in batch ⌊i·K/N⌋): the standard deviation of the batch means (ddof 1) beyond
// what per-record spread `std` explains at the mean batch size, sqrt(max(0, var − std²/b)).
double BatchBetweenStd(const std::vector<double>& ts, const std::vector<double>& values,
                       double std) {
  const std::size_t n = values.size();
  const std::size_t k = kBaselineBatches;
  if (n < k * kMinBatchRecords) return std::numeric_limits<double>::quiet_NaN();
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return ts[a] < ts[b]; });
  std::vector<double> sum(k, 0.0);
  std::vector<double> count(k, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t batch = i * k / n;
    sum[batch] += values[order[i]];
    count[batch] += 1;
  }
  double mean = 0;
  for (std::size_t b = 0; b < k; ++b) mean += sum[b] / count[b];
  mean /= static_cast<double>(k);
  double var = 0;
  for (std::size_t b = 0; b < k; ++b) {
    const double d = sum[b] / count[b] - mean;
    var += d * d;
  }
  var /= static_cast<double>(k - 1);
  const double within = std * std / (static_cast<double>(n) / static_cast<double>(k));
  return std::sqrt(std::max(0.0, var - within));
}

std::string CategoryText(const FeatureValue& v) {
  std::array<char, 32> buf;
  return std::string(CategoryOf(v, buf));
}

}  // namespace

NumericSummary SummariseNumeric(std::vector<double> values, int bins, int fine_quantiles) {
  NumericSummary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.count = static_cast<std::int64_t>(values.size());
  s.min = values.front();
  s.max = values.back();
  const Moments m = ComputeMoments(values);
  s.mean = m.mean;
  s.std = m.std;
  s.edges = QuantileCuts(values, bins);
  s.counts.assign(s.edges.size() + 1, 0);
  for (double x : values) ++s.counts[BinIndex(s.edges, x)];
  for (auto c : s.counts) s.proportions.push_back(static_cast<double>(c) / values.size());

  std::vector<double> cuts;
  cuts.reserve(static_cast<std::size_t>(fine_quantiles) + 1 + s.edges.size());
  for (int k = 0; k <= fine_quantiles; ++k) {
    cuts.push_back(LinearQuantile(values, static_cast<double>(k) / fine_quantiles));
  }
  cuts.insert(cuts.end(), s.edges.begin(), s.edges.end());
  // Discrete data: every distinct value becomes a cut, so each atom sits on a bin's right
  // edge and KS/Wasserstein are exact for it.
  std::vector<double> distinct;
  for (double x : values) {
    if (distinct.empty() || x != distinct.back()) distinct.push_back(x);
    if (distinct.size() > static_cast<std::size_t>(fine_quantiles)) break;
  }
  if (distinct.size() <= static_cast<std::size_t>(fine_quantiles)) {
    cuts.insert(cuts.end(), distinct.begin(), distinct.end());
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  s.fine_cuts = std::move(cuts);
  std::vector<std::int64_t> fine_counts(s.fine_cuts.size() + 1, 0);
  std::vector<double> fine_sums(s.fine_cuts.size() + 1, 0.0);
  std::vector<std::int64_t> at_cut(s.fine_cuts.size(), 0);
  for (double x : values) {
    const std::size_t b = BinIndex(s.fine_cuts, x);
    ++fine_counts[b];
    fine_sums[b] += x;
    if (b < s.fine_cuts.size() && x == s.fine_cuts[b]) ++at_cut[b];
  }
  s.fine_mass.resize(fine_counts.size());
  s.fine_mean.resize(fine_counts.size());
  for (std::size_t i = 0; i < fine_counts.size(); ++i) {
    s.fine_mass[i] = static_cast<double>(fine_counts[i]) / values.size();
    s.fine_mean[i] = fine_counts[i] > 0 ? fine_sums[i] / fine_counts[i] : 0.0;
  }
  s.fine_at_cut.resize(at_cut.size());
  for (std::size_t i = 0; i < at_cut.size(); ++i) {
    s.fine_at_cut[i] = static_cast<double>(at_cut[i]) / values.size();
  }
  s.fine_to_coarse.resize(s.fine_mass.size());
  for (std::size_t i = 0; i < s.fine_cuts.size(); ++i) {
    s.fine_to_coarse[i] = static_cast<std::uint32_t>(BinIndex(s.edges, s.fine_cuts[i]));
  }
  s.fine_to_coarse.back() = static_cast<std::uint32_t>(s.edges.size());
  return s;
}

CategoricalSummary SummariseCategorical(const std::unordered_map<std::string, std::int64_t>& counts,
                                        int top, const std::vector<std::string>& fixed) {
  CategoricalSummary s;
  std::vector<std::pair<std::string, std::int64_t>> items(counts.begin(), counts.end());
  for (const auto& [name, n] : items) s.count += n;
  if (!fixed.empty()) {
    s.categories = fixed;
  } else {
    std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    for (std::size_t i = 0; i < items.size() && static_cast<int>(i) < top; ++i) {
      s.categories.push_back(items[i].first);
    }
  }
  std::int64_t kept = 0;
  for (const auto& c : s.categories) {
    auto it = counts.find(c);
    const std::int64_t n = it == counts.end() ? 0 : it->second;
    s.counts.push_back(n);
    kept += n;
  }
  s.counts.push_back(s.count - kept);
  for (auto n : s.counts) {
    s.proportions.push_back(s.count > 0 ? static_cast<double>(n) / s.count : 0.0);
  }
  return s;
}

BaselineBuilder::BaselineBuilder(const ModelConfig& model, int fine_quantiles)
    : model_(model), fine_quantiles_(std::max(fine_quantiles, 1)) {
  for (std::size_t i = 0; i < model.features.size(); ++i) {
    if (model.features[i].pii) continue;
    FeatureData f;
    f.config_index = i;
    features_.push_back(std::move(f));
  }
}

void BaselineBuilder::Add(const Record& r) {
  if (records_ == 0 || r.timestamp < first_ts_) first_ts_ = r.timestamp;
  if (records_ == 0 || r.timestamp > last_ts_) last_ts_ = r.timestamp;
  ++records_;
  distinct_.insert(RecordContentHash(r));
  for (auto& f : features_) {
    const FeatureConfig& fc = model_.features[f.config_index];
    const FeatureValue* v =
        f.config_index < r.features.size() ? &r.features[f.config_index] : nullptr;
    if (v == nullptr || v->kind == FeatureValue::Kind::kMissing) {
      ++f.missing;
      continue;
    }
    if (fc.type == FeatureType::kNumeric) {
      if (v->kind != FeatureValue::Kind::kNumber || !std::isfinite(v->number)) {
        ++f.missing;  // non-finite reference values would poison quantiles and moments
        continue;
      }
      f.values.push_back(v->number);
    } else {
      ++f.counts[CategoryText(*v)];
    }
  }
  if (!r.ok) return;
  double confidence = NAN;
  double entropy = NAN;
  bool has_output = false;
  bool positive = false;
  switch (model_.task) {
    case Task::kBinaryClassification:
      if (!r.has_score) break;
      has_output = true;
      outputs_.push_back(r.score);
      confidence = std::max(r.score, 1 - r.score);
      entropy = BinaryEntropy(r.score);
      positive = IsPositivePrediction(r, model_.threshold);
      break;
    case Task::kMulticlassClassification:
      if (r.probabilities.empty() && r.predicted_class.empty()) break;
      has_output = true;
      if (!r.predicted_class.empty()) ++class_counts_[std::string(r.predicted_class)];
      if (!r.probabilities.empty()) {
        confidence = *std::max_element(r.probabilities.begin(), r.probabilities.end());
        entropy = ClassEntropy(r.probabilities);
      }
      break;
    case Task::kRegression:
      if (!r.has_prediction || !std::isfinite(r.prediction)) break;
      has_output = true;
      outputs_.push_back(r.prediction);
      break;
  }
  if (!has_output) return;
  ++output_records_;
  output_ts_.push_back(r.timestamp);
  output_positive_.push_back(positive ? 1 : 0);
  DayData& day = days_[static_cast<std::int64_t>(std::floor(r.timestamp / 86400.0))];
  ++day.outputs;
  if (positive) {
    ++positives_;
    ++day.positives;
  }
  if (!std::isnan(confidence)) {
    confidence_.push_back(confidence);
    entropy_.push_back(entropy);
    confidence_ts_.push_back(r.timestamp);
    day.confidence_sum += confidence;
    day.entropy_sum += entropy;
  }
}

Result<BaselineProfile> BaselineBuilder::Finish() const {
  if (records_ == 0) {
    return MakeError("no valid reference records for model " + model_.name);
  }
  BaselineProfile p;
  p.model = model_.name;
  p.task = model_.task;
  p.records = records_;
  p.distinct_records = static_cast<std::int64_t>(distinct_.size());
  p.first_timestamp = first_ts_;
  p.last_timestamp = last_ts_;
  p.bins = model_.drift.bins;
  p.top_categories = model_.drift.top_categories;
  p.fine_quantiles = fine_quantiles_;
  for (const auto& f : features_) {
    const FeatureConfig& fc = model_.features[f.config_index];
    FeatureProfile fp;
    fp.name = fc.name;
    fp.type = fc.type;
    fp.missing_rate = static_cast<double>(f.missing) / static_cast<double>(records_);
    if (fc.type == FeatureType::kNumeric) {
      fp.numeric = SummariseNumeric(f.values, p.bins, fine_quantiles_);
    } else {
      fp.categorical = SummariseCategorical(f.counts, p.top_categories);
    }
    p.features.push_back(std::move(fp));
  }
  PredictionProfile& pr = p.prediction;
  pr.records = output_records_;
  switch (model_.task) {
    case Task::kBinaryClassification:
      pr.kind = OutputKind::kScore;
      break;
    case Task::kMulticlassClassification:
      pr.kind = OutputKind::kClass;
      break;
    case Task::kRegression:
      pr.kind = OutputKind::kRegression;
      break;
  }
  if (pr.kind == OutputKind::kClass) {
    pr.classes = SummariseCategorical(class_counts_, std::max(p.top_categories, model_.max_classes),
                                      model_.classes);
  } else {
    pr.numeric = SummariseNumeric(outputs_, p.bins, fine_quantiles_);
  }
  pr.positive_count = positives_;
  pr.positive_rate = output_records_ > 0 ? static_cast<double>(positives_) / output_records_ : 0.0;
  const Moments conf = ComputeMoments(confidence_);
  const Moments ent = ComputeMoments(entropy_);
  pr.confidence.count = pr.entropy.count = static_cast<std::int64_t>(confidence_.size());
  pr.confidence.mean = conf.mean;
  pr.confidence.std = conf.std;
  pr.entropy.mean = ent.mean;
  pr.entropy.std = ent.std;
  std::vector<double> day_rates;
  std::vector<double> day_conf;
  std::vector<double> day_ent;
  for (const auto& [day, d] : days_) {
    if (d.outputs == 0) continue;
    day_rates.push_back(static_cast<double>(d.positives) / d.outputs);
    if (!confidence_.empty()) {
      day_conf.push_back(d.confidence_sum / d.outputs);
      day_ent.push_back(d.entropy_sum / d.outputs);
    }
  }
  p.days = static_cast<int>(days_.size());
  if (model_.task == Task::kBinaryClassification) pr.positive_rate_daily_std = DailyStd(day_rates);
  pr.confidence.daily_std = DailyStd(day_conf);
  pr.entropy.daily_std = DailyStd(day_ent);
  pr.confidence.batch_between_std = BatchBetweenStd(confidence_ts_, confidence_, conf.std);
  pr.entropy.batch_between_std = BatchBetweenStd(confidence_ts_, entropy_, ent.std);
  if (model_.task == Task::kBinaryClassification) {
    std::vector<double> positive(output_positive_.begin(), output_positive_.end());
    pr.positive_rate_batch_between_std =
        BatchBetweenStd(output_ts_, positive, std::sqrt(pr.positive_rate * (1 - pr.positive_rate)));
  }
  p.id = BaselineContentId(BaselineToJson(p));
  return p;
}

}  // namespace modelwatch
