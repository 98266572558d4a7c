#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "exporter/sample/recent_records.h"

namespace modelwatch {
namespace {

ModelConfig Model() {
  ModelConfig m;
  m.name = "fraud";
  for (const char* name : {"amount", "email", "country"}) {
    FeatureConfig f;
    f.name = name;
    f.type = f.name == "amount" ? FeatureType::kNumeric : FeatureType::kCategorical;
    f.pii = f.name == "email";
    m.features.push_back(f);
  }
  return m;
}

Record Make(double ts, double amount, const char* country) {
  Record r;
  r.timestamp = ts;
  r.version = "v1";
  r.request_id = "req-secret";
  r.entity_id = "entity-secret";
  r.has_score = true;
  r.score = 0.25;
  r.predicted_class = "0";
  r.features = {{FeatureValue::Kind::kNumber, amount, {}},
                {FeatureValue::Kind::kString, NAN, "alice@example.com"},
                {FeatureValue::Kind::kString, NAN, country}};
  return r;
}

nlohmann::json Parse(const RecentRecords& s) { return nlohmann::json::parse(s.ToJson()); }

TEST(RecentRecordsTest, KeepsTheNewestNewestFirst) {
  const ModelConfig m = Model();
  RecentRecords s(m, 3, 1);
  EXPECT_EQ(Parse(s)["records"].size(), 0u);
  for (int i = 1; i <= 2; ++i) s.Observe(Make(100 + i, i, "DE"));
  auto j = Parse(s);
  ASSERT_EQ(j["records"].size(), 2u);  // not yet full
  EXPECT_EQ(j["records"][0]["ts"], 102);
  EXPECT_EQ(j["records"][1]["ts"], 101);
  for (int i = 3; i <= 7; ++i) s.Observe(Make(100 + i, i, "DE"));
  j = Parse(s);
  EXPECT_EQ(j["model"], "fraud");
  ASSERT_EQ(j["records"].size(), 3u);
  EXPECT_EQ(j["records"][0]["ts"], 107);
  EXPECT_EQ(j["records"][1]["ts"], 106);
  EXPECT_EQ(j["records"][2]["ts"], 105);
  EXPECT_EQ(j["records"][0]["features"]["amount"], 7);
  EXPECT_EQ(j["records"][0]["score"], 0.25);
  EXPECT_EQ(j["records"][0]["version"], "v1");
  EXPECT_EQ(j["records"][0]["status"], "ok");
}

TEST(RecentRecordsTest, KeepsEveryNthRecord) {
  const ModelConfig m = Model();
  RecentRecords s(m, 10, 4);
  for (int i = 0; i < 10; ++i) s.Observe(Make(i, i, "FR"));
  const auto j = Parse(s);
  EXPECT_EQ(j["every"], 4);
  ASSERT_EQ(j["records"].size(), 3u);  // records 0, 4 and 8
  EXPECT_EQ(j["records"][0]["ts"], 8);
  EXPECT_EQ(j["records"][2]["ts"], 0);
}

TEST(RecentRecordsTest, NeverKeepsPiiOrIdentifiers) {
  const ModelConfig m = Model();
  RecentRecords s(m, 2, 1);
  s.Observe(Make(1, 5, "US"));
  const std::string text = s.ToJson();
  EXPECT_EQ(text.find("alice@example.com"), std::string::npos) << text;
  EXPECT_EQ(text.find("email"), std::string::npos) << text;
  EXPECT_EQ(text.find("req-secret"), std::string::npos) << text;
  EXPECT_EQ(text.find("entity-secret"), std::string::npos) << text;
  EXPECT_EQ(nlohmann::json::parse(text)["records"][0]["features"]["country"], "US");
}

TEST(RecentRecordsTest, OddValuesStayValidJson) {
  const ModelConfig m = Model();
  RecentRecords s(m, 2, 1);
  Record r = Make(1, INFINITY, "\xff\xfe bad utf-8 \"quoted\"\n");
  r.features[0].kind = FeatureValue::Kind::kNumber;
  r.ok = false;
  r.status = "timeout";
  r.has_score = false;
  s.Observe(r);
  Record missing = Make(2, 0, "DE");
  missing.features[0] = {};
  s.Observe(missing);
  const auto j = Parse(s);  // throws on invalid JSON
  EXPECT_TRUE(j["records"][0]["features"]["amount"].is_null());
  EXPECT_EQ(j["records"][1]["features"]["amount"], "+Inf");
  EXPECT_EQ(j["records"][1]["status"], "timeout");
  EXPECT_FALSE(j["records"][1].contains("score"));
}

}  // namespace
}  // namespace modelwatch
