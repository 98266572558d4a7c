#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "exporter/aggregate/label_index.h"
#include "exporter/aggregate/serving_aggregator.h"
#include "exporter/metrics/family_merge.h"
#include "exporter/parse/record_parser.h"

namespace modelwatch {
namespace {

ModelConfig Model() {
  ModelConfig m;
  m.name = "fraud";
  m.task = Task::kBinaryClassification;
  m.features = {{"amount", FeatureType::kNumeric, false, true, {}},
                {"country", FeatureType::kCategorical, false, false, {}}};
  return m;
}

// Scraped series by "name{labels}". Reading a series that was not served fails the test
// (and reads NaN): a std::map's operator[] would insert a 0 that EXPECT_EQ(..., 0) accepts.
class Series {
 public:
  double operator[](const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) {
      ADD_FAILURE() << "series not served: " << key;
      return std::numeric_limits<double>::quiet_NaN();
    }
    return it->second;
  }
  auto begin() const { return values_.begin(); }
  auto end() const { return values_.end(); }
  bool operator==(const Series& o) const { return values_ == o.values_; }
  std::map<std::string, double>& raw() { return values_; }

 private:
  std::map<std::string, double> values_;
};

// Flattens families into "name{labels}" -> value (counters) or sample counts (histograms,
// under name_count) and cumulative buckets (name_bucket{...,le=...}).
Series Flatten(const std::vector<prometheus::MetricFamily>& families) {
  Series series;
  auto& out = series.raw();
  for (const auto& f : families) {
    for (const auto& m : f.metric) {
      std::string labels;
      for (const auto& l : m.label) labels += (labels.empty() ? "" : ",") + l.name + "=" + l.value;
      if (f.type == prometheus::MetricType::Histogram) {
        out[f.name + "_count{" + labels + "}"] = static_cast<double>(m.histogram.sample_count);
        out[f.name + "_sum{" + labels + "}"] = m.histogram.sample_sum;
        for (const auto& b : m.histogram.bucket) {
          std::string le = std::isinf(b.upper_bound) ? "+Inf" : std::to_string(b.upper_bound);
          out[f.name + "_bucket{" + labels + ",le=" + le + "}"] =
              static_cast<double>(b.cumulative_count);
        }
      } else if (f.type == prometheus::MetricType::Summary) {
        out[f.name + "_count{" + labels + "}"] = static_cast<double>(m.summary.sample_count);
        out[f.name + "_sum{" + labels + "}"] = m.summary.sample_sum;
      } else {
        out[f.name + "{" + labels + "}"] = m.counter.value;
      }
    }
  }
  return series;
}

class ServingAggregatorTest : public ::testing::Test {
 protected:
  void Feed(const std::string& line) {
    auto r = parser_.Parse(line);
    ASSERT_TRUE(r.has_value()) << line;
    agg_.Observe(parser_.record());
  }
  Series Scrape() const {
    std::vector<prometheus::MetricFamily> f;
    agg_.Collect(f);
    return Flatten(f);
  }

