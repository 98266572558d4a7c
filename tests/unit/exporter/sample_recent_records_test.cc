#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// The rendering RecentRecords used when it rendered each kept record at once (before it kept
// the fields and rendered on request): the served document must stay byte-identical to it.
nlohmann::json OldNumber(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
}

std::string OldRender(const ModelConfig& m, const Record& r) {
  std::vector<std::string> names;
  for (const FeatureConfig& f : m.features) names.push_back(f.pii ? "" : f.name);
  nlohmann::json out = nlohmann::json::object();
  out["ts"] = r.timestamp;
  out["version"] = std::string(r.version);
  out["status"] = r.ok ? std::string("ok") : std::string(r.status);
  if (r.has_latency) out["latency_seconds"] = OldNumber(r.latency_seconds);
  if (r.has_score) out["score"] = OldNumber(r.score);
  if (!r.probabilities.empty()) {
    nlohmann::json p = nlohmann::json::object();
    for (std::size_t i = 0; i < r.probabilities.size(); ++i) {
      const std::string name = i < m.classes.size() ? m.classes[i] : std::to_string(i);
      p[name] = OldNumber(r.probabilities[i]);
    }
    out["probabilities"] = std::move(p);
  }
  if (r.has_prediction) out["prediction"] = OldNumber(r.prediction);
  if (!r.predicted_class.empty()) out["predicted_class"] = std::string(r.predicted_class);
  nlohmann::json features = nlohmann::json::object();
  for (std::size_t i = 0; i < names.size() && i < r.features.size(); ++i) {
    const std::string& name = names[i];
    if (name.empty()) continue;
    const FeatureValue& v = r.features[i];
    switch (v.kind) {
      case FeatureValue::Kind::kMissing:
        features[name] = nullptr;
        break;
      case FeatureValue::Kind::kNumber:
        features[name] = OldNumber(v.number);
        break;
      case FeatureValue::Kind::kString:
        features[name] = std::string(v.text);
        break;
    }
  }
  out["features"] = std::move(features);
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string OldToJson(const ModelConfig& m, std::uint64_t every,
                      const std::vector<std::string>& newest_first) {
  std::string out =
      "{\"model\":" +
      nlohmann::json(m.name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      ",\"every\":" + std::to_string(every) + ",\"records\":[";
  for (std::size_t k = 0; k < newest_first.size(); ++k) {
    if (k > 0) out += ',';
    out += newest_first[k];
  }
  out += "]}\n";
  return out;
}

TEST(RecentRecordsTest, RendersByteIdenticalToTheRenderingAtObserveTime) {
  ModelConfig m;
  m.name = "fr\"aud\xc3\xa9\xff";
  m.classes = {"cat", "dog\n", "\xe2\x82\xac", "0"};
  const char* feature_names[] = {
      "zeta", "amount", "email", "Country", "b\\s", "\xf0\x9f\x98\x80", "ctrl\x01", "10", "9"};
  for (const char* name : feature_names) {
    FeatureConfig f;
    f.name = name;
    f.type = f.name == "Country" || f.name == "email" ? FeatureType::kCategorical
                                                      : FeatureType::kNumeric;
    f.pii = f.name == "email";
    m.features.push_back(f);
  }
  const double inf = std::numeric_limits<double>::infinity();
  const double numbers[] = {0.0,
                            -0.0,
                            1.0,
                            0.1,
                            1.0 / 3,
                            -2.5e-7,
                            1e-5,
                            1e-4,
                            123456789.125,
                            1e15,
                            1e16,
                            9007199254740993.0,
                            1.7976931348623157e308,
                            5e-324,
                            2.2250738585072014e-308,
                            1795341600.123,
                            std::numeric_limits<double>::quiet_NaN(),
                            inf,
                            -inf};
  const char* texts[] = {"plain",
                         "",
                         "quote\" back\\ slash / solidus",
                         "\b\f\n\r\t\x01\x1f\x7f",
                         "nul (replaced by storage[0], which holds a NUL byte)",
                         "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 unicode",
                         "\xff\xfe bad \xc3 utf-8 \xe2\x82",
                         "\xed\xa0\x80 surrogate \xf4\x90\x80\x80 too big \xc0\xaf overlong",
                         "<script>&amp;</script>\u2028"};
  const std::size_t nn = sizeof(numbers) / sizeof(numbers[0]);
  const std::size_t nt = sizeof(texts) / sizeof(texts[0]);
  // The strings a record's views point at live here, as in the parser's buffers.
  std::vector<std::string> storage;
  storage.push_back(std::string("nul\0byte", 8));
  std::vector<Record> records;
  for (std::size_t i = 0; i < 40; ++i) {
    Record r;
    r.timestamp = numbers[i % nn];
    r.version = texts[(i + 1) % nt];
    if (i % nt == 4) r.version = storage[0];
    r.request_id = "req-secret";
    r.entity_id = "entity-secret";
    r.ok = i % 3 != 0;
    r.status = r.ok ? std::string_view() : std::string_view(texts[i % nt]);
    r.has_latency = i % 2 == 0;
    r.latency_seconds = numbers[(i + 2) % nn];
    r.has_score = i % 4 != 1;
    r.score = numbers[(i + 3) % nn];
    if (i % 5 == 0) {
      for (std::size_t k = 0; k < 2 + i % 5; ++k) r.probabilities.push_back(numbers[(i + k) % nn]);
    }
    r.has_prediction = i % 6 == 0;
    r.prediction = numbers[(i + 5) % nn];
    if (i % 7 != 0) r.predicted_class = texts[(i + 6) % nt];
    const std::size_t features = i % 9 == 8 ? 4 : m.features.size() + (i % 2);
    for (std::size_t k = 0; k < features; ++k) {
      FeatureValue v;
      switch ((i + k) % 3) {
        case 0:
          break;
        case 1:
          v.kind = FeatureValue::Kind::kNumber;
          v.number = numbers[(i * 7 + k) % nn];
          break;
        default:
          v.kind = FeatureValue::Kind::kString;
          v.text = (i + k) % nt == 4 ? std::string_view(storage[0]) : texts[(i + k) % nt];
      }
      if (m.features.size() > k && m.features[k].pii) {
        v.kind = FeatureValue::Kind::kString;
        v.text = "alice@example.com";
      }
      r.features.push_back(v);
    }
    records.push_back(r);
  }
  for (std::uint64_t every : {1u, 3u}) {
    for (std::size_t capacity : {1u, 4u, 50u}) {
      RecentRecords s(m, capacity, every);
      std::vector<std::string> rendered;  // oldest first
      EXPECT_EQ(s.ToJson(), OldToJson(m, every, {}));
      for (std::size_t i = 0; i < records.size(); ++i) {
        s.Observe(records[i]);
        if (i % every == 0) rendered.push_back(OldRender(m, records[i]));
        std::vector<std::string> newest_first;
        for (std::size_t k = 0; k < rendered.size() && k < capacity; ++k) {
          newest_first.push_back(rendered[rendered.size() - 1 - k]);
        }
        ASSERT_EQ(s.ToJson(), OldToJson(m, every, newest_first))
            << "every " << every << " capacity " << capacity << " record " << i;
      }
      const std::string text = s.ToJson();
      EXPECT_EQ(text.find("alice@example.com"), std::string::npos);
      EXPECT_EQ(text.find("secret"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace modelwatch
