#include "exporter/aggregate/serving_aggregator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "exporter/metrics/metric_family.h"
#include "exporter/stats/entropy.h"

namespace modelwatch {

std::vector<double> DefaultLatencyBuckets() { return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}; }

std::vector<double> DefaultFeatureBuckets() { return {-1000, -100, -10, -1, 0, 1, 10, 100, 1000}; }

namespace {

std::vector<double> ScoreBuckets() {
  std::vector<double> b;
  for (int i = 1; i <= 20; ++i) b.push_back(i / 20.0);
  return b;
}

prometheus::MetricFamily& Family(std::vector<prometheus::MetricFamily>& out,
                                 const MetricSpec& spec) {
  out.push_back(MakeFamily(spec));
  return out.back();
}

prometheus::ClientMetric& Metric(prometheus::MetricFamily& family,
                                 std::vector<prometheus::ClientMetric::Label> labels) {
  family.metric.emplace_back();
  family.metric.back().label = std::move(labels);
  return family.metric.back();
}

constexpr double kNaNValue = std::numeric_limits<double>::quiet_NaN();

std::vector<std::uint64_t> CountsFromJson(const nlohmann::json& j) {
  std::vector<std::uint64_t> v;
  if (!j.is_array()) return v;
  for (const auto& e : j) v.push_back(e.is_number_unsigned() ? e.get<std::uint64_t>() : 0);
  return v;
}

}  // namespace

PlainHistogram::PlainHistogram(std::vector<double> b)
    : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}

void PlainHistogram::Observe(double v) {
  // The first bound >= v (std::lower_bound), so a value equal to a bound lands in that bucket
  // (le); none is for NaN. For ascending bounds that index is also the number of bounds
  // below v. Up to kLinearBounds bounds (the default feature, latency and score buckets)
  // that count is taken: its comparisons do not wait for each other, where each step of a
  // binary search waits for the previous one's load and compare. Longer lists are searched
  // without branches on the value: the bounds are halved with conditional moves, the last
  // comparison decides between the two left.
  constexpr std::size_t kLinearBounds = 24;
  const double* b = bounds.data();
  std::size_t n = bounds.size();
  std::size_t bucket = 0;
  if (n <= kLinearBounds) {
    std::size_t below0 = 0;
    std::size_t below1 = 0;
    std::size_t i = 0;
    for (; i + 2 <= n; i += 2) {
      below0 += b[i] < v ? 1 : 0;
      below1 += b[i + 1] < v ? 1 : 0;
    }
    if (i < n) below0 += b[i] < v ? 1 : 0;
    bucket = below0 + below1;
  } else {
    const double* base = b;
    while (n > 1) {
      const std::size_t half = n / 2;
      base = base[half] < v ? base + half : base;
      n -= half;
    }
    bucket = static_cast<std::size_t>(base - b) + (*base < v ? 1 : 0);
  }
  ++counts[bucket];
  sum += v;
  ++count;
}

void PlainHistogram::Fill(prometheus::ClientMetric& metric) const {
  metric.histogram.sample_count = count;
  metric.histogram.sample_sum = sum;
  metric.histogram.bucket.clear();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    double upper = i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back({cumulative, upper});
  }
}

nlohmann::json PlainHistogram::Save() const {
  return {{"bounds", bounds}, {"counts", counts}, {"sum", sum}, {"count", count}};
}

bool PlainHistogram::Restore(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("bounds") || !j["bounds"].is_array()) return false;
  std::vector<double> saved;
  for (const auto& e : j["bounds"]) {
    if (!e.is_number()) return false;
    saved.push_back(e.get<double>());
  }
  if (saved != bounds) return false;
  std::vector<std::uint64_t> c = CountsFromJson(j.value("counts", nlohmann::json()));
  if (c.size() != counts.size()) return false;
  counts.assign(c.begin(), c.end());
  sum = j.value("sum", 0.0);
  count = j.value("count", std::uint64_t{0});
  return true;
}