  ModelConfig model_ = Model();
  RecordParser parser_{{&model_}};
  ServingAggregator agg_{model_, DefaultLatencyBuckets()};
};

TEST_F(ServingAggregatorTest, CountsEveryAcceptedRecordAndErrorsAsSubset) {
  Feed(R"({"ts":1,"model_version":"v1","score":0.9,"latency_ms":20})");
  Feed(R"({"ts":2,"model_version":"v1","score":0.1,"latency_ms":100})");
  Feed(R"({"ts":3,"model_version":"v1","status":"timeout","latency_ms":5000})");
  Feed(R"({"ts":4,"score":0.5})");
  auto m = Scrape();
  EXPECT_EQ(m["model_predictions_total{model=fraud,version=v1}"], 3);
  EXPECT_EQ(m["model_predictions_total{model=fraud,version=unknown}"], 1);
  EXPECT_EQ(m["model_prediction_errors_total{error_type=timeout,model=fraud,version=v1}"], 1);
  EXPECT_EQ(agg_.predictions(), 4u);
  EXPECT_EQ(agg_.errors(), 1u);
  // Latency: 0.02 s, 0.1 s (on the bound: le semantics), 5 s.
  EXPECT_EQ(m["model_request_duration_seconds_count{model=fraud,version=v1}"], 3);
  EXPECT_EQ(m["model_request_duration_seconds_bucket{model=fraud,version=v1,le=0.050000}"], 1);
  EXPECT_EQ(m["model_request_duration_seconds_bucket{model=fraud,version=v1,le=0.100000}"], 2);
  EXPECT_EQ(m["model_request_duration_seconds_bucket{model=fraud,version=v1,le=2.500000}"], 2);
  EXPECT_EQ(m["model_request_duration_seconds_bucket{model=fraud,version=v1,le=5.000000}"], 3);
  EXPECT_EQ(m["model_request_duration_seconds_bucket{model=fraud,version=v1,le=+Inf}"], 3);
  EXPECT_DOUBLE_EQ(m["model_request_duration_seconds_sum{model=fraud,version=v1}"], 5.12);
  // Scores of the two ok records; the error record has none.
  EXPECT_EQ(m["model_prediction_score_count{model=fraud,version=v1}"], 2);
  EXPECT_EQ(m["model_prediction_score_bucket{model=fraud,version=v1,le=0.100000}"], 1);
  EXPECT_EQ(m["model_prediction_score_bucket{model=fraud,version=v1,le=0.850000}"], 1);
  EXPECT_EQ(m["model_prediction_score_bucket{model=fraud,version=v1,le=0.900000}"], 2);
  EXPECT_EQ(m["model_predicted_class_total{class=1,model=fraud,version=v1}"], 1);
  EXPECT_EQ(m["model_predicted_class_total{class=0,model=fraud,version=v1}"], 1);
  EXPECT_EQ(m["model_predicted_class_total{class=1,model=fraud,version=unknown}"], 1);
}

TEST_F(ServingAggregatorTest, FeatureHistogramUsesBaselineEdges) {
  agg_.SetFeatureBuckets(0, {10, 20, 30});
  Feed(R"({"ts":1,"score":0.5,"features":{"amount":10}})");
  Feed(R"({"ts":1,"score":0.5,"features":{"amount":25}})");
  Feed(R"({"ts":1,"score":0.5,"features":{"amount":99}})");
  Feed(R"({"ts":1,"score":0.5,"features":{"amount":null}})");
  Feed(R"({"ts":1,"score":0.5,"features":{"amount":Infinity}})");
  auto m = Scrape();
  EXPECT_EQ(m["model_feature_value_count{feature=amount,model=fraud}"], 3);
  EXPECT_EQ(m["model_feature_value_bucket{feature=amount,model=fraud,le=10.000000}"], 1);
  EXPECT_EQ(m["model_feature_value_bucket{feature=amount,model=fraud,le=30.000000}"], 2);
  EXPECT_EQ(m["model_feature_value_bucket{feature=amount,model=fraud,le=+Inf}"], 3);
  // Only opted-in numeric features get a histogram.
  for (const auto& [k, v] : m) EXPECT_EQ(k.find("feature=country"), std::string::npos) << k;
}

TEST(ServingAggregatorLimitsTest, CardinalityOverflowGoesToOther) {
  ModelConfig model = Model();
  model.max_versions = 2;
  model.max_error_types = 1;
  model.max_classes = 1;
  model.task = Task::kMulticlassClassification;
  RecordParser parser({&model});
  ServingAggregator agg(model, DefaultLatencyBuckets());
  auto feed = [&](const std::string& line) {
    ASSERT_TRUE(parser.Parse(line)) << line;
    agg.Observe(parser.record());
  };
  feed(R"({"ts":1,"model_version":"a","probabilities":{"x":0.9,"y":0.1}})");
  feed(R"({"ts":1,"model_version":"b","probabilities":{"x":0.1,"y":0.9}})");
  feed(R"({"ts":1,"model_version":"c","status":"e1"})");
  feed(R"({"ts":1,"model_version":"d","status":"e2"})");
  feed(R"({"ts":1,"model_version":"a","status":"e1"})");
  std::vector<prometheus::MetricFamily> f;
  agg.Collect(f);
  auto m = Flatten(f);
  EXPECT_EQ(m["model_predictions_total{model=fraud,version=a}"], 2);
  EXPECT_EQ(m["model_predictions_total{model=fraud,version=b}"], 1);
  EXPECT_EQ(m["model_predictions_total{model=fraud,version=__other__}"], 2);
  EXPECT_EQ(m["model_prediction_errors_total{error_type=e1,model=fraud,version=__other__}"], 1);
  EXPECT_EQ(m["model_prediction_errors_total{error_type=__other__,model=fraud,version=__other__}"],
            1);
  EXPECT_EQ(m["model_prediction_errors_total{error_type=e1,model=fraud,version=a}"], 1);
  EXPECT_EQ(m["model_predicted_class_total{class=x,model=fraud,version=a}"], 1);
  EXPECT_EQ(m["model_predicted_class_total{class=__other__,model=fraud,version=b}"], 1);
  EXPECT_EQ(m["modelwatch_cardinality_overflow_total{label=version,model=fraud}"], 2);
  EXPECT_EQ(m["modelwatch_cardinality_overflow_total{label=error_type,model=fraud}"], 1);
  EXPECT_EQ(m["modelwatch_cardinality_overflow_total{label=class,model=fraud}"], 1);
  std::size_t versions = 0;
  for (const auto& [k, v] : m) versions += k.rfind("model_predictions_total", 0) == 0;
  EXPECT_EQ(versions, 3u);
}

TEST(ServingAggregatorStateTest, RoundTripKeepsEveryCount) {
  ModelConfig model = Model();
  RecordParser parser({&model});
  ServingAggregator a(model, DefaultLatencyBuckets());
  a.SetFeatureBuckets(0, {1, 2});
  for (int i = 0; i < 50; ++i) {
    std::string line = R"({"ts":1,"model_version":"v)" + std::to_string(i % 3) +
                       R"(","latency_ms":)" + std::to_string(i * 7) + R"(,"score":0.)" +
                       std::to_string(i % 10) + R"(,"features":{"amount":)" +
                       std::to_string(i % 4) + "}" + (i % 5 == 0 ? R"(,"status":"oom")" : "") + "}";
    ASSERT_TRUE(parser.Parse(line)) << line;
    a.Observe(parser.record());
  }
  nlohmann::json saved = a.SaveState();
  ServingAggregator b(model, DefaultLatencyBuckets());
  b.SetFeatureBuckets(0, {1, 2});
  ASSERT_TRUE(b.RestoreState(nlohmann::json::parse(saved.dump())));
  std::vector<prometheus::MetricFamily> fa, fb;
  a.Collect(fa);
  b.Collect(fb);
  EXPECT_EQ(Flatten(fa), Flatten(fb));
  EXPECT_EQ(b.predictions(), 50u);
  // Counting continues from the restored values.
  ASSERT_TRUE(parser.Parse(R"({"ts":1,"model_version":"v0","score":0.5})"));
  b.Observe(parser.record());
  EXPECT_EQ(b.predictions(), 51u);

  // Changed buckets: that histogram starts empty, the counters are kept.
  ServingAggregator c(model, {0.5, 1});
  ASSERT_TRUE(c.RestoreState(saved));
  std::vector<prometheus::MetricFamily> fc;
  c.Collect(fc);
  auto m = Flatten(fc);
  EXPECT_EQ(m["model_request_duration_seconds_count{model=fraud,version=v0}"], 0);
  EXPECT_EQ(c.predictions(), 50u);

  EXPECT_FALSE(c.RestoreState(nlohmann::json::array()));
  EXPECT_FALSE(c.RestoreState({{"versions", {{{"version", 3}}}}}));
}

