#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "exporter/parse/record_parser.h"

namespace modelwatch {
namespace {

ModelConfig BinaryModel() {
  ModelConfig m;
  m.name = "fraud";
  m.task = Task::kBinaryClassification;
  m.features = {{"amount", FeatureType::kNumeric, false, false, {}},
                {"country", FeatureType::kCategorical, false, false, {}},
                {"email", FeatureType::kCategorical, true, false, {}}};
  return m;
}

ModelConfig MulticlassModel() {
  ModelConfig m;
  m.name = "intent";
  m.task = Task::kMulticlassClassification;
  m.classes = {"buy", "sell", "hold"};
  return m;
}

ModelConfig RegressionModel() {
  ModelConfig m;
  m.name = "eta";
  m.task = Task::kRegression;
  return m;
}

RejectReason ReasonOf(RecordParser& p, const std::string& line) {
  auto r = p.Parse(line);
  EXPECT_FALSE(r.has_value()) << line;
  return r ? RejectReason::kInvalidJson : r.error().reason;
}

TEST(RecordParserTest, ParsesFullDefaultRecord) {
  ModelConfig m = BinaryModel();
  RecordParser p({&m});
  auto r =
      p.Parse(R"({"ts":"2026-11-22T10:00:00.123Z","model":"fraud","model_version":"v3",)"
              R"("request_id":"7f1c","entity_id":"cust-991","latency_ms":12.5,"status":"ok",)"
              R"("score":0.83,"prediction":1,"features":{"amount":120.5,"country":"DE","age":33,)"
              R"("email":"a@b.c"},"segment":{"region":"eu","device":"ios","n":2}})");
  ASSERT_TRUE(r.has_value()) << RejectReasonName(r.error().reason);
  EXPECT_EQ(*r, 0u);
  const Record& rec = p.record();
  EXPECT_DOUBLE_EQ(rec.timestamp, 1795341600.123);
  EXPECT_EQ(rec.model, "fraud");
  EXPECT_EQ(rec.version, "v3");
  EXPECT_EQ(rec.request_id, "7f1c");
  EXPECT_EQ(rec.entity_id, "cust-991");
  EXPECT_TRUE(rec.has_latency);
  EXPECT_DOUBLE_EQ(rec.latency_seconds, 0.0125);
  EXPECT_TRUE(rec.ok);
  EXPECT_TRUE(rec.has_score);
  EXPECT_DOUBLE_EQ(rec.score, 0.83);
  EXPECT_EQ(rec.predicted_class, "1");
  ASSERT_EQ(rec.features.size(), 3u);
  EXPECT_EQ(rec.features[0].kind, FeatureValue::Kind::kNumber);
  EXPECT_DOUBLE_EQ(rec.features[0].number, 120.5);
  EXPECT_EQ(rec.features[1].kind, FeatureValue::Kind::kString);
  EXPECT_EQ(rec.features[1].text, "DE");
  // PII features are never read.
  EXPECT_EQ(rec.features[2].kind, FeatureValue::Kind::kMissing);
  ASSERT_EQ(rec.segment.size(), 3u);
  EXPECT_EQ(rec.segment[0].first, "region");
  EXPECT_EQ(rec.segment[0].second, "eu");
  EXPECT_EQ(rec.segment[2].second, "2");
}

TEST(RecordParserTest, BinaryClassFromThresholdWhenNoPrediction) {
  ModelConfig m = BinaryModel();
  m.threshold = 0.7;
  RecordParser p({&m});
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.7})"));
  EXPECT_EQ(p.record().predicted_class, "1");
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.69})"));
  EXPECT_EQ(p.record().predicted_class, "0");
}

TEST(RecordParserTest, MapsFieldNames) {
  ModelConfig m = BinaryModel();
  m.source.fields.timestamp = "time";
  m.source.fields.score = "p_fraud";
  m.source.fields.version = "mv";
  m.source.fields.features = "x";
  m.source.fields.status = "outcome";
  RecordParser p({&m});
  auto r = p.Parse(R"({"time":"2026-01-01T00:00:00Z","p_fraud":0.2,"mv":"v9","x":{"amount":3},)"
                   R"("score":"ignored","ts":"ignored","outcome":"ok"})");
  ASSERT_TRUE(r.has_value()) << RejectReasonName(r.error().reason);
  EXPECT_DOUBLE_EQ(p.record().timestamp, 1767225600);
  EXPECT_DOUBLE_EQ(p.record().score, 0.2);
  EXPECT_EQ(p.record().version, "v9");
  EXPECT_DOUBLE_EQ(p.record().features[0].number, 3);
  // The default names mean nothing once mapped.
  EXPECT_EQ(ReasonOf(p, R"({"ts":"2026-01-01T00:00:00Z","score":0.2})"),
            RejectReason::kMissingField);
}