ServingAggregator::ServingAggregator(const ModelConfig& config, std::vector<double> latency_buckets)
    : model_(config.name),
      task_(config.task),
      latency_buckets_(std::move(latency_buckets)),
      versions_(static_cast<std::size_t>(std::max(1, config.max_versions))),
      error_types_(static_cast<std::size_t>(std::max(1, config.max_error_types))),
      classes_(static_cast<std::size_t>(std::max(1, config.max_classes))) {
  feature_slot_.assign(config.features.size(), -1);
  for (std::size_t i = 0; i < config.features.size(); ++i) {
    const FeatureConfig& f = config.features[i];
    if (!f.histogram || f.pii || f.type != FeatureType::kNumeric) continue;
    feature_slot_[i] = static_cast<int>(feature_histograms_.size());
    feature_histograms_.push_back({i, f.name, PlainHistogram(DefaultFeatureBuckets())});
  }
  category_slot_.assign(config.features.size(), -1);
  if (config.drift.engine == DriftEngine::kPromql) {
    for (std::size_t i = 0; i < config.features.size(); ++i) {
      const FeatureConfig& f = config.features[i];
      if (f.pii || f.type != FeatureType::kCategorical) continue;
      category_slot_[i] = static_cast<int>(feature_categories_.size());
      FeatureCategories c;
      c.index = i;
      c.name = f.name;
      c.counts.assign(1, 0);
      feature_categories_.push_back(std::move(c));
    }
  }
  if (config.drift.engine == DriftEngine::kPromql) {
    signals_ = true;
    threshold_ = config.threshold;
    for (std::size_t i = 0; i < config.features.size(); ++i) {
      const FeatureConfig& f = config.features[i];
      if (f.pii) continue;
      FeatureSignals fs;
      fs.index = i;
      fs.name = f.name;
      fs.type = f.type;
      feature_signals_.push_back(std::move(fs));
    }
  }
  // Multiclass class names are known up front: give them their indexes in config order.
  for (const std::string& c : config.classes) classes_.Intern(c, nullptr);
}

void ServingAggregator::Bump(std::vector<std::uint64_t>& v, std::size_t i) {
  if (v.size() <= i) v.resize(i + 1, 0);
  ++v[i];
}

ServingAggregator::VersionStats& ServingAggregator::StatsFor(std::string_view version) {
  bool overflowed = false;
  std::size_t i = versions_.Intern(version, &overflowed);
  if (overflowed) ++overflow_versions_;
  return StatsAt(i);
}

ServingAggregator::VersionStats& ServingAggregator::StatsAt(std::size_t i) {
  while (stats_.size() <= i) {
    VersionStats s;
    s.version = versions_.Name(stats_.size());
    s.latency = PlainHistogram(latency_buckets_);
    s.score = PlainHistogram(ScoreBuckets());
    s.output = PlainHistogram(output_bounds_);
    if (output_classes_set_) s.output_classes.assign(output_classes_.size() + 1, 0);
    stats_.push_back(std::move(s));
  }
  return stats_[i];
}

void ServingAggregator::Observe(const Record& record) {
  ++generation_;
  VersionStats& s = StatsFor(record.version);
  ++s.predictions;
  if (!record.ok) {
    bool overflowed = false;
    std::size_t e = error_types_.Intern(record.status, &overflowed);
    if (overflowed) ++overflow_error_types_;
    Bump(s.errors, e);
  }
  if (record.has_latency) s.latency.Observe(record.latency_seconds);
  if (record.has_score && task_ == Task::kBinaryClassification) s.score.Observe(record.score);
  if (!record.predicted_class.empty() && task_ != Task::kRegression) {
    bool overflowed = false;
    std::size_t c = classes_.Intern(record.predicted_class, &overflowed);
    if (overflowed) ++overflow_classes_;
    Bump(s.classes, c);
  }
  if (!feature_histograms_.empty()) {
    const std::size_t n = std::min(record.features.size(), feature_slot_.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (feature_slot_[i] < 0) continue;
      const FeatureValue& v = record.features[i];
      if (v.kind != FeatureValue::Kind::kNumber || !std::isfinite(v.number)) continue;
      feature_histograms_[static_cast<std::size_t>(feature_slot_[i])].histogram.Observe(v.number);
    }
  }
  if (signals_) ObserveSignals(record, s);
  if (!feature_categories_.empty()) {
    std::array<char, 32> buf;
    const std::size_t n = std::min(record.features.size(), category_slot_.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (category_slot_[i] < 0) continue;
      const FeatureValue& v = record.features[i];
      // What the drift tracker counts for a categorical feature: every value not missing.
      if (v.kind == FeatureValue::Kind::kMissing) continue;
      FeatureCategories& c = feature_categories_[static_cast<std::size_t>(category_slot_[i])];
      if (!c.set) continue;
      auto it = c.lookup.find(CategoryOf(v, buf));
      ++c.counts[it == c.lookup.end() ? c.categories.size() : it->second];
    }
  }
}