// Render() serves text kept from the last call until the counts change: after every kind of
// change (a record, new bucket edges, categories or range, a restored state) the next text is
// what the families written afresh are, and without a change it is the same object.
TEST(ServingAggregatorRenderTest, TextFollowsEveryChange) {
  ModelConfig model = Model();
  model.drift.engine = DriftEngine::kPromql;
  RecordParser parser({&model});
  ServingAggregator a(model, DefaultLatencyBuckets());
  auto fresh = [&a] {
    std::vector<prometheus::MetricFamily> families;
    a.Collect(families);
    return SerializeText(MergeFamilies(std::move(families)));
  };
  auto served = [&a] { return SerializeText({}, {a.Render()}); };
  auto feed = [&](const std::string& line) {
    ASSERT_TRUE(parser.Parse(line)) << line;
    a.Observe(parser.record());
  };
  EXPECT_EQ(served(), fresh());
  const RenderedFamilies first = a.Render();
  EXPECT_EQ(a.Render(), first);  // nothing changed: the same text, not written again

  feed(R"({"ts":1,"model_version":"v1","score":0.9,"latency_ms":20,"features":{"amount":3}})");
  std::string text = served();
  EXPECT_EQ(text, fresh());
  EXPECT_NE(text.find("model_predictions_total{model=\"fraud\",version=\"v1\"} 1\n"),
            std::string::npos)
      << text;
  const RenderedFamilies second = a.Render();
  EXPECT_NE(second, first);
  EXPECT_EQ(a.Render(), second);

  feed(R"({"ts":2,"model_version":"v1","score":0.1,"latency_ms":30,"status":"oom"})");
  text = served();
  EXPECT_EQ(text, fresh());
  EXPECT_NE(text.find("model_predictions_total{model=\"fraud\",version=\"v1\"} 2\n"),
            std::string::npos)
      << text;

  a.SetFeatureBuckets(0, {1, 2});
  text = served();
  EXPECT_EQ(text, fresh());
  EXPECT_NE(text.find("model_feature_value_bucket{feature=\"amount\",model=\"fraud\",le=\"2\"} 0"),
            std::string::npos)
      << text;

  a.SetFeatureCategories(1, {"DE", "FR"});
  text = served();
  EXPECT_EQ(text, fresh());
  EXPECT_NE(text.find("model_feature_category_total{category=\"DE\""), std::string::npos) << text;

  a.SetFeatureRange(0, 0, 1);
  text = served();
  EXPECT_EQ(text, fresh());
  EXPECT_NE(text.find("model_feature_out_of_range_total{feature=\"amount\""), std::string::npos)
      << text;

  // The output's buckets (the baseline's output profile), set at start or by a reload.
  a.SetOutputBuckets({0.25, 0.5});
  text = served();
  EXPECT_EQ(text, fresh());
  EXPECT_NE(
      text.find("model_prediction_output_bucket{model=\"fraud\",version=\"v1\",le=\"0.5\"} 0"),
      std::string::npos)
      << text;

  // A restored state replaces every count.
  ServingAggregator other(model, DefaultLatencyBuckets());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(parser.Parse(R"({"ts":1,"model_version":"v9","score":0.5})"));
    other.Observe(parser.record());
  }
  ASSERT_TRUE(a.RestoreState(other.SaveState()));
  text = served();
  EXPECT_EQ(text, fresh());
  EXPECT_NE(text.find("model_predictions_total{model=\"fraud\",version=\"v9\"} 5\n"),
            std::string::npos)
      << text;
}