TEST(RecordParserTest, MissingVersionIsUnknown) {
  ModelConfig m = BinaryModel();
  RecordParser p({&m});
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5})"));
  EXPECT_EQ(p.record().version, "unknown");
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"model_version":null})"));
  EXPECT_EQ(p.record().version, "unknown");
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"model_version":4})"));
  EXPECT_EQ(p.record().version, "4");
}

TEST(RecordParserTest, Timestamps) {
  EXPECT_DOUBLE_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_DOUBLE_EQ(*ParseRfc3339("2026-11-22T10:00:00.5Z"), 1795341600.5);
  EXPECT_DOUBLE_EQ(*ParseRfc3339("2026-11-22T12:00:00+02:00"), 1795341600);
  EXPECT_DOUBLE_EQ(*ParseRfc3339("2026-11-22T04:30:00-05:30"), 1795341600);
  EXPECT_DOUBLE_EQ(*ParseRfc3339("2026-11-22t10:00:00z"), 1795341600);
  EXPECT_DOUBLE_EQ(*ParseRfc3339("2024-02-29 00:00:00Z"), 1709164800);
  EXPECT_NEAR(*ParseRfc3339("2026-11-22T10:00:00.123456789Z"), 1795341600.123456789, 1e-6);
  EXPECT_FALSE(ParseRfc3339("2026-11-22T10:00:00"));   // no zone
  EXPECT_FALSE(ParseRfc3339("2026-02-29T10:00:00Z"));  // not a leap year
  EXPECT_FALSE(ParseRfc3339("2026-13-01T10:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-22T24:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-22T10:00:00.Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-22T10:00:00+0200"));
  EXPECT_FALSE(ParseRfc3339("2026-11-22T10:00:00Zjunk"));
  EXPECT_FALSE(ParseRfc3339(""));

  EXPECT_DOUBLE_EQ(*EpochToSeconds(1795341600), 1795341600);
  EXPECT_DOUBLE_EQ(*EpochToSeconds(1795341600123), 1795341600.123);
  EXPECT_DOUBLE_EQ(*EpochToSeconds(99999999999), 99999999999);  // just below 1e11: seconds
  EXPECT_DOUBLE_EQ(*EpochToSeconds(1e11), 1e8);                 // 1e11 and up: milliseconds
  EXPECT_FALSE(EpochToSeconds(-1));

  ModelConfig m = BinaryModel();
  RecordParser p({&m});
  ASSERT_TRUE(p.Parse(R"({"ts":1795341600123,"score":0.5})"));
  EXPECT_DOUBLE_EQ(p.record().timestamp, 1795341600.123);
  ASSERT_TRUE(p.Parse(R"({"ts":1795341600.25,"score":0.5})"));
  EXPECT_DOUBLE_EQ(p.record().timestamp, 1795341600.25);
  ASSERT_TRUE(p.Parse(R"({"ts":"1795341600","score":0.5})"));
  EXPECT_DOUBLE_EQ(p.record().timestamp, 1795341600);
  EXPECT_EQ(ReasonOf(p, R"({"ts":"yesterday","score":0.5})"), RejectReason::kBadTimestamp);
  EXPECT_EQ(ReasonOf(p, R"({"ts":-5,"score":0.5})"), RejectReason::kBadTimestamp);
  // Found by parse_fuzz: an RFC 3339 date before 1970 gave a negative timestamp.
  EXPECT_EQ(ReasonOf(p, R"({"ts":"1013-11-22T10:00:00.123Z","score":0.5})"),
            RejectReason::kBadTimestamp);
  EXPECT_EQ(ReasonOf(p, R"({"ts":true,"score":0.5})"), RejectReason::kBadType);
  EXPECT_EQ(ReasonOf(p, R"({"ts":null,"score":0.5})"), RejectReason::kMissingField);
  EXPECT_EQ(ReasonOf(p, R"({"score":0.5})"), RejectReason::kMissingField);
}