void ServingAggregator::ObserveSignals(const Record& record, VersionStats& s) {
  // The drift tracker's definitions (DriftTracker::Observe): a numeric value that is not a
  // number, or NaN, is missing; a record is anomalous when any ranged feature's value lies
  // outside the range (±Inf too, which the out-of-range counter, over the finite values
  // model_feature_value counts, leaves out).
  bool anomalous = false;
  for (FeatureSignals& f : feature_signals_) {
    const FeatureValue* v = f.index < record.features.size() ? &record.features[f.index] : nullptr;
    bool missing = v == nullptr || v->kind == FeatureValue::Kind::kMissing;
    if (!missing && f.type == FeatureType::kNumeric) {
      missing = v->kind != FeatureValue::Kind::kNumber || std::isnan(v->number);
    }
    if (missing) {
      ++f.missing;
      continue;
    }
    if (!f.ranged || !(v->number < f.min || v->number > f.max)) continue;
    anomalous = true;
    if (std::isfinite(v->number)) ++f.out_of_range;
  }
  if (anomalous) ++anomalous_;
  if (!record.ok) return;
  // The output on the baseline's output bins: what the drift tracker's windows bin (an ok
  // record's score, prediction or predicted class).
  if (output_buckets_set_) {
    if (task_ == Task::kBinaryClassification && record.has_score && std::isfinite(record.score)) {
      s.output.Observe(record.score);
    } else if (task_ == Task::kRegression && record.has_prediction &&
               std::isfinite(record.prediction)) {
      s.output.Observe(record.prediction);
    }
  }
  if (output_classes_set_ && !record.predicted_class.empty()) {
    auto it = output_class_lookup_.find(record.predicted_class);
    ++s.output_classes[it == output_class_lookup_.end() ? output_classes_.size() : it->second];
  }
  if (task_ == Task::kBinaryClassification && record.has_score) {
    ++s.confidence_count;
    s.confidence_sum += std::max(record.score, 1 - record.score);
    s.entropy_sum += BinaryEntropy(record.score);
    if (IsPositivePrediction(record, threshold_)) ++s.positives;
  } else if (task_ == Task::kMulticlassClassification && !record.probabilities.empty()) {
    ++s.confidence_count;
    s.confidence_sum += *std::max_element(record.probabilities.begin(), record.probabilities.end());
    s.entropy_sum += ClassEntropy(record.probabilities);
  }
}

void ServingAggregator::SetFeatureRange(std::size_t index, double min, double max) {
  ++generation_;
  for (FeatureSignals& f : feature_signals_) {
    if (f.index != index || f.type != FeatureType::kNumeric) continue;
    if (f.ranged && f.min == min && f.max == max) return;
    f.ranged = true;
    f.min = min;
    f.max = max;
    f.out_of_range = 0;
  }
}

void ServingAggregator::SetOutputBuckets(std::vector<double> edges) {
  if (!signals_ || task_ == Task::kMulticlassClassification) return;
  std::vector<double> clean;
  for (double e : edges) {
    if (std::isfinite(e) && (clean.empty() || e > clean.back())) clean.push_back(e);
  }
  if (output_buckets_set_ && clean == output_bounds_) return;
  output_buckets_set_ = true;
  output_bounds_ = std::move(clean);
  for (VersionStats& s : stats_) s.output = PlainHistogram(output_bounds_);
  ++generation_;
}

