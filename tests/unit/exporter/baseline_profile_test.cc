#include "exporter/baseline/baseline_profile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "exporter/baseline/baseline_builder.h"

namespace modelwatch {
namespace {

ModelConfig TestModel() {
  ModelConfig m;
  m.name = "fraud";
  m.file = "models/fraud.yaml";
  m.task = Task::kBinaryClassification;
  m.features = {{"amount", FeatureType::kNumeric, false, false, {}},
                {"country", FeatureType::kCategorical, false, false, {}},
                {"email", FeatureType::kCategorical, true, false, {}}};
  m.drift.bins = 4;
  m.drift.top_categories = 2;
  return m;
}

// Builds records in the shape the parser produces (views into `strings`).
BaselineProfile BuildProfile(const ModelConfig& m) {
  BaselineBuilder b(m, 20);
  const char* countries[] = {"DE", "DE", "FR", "US", "DE", "FR", "IT"};
  for (int i = 0; i < 70; ++i) {
    Record r;
    r.timestamp = 1e9 + i * 3600.0;  // spans three days
    r.version = "v1";
    r.has_score = true;
    r.score = (i % 10) / 10.0;
    r.predicted_class = r.score >= 0.5 ? "1" : "0";
    r.features.resize(3);
    if (i % 7 != 3) {
      r.features[0].kind = FeatureValue::Kind::kNumber;
      r.features[0].number = i;
    }
    r.features[1].kind = FeatureValue::Kind::kString;
    r.features[1].text = countries[i % 7];
    r.features[2].kind = FeatureValue::Kind::kString;
    r.features[2].text = "someone@example.com";
    b.Add(r);
  }
  auto p = b.Finish();
  EXPECT_TRUE(p.has_value());
  return *p;
}

TEST(BaselineProfileTest, BuildsNumericCategoricalAndPredictionSummaries) {
  const ModelConfig m = TestModel();
  const BaselineProfile p = BuildProfile(m);
  EXPECT_EQ(p.records, 70);
  ASSERT_EQ(p.features.size(), 2u);  // PII left out
  EXPECT_EQ(p.FindFeature("email"), nullptr);
  ASSERT_NE(p.FindFeature("amount"), nullptr);
  const FeatureProfile& amount = *p.FindFeature("amount");
  EXPECT_NEAR(amount.missing_rate, 10.0 / 70, 1e-12);
  EXPECT_EQ(amount.numeric.count, 60);
  EXPECT_EQ(amount.numeric.min, 0);
  EXPECT_EQ(amount.numeric.max, 69);
  EXPECT_EQ(amount.numeric.edges.size(), 3u);
  EXPECT_EQ(amount.numeric.proportions.size(), 4u);
  ASSERT_NE(p.FindFeature("country"), nullptr);
  const CategoricalSummary& country = p.FindFeature("country")->categorical;
  EXPECT_EQ(country.categories, (std::vector<std::string>{"DE", "FR"}));
  EXPECT_EQ(country.counts, (std::vector<std::int64_t>{30, 20, 20}));
  EXPECT_NEAR(p.prediction.positive_rate, 0.5, 1e-12);
  EXPECT_FALSE(std::isnan(p.prediction.positive_rate_daily_std));
  EXPECT_EQ(p.days, 3);
  EXPECT_EQ(p.id.size(), 16u);
}

TEST(BaselineProfileTest, JsonRoundTripKeepsIdAndContent) {
  const ModelConfig m = TestModel();
  const BaselineProfile p = BuildProfile(m);
  const nlohmann::json doc = BaselineToJson(p);
  EXPECT_EQ(doc["id"], p.id);
  auto parsed = ParseBaselineProfile(nlohmann::json::parse(doc.dump(1)), "b.json");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  EXPECT_EQ(parsed->id, p.id);
  EXPECT_EQ(BaselineToJson(*parsed).dump(), doc.dump());
  EXPECT_TRUE(CheckBaselineMatchesModel(*parsed, m).has_value());
}

TEST(BaselineProfileTest, PerformanceRoundTripsAndIsOptional) {
  const ModelConfig m = TestModel();
  BaselineProfile p = BuildProfile(m);
  const std::string id_without = BaselineToJson(p)["id"];
  EXPECT_FALSE(BaselineToJson(p).contains("performance"));
  p.performance = ReferencePerformance{1234, {{"auc", 0.91}, {"f1", 0.5}}};
  const nlohmann::json doc = BaselineToJson(p);
  EXPECT_NE(doc["id"], id_without);
  auto parsed = ParseBaselineProfile(doc, "b.json");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  ASSERT_TRUE(parsed->performance);
  EXPECT_EQ(parsed->performance->labelled, 1234);
  EXPECT_DOUBLE_EQ(parsed->performance->metrics.at("auc"), 0.91);
  nlohmann::json edited = doc;
  edited["performance"]["metrics"]["auc"] = 0.99;
  EXPECT_FALSE(ParseBaselineProfile(edited, "b.json").has_value());
  edited["id"] = BaselineContentId(edited);
  edited["performance"]["metrics"]["auc"] = "high";
  edited["id"] = BaselineContentId(edited);
  auto bad = ParseBaselineProfile(edited, "b.json");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("performance.metrics.auc"), std::string::npos)
      << bad.error().message;
}

TEST(BaselineProfileTest, RejectsEditedContentAndBadVersion) {
  const ModelConfig m = TestModel();
  nlohmann::json doc = BaselineToJson(BuildProfile(m));
  nlohmann::json edited = doc;
  edited["features"][0]["missing_rate"] = 0.5;
  auto r = ParseBaselineProfile(edited, "b.json");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("content hash"), std::string::npos) << r.error().message;

