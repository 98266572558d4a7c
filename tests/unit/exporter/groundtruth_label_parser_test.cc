#include <gtest/gtest.h>

#include <random>

#include "exporter/groundtruth/label_parser.h"
#include "exporter/groundtruth/performance.h"
#include "tests/unit/exporter/groundtruth_test_util.h"

namespace modelwatch {
namespace {

using testing::BinaryModel;

TEST(LabelParserTest, ParsesNumberBoolAndStringLabels) {
  ModelConfig m = BinaryModel();
  LabelParser p(m);
  auto a = p.Parse(R"({"ts":"2026-11-29T08:00:00Z","request_id":"r1","label":1})");
  ASSERT_TRUE(a) << LabelRejectName(a.error());
  EXPECT_EQ(a->request_id, "r1");
  EXPECT_DOUBLE_EQ(a->label, 1);
  EXPECT_DOUBLE_EQ(a->timestamp, 1795939200);
  auto b = p.Parse(R"({"ts":1795939200123,"request_id":"r2","label":false})");
  ASSERT_TRUE(b);
  EXPECT_DOUBLE_EQ(b->label, 0);
  EXPECT_NEAR(b->timestamp, 1795939200.123, 1e-6);
  auto c = p.Parse(R"({"label":"true","request_id":"r3","ts":1795939200})");
  ASSERT_TRUE(c);
  EXPECT_DOUBLE_EQ(c->label, 1);
  EXPECT_DOUBLE_EQ(c->timestamp, 1795939200);
  auto d = p.Parse(R"({"ts":"2026-11-29T10:00:00.5+02:00","request_id":7,"label":0})");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->request_id, "7");
  EXPECT_DOUBLE_EQ(d->timestamp, 1795939200.5);
}

TEST(LabelParserTest, BinaryClassNamesMapToIndexes) {
  ModelConfig m = BinaryModel();
  m.classes = {"legit", "fraud"};
  LabelParser p(m);
  auto a = p.Parse(R"({"ts":1,"request_id":"r","label":"fraud"})");
  ASSERT_TRUE(a);
  EXPECT_DOUBLE_EQ(a->label, 1);
  auto b = p.Parse(R"({"ts":1,"request_id":"r","label":"legit"})");
  ASSERT_TRUE(b);
  EXPECT_DOUBLE_EQ(b->label, 0);
}

TEST(LabelParserTest, MulticlassAndRegressionLabels) {
  ModelConfig m = BinaryModel();
  m.task = Task::kMulticlassClassification;
  m.classes = {"billing", "support", "sales"};
  LabelParser p(m);
  auto a = p.Parse(R"({"ts":1,"request_id":"r","label":"sales"})");
  ASSERT_TRUE(a);
  EXPECT_DOUBLE_EQ(a->label, 2);
  auto b = p.Parse(R"({"ts":1,"request_id":"r","label":1})");
  ASSERT_TRUE(b);
  EXPECT_DOUBLE_EQ(b->label, 1);
  auto c = p.Parse(R"({"ts":1,"request_id":"r","label":"refunds"})");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), LabelReject::kBadLabel);
  auto d = p.Parse(R"({"ts":1,"request_id":"r","label":3})");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), LabelReject::kBadLabel);

  m.task = Task::kRegression;
  LabelParser r(m);
  auto e = r.Parse(R"({"ts":1,"request_id":"r","label":12.75})");
  ASSERT_TRUE(e);
  EXPECT_DOUBLE_EQ(e->label, 12.75);
  auto f = r.Parse(R"({"ts":1,"request_id":"r","label":"12"})");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error(), LabelReject::kBadType);
}

TEST(LabelParserTest, UsesConfiguredFieldNames) {
  ModelConfig m = BinaryModel();
  m.ground_truth->timestamp_field = "time";
  m.ground_truth->request_id_field = "rid";
  m.ground_truth->label_field = "is_fraud";
  LabelParser p(m);
  auto a = p.Parse(R"({"time":5,"rid":"x","is_fraud":true,"label":0})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->request_id, "x");
  EXPECT_DOUBLE_EQ(a->label, 1);
}

TEST(LabelParserTest, RejectsByReason) {
  ModelConfig m = BinaryModel();
  m.source.max_line_bytes = 200;
  LabelParser p(m);
  auto reason = [&](std::string_view line) {
    auto r = p.Parse(line);
    return r ? std::string("ok") : std::string(LabelRejectName(r.error()));
  };
  EXPECT_EQ(reason("not json"), "invalid_json");
  EXPECT_EQ(reason("[1,2]"), "invalid_json");
  EXPECT_EQ(reason(R"({"request_id":"r","label":1})"), "missing_field");
  EXPECT_EQ(reason(R"({"ts":1,"request_id":"r"})"), "missing_field");
  EXPECT_EQ(reason(R"({"ts":1,"request_id":"r","label":2})"), "bad_label");
  EXPECT_EQ(reason(R"({"ts":1,"request_id":"r","label":[1]})"), "bad_type");
  EXPECT_EQ(reason(R"({"ts":"yesterday","request_id":"r","label":1})"), "bad_timestamp");
  EXPECT_EQ(reason(R"({"ts":"2026-13-01T00:00:00Z","request_id":"r","label":1})"), "bad_timestamp");
  EXPECT_EQ(reason(R"({"ts":"1969-12-31T23:59:59Z","request_id":"r","label":1})"), "bad_timestamp");
  EXPECT_EQ(reason(R"({"ts":1,"label":1})"), "missing_join_key");
  EXPECT_EQ(reason(R"({"ts":1,"entity_id":"e","label":1})"), "missing_join_key");
  EXPECT_EQ(reason(std::string(300, ' ')), "too_long");
  m.ground_truth->join_on = JoinKey::kEntityId;
  LabelParser q(m);
  EXPECT_TRUE(q.Parse(R"({"ts":1,"entity_id":"e","label":1})"));
}

TEST(LabelParserTest, SurvivesMutatedLines) {
  // Byte-level mutations of valid lines: every result is either a label or a reason, never a
  // crash (run under ASan/UBSan in CI).
  ModelConfig m = BinaryModel();
  m.classes = {"legit", "fraud"};
  LabelParser p(m);
  const std::string seeds[] = {
      R"({"ts":"2026-11-29T08:00:00.123+02:00","request_id":"abc","label":"fraud"})",
      R"({"ts":1795939200123,"request_id":12,"entity_id":"e","label":true})",
      R"({"label":1,"ts":1.5e9,"request_id":"\u00e9\"x"})"};
  std::mt19937 rng(42);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = seeds[i % 3];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !line.empty(); ++e) {
      const std::size_t pos = rng() % line.size();
      switch (rng() % 3) {
        case 0:
          line[pos] = static_cast<char>(rng() % 256);
          break;
        case 1:
          line.erase(pos, 1 + rng() % 3);
          break;
        default:
          line.insert(pos, 1, "{}[]\",:0e-.tZ"[rng() % 14]);
      }
    }
    auto r = p.Parse(line);
    if (r) {
      ++accepted;
      EXPECT_TRUE(r->label == 0 || r->label == 1);
      EXPECT_FALSE(r->request_id.empty());
    }
  }
  EXPECT_GT(accepted, 0);
}