void ServingAggregator::SetOutputClasses(std::vector<std::string> classes) {
  if (!signals_ || task_ != Task::kMulticlassClassification) return;
  if (output_classes_set_ && classes == output_classes_) return;
  output_classes_set_ = true;
  output_classes_ = std::move(classes);
  output_class_lookup_.clear();
  // The first of a class listed twice, as the drift tracker's index.
  for (std::size_t k = 0; k < output_classes_.size(); ++k) {
    output_class_lookup_.emplace(output_classes_[k], k);
  }
  for (VersionStats& s : stats_) s.output_classes.assign(output_classes_.size() + 1, 0);
  ++generation_;
}

void ServingAggregator::SetFeatureCategories(std::size_t index,
                                             std::vector<std::string> categories) {
  ++generation_;
  if (index >= category_slot_.size() || category_slot_[index] < 0) return;
  FeatureCategories& c = feature_categories_[static_cast<std::size_t>(category_slot_[index])];
  if (c.set && c.categories == categories) return;
  c.categories = std::move(categories);
  c.lookup.clear();
  for (std::size_t k = 0; k < c.categories.size(); ++k) c.lookup.emplace(c.categories[k], k);
  c.counts.assign(c.categories.size() + 1, 0);
  c.set = true;
}

void ServingAggregator::SetFeatureBuckets(std::size_t index, std::vector<double> edges) {
  ++generation_;
  if (index >= feature_slot_.size() || feature_slot_[index] < 0) return;
  std::vector<double> clean;
  for (double e : edges) {
    if (std::isfinite(e) && (clean.empty() || e > clean.back())) clean.push_back(e);
  }
  if (clean.empty()) clean = DefaultFeatureBuckets();
  PlainHistogram& h = feature_histograms_[static_cast<std::size_t>(feature_slot_[index])].histogram;
  if (h.bounds == clean) return;
  h = PlainHistogram(std::move(clean));
}

void ServingAggregator::Collect(std::vector<prometheus::MetricFamily>& out) const {
  // References to families stay valid only while `out` does not reallocate.
  out.reserve(out.size() + 8);
  auto& predictions = Family(out, metric::kModelPredictionsTotal);
  auto& errors = Family(out, metric::kModelPredictionErrorsTotal);
  auto& latency = Family(out, metric::kModelRequestDurationSeconds);
  for (const VersionStats& s : stats_) {
    Metric(predictions, {{"model", model_}, {"version", s.version}}).counter.value =
        static_cast<double>(s.predictions);
    for (std::size_t e = 0; e < s.errors.size(); ++e) {
      if (s.errors[e] == 0) continue;
      Metric(errors,
             {{"error_type", error_types_.Name(e)}, {"model", model_}, {"version", s.version}})
          .counter.value = static_cast<double>(s.errors[e]);
    }
    s.latency.Fill(Metric(latency, {{"model", model_}, {"version", s.version}}));
  }
  if (task_ == Task::kBinaryClassification) {
    auto& score = Family(out, metric::kModelPredictionScore);
    for (const VersionStats& s : stats_) {
      s.score.Fill(Metric(score, {{"model", model_}, {"version", s.version}}));
    }
  }
  if (task_ != Task::kRegression) {
    auto& classes = Family(out, metric::kModelPredictedClassTotal);
    for (const VersionStats& s : stats_) {
      for (std::size_t c = 0; c < s.classes.size(); ++c) {
        if (s.classes[c] == 0) continue;
        Metric(classes, {{"class", classes_.Name(c)}, {"model", model_}, {"version", s.version}})
            .counter.value = static_cast<double>(s.classes[c]);
      }
    }
  }
  if (!feature_histograms_.empty()) {
    auto& features = Family(out, metric::kModelFeatureValue);
    for (const FeatureHistogram& f : feature_histograms_) {
      f.histogram.Fill(Metric(features, {{"feature", f.name}, {"model", model_}}));
    }
  }
  // Only features with their categories set count, and a family without series is left out.
  if (std::any_of(feature_categories_.begin(), feature_categories_.end(),
                  [](const FeatureCategories& c) { return c.set; })) {
    auto& categories = Family(out, metric::kModelFeatureCategoryTotal);
    for (const FeatureCategories& c : feature_categories_) {
      if (!c.set) continue;
      for (std::size_t k = 0; k < c.counts.size(); ++k) {
        const std::string& category =
            k < c.categories.size() ? c.categories[k] : std::string(kOverflowLabelValue);
        Metric(categories, {{"category", category}, {"feature", c.name}, {"model", model_}})
            .counter.value = static_cast<double>(c.counts[k]);
      }
    }
  }
  if (signals_) CollectSignals(out);
  if (output_buckets_set_) {
    prometheus::MetricFamily output = MakeFamily(metric::kModelPredictionOutput);
    for (const VersionStats& s : stats_) {
      s.output.Fill(Metric(output, {{"model", model_}, {"version", s.version}}));
    }
    if (!output.metric.empty()) out.push_back(std::move(output));
  }
  if (output_classes_set_) {
    prometheus::MetricFamily output = MakeFamily(metric::kModelPredictionOutputClassTotal);
    for (const VersionStats& s : stats_) {
      for (std::size_t k = 0; k < s.output_classes.size(); ++k) {
        const std::string& c =
            k < output_classes_.size() ? output_classes_[k] : std::string(kOverflowLabelValue);
        Metric(output, {{"class", c}, {"model", model_}, {"version", s.version}}).counter.value =
            static_cast<double>(s.output_classes[k]);
      }
    }
    if (!output.metric.empty()) out.push_back(std::move(output));
  }
  auto& overflow = Family(out, metric::kModelwatchCardinalityOverflowTotal);
  Metric(overflow, {{"label", "class"}, {"model", model_}}).counter.value =
      static_cast<double>(overflow_classes_);
  Metric(overflow, {{"label", "error_type"}, {"model", model_}}).counter.value =
      static_cast<double>(overflow_error_types_);
  Metric(overflow, {{"label", "version"}, {"model", model_}}).counter.value =
      static_cast<double>(overflow_versions_);
}