TEST(RecordParserTest, EveryRejectReason) {
  ModelConfig m = BinaryModel();
  m.source.max_line_bytes = 200;
  RecordParser p({&m});
  EXPECT_EQ(ReasonOf(p, "garbage"), RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, ""), RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, "[1,2]"), RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5)"), RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5} {"ts":2})"), RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5,"x":tru})"), RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, "{\"ts\":1,\"score\":0.5,\"x\":\"\xff\"}"), RejectReason::kInvalidJson);
  // Broken tokens in fields nobody maps still make the line invalid.
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5,"x":[1,{"y":nul}]})"), RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5,"features":{"zz":-}})"), RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5,"features":{"email":fals}})"),
            RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5,"segment":{"a":[1,]}})"),
            RejectReason::kInvalidJson);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1})"), RejectReason::kMissingField);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":null})"), RejectReason::kMissingField);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":"0.5"})"), RejectReason::kBadType);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5,"features":[1]})"), RejectReason::kBadType);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5,"latency_ms":"fast"})"), RejectReason::kBadType);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":1.5})"), RejectReason::kBadValue);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5,"latency_ms":-1})"), RejectReason::kBadValue);
  EXPECT_EQ(ReasonOf(p, R"({"ts":"x","score":0.5})"), RejectReason::kBadTimestamp);
  EXPECT_EQ(ReasonOf(p, std::string(201, ' ')), RejectReason::kTooLong);
  auto r = p.Parse(R"({"ts":1,"score":"high"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "score");

  ModelConfig other = BinaryModel();
  other.name = "other";
  RecordParser shared({&m, &other});
  EXPECT_EQ(ReasonOf(shared, R"({"model":"nobody","ts":1,"score":0.5})"),
            RejectReason::kUnknownModel);
  EXPECT_EQ(ReasonOf(shared, R"({"ts":1,"score":0.5})"), RejectReason::kMissingField);
  EXPECT_EQ(ReasonOf(shared, R"({"model":3,"ts":1,"score":0.5})"), RejectReason::kBadType);
}

TEST(RecordParserTest, SharedSourceRoutesByModelField) {
  ModelConfig a = BinaryModel();
  ModelConfig b = RegressionModel();
  b.source.fields.prediction = "eta";
  RecordParser p({&a, &b});
  auto r = p.Parse(R"({"ts":1,"eta":12.5,"model":"eta"})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 1u);
  EXPECT_DOUBLE_EQ(p.record().prediction, 12.5);
  EXPECT_EQ(p.record().model, "eta");
  r = p.Parse(R"({"model":"fraud","ts":1,"score":0.1})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 0u);
  // Each model's own required fields apply.
  EXPECT_EQ(ReasonOf(p, R"({"model":"eta","ts":1,"score":0.1})"), RejectReason::kMissingField);
}

TEST(RecordParserTest, NumbersBeyondDoubleRangeAreInfinities) {
  ModelConfig m = BinaryModel();
  RecordParser p({&m});
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"amount":1e400}})"));
  EXPECT_EQ(p.record().features[0].kind, FeatureValue::Kind::kNumber);
  EXPECT_TRUE(std::isinf(p.record().features[0].number));
  EXPECT_GT(p.record().features[0].number, 0);
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"amount":-2.5E+999},"e123":"1e400"})"));
  EXPECT_TRUE(std::isinf(p.record().features[0].number));
  EXPECT_LT(p.record().features[0].number, 0);
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"amount":1e-400}})"));
  EXPECT_EQ(p.record().features[0].number, 0);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":1e400})"), RejectReason::kBadValue);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1e400,"score":0.5})"), RejectReason::kBadTimestamp);
}

TEST(RecordParserTest, AcceptsBareNanAndInfinityTokens) {
  ModelConfig m = BinaryModel();
  RecordParser p({&m});
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"amount":NaN,"country":"NaN"}})"));
  EXPECT_EQ(p.record().features[0].kind, FeatureValue::Kind::kMissing);
  // Inside a string the token is data.
  EXPECT_EQ(p.record().features[1].kind, FeatureValue::Kind::kString);
  EXPECT_EQ(p.record().features[1].text, "NaN");

  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"amount":Infinity}})"));
  EXPECT_EQ(p.record().features[0].kind, FeatureValue::Kind::kNumber);
  EXPECT_TRUE(std::isinf(p.record().features[0].number));
  EXPECT_GT(p.record().features[0].number, 0);

  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"amount":-Infinity},"x":"Infinity"})"));
  EXPECT_TRUE(std::isinf(p.record().features[0].number));
  EXPECT_LT(p.record().features[0].number, 0);

  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"amount":null,"country":null}})"));
  EXPECT_EQ(p.record().features[0].kind, FeatureValue::Kind::kMissing);
  EXPECT_EQ(p.record().features[1].kind, FeatureValue::Kind::kMissing);

  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":NaN})"), RejectReason::kBadValue);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"score":0.5,"x":NaNa})"), RejectReason::kInvalidJson);
  // A string that looks like a sentinel is still just a string when nothing was rewritten.
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"country":"\u0000NaN"}})"));
  EXPECT_EQ(p.record().features[1].kind, FeatureValue::Kind::kString);
}