// drift.engine: promql: each categorical feature's present values by baseline category, the
// rest under __other__ (numbers named as the baseline names them), kept across a restart.
TEST(ServingAggregatorCategoriesTest, PromqlEngineCountsCategoriesOfTheBaseline) {
  ModelConfig model = Model();
  RecordParser parser({&model});
  ServingAggregator exporter_engine(model, DefaultLatencyBuckets());
  model.drift.engine = DriftEngine::kPromql;
  ServingAggregator a(model, DefaultLatencyBuckets());
  a.SetFeatureCategories(0, {"x"});  // numeric: ignored
  a.SetFeatureCategories(1, {"DE", "FR", "7"});
  exporter_engine.SetFeatureCategories(1, {"DE", "FR", "7"});
  for (const char* country : {R"("DE")", R"("DE")", R"("US")", "7", "7.0", "7.5", "null"}) {
    const std::string line =
        std::string(R"({"ts":1,"score":0.5,"features":{"country":)") + country + "}}";
    ASSERT_TRUE(parser.Parse(line)) << line;
    a.Observe(parser.record());
    exporter_engine.Observe(parser.record());
  }
  std::vector<prometheus::MetricFamily> families;
  a.Collect(families);
  auto m = Flatten(families);
  EXPECT_EQ(m["model_feature_category_total{category=DE,feature=country,model=fraud}"], 2);
  EXPECT_EQ(m["model_feature_category_total{category=FR,feature=country,model=fraud}"], 0);
  EXPECT_EQ(m["model_feature_category_total{category=7,feature=country,model=fraud}"], 2);
  EXPECT_EQ(m["model_feature_category_total{category=__other__,feature=country,model=fraud}"], 2);
  std::size_t served = 0;
  for (const auto& [k, v] : m) served += k.rfind("model_feature_category_total", 0) == 0;
  EXPECT_EQ(served, 4u);  // the baseline's categories and __other__, nothing else

  std::vector<prometheus::MetricFamily> none;
  exporter_engine.Collect(none);
  for (const auto& f : none) EXPECT_NE(f.name, "model_feature_category_total");

  ServingAggregator b(model, DefaultLatencyBuckets());
  b.SetFeatureCategories(1, {"DE", "FR", "7"});
  ASSERT_TRUE(b.RestoreState(nlohmann::json::parse(a.SaveState().dump())));
  std::vector<prometheus::MetricFamily> restored;
  b.Collect(restored);
  EXPECT_EQ(Flatten(restored), m);
  // Other categories (a new baseline): the counters start empty.
  ServingAggregator c(model, DefaultLatencyBuckets());
  c.SetFeatureCategories(1, {"DE", "FR"});
  ASSERT_TRUE(c.RestoreState(a.SaveState()));
  std::vector<prometheus::MetricFamily> reset;
  c.Collect(reset);
  EXPECT_EQ(Flatten(reset)["model_feature_category_total{category=DE,feature=country,model=fraud}"],
            0);
}

