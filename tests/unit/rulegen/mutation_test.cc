#include "rulegen/mutation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "rulegen/checker.h"

namespace modelwatch {
namespace {

using testing::Contains;
using testing::Not;

std::vector<std::string> Exprs(const std::vector<ExprMutation>& ms, const std::string& kind) {
  std::vector<std::string> out;
  for (const auto& m : ms) {
    if (m.kind == kind) out.push_back(m.expr);
  }
  return out;
}

std::string Squash(std::string s) {
  s.erase(std::unique(s.begin(), s.end(), [](char a, char b) { return a == ' ' && b == ' '; }),
          s.end());
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

TEST(MutationTest, DurationsRoundTrip) {
  EXPECT_EQ(ParsePromDuration("2d23h"), (2 * 86400 + 23 * 3600) * 1000LL);
  EXPECT_EQ(ParsePromDuration("90s"), 90000);
  EXPECT_EQ(ParsePromDuration("500ms"), 500);
  EXPECT_EQ(ParsePromDuration("1h30m"), 5400000);
  EXPECT_EQ(ParsePromDuration("5x"), -1);
  EXPECT_EQ(ParsePromDuration(""), -1);
  EXPECT_EQ(FormatPromDuration(ParsePromDuration("2d23h") / 2), "1d11h30m");
  EXPECT_EQ(FormatPromDuration(150000), "2m30s");
}

TEST(MutationTest, DropsEachConjunctAndEachBranchAtEveryLevel) {
  const std::string e = "(a > 1 and b > 1) or (c > 2 and on (model) d > 2)";
  const auto ms = MutateExpr(e, RuleKind::kAlert);
  std::vector<std::string> dropped;
  for (const auto& s : Exprs(ms, "drop-and")) dropped.push_back(Squash(s));
  EXPECT_THAT(dropped, Contains("(b > 1) or (c > 2 and on (model) d > 2)"));
  EXPECT_THAT(dropped, Contains("(a > 1) or (c > 2 and on (model) d > 2)"));
  EXPECT_THAT(dropped, Contains("(a > 1 and b > 1) or (d > 2)"));
  EXPECT_THAT(dropped, Contains("(a > 1 and b > 1) or (c > 2)"));
  EXPECT_EQ(dropped.size(), 4u);
  std::vector<std::string> branches;
  for (const auto& s : Exprs(ms, "drop-or")) branches.push_back(Squash(s));
  EXPECT_THAT(branches, Contains("(c > 2 and on (model) d > 2)"));
  EXPECT_THAT(branches, Contains("(a > 1 and b > 1)"));
  EXPECT_EQ(branches.size(), 2u);
}

TEST(MutationTest, ThresholdsHalveAndDoubleButNotInsideMatchersOrStrings) {
  const std::string e =
      "x{le=\"0.5\",q=\"2\"} > 0.2 and label_replace(y, \"a\", \"3\", \"b\", \"4\") < 0";
  const auto t = Exprs(MutateExpr(e, RuleKind::kAlert), "threshold");
  EXPECT_THAT(t, Contains("x{le=\"0.5\",q=\"2\"} > 0.1 and label_replace(y, \"a\", \"3\", \"b\", "
                          "\"4\") < 0"));
  EXPECT_THAT(t, Contains("x{le=\"0.5\",q=\"2\"} > 0.4 and label_replace(y, \"a\", \"3\", \"b\", "
                          "\"4\") < 0"));
  // 0 becomes 1 (halving and doubling would leave it 0).
  EXPECT_THAT(t, Contains("x{le=\"0.5\",q=\"2\"} > 0.2 and label_replace(y, \"a\", \"3\", \"b\", "
                          "\"4\") < 1"));
  EXPECT_EQ(t.size(), 3u);
}

TEST(MutationTest, AlertWindowsChangeOneRangeOrOffsetAtATime) {
  const std::string e = "min_over_time(m[1d]) > 8 and last_over_time(m[1h] offset 23h)";
  const auto w = Exprs(MutateExpr(e, RuleKind::kAlert), "window");
  EXPECT_THAT(w, Contains("min_over_time(m[12h]) > 8 and last_over_time(m[1h] offset 23h)"));
  EXPECT_THAT(w, Contains("min_over_time(m[2d]) > 8 and last_over_time(m[1h] offset 23h)"));
  EXPECT_THAT(w, Contains("min_over_time(m[1d]) > 8 and last_over_time(m[30m] offset 23h)"));
  EXPECT_THAT(w, Contains("min_over_time(m[1d]) > 8 and last_over_time(m[1h] offset 11h30m)"));
  EXPECT_EQ(w.size(), 6u);
}

TEST(MutationTest, RecordWindowsChangeTogetherAndSubqueryStepsStay) {
  const std::string e = "sum(rate(a[5m])) / sum(rate(b[5m])) + max_over_time(c[1h:1m])";
  const auto w = Exprs(MutateExpr(e, RuleKind::kRecord), "window");
  EXPECT_THAT(w, Contains("sum(rate(a[2m30s])) / sum(rate(b[2m30s])) + max_over_time(c[1h:1m])"));
  EXPECT_THAT(w, Contains("sum(rate(a[10m])) / sum(rate(b[10m])) + max_over_time(c[1h:1m])"));
  EXPECT_THAT(w, Contains("sum(rate(a[5m])) / sum(rate(b[5m])) + max_over_time(c[30m:1m])"));
  EXPECT_THAT(w, Not(Contains(testing::HasSubstr("[1h:30s]"))));
  EXPECT_EQ(w.size(), 4u);
}

constexpr const char* kRules = R"(groups:
  - name: g
    rules:
      - record: m:x:rate5m
        expr: sum by (model) (rate(x_total[5m]))
      - record: m:unused:rate5m
        expr: sum by (model) (rate(y_total[5m]))
      - alert: XLow
        expr: m:x:rate5m < 0.5
        for: 5m
        keep_firing_for: 1m
)";

TEST(MutationTest, RecordsOnlyAlertsReadAreMutatedAndForIsDropped) {
  const OutputFiles files = {{"rules/m.rules.yml", kRules}};
  const auto ms = EnumerateMutants(files, "");
  std::vector<std::string> kinds;
  for (const auto& m : ms) {
    EXPECT_NE(m.rule_name, "m:unused:rate5m");
    kinds.push_back(m.rule_name + " " + m.kind);
  }
  EXPECT_THAT(kinds, Contains("m:x:rate5m window"));
  EXPECT_THAT(kinds, Contains("XLow threshold"));
  EXPECT_THAT(kinds, Contains("XLow drop-for"));
  EXPECT_THAT(kinds, Contains("XLow drop-keep-firing-for"));
  const auto it =
      std::find_if(ms.begin(), ms.end(), [](const Mutant& m) { return m.kind == "drop-for"; });
  ASSERT_NE(it, ms.end());
  const std::string applied = ApplyMutant(kRules, *it);
  EXPECT_EQ(applied.find("for: 5m"), std::string::npos) << applied;
  EXPECT_NE(applied.find("keep_firing_for"), std::string::npos) << applied;
}

TEST(MutationTest, ScoreCountsUntestedAsLivingAndIgnoresInvalid) {
  std::vector<MutantResult> r(4);
  r[0].outcome = MutantOutcome::kKilled;
  r[1].outcome = MutantOutcome::kKilled;
  r[2].outcome = MutantOutcome::kUntested;
  r[3].outcome = MutantOutcome::kInvalid;
  EXPECT_NEAR(MutationScore(r), 200.0 / 3.0, 1e-9);
  EXPECT_EQ(MutationScore({}), 100.0);
}

// The tool itself, with the real promtool: a weak test suite (far from the threshold, no
// check during `for`) lets mutants live; a tight one kills every mutant.
constexpr const char* kGaugeRules = R"(groups:
  - name: a
    rules:
      - alert: Hot
        expr: temp > 50
        for: 5m
)";

std::string GaugeTests(const std::string& cases) {
  return "rule_files: [../rules/t.rules.yml]\nevaluation_interval: 1m\ntests:\n" + cases;
}

constexpr const char* kWeakCases = R"(  - interval: 1m
    input_series:
      - series: temp
        values: 0x10 1000x20
    alert_rule_test:
      - eval_time: 5m
        alertname: Hot
        exp_alerts: []
      - eval_time: 25m
        alertname: Hot
        exp_alerts: [{exp_labels: {}}]
)";