TEST(RecordParserTest, FeatureTypes) {
  ModelConfig m = BinaryModel();
  RecordParser p({&m});
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"amount":"12.5","country":44}})"));
  EXPECT_EQ(p.record().features[0].kind, FeatureValue::Kind::kNumber);
  EXPECT_DOUBLE_EQ(p.record().features[0].number, 12.5);
  EXPECT_EQ(p.record().features[1].text, "44");
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"amount":{"a":1},"country":true}})"));
  EXPECT_EQ(p.record().features[0].kind, FeatureValue::Kind::kMissing);
  EXPECT_EQ(p.record().features[1].text, "true");
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.5,"features":{"country":2.0}})"));
  EXPECT_EQ(p.record().features[1].text, "2");
  EXPECT_EQ(p.record().features[0].kind, FeatureValue::Kind::kMissing);
}

TEST(RecordParserTest, FeatureKeysOfEveryLengthMatchExactly) {
  // Feature names of 1..20 bytes; keys are read and compared a word at a time, so every
  // length and every position of a difference or of an escape is tried.
  constexpr std::size_t kLongest = 20;
  ModelConfig m;
  m.name = "lengths";
  m.task = Task::kBinaryClassification;
  for (std::size_t n = 1; n <= kLongest; ++n) {
    std::string name;
    for (std::size_t i = 0; i < n; ++i) name += static_cast<char>('a' + (n + i) % 26);
    m.features.push_back({name, FeatureType::kNumeric, false, false, {}});
  }
  RecordParser p({&m});
  const auto line = [&](const auto& key_of) {
    std::string l = R"({"ts":1,"score":0.5,"features":{)";
    for (std::size_t k = 0; k < m.features.size(); ++k) {
      l += (k == 0 ? "\"" : ",\"") + key_of(k) + "\":" + std::to_string(k) + ".5";
    }
    return l + "}}";
  };
  const auto expect_values = [&](const std::string& l, std::size_t changed_at) {
    ASSERT_TRUE(p.Parse(l)) << l;
    for (std::size_t k = 0; k < m.features.size(); ++k) {
      const FeatureValue& v = p.record().features[k];
      if (changed_at < m.features[k].name.size()) {
        EXPECT_EQ(v.kind, FeatureValue::Kind::kMissing) << l << " feature " << k;
      } else {
        ASSERT_EQ(v.kind, FeatureValue::Kind::kNumber) << l << " feature " << k;
        EXPECT_EQ(v.number, static_cast<double>(k) + 0.5) << l;
      }
    }
  };
  const auto plain = [&](std::size_t k) { return m.features[k].name; };
  for (std::size_t at = 0; at < kLongest; ++at) {
    // The names in order (which the next record's keys are compared with first), then the
    // same places with one byte changed: no key may match its look-alike.
    expect_values(line(plain), kLongest);
    expect_values(line([&](std::size_t k) {
                    std::string key = m.features[k].name;
                    if (at < key.size()) key[at] = key[at] == 'z' ? 'y' : 'z';
                    return key;
                  }),
                  at);
    // The byte at `at` escaped (\u00XX) still reads as the name, and an escaped quote
    // (\") inside a key ends neither the key nor the match.
    expect_values(line([&](std::size_t k) {
                    std::string key = m.features[k].name;
                    if (at >= key.size()) return key;
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\u%04x", static_cast<unsigned>(key[at]));
                    return key.substr(0, at) + hex + key.substr(at + 1);
                  }),
                  kLongest);
    expect_values(line([&](std::size_t k) {
                    std::string key = m.features[k].name;
                    if (at < key.size()) key.insert(at, "\\\"");
                    return key;
                  }),
                  at);
  }
}