// drift.engine: promql: each version's ok scores on the baseline output profile's edges
// (buckets closed on the right, as the drift tracker's bins), not the error records' scores;
// kept across a restart on the same edges, empty on others; nothing under the exporter engine.
TEST(ServingAggregatorOutputTest, PromqlEngineCountsEachVersionsOutputOnTheBaselinesBins) {
  ModelConfig model = Model();
  RecordParser parser({&model});
  ServingAggregator exporter_engine(model, DefaultLatencyBuckets());
  exporter_engine.SetOutputBuckets({0.25, 0.5, 0.75});
  model.drift.engine = DriftEngine::kPromql;
  ServingAggregator a(model, DefaultLatencyBuckets());
  a.SetOutputBuckets({0.25, 0.5, 0.75});
  a.SetOutputClasses({"0", "1"});  // not multiclass: ignored
  for (const char* line : {
           R"({"ts":1,"model_version":"v1","score":0.1})",
           R"({"ts":1,"model_version":"v1","score":0.25})",
           R"({"ts":1,"model_version":"v1","score":0.6})",
           R"({"ts":1,"model_version":"v1","score":0.9})",
           R"({"ts":1,"model_version":"v1","score":0.3,"status":"timeout"})",
           R"({"ts":1,"model_version":"v2","score":0.5})",
       }) {
    ASSERT_TRUE(parser.Parse(line)) << line;
    a.Observe(parser.record());
    exporter_engine.Observe(parser.record());
  }
  std::vector<prometheus::MetricFamily> families;
  a.Collect(families);
  auto m = Flatten(families);
  const std::string v1 = "model_prediction_output_bucket{model=fraud,version=v1,le=";
  EXPECT_EQ(m[v1 + "0.250000}"], 2);  // 0.1 and 0.25 (le)
  EXPECT_EQ(m[v1 + "0.500000}"], 2);  // not the timeout's 0.3
  EXPECT_EQ(m[v1 + "0.750000}"], 3);
  EXPECT_EQ(m[v1 + "+Inf}"], 4);
  EXPECT_EQ(m["model_prediction_output_count{model=fraud,version=v1}"], 4);
  EXPECT_DOUBLE_EQ(m["model_prediction_output_sum{model=fraud,version=v1}"], 1.85);
  const std::string v2 = "model_prediction_output_bucket{model=fraud,version=v2,le=";
  EXPECT_EQ(m[v2 + "0.250000}"], 0);
  EXPECT_EQ(m[v2 + "0.500000}"], 1);
  EXPECT_EQ(m[v2 + "+Inf}"], 1);
  for (const auto& [k, v] : m) {
    EXPECT_NE(k.rfind("model_prediction_output_class_total", 0), 0u) << k;
  }

  std::vector<prometheus::MetricFamily> none;
  exporter_engine.Collect(none);
  for (const auto& f : none) EXPECT_NE(f.name, "model_prediction_output");

  ServingAggregator b(model, DefaultLatencyBuckets());
  b.SetOutputBuckets({0.25, 0.5, 0.75});
  ASSERT_TRUE(b.RestoreState(nlohmann::json::parse(a.SaveState().dump())));
  std::vector<prometheus::MetricFamily> restored;
  b.Collect(restored);
  EXPECT_EQ(Flatten(restored), m);
  // Other edges (a new baseline): the versions' histograms start empty.
  ServingAggregator c(model, DefaultLatencyBuckets());
  c.SetOutputBuckets({0.5});
  ASSERT_TRUE(c.RestoreState(a.SaveState()));
  std::vector<prometheus::MetricFamily> reset;
  c.Collect(reset);
  EXPECT_EQ(Flatten(reset)["model_prediction_output_bucket{model=fraud,version=v1,le=+Inf}"], 0);
  EXPECT_EQ(Flatten(reset)["model_predictions_total{model=fraud,version=v1}"], 5);
}