// 30 (silent; kills > 25), 70 (fires; kills > 100), and a check 3 minutes into the 70s
// (silent only with `for: 5m`).
constexpr const char* kTightCases = R"(  - interval: 1m
    input_series:
      - series: temp
        values: 30x10 70x20
    alert_rule_test:
      - eval_time: 9m
        alertname: Hot
        exp_alerts: []
      - eval_time: 14m
        alertname: Hot
        exp_alerts: []
      - eval_time: 25m
        alertname: Hot
        exp_alerts: [{exp_labels: {}}]
)";

bool HavePromtool() { return RunCommand({"promtool", "--version"}).status == 0; }

TEST(MutationTest, WeakTestsLetMutantsLiveAndTightTestsKillThem) {
  if (!HavePromtool()) GTEST_SKIP() << "promtool not installed";
  std::ostringstream progress;
  OutputFiles weak = {{"rules/t.rules.yml", kGaugeRules},
                      {"tests/t.test.yml", GaugeTests(kWeakCases)}};
  auto w = RunMutationTests(weak, {}, progress);
  ASSERT_TRUE(w.has_value()) << w.error().ToString();
  ASSERT_EQ(w->size(), 3u);  // 50 -> 25, 50 -> 100, no `for`
  EXPECT_LT(MutationScore(*w), 50.0);
  OutputFiles tight = {{"rules/t.rules.yml", kGaugeRules},
                       {"tests/t.test.yml", GaugeTests(kTightCases)}};
  auto t = RunMutationTests(tight, {}, progress);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  EXPECT_EQ(MutationScore(*t), 100.0);
  std::ostringstream report;
  WriteMutationReport(*w, report);
  EXPECT_THAT(report.str(), testing::HasSubstr("mutation score: 0.0% (0 of 3"));
  EXPECT_THAT(report.str(), testing::HasSubstr("remove `for`"));
}

TEST(MutationTest, FailingUnmutatedTestsAreAnErrorNotAPerfectScore) {
  if (!HavePromtool()) GTEST_SKIP() << "promtool not installed";
  std::string broken = kTightCases;
  broken.replace(broken.find("eval_time: 25m"), 14, "eval_time: 12m");
  OutputFiles files = {{"rules/t.rules.yml", kGaugeRules},
                       {"tests/t.test.yml", GaugeTests(broken)}};
  std::ostringstream progress;
  auto r = RunMutationTests(files, {}, progress);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().ToString(), testing::HasSubstr("fail before any mutation"));
}

}  // namespace
}  // namespace modelwatch