TEST(RecordParserTest, IntegerClassLabelsPrintWithoutDecimals) {
  ModelConfig m = BinaryModel();
  RecordParser p({&m});
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.2,"prediction":1.0})"));
  EXPECT_EQ(p.record().predicted_class, "1");
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.2,"prediction":"fraud"})"));
  EXPECT_EQ(p.record().predicted_class, "fraud");
  ASSERT_TRUE(p.Parse(R"({"ts":1,"score":0.2,"prediction":true})"));
  EXPECT_EQ(p.record().predicted_class, "1");
  std::array<char, 32> buf;
  EXPECT_EQ(FormatNumber(3.0, buf), "3");
  EXPECT_EQ(FormatNumber(-2.0, buf), "-2");
  EXPECT_EQ(FormatNumber(0.25, buf), "0.25");
  EXPECT_EQ(FormatNumber(1e20, buf), "1e+20");
}

TEST(RecordParserTest, MulticlassProbabilitiesAsObjectOrArray) {
  ModelConfig m = MulticlassModel();
  RecordParser p({&m});
  ASSERT_TRUE(p.Parse(R"({"ts":1,"probabilities":{"sell":0.7,"buy":0.2,"hold":0.1}})"));
  EXPECT_EQ(p.record().predicted_class, "sell");
  ASSERT_EQ(p.record().probabilities.size(), 3u);
  EXPECT_DOUBLE_EQ(p.record().probabilities[0], 0.2);  // config order: buy sell hold
  EXPECT_DOUBLE_EQ(p.record().probabilities[1], 0.7);
  ASSERT_TRUE(p.Parse(R"({"ts":1,"probabilities":[0.1,0.2,0.7]})"));
  EXPECT_EQ(p.record().predicted_class, "hold");
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"probabilities":[0.5,0.5]})"), RejectReason::kBadValue);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"probabilities":["a"]})"), RejectReason::kBadType);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"probabilities":{"x":1}})"), RejectReason::kBadValue);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"probabilities":0.5})"), RejectReason::kBadType);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1})"), RejectReason::kMissingField);

  ModelConfig unnamed = MulticlassModel();
  unnamed.classes.clear();
  RecordParser q({&unnamed});
  ASSERT_TRUE(q.Parse(R"({"ts":1,"probabilities":[0.1,0.6,0.3]})"));
  EXPECT_EQ(q.record().predicted_class, "1");
  ASSERT_TRUE(q.Parse(R"({"ts":1,"probabilities":{"cat":0.3,"dog":0.7}})"));
  EXPECT_EQ(q.record().predicted_class, "dog");
}

TEST(RecordParserTest, ErrorStatusNeedsNoOutput) {
  ModelConfig m = RegressionModel();
  RecordParser p({&m});
  ASSERT_TRUE(p.Parse(R"({"ts":1,"status":"timeout"})"));
  EXPECT_FALSE(p.record().ok);
  EXPECT_EQ(p.record().status, "timeout");
  ASSERT_TRUE(p.Parse(R"({"ts":1,"status":503})"));
  EXPECT_EQ(p.record().status, "503");
  ASSERT_TRUE(p.Parse(R"({"ts":1,"status":"OK","prediction":3})"));
  EXPECT_TRUE(p.record().ok);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"status":"ok"})"), RejectReason::kMissingField);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"prediction":"3"})"), RejectReason::kBadType);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"prediction":Infinity})"), RejectReason::kBadValue);
  EXPECT_EQ(ReasonOf(p, R"({"ts":1,"status":false,"prediction":3})"), RejectReason::kBadType);
}

TEST(RecordParserTest, ToleratesCrlfAndWhitespace) {
  ModelConfig m = BinaryModel();
  RecordParser p({&m});
  EXPECT_TRUE(p.Parse("  {\"ts\":1, \"score\":0.5}  \r"));
}

// The parser must survive any byte sequence: random mutations of a valid record.
TEST(RecordParserTest, SurvivesRandomMutations) {
  ModelConfig m = BinaryModel();
  ModelConfig mc = MulticlassModel();
  RecordParser p({&m});
  RecordParser q({&m, &mc});
  const std::string base =
      R"({"ts":"2026-11-22T10:00:00Z","model":"fraud","score":0.5,"features":)"
      R"({"amount":NaN,"country":"DE"},"probabilities":[0.1,0.9],"segment":{"a":"b"}})";
  std::mt19937 rng(42);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      std::size_t pos = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (pos < s.size()) s[pos] = static_cast<char>(rng() % 256);
          break;
        case 1:
          s.insert(pos, 1, static_cast<char>(rng() % 256));
          break;
        default:
          if (pos < s.size()) s.erase(pos, 1);
      }
    }
    if (p.Parse(s)) ++accepted;
    q.Parse(s);
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace modelwatch