// drift.engine: promql, multiclass: each version's ok records by predicted class, the
// baseline's classes and __other__, every one served from the version's first record.
TEST(ServingAggregatorOutputTest, PromqlEngineCountsEachVersionsPredictedClass) {
  ModelConfig model = Model();
  model.task = Task::kMulticlassClassification;
  model.classes = {"x", "y", "z"};
  model.drift.engine = DriftEngine::kPromql;
  RecordParser parser({&model});
  ServingAggregator a(model, DefaultLatencyBuckets());
  a.SetOutputClasses({"x", "y"});
  a.SetOutputBuckets({0.5});  // not a numeric output: ignored
  for (
      const char* line : {
          R"({"ts":1,"model_version":"v1","probabilities":{"x":0.9,"y":0.05,"z":0.05}})",
          R"({"ts":1,"model_version":"v1","probabilities":{"x":0.1,"y":0.8,"z":0.1}})",
          R"({"ts":1,"model_version":"v1","probabilities":{"x":0.1,"y":0.1,"z":0.8}})",
          R"({"ts":1,"model_version":"v1","prediction":"x","probabilities":{"x":0.4,"y":0.5,"z":0.1}})",
          R"({"ts":1,"model_version":"v1","status":"oom","probabilities":{"x":0.9,"y":0.05,"z":0.05}})",
          R"({"ts":1,"model_version":"v2","probabilities":{"x":0.1,"y":0.1,"z":0.8}})",
      }) {
    ASSERT_TRUE(parser.Parse(line)) << line;
    a.Observe(parser.record());
  }
  std::vector<prometheus::MetricFamily> families;
  a.Collect(families);
  auto m = Flatten(families);
  const std::string total = "model_prediction_output_class_total{class=";
  EXPECT_EQ(m[total + "x,model=fraud,version=v1}"], 2);  // the served class, not the argmax
  EXPECT_EQ(m[total + "y,model=fraud,version=v1}"], 1);
  EXPECT_EQ(m[total + "__other__,model=fraud,version=v1}"], 1);
  EXPECT_EQ(m[total + "x,model=fraud,version=v2}"], 0);
  EXPECT_EQ(m[total + "y,model=fraud,version=v2}"], 0);
  EXPECT_EQ(m[total + "__other__,model=fraud,version=v2}"], 1);
  std::size_t served = 0;
  for (const auto& [k, v] : m) {
    served += k.rfind("model_prediction_output_class_total", 0) == 0;
    EXPECT_NE(k.rfind("model_prediction_output_bucket", 0), 0u) << k;
  }
  EXPECT_EQ(served, 6u);

  ServingAggregator b(model, DefaultLatencyBuckets());
  b.SetOutputClasses({"x", "y"});
  ASSERT_TRUE(b.RestoreState(nlohmann::json::parse(a.SaveState().dump())));
  std::vector<prometheus::MetricFamily> restored;
  b.Collect(restored);
  EXPECT_EQ(Flatten(restored), m);
  ServingAggregator c(model, DefaultLatencyBuckets());
  c.SetOutputClasses({"y", "x"});
  ASSERT_TRUE(c.RestoreState(a.SaveState()));
  std::vector<prometheus::MetricFamily> reset;
  c.Collect(reset);
  EXPECT_EQ(Flatten(reset)[total + "x,model=fraud,version=v1}"], 0);
}