TEST(PerformanceAccumulatorTest, BinaryMetricsByHand) {
  // Scores ascending, as the store delivers them; a tie at 0.6 between a positive and a
  // negative.
  PerformanceAccumulator a(Task::kBinaryClassification, 0.5);
  a.Add(0.1, 0);
  a.Add(0.4, 1);
  a.Add(0.6, 0);
  a.Add(0.6, 1);
  a.Add(0.9, 1);
  auto m = a.Finish();
  std::map<std::string, double> v(m.begin(), m.end());
  // Positive/negative pairs: 3 x 2 = 6. Wins: 0.4>0.1 (1), 0.6 vs 0.1 (1) + tie (0.5),
  // 0.9 beats both (2) = 4.5.
  EXPECT_DOUBLE_EQ(v.at("auc"), 4.5 / 6);
  EXPECT_DOUBLE_EQ(v.at("precision"), 2.0 / 3);  // predicted 1: 0.6, 0.6, 0.9
  EXPECT_DOUBLE_EQ(v.at("recall"), 2.0 / 3);
  EXPECT_DOUBLE_EQ(v.at("f1"), 2.0 / 3);
  const double ll =
      -(std::log(0.9) + std::log(0.4) + std::log(0.4) + std::log(0.6) + std::log(0.9)) / 5;
  EXPECT_NEAR(v.at("log_loss"), ll, 1e-12);
  // Bins: [0.1]: |0-0.1|, [0.4]: |1-0.4|, [0.6,0.6]: |0.5-0.6|, [0.9]: |1-0.9|.
  EXPECT_NEAR(v.at("ece"), (0.1 + 0.6 + 2 * 0.1 + 0.1) / 5, 1e-12);
}

TEST(PerformanceAccumulatorTest, AucLeftOutWithOneClass) {
  PerformanceAccumulator a(Task::kBinaryClassification, 0.5);
  a.Add(0.2, 1);
  a.Add(0.7, 1);
  auto m = a.Finish();
  for (const auto& [name, value] : m) EXPECT_NE(name, "auc");
  EXPECT_FALSE(m.empty());
  EXPECT_TRUE(PerformanceAccumulator(Task::kRegression, 0).Finish().empty());
}

TEST(PerformanceAccumulatorTest, MulticlassAndRegression) {
  PerformanceAccumulator a(Task::kMulticlassClassification, 0.5);
  a.Add(0, 0);
  a.Add(1, 0);
  a.Add(1, 1);
  a.Add(2, 1);
  auto m = a.Finish();
  std::map<std::string, double> v(m.begin(), m.end());
  EXPECT_DOUBLE_EQ(v.at("accuracy"), 0.5);
  // class 0: tp1 fn1 -> 2/3; class 1: tp1 fp1 fn1 -> 0.5; class 2: fp1 -> 0.
  EXPECT_NEAR(v.at("macro_f1"), (2.0 / 3 + 0.5 + 0) / 3, 1e-12);

  PerformanceAccumulator r(Task::kRegression, 0);
  r.Add(12, 10);
  r.Add(3, 4, 2.0);
  auto n = r.Finish();
  std::map<std::string, double> w(n.begin(), n.end());
  EXPECT_DOUBLE_EQ(w.at("mae"), (2 + 2 * 1.0) / 3);
  EXPECT_DOUBLE_EQ(w.at("rmse"), std::sqrt((4 + 2 * 1.0) / 3));
  EXPECT_DOUBLE_EQ(w.at("mape"), (0.2 + 2 * 0.25) / 3);
  EXPECT_DOUBLE_EQ(w.at("bias"), (2 - 2 * 1.0) / 3);
}

}  // namespace
}  // namespace modelwatch
