// The plain-line path (exporter/parse/plain_json.h, RecordParser::ParsePlain) against
// simdjson's path: for every line, a parser with the plain path and one without it must give
// the same outcome — the same rejection, or the same model and the same record, bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "exporter/parse/record_parser.h"
#include "tests/unit/exporter/parse_outcome.h"

namespace modelwatch {
namespace {

using testing::ParseOutcome;

ModelConfig Model(const char* name, Task task) {
  ModelConfig m;
  m.name = name;
  m.task = task;
  m.features = {{"amount", FeatureType::kNumeric, false, false, {}},
                {"country", FeatureType::kCategorical, false, false, {}},
                {"email", FeatureType::kCategorical, true, false, {}},
                {"age", FeatureType::kNumeric, false, true, {}}};
  if (task == Task::kMulticlassClassification) m.classes = {"buy", "sell", "hold"};
  return m;
}

// Parser pairs over the same models: [0] with the plain path, [1] without.
struct Pair {
  explicit Pair(std::vector<const ModelConfig*> m) : models(std::move(m)) {}
  std::vector<const ModelConfig*> models;
  RecordParser plain{models, true};
  RecordParser simdjson{models, false};
};

class PlainLinesTest : public ::testing::Test {
 protected:
  ModelConfig binary = Model("fraud", Task::kBinaryClassification);
  ModelConfig multi = Model("intent", Task::kMulticlassClassification);
  ModelConfig regression = Model("eta", Task::kRegression);
  ModelConfig renamed = [] {
    ModelConfig m = Model("fraud", Task::kBinaryClassification);
    m.source.fields.timestamp = "time";
    m.source.fields.score = "p";
    m.source.fields.features = "x";
    return m;
  }();
  std::vector<std::unique_ptr<Pair>> pairs;

  void SetUp() override {
    for (std::vector<const ModelConfig*> models : {std::vector<const ModelConfig*>{&binary},
                                                   {&regression},
                                                   {&multi},
                                                   {&renamed},
                                                   {&binary, &multi, &regression}}) {
      pairs.push_back(std::make_unique<Pair>(models));
    }
  }