  nlohmann::json v2 = doc;
  v2["version"] = 2;
  v2["id"] = BaselineContentId(v2);
  r = ParseBaselineProfile(v2, "b.json");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("format version 2"), std::string::npos);
  EXPECT_EQ(r.error().ToString().rfind("b.json", 0), 0u);

  nlohmann::json shape = doc;
  shape["features"][0]["numeric"]["counts"].push_back(1);
  shape["id"] = BaselineContentId(shape);
  EXPECT_FALSE(ParseBaselineProfile(shape, "b.json").has_value());
  EXPECT_FALSE(ParseBaselineProfile(nlohmann::json::array(), "b.json").has_value());
}

TEST(BaselineProfileTest, MismatchedModelIsExplained) {
  const ModelConfig m = TestModel();
  const BaselineProfile p = BuildProfile(m);
  ModelConfig other = m;
  other.name = "churn";
  auto r = CheckBaselineMatchesModel(p, other);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("built for model \"fraud\""), std::string::npos);

  ModelConfig more = m;
  more.features.push_back({"age", FeatureType::kNumeric, false, false, {}});
  r = CheckBaselineMatchesModel(p, more);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("no feature \"age\""), std::string::npos);

  ModelConfig retyped = m;
  retyped.features[1].type = FeatureType::kNumeric;
  EXPECT_FALSE(CheckBaselineMatchesModel(p, retyped).has_value());
}

TEST(BaselineProfileTest, WritesAtomicallyAndLoads) {
  const ModelConfig m = TestModel();
  const BaselineProfile p = BuildProfile(m);
  const std::string dir = ::testing::TempDir() + "baseline_profile_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/fraud.json";
  auto id = WriteBaselineProfile(p, path);
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  EXPECT_EQ(*id, p.id);
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename(), "fraud.json");  // no temporary left behind
  }
  auto loaded = LoadBaselineProfile(path, m);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  EXPECT_EQ(loaded->id, p.id);
  auto missing = LoadBaselineProfile(dir + "/nope.json", m);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().ToString().find("nope.json"), std::string::npos);
  EXPECT_FALSE(WriteBaselineProfile(p, dir + "/no/such/dir/x.json").has_value());
  std::filesystem::remove_all(dir);
}

TEST(BaselineProfileTest, SameInputGivesSameId) {
  const ModelConfig m = TestModel();
  EXPECT_EQ(BuildProfile(m).id, BuildProfile(m).id);
}

}  // namespace
}  // namespace modelwatch