RenderedFamilies ServingAggregator::Render() const {
  if (!rendered_ || rendered_generation_ != generation_) {
    std::vector<prometheus::MetricFamily> families;
    Collect(families);
    rendered_ =
        std::make_shared<const std::vector<RenderedFamily>>(RenderFamilies(std::move(families)));
    rendered_generation_ = generation_;
  }
  return rendered_;
}

void ServingAggregator::CollectSignals(std::vector<prometheus::MetricFamily>& out) const {
  if (task_ != Task::kRegression) {
    prometheus::MetricFamily confidence = MakeFamily(metric::kModelPredictionConfidence);
    prometheus::MetricFamily entropy = MakeFamily(metric::kModelPredictionEntropy);
    for (const VersionStats& s : stats_) {
      auto& c = Metric(confidence, {{"model", model_}, {"version", s.version}});
      c.summary.sample_count = s.confidence_count;
      c.summary.sample_sum = s.confidence_sum;
      auto& e = Metric(entropy, {{"model", model_}, {"version", s.version}});
      e.summary.sample_count = s.confidence_count;
      e.summary.sample_sum = s.entropy_sum;
    }
    out.push_back(std::move(confidence));
    out.push_back(std::move(entropy));
  }
  if (task_ == Task::kBinaryClassification) {
    prometheus::MetricFamily positives = MakeFamily(metric::kModelPositivePredictionsTotal);
    for (const VersionStats& s : stats_) {
      Metric(positives, {{"model", model_}, {"version", s.version}}).counter.value =
          static_cast<double>(s.positives);
    }
    out.push_back(std::move(positives));
  }
  prometheus::MetricFamily missing = MakeFamily(metric::kModelFeatureMissingTotal);
  prometheus::MetricFamily out_of_range = MakeFamily(metric::kModelFeatureOutOfRangeTotal);
  for (const FeatureSignals& f : feature_signals_) {
    Metric(missing, {{"feature", f.name}, {"model", model_}}).counter.value =
        static_cast<double>(f.missing);
    if (f.ranged) {
      Metric(out_of_range, {{"feature", f.name}, {"model", model_}}).counter.value =
          static_cast<double>(f.out_of_range);
    }
  }
  if (!missing.metric.empty()) out.push_back(std::move(missing));
  if (!out_of_range.metric.empty()) out.push_back(std::move(out_of_range));
  prometheus::MetricFamily anomalous = MakeFamily(metric::kModelAnomalousRequestsTotal);
  Metric(anomalous, {{"model", model_}}).counter.value = static_cast<double>(anomalous_);
  out.push_back(std::move(anomalous));
}