  // Every pair gives the same outcome both ways; returns how many of them read `line` on the
  // plain path.
  int ExpectSame(const std::string& line) {
    int plain = 0;
    for (auto& p : pairs) {
      const std::uint64_t before = p->plain.plain_lines();
      EXPECT_EQ(ParseOutcome(p->plain, line), ParseOutcome(p->simdjson, line))
          << "line: " << line << " models: " << p->models.size();
      plain += p->plain.plain_lines() > before ? 1 : 0;
    }
    return plain;
  }
};

TEST_F(PlainLinesTest, TypicalLineIsReadOnThePlainPathTheSameWay) {
  const std::string line =
      R"({"ts":1795341600.123,"model":"fraud","model_version":"v1","request_id":"r1",)"
      R"("latency_ms":11.47,"status":"ok","score":0.0661,"features":{"amount":12.5,)"
      R"("country":"DE","email":"a@b.c","age":33},"segment":{"region":"eu"}})";
  // Single binary model, renamed fields (not plain-path-relevant: still the same), shared.
  EXPECT_GE(ExpectSame(line), 2);
  RecordParser parser({&binary});
  ASSERT_TRUE(parser.Parse(line));
  EXPECT_EQ(parser.plain_lines(), 1u);
  EXPECT_DOUBLE_EQ(parser.record().features[0].number, 12.5);
  EXPECT_EQ(parser.record().features[1].text, "DE");
  EXPECT_EQ(parser.record().features[2].kind, FeatureValue::Kind::kMissing);  // PII
}

TEST_F(PlainLinesTest, EdgeCasesReadTheSameEitherWay) {
  const std::vector<std::string> values = {
      // numbers
      "0", "-0", "-0.0", "1", "-1", "0.5", "1e5", "1E5", "1e+5", "1e-5", "1.5e300", "1e308",
      "1.7976931348623157e308", "1e309", "-1e309", "1e400", "4.9e-324", "1e-320", "1e-400", "0e999",
      "123456789012345678901234567890", "0.1", "0.30000000000000004", "9007199254740993",
      "1234567890123456", "12345678901234567", "1e22", "1e23", "3.0e-22", "1.0e-23", "8.589973e9",
      "1795341600123", "01", "1.", ".5", "-", "+1", "1e", "1e+", "--1", "1.2.3", "0x10", "Infinity",
      "-Infinity", "NaN",
      // strings
      R"("")", R"("ok")", R"("OK")", R"("fail")", R"("DE")", R"("12.5")", R"("nan")", R"("NaN")",
      R"(" 1")", R"("1e400")", R"("a\"b")", R"("a\\b")", R"("\u00e9")", "\"caf\xc3\xa9\"",
      "\"tab\there\"", R"("2026-11-22T10:00:00.123Z")", R"("2026-11-22T10:00:00+02:00")",
      R"("1013-11-22T10:00:00Z")", R"("-5")", R"("1795341600")", R"("yesterday")",
      // literals and containers
      "true", "false", "null", "tru", "nul", "fals", "truex", "{}", "[]", "[1,2]",
      R"({"a":[1,{"b":null}]})", "[1,]", "{,}", R"({"a":1,})", "[[[[[[[[[[1]]]]]]]]]]",
      R"([0.7,0.2,0.1])", R"([0.2,0.7,0.1])", R"([0.4,0.4,0.2])", R"([0.5,0.5])",
      R"([0.2,1.5,0.1])", R"([0.2,null,0.1])", R"([ 0.1 , 0.9 , 0 ])",
      R"({"buy":0.1,"sell":0.8,"hold":0.1})",
      R"({"amount":"7","country":5,"email":"x","age":true,"other":[1]})",
      R"({"amount":null,"country":null,"age":{"x":1}})", R"({"amount":"","country":""})",
      R"({"amount":"nan","country":"nan"})", R"({"amount":"NaN","country":1.5})",
      R"({"region":"eu","tier":2,"ok":true,"none":null,"deep":{"x":1}})"};
  const std::vector<std::string> keys = {
      "ts",       "time", "model",      "model_version", "request_id", "entity_id",
      "score",    "p",    "prediction", "probabilities", "latency_ms", "status",
      "features", "x",    "segment",    "other"};
  int plain = 0;
  for (const std::string& key : keys) {
    for (const std::string& value : values) {
      for (const std::string& line :
           {R"({"ts":1795341600,"model":"fraud","score":0.5,")" + key + "\":" + value + "}",
            R"({"model":"eta","prediction":2.5,")" + key + "\":" + value + R"(,"ts":1})",
            R"({")" + key + "\":" + value +
                R"(,"probabilities":[0.1,0.2,0.7],"ts":1,"model":"intent"})"}) {
        plain += ExpectSame(line);
      }
    }
  }
  EXPECT_GT(plain, 1000);  // the plain path did read most of them
  // Whitespace, trailing bytes, CRLF and other shapes of the line itself.
  for (
      const std::string& line : std::vector<std::string>{
          R"(  {"ts":1,"score":0.5}  )",
          R"({ "ts" : 1 , "score" : 0.5 })",
          "{\"ts\":1,\"score\":0.5}\r",
          "{\"ts\":1,\t\"score\":0.5}",
          "{\"ts\":1,\n\"score\":0.5}",
          R"({"ts":1,"score":0.5}x)",
          R"({"ts":1,"score":0.5} {"ts":2})",
          R"({"ts":1,"score":0.5)",
          R"([{"ts":1,"score":0.5}])",
          R"("ts")",
          "",
          "{",
          "}",
          R"({"ts":1,"score":0.5,"ts":2})",
          R"({"ts":1,"score":0.5,"model":"fraud","model":"eta"})",
          R"({"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"model":"eta","ts":1,"prediction":1})",
          R"({"a":1,"model":"eta","ts":1,"prediction":1})",
          R"({"model":"nobody","ts":1})",
          R"({"model":3,"ts":1,"score":0.5})",
          R"({"model":"intent","ts":1,"probabilities":[0.1,0.2,0.7],"probabilities":null})",
          R"({"ts":1,"score":0.5,"features":{"amount":1,"amount":2}})",
          std::string("{\"ts\":1,\"score\":0.5,\"x\":\"a\0b\"}", 29)}) {
    ExpectSame(line);
  }
}

