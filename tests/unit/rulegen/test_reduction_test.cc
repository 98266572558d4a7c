#include "rulegen/test_reduction.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace modelwatch {
namespace {

// Record and alert names of a rule file, in order.
std::vector<std::string> RuleNames(const std::string& rule_file_yaml) {
  std::vector<std::string> out;
  for (const auto& g : YAML::Load(rule_file_yaml)["groups"]) {
    for (const auto& r : g["rules"]) {
      out.push_back(g["name"].as<std::string>() + "/" +
                    (r["alert"] ? r["alert"] : r["record"]).as<std::string>());
    }
  }
  return out;
}

std::vector<std::string> GroupNames(const std::string& test_file_yaml) {
  std::vector<std::string> out;
  for (const auto& t : YAML::Load(test_file_yaml)["tests"]) {
    out.push_back(t["name"].as<std::string>());
  }
  return out;
}

const char kRules[] = R"(groups:
  - name: rec
    interval: 30s
    rules:
      - record: a:rate5m
        expr: rate(a_total[5m])
      - record: b:rate5m
        expr: rate(b_total[5m])
      - record: a:ratio
        expr: a:rate5m / b:rate5m
      - record: c:rate5m
        expr: rate(c_total[5m])
  - name: alerts
    interval: 30s
    rules:
      - alert: AHigh
        expr: a:ratio > 0.5
        for: 2m
      - alert: CLow
        expr: c:rate5m < 1
      - alert: Escalation
        expr: count(ALERTS{alertstate="firing"}) > 1
)";

const char kTests[] = R"(rule_files:
  - ../rules/m.rules.yml
evaluation_interval: 30s
group_eval_order: [rec, alerts]
tests:
  - name: a1
    alert_rule_test:
      - {eval_time: 5m, alertname: AHigh, exp_alerts: []}
  - name: c1
    alert_rule_test:
      - {eval_time: 5m, alertname: CLow, exp_alerts: []}
  - name: a2
    alert_rule_test:
      - {eval_time: 9m, alertname: AHigh, exp_alerts: []}
  - name: b-expr
    promql_expr_test:
      - {expr: b:rate5m, eval_time: 1m, exp_samples: []}
  - name: escalation
    alert_rule_test:
      - {eval_time: 5m, alertname: Escalation, exp_alerts: []}
)";

TEST(TestReductionTest, SplitsGroupsByTheRulesTheyReadTransitively) {
  const OutputFiles files = {{"rules/m.rules.yml", kRules}, {"tests/m.test.yml", kTests}};
  auto parts = SplitTestFileByRules(files, "tests/m.test.yml");
  ASSERT_TRUE(parts) << parts.error().ToString();
  ASSERT_EQ(parts->size(), 4u);
  // AHigh reads a:ratio, which reads both rates; its two groups share one part.
  const OutputFiles& a = (*parts)[0];
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(GroupNames(a.at("tests/m.test.yml")), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(
      RuleNames(a.at("rules/m.rules.yml")),
      (std::vector<std::string>{"rec/a:rate5m", "rec/b:rate5m", "rec/a:ratio", "alerts/AHigh"}));
  const YAML::Node a_test = YAML::Load(a.at("tests/m.test.yml"));
  EXPECT_EQ(a_test["rule_files"][0].as<std::string>(), "../rules/m.rules.yml");
  EXPECT_EQ(a_test["evaluation_interval"].as<std::string>(), "30s");
  EXPECT_EQ(a_test["group_eval_order"].size(), 2u);
  const YAML::Node a_rules = YAML::Load(a.at("rules/m.rules.yml"));
  EXPECT_EQ(a_rules["groups"][1]["rules"][0]["for"].as<std::string>(), "2m");
  EXPECT_EQ(a_rules["groups"][0]["interval"].as<std::string>(), "30s");

  EXPECT_EQ(GroupNames((*parts)[1].at("tests/m.test.yml")), (std::vector<std::string>{"c1"}));
  EXPECT_EQ(RuleNames((*parts)[1].at("rules/m.rules.yml")),
            (std::vector<std::string>{"rec/c:rate5m", "alerts/CLow"}));
  // A PromQL case reads its records; a group without any alert is left out.
  EXPECT_EQ(RuleNames((*parts)[2].at("rules/m.rules.yml")),
            (std::vector<std::string>{"rec/b:rate5m"}));
  // An alert that reads ALERTS reads every alert, and what they read.
  EXPECT_EQ(RuleNames((*parts)[3].at("rules/m.rules.yml")), RuleNames(kRules));
}

TEST(TestReductionTest, NameMatcherReadsEveryRule) {
  const std::string tests = std::string(kTests) +
                            "  - name: by-name\n"
                            "    promql_expr_test:\n"
                            "      - {expr: 'count({__name__=~\"a.*\"})', eval_time: 1m, "
                            "exp_samples: []}\n";
  const OutputFiles files = {{"rules/m.rules.yml", kRules}, {"tests/m.test.yml", tests}};
  auto parts = SplitTestFileByRules(files, "tests/m.test.yml");
  ASSERT_TRUE(parts) << parts.error().ToString();
  // It reads what the ALERTS reader reads: every rule, so they share a part.
  ASSERT_EQ(parts->size(), 4u);
  EXPECT_EQ(GroupNames((*parts)[3].at("tests/m.test.yml")),
            (std::vector<std::string>{"escalation", "by-name"}));
  EXPECT_EQ(RuleNames((*parts)[3].at("rules/m.rules.yml")), RuleNames(kRules));
}

TEST(TestReductionTest, UnknownRuleFileIsAnError) {
  const OutputFiles files = {{"tests/m.test.yml", kTests}};
  EXPECT_FALSE(SplitTestFileByRules(files, "tests/m.test.yml"));
  EXPECT_FALSE(SplitTestFileByRules(files, "tests/other.test.yml"));
}

TEST(TestReductionTest, FileWithoutTestGroupsStaysWhole) {
  const OutputFiles files = {{"rules/m.rules.yml", kRules},
                             {"tests/m.test.yml", "rule_files: [../rules/m.rules.yml]\n"}};
  auto parts = SplitTestFileByRules(files, "tests/m.test.yml");
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0], files);
}

}  // namespace
}  // namespace modelwatch