nlohmann::json ServingAggregator::SaveState() const {
  nlohmann::json versions = nlohmann::json::array();
  for (const VersionStats& s : stats_) {
    nlohmann::json errors = nlohmann::json::object();
    for (std::size_t e = 0; e < s.errors.size(); ++e) {
      if (s.errors[e] > 0) errors[error_types_.Name(e)] = s.errors[e];
    }
    nlohmann::json classes = nlohmann::json::object();
    for (std::size_t c = 0; c < s.classes.size(); ++c) {
      if (s.classes[c] > 0) classes[classes_.Name(c)] = s.classes[c];
    }
    versions.push_back({{"version", s.version},
                        {"predictions", s.predictions},
                        {"errors", errors},
                        {"classes", classes},
                        {"latency", s.latency.Save()},
                        {"score", s.score.Save()}});
    if (signals_) {
      versions.back()["signals"] = {{"confidence_count", s.confidence_count},
                                    {"confidence_sum", s.confidence_sum},
                                    {"entropy_sum", s.entropy_sum},
                                    {"positives", s.positives}};
    }
    if (output_buckets_set_) versions.back()["output"] = s.output.Save();
    if (output_classes_set_) {
      versions.back()["output_classes"] = {{"classes", output_classes_},
                                           {"counts", s.output_classes}};
    }
  }
  nlohmann::json features = nlohmann::json::object();
  for (const FeatureHistogram& f : feature_histograms_) features[f.name] = f.histogram.Save();
  nlohmann::json categories = nlohmann::json::object();
  for (const FeatureCategories& c : feature_categories_) {
    if (c.set) categories[c.name] = {{"categories", c.categories}, {"counts", c.counts}};
  }
  nlohmann::json state = {{"versions", versions},
                          {"features", features},
                          {"categories", categories},
                          {"overflow",
                           {{"version", overflow_versions_},
                            {"class", overflow_classes_},
                            {"error_type", overflow_error_types_}}}};
  if (signals_) {
    nlohmann::json signal_features = nlohmann::json::object();
    for (const FeatureSignals& f : feature_signals_) {
      nlohmann::json& j = signal_features[f.name];
      j["missing"] = f.missing;
      if (f.ranged) j["range"] = {{"min", f.min}, {"max", f.max}, {"out_of_range", f.out_of_range}};
    }
    state["signals"] = {{"features", signal_features}, {"anomalous", anomalous_}};
  }
  return state;
}