// The binary entropy in nats, written out here (not the exporter's function).
double Entropy(double p) { return -(p * std::log(p) + (1 - p) * std::log(1 - p)); }

// drift.engine: promql: the proxy signals' counters, hand-counted: confidence and entropy
// summed over the ok records with a score, per version; positives; missing values per
// feature (null, absent); finite values outside the baseline's range; records with any value
// outside it (+Inf included); kept across a restart, the out-of-range counts only against the
// same range; none of them under the exporter engine.
TEST(ServingAggregatorSignalsTest, PromqlEngineCountsTheProxySignalsSums) {
  ModelConfig model = Model();
  RecordParser parser({&model});
  ServingAggregator exporter_engine(model, DefaultLatencyBuckets());
  model.drift.engine = DriftEngine::kPromql;
  ServingAggregator a(model, DefaultLatencyBuckets());
  a.SetFeatureRange(0, 0, 100);
  a.SetFeatureRange(1, 0, 1);  // categorical: ignored
  exporter_engine.SetFeatureRange(0, 0, 100);
  for (
      const char* line : {
          R"({"ts":1,"model_version":"v1","score":0.9,"features":{"amount":50,"country":"DE"}})",
          R"({"ts":1,"model_version":"v1","score":0.2,"features":{"amount":150,"country":null}})",
          R"({"ts":1,"model_version":"v1","status":"timeout","score":0.7,"features":{"amount":-5}})",
          R"({"ts":1,"model_version":"v2","score":0.5,"features":{"amount":null,"country":"FR"}})",
          R"({"ts":1,"model_version":"v2","score":0.6,"features":{"amount":Infinity}})",
          R"({"ts":1,"model_version":"v2","score":0.3,"features":{"amount":100,"country":"DE"}})",
      }) {
    ASSERT_TRUE(parser.Parse(line)) << line;
    a.Observe(parser.record());
    exporter_engine.Observe(parser.record());
  }
  std::vector<prometheus::MetricFamily> families;
  a.Collect(families);
  auto m = Flatten(families);
  // v1: the ok records 0.9 and 0.2 (the timeout has no confidence); v2: 0.5, 0.6, 0.3.
  EXPECT_EQ(m["model_prediction_confidence_count{model=fraud,version=v1}"], 2);
  EXPECT_NEAR(m["model_prediction_confidence_sum{model=fraud,version=v1}"], 0.9 + 0.8, 1e-12);
  EXPECT_EQ(m["model_prediction_entropy_count{model=fraud,version=v1}"], 2);
  EXPECT_NEAR(m["model_prediction_entropy_sum{model=fraud,version=v1}"],
              Entropy(0.9) + Entropy(0.2), 1e-12);
  EXPECT_EQ(m["model_prediction_confidence_count{model=fraud,version=v2}"], 3);
  EXPECT_NEAR(m["model_prediction_confidence_sum{model=fraud,version=v2}"], 0.5 + 0.6 + 0.7, 1e-12);
  EXPECT_NEAR(m["model_prediction_entropy_sum{model=fraud,version=v2}"],
              std::log(2.0) + Entropy(0.6) + Entropy(0.3), 1e-12);
  // Positive: score >= 0.5 among the ok records.
  EXPECT_EQ(m["model_positive_predictions_total{model=fraud,version=v1}"], 1);
  EXPECT_EQ(m["model_positive_predictions_total{model=fraud,version=v2}"], 2);
  EXPECT_EQ(m["model_feature_missing_total{feature=amount,model=fraud}"], 1);
  EXPECT_EQ(m["model_feature_missing_total{feature=country,model=fraud}"], 3);
  // 150 and -5 (100 is the range's own end; +Inf is no model_feature_value either).
  EXPECT_EQ(m["model_feature_out_of_range_total{feature=amount,model=fraud}"], 2);
  EXPECT_EQ(m["model_anomalous_requests_total{model=fraud}"], 3);
  for (const auto& [k, v] : m) {
    EXPECT_EQ(k.find("model_feature_out_of_range_total{feature=country"), std::string::npos) << k;
  }

  std::vector<prometheus::MetricFamily> none;
  exporter_engine.Collect(none);
  for (const auto& f : none) {
    for (const char* name :
         {"model_prediction_confidence", "model_prediction_entropy",
          "model_positive_predictions_total", "model_feature_missing_total",
          "model_feature_out_of_range_total", "model_anomalous_requests_total"}) {
      EXPECT_NE(f.name, name);
    }
  }

  ServingAggregator b(model, DefaultLatencyBuckets());
  b.SetFeatureRange(0, 0, 100);
  ASSERT_TRUE(b.RestoreState(nlohmann::json::parse(a.SaveState().dump())));
  std::vector<prometheus::MetricFamily> restored;
  b.Collect(restored);
  EXPECT_EQ(Flatten(restored), m);
  // Another range (a new baseline): its out-of-range count starts empty, the rest is kept.
  ServingAggregator c(model, DefaultLatencyBuckets());
  c.SetFeatureRange(0, 0, 120);
  ASSERT_TRUE(c.RestoreState(a.SaveState()));
  std::vector<prometheus::MetricFamily> reset;
  c.Collect(reset);
  auto r = Flatten(reset);
  EXPECT_EQ(r["model_feature_out_of_range_total{feature=amount,model=fraud}"], 0);
  EXPECT_EQ(r["model_feature_missing_total{feature=amount,model=fraud}"], 1);
  EXPECT_EQ(r["model_anomalous_requests_total{model=fraud}"], 3);
  EXPECT_EQ(r["model_prediction_confidence_count{model=fraud,version=v2}"], 3);
}