// Random lines in the shape of real ones, then broken in random ways: each must read the
// same both ways.
TEST_F(PlainLinesTest, RandomAndDamagedLinesReadTheSameEitherWay) {
  std::mt19937_64 rng(20261207);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> keys = {"ts",         "model",  "model_version", "request_id",
                                         "entity_id",  "score",  "prediction",    "probabilities",
                                         "latency_ms", "status", "features",      "segment",
                                         "extra"};
  const std::vector<std::string> scalars = {"0",
                                            "1",
                                            "0.25",
                                            "-3.5e2",
                                            "1795341600.5",
                                            "1795341600123",
                                            "17953416001234567",
                                            "2.5E-3",
                                            "true",
                                            "false",
                                            "null",
                                            R"("v1")",
                                            R"("eu")",
                                            R"("0.5")",
                                            R"("ok")",
                                            R"("error")",
                                            R"("")",
                                            R"("fraud")",
                                            R"("eta")",
                                            R"("intent")"};
  const std::vector<std::string> objects = {
      R"({"amount":12.5,"country":"DE","email":"x@y","age":41})",
      R"({"amount":"3"})",
      R"({"age":null,"country":7})",
      R"({"region":"eu","n":2})",
      R"([0.2,0.3,0.5])",
      R"({"buy":0.2,"sell":0.5,"hold":0.3})",
      R"([])",
      R"({})"};
  int plain = 0;
  for (int i = 0; i < 4000; ++i) {
    // What one of the models needs to accept the line, then random fields, in random order.
    std::vector<std::string> fields;
    switch (rng() % 3) {
      case 0:
        fields = {R"("model":"fraud")", R"("score":0.)" + std::to_string(rng() % 1000)};
        break;
      case 1:
        fields = {R"("model":"eta")", R"("prediction":)" + std::to_string(rng() % 100) + ".5"};
        break;
      default:
        fields = {R"("model":"intent")", R"("probabilities":[0.2,0.3,0.5])"};
        break;
    }
    fields.push_back(R"("ts":17953416)" + std::to_string(rng() % 100) + "." +
                     std::to_string(rng() % 1000));
    const int extra = static_cast<int>(rng() % 8);
    for (int f = 0; f < extra; ++f) {
      fields.push_back("\"" + pick(keys) +
                       "\":" + (rng() % 3 == 0 ? pick(objects) : pick(scalars)));
    }
    std::shuffle(fields.begin(), fields.end(), rng);
    std::string line = "{";
    for (std::size_t f = 0; f < fields.size(); ++f) {
      if (f > 0) line += rng() % 8 == 0 ? " , " : ",";
      line += fields[f];
    }
    line += "}";
    plain += ExpectSame(line);
    // Damage: truncate, flip a byte, insert a byte, or double a character.
    std::string damaged = line;
    const std::size_t at = rng() % damaged.size();
    switch (rng() % 4) {
      case 0:
        damaged.resize(at);
        break;
      case 1:
        damaged[at] = static_cast<char>(rng() % 256);
        break;
      case 2:
        damaged.insert(at, 1, "{}[],:\"\\ 0-.eE\x01\x80"[rng() % 17]);
        break;
      default:
        damaged.insert(at, 1, damaged[at]);
        break;
    }
    ExpectSame(damaged);
  }
  EXPECT_GT(plain, 1000);  // the plain path did read many of them
}

}  // namespace
}  // namespace modelwatch