Result<void> ServingAggregator::RestoreState(const nlohmann::json& state) {
  ++generation_;  // also when it fails half-way
  if (!state.is_object() || !state.contains("versions") || !state["versions"].is_array()) {
    return MakeError("serving state of model " + model_ + ": malformed");
  }
  try {
    stats_.clear();
    for (const auto& v : state["versions"]) {
      const std::string name = v.at("version").get<std::string>();
      VersionStats& s = StatsAt(versions_.Force(name));
      s.predictions = v.value("predictions", std::uint64_t{0});
      const nlohmann::json errors = v.value("errors", nlohmann::json::object());
      for (auto it = errors.begin(); it != errors.end(); ++it) {
        std::size_t e = error_types_.Force(it.key());
        if (s.errors.size() <= e) s.errors.resize(e + 1, 0);
        s.errors[e] = it.value().get<std::uint64_t>();
      }
      const nlohmann::json classes = v.value("classes", nlohmann::json::object());
      for (auto it = classes.begin(); it != classes.end(); ++it) {
        std::size_t c = classes_.Force(it.key());
        if (s.classes.size() <= c) s.classes.resize(c + 1, 0);
        s.classes[c] = it.value().get<std::uint64_t>();
      }
      s.latency.Restore(v.value("latency", nlohmann::json()));
      s.score.Restore(v.value("score", nlohmann::json()));
      const nlohmann::json sig = v.value("signals", nlohmann::json::object());
      if (signals_ && sig.is_object()) {
        s.confidence_count = sig.value("confidence_count", std::uint64_t{0});
        s.confidence_sum = sig.value("confidence_sum", 0.0);
        s.entropy_sum = sig.value("entropy_sum", 0.0);
        s.positives = sig.value("positives", std::uint64_t{0});
      }
      // The output's counts are kept only on the same bins (a new baseline's start from
      // zero, as the feature histograms' new edges do).
      if (output_buckets_set_) s.output.Restore(v.value("output", nlohmann::json()));
      const nlohmann::json classes_saved = v.value("output_classes", nlohmann::json());
      if (output_classes_set_ && classes_saved.is_object()) {
        std::vector<std::uint64_t> counts =
            CountsFromJson(classes_saved.value("counts", nlohmann::json()));
        if (classes_saved.value("classes", nlohmann::json()) == nlohmann::json(output_classes_) &&
            counts.size() == s.output_classes.size()) {
          s.output_classes = std::move(counts);
        }
      }
    }
    const nlohmann::json signals = state.value("signals", nlohmann::json::object());
    if (signals_ && signals.is_object()) {
      anomalous_ = signals.value("anomalous", std::uint64_t{0});
      const nlohmann::json saved = signals.value("features", nlohmann::json::object());
      for (FeatureSignals& f : feature_signals_) {
        if (!saved.is_object() || !saved.contains(f.name)) continue;
        const nlohmann::json& j = saved[f.name];
        f.missing = j.value("missing", std::uint64_t{0});
        // Out-of-range counts are kept only against the same range (a new baseline's range
        // starts them from zero, as the histograms' new edges do).
        const nlohmann::json range = j.value("range", nlohmann::json::object());
        if (f.ranged && range.is_object() && range.value("min", kNaNValue) == f.min &&
            range.value("max", kNaNValue) == f.max) {
          f.out_of_range = range.value("out_of_range", std::uint64_t{0});
        }
      }
    }
    const nlohmann::json features = state.value("features", nlohmann::json::object());
    for (FeatureHistogram& f : feature_histograms_) {
      if (features.contains(f.name)) f.histogram.Restore(features[f.name]);
    }
    const nlohmann::json categories = state.value("categories", nlohmann::json::object());
    for (FeatureCategories& c : feature_categories_) {
      if (!c.set || !categories.contains(c.name)) continue;
      const nlohmann::json& saved = categories[c.name];
      std::vector<std::uint64_t> counts = CountsFromJson(saved.value("counts", nlohmann::json()));
      if (saved.value("categories", nlohmann::json()) == nlohmann::json(c.categories) &&
          counts.size() == c.counts.size()) {
        c.counts = std::move(counts);
      }
    }
    const nlohmann::json overflow = state.value("overflow", nlohmann::json::object());
    overflow_versions_ = overflow.value("version", std::uint64_t{0});
    overflow_classes_ = overflow.value("class", std::uint64_t{0});
    overflow_error_types_ = overflow.value("error_type", std::uint64_t{0});
  } catch (const nlohmann::json::exception& e) {
    return MakeError("serving state of model " + model_ + ": " + e.what());
  }
  return {};
}

std::uint64_t ServingAggregator::predictions() const {
  std::uint64_t n = 0;
  for (const VersionStats& s : stats_) n += s.predictions;
  return n;
}

std::uint64_t ServingAggregator::errors() const {
  std::uint64_t n = 0;
  for (const VersionStats& s : stats_) {
    for (std::uint64_t e : s.errors) n += e;
  }
  return n;
}

std::vector<std::string> ServingAggregator::Versions() const {
  std::vector<std::string> v;
  for (const VersionStats& s : stats_) v.push_back(s.version);
  return v;
}

}  // namespace modelwatch