TEST(LabelIndexTest, InternsUpToLimitThenOther) {
  LabelIndex idx(2);
  bool overflowed = false;
  EXPECT_EQ(idx.Intern("a", &overflowed), 0u);
  EXPECT_EQ(idx.Intern("b", &overflowed), 1u);
  EXPECT_FALSE(overflowed);
  EXPECT_EQ(idx.Intern("a", &overflowed), 0u);
  std::size_t other = idx.Intern("c", &overflowed);
  EXPECT_TRUE(overflowed);
  EXPECT_EQ(idx.Name(other), "__other__");
  overflowed = false;
  EXPECT_EQ(idx.Intern("d", &overflowed), other);
  EXPECT_TRUE(overflowed);
  EXPECT_EQ(idx.size(), 3u);
}

TEST(PlainHistogramTest, BucketIsTheFirstBoundAtOrAboveTheValue) {
  // The bucket std::lower_bound gives (le: a value on a bound counts in that bound's bucket),
  // for every number of bounds and values on, beside and between them.
  const double inf = std::numeric_limits<double>::infinity();
  for (std::size_t n = 0; n <= 40; ++n) {
    std::vector<double> bounds;
    for (std::size_t i = 0; i < n; ++i) bounds.push_back(i % 3 == 0 ? -5.0 + i : 0.5 * i - 3);
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    std::vector<double> values = {
        -inf, inf, std::numeric_limits<double>::quiet_NaN(), -1e300, 1e300, 0.0, -0.0, 0.25};
    for (double b : bounds) {
      values.push_back(b);
      values.push_back(std::nextafter(b, -inf));
      values.push_back(std::nextafter(b, inf));
      values.push_back(b + 0.3);
    }
    for (double v : values) {
      PlainHistogram h(bounds);
      h.Observe(v);
      const std::size_t want = static_cast<std::size_t>(
          std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
      for (std::size_t i = 0; i < h.counts.size(); ++i) {
        EXPECT_EQ(h.counts[i], i == want ? 1u : 0u) << "bounds " << n << " value " << v;
      }
    }
  }
}

}  // namespace
}  // namespace modelwatch
