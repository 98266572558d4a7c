// Routing and paging of the generated Alertmanager configuration: per-team secret files,
// the platform team as the root's receiver, untiered pages, one page group per model.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "core/config_loader.h"
#include "rulegen/alertmanager_emitter.h"
#include "rulegen/checker.h"
#include "rulegen/generator.h"
#include "rulegen/meta_rules.h"
#include "rulegen/rule_model.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;
using Labels = std::map<std::string, std::string>;

constexpr const char* kRisk = R"(model: fraud
owner: {team: risk, slack: "#risk", pagerduty: risk, email: risk@example.com}
tier: 1
task: binary_classification
source: {paths: ["/var/log/fraud/*.jsonl"]}
features:
  - {name: amount, type: numeric}
)";

constexpr const char* kSearch = R"(model: ranker
owner: {team: search, slack: "#search", email: search@example.com}
tier: 3
task: regression
source: {paths: ["/var/log/ranker/*.jsonl"]}
features:
  - {name: query_length, type: numeric}
)";

constexpr const char* kFleet = R"(receivers:
  pagerduty: {routing_key_file: /s/shared/pd}
  slack: {api_url_file: /s/shared/slack}
  email: {smarthost: "smtp.example.com:587", auth_username: alerts@example.com,
          auth_password_file: /s/smtp}
teams:
  risk:
    pagerduty: {routing_key_file: /s/risk/pd}
    slack: {api_url_file: /s/risk/slack}
  ml-platform:
    pagerduty: {routing_key_file: /s/platform/pd}
platform: {team: ml-platform, email: platform@example.com}
)";

class RoutingTest : public testing::Test {
 protected:
  OutputFiles Generate(const std::string& fleet = kFleet) {
    // One directory per test: ctest runs each test as its own process, in parallel.
    const fs::path dir = fs::path(testing::TempDir()) /
                         (std::string("routing_test_") +
                          testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "fraud.yaml") << kRisk;
    std::ofstream(dir / "ranker.yaml") << kSearch;
    if (!fleet.empty()) std::ofstream(dir / "modelwatch.yaml") << fleet;
    auto config = LoadConfigDir(dir.string());
    if (!config) {
      for (const auto& e : config.error()) ADD_FAILURE() << e.ToString();
      return {};
    }
    config_ = *config;
    return modelwatch::Generate(config_, OutputFormat::kPrometheus);
  }

  static YAML::Node Receiver(const YAML::Node& am, const std::string& name) {
    for (const auto& r : am["receivers"]) {
      if (r["name"].as<std::string>() == name) return r;
    }
    ADD_FAILURE() << "no receiver " << name;
    return YAML::Node();
  }

  ConfigSet config_;
};

TEST_F(RoutingTest, EachTeamUsesItsOwnSecretFilesElseTheFleetOnes) {
  const OutputFiles files = Generate();
  const YAML::Node am = YAML::Load(files.at("alertmanager/alertmanager.yml"));
  auto pd_key = [&](const std::string& r) {
    return Receiver(am, r)["pagerduty_configs"][0]["routing_key_file"].as<std::string>();
  };
  auto slack_url = [&](const std::string& r) {
    return Receiver(am, r)["slack_configs"][0]["api_url_file"].as<std::string>();
  };
  EXPECT_EQ(pd_key("risk-pagerduty"), "/s/risk/pd");
  EXPECT_EQ(slack_url("risk-slack"), "/s/risk/slack");
  EXPECT_EQ(slack_url("risk-fallback"), "/s/risk/slack");
  // search has no files of its own: the fleet-wide ones.
  EXPECT_EQ(pd_key("search-pagerduty"), "/s/shared/pd");
  EXPECT_EQ(slack_url("search-slack"), "/s/shared/slack");
  EXPECT_EQ(pd_key("ml-platform-pagerduty"), "/s/platform/pd");
  EXPECT_EQ(Receiver(am, "search-slack")["slack_configs"][0]["channel"].as<std::string>(),
            "#search");
  EXPECT_TRUE(SelfCheck(files).empty());
}

TEST_F(RoutingTest, SmtpAuthenticatesWithTheUsername) {
  const YAML::Node global = YAML::Load(Generate().at("alertmanager/alertmanager.yml"))["global"];
  ASSERT_TRUE(global["smtp_auth_username"]);
  EXPECT_EQ(global["smtp_auth_username"].as<std::string>(), "alerts@example.com");
  EXPECT_EQ(global["smtp_auth_password_file"].as<std::string>(), "/s/smtp");
}

TEST_F(RoutingTest, TheRootReceiverIsThePlatformTeamAndDeliversSomewhere) {
  const OutputFiles files = Generate();
  const YAML::Node am = YAML::Load(files.at("alertmanager/alertmanager.yml"));
  EXPECT_EQ(am["route"]["receiver"].as<std::string>(), "ml-platform-fallback");
  const YAML::Node root = Receiver(am, "ml-platform-fallback");
  ASSERT_TRUE(root["email_configs"]);
  EXPECT_EQ(root["email_configs"][0]["to"].as<std::string>(), "platform@example.com");
  EXPECT_EQ(Receiver(am, "ml-platform-pagerduty")["pagerduty_configs"].size(), 1u);

  // A root receiver without an integration drops what no route matches: check says so.
  OutputFiles broken = files;
  std::string& yml = broken["alertmanager/alertmanager.yml"];
  yml.replace(yml.find("  receiver: ml-platform-fallback"),
              std::string("  receiver: ml-platform-fallback").size(), "  receiver: nobody");
  yml.replace(yml.find("receivers:\n"), std::string("receivers:\n").size(),
              "receivers:\n  - name: nobody\n");
  bool found = false;
  for (const auto& p : SelfCheck(broken)) {
    if (p.find("root route's receiver nobody has no integration") != std::string::npos) {
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(RoutingTest, WithoutAPlatformSectionTheMostCriticalTeamIsReached) {
  const YAML::Node am = YAML::Load(Generate("").at("alertmanager/alertmanager.yml"));
  EXPECT_EQ(am["route"]["receiver"].as<std::string>(), "platform-fallback");
  // risk owns the tier-1 model: its address receives what nobody else would.
  EXPECT_EQ(Receiver(am, "platform-fallback")["email_configs"][0]["to"].as<std::string>(),
            "risk@example.com");
}

// Walks the route tree; calls f(route) for every route.
void Walk(const YAML::Node& route, const std::function<void(const YAML::Node&)>& f) {
  f(route);
  for (const auto& child : route["routes"]) Walk(child, f);
}

TEST_F(RoutingTest, PagesGroupByTeamAndModelAndEveryTeamHasAnUntieredBranch) {
  const OutputFiles files = Generate();
  const YAML::Node am = YAML::Load(files.at("alertmanager/alertmanager.yml"));
  int page_routes = 0;
  Walk(am["route"], [&](const YAML::Node& r) {
    for (const auto& m : r["matchers"]) {
      if (m.as<std::string>() != "severity=\"page\"") continue;
      ++page_routes;
      // The PagerDuty route continues to its Slack copy (redundancy).
      const std::string receiver = r["receiver"].as<std::string>();
      if (receiver.find("-pagerduty") != std::string::npos) {
        ASSERT_TRUE(r["continue"]) << receiver;
        EXPECT_TRUE(r["continue"].as<bool>());
      } else {
        EXPECT_NE(receiver.find("-slack"), std::string::npos) << receiver;
      }
      ASSERT_TRUE(r["group_by"]) << r;
      ASSERT_EQ(r["group_by"].size(), 2u);
      EXPECT_EQ(r["group_by"][0].as<std::string>(), "team");
      EXPECT_EQ(r["group_by"][1].as<std::string>(), "model");
    }
  });
  // Pairs (PagerDuty + Slack copy) for risk: tier 1 + untiered; search: tier 3 + untiered;
  // platform: untiered; no team: 1.
  EXPECT_EQ(page_routes, 12);
  // routes.txt holds the untiered and unknown-team cases `check` runs through amtool.
  const std::string& rt = files.at("tests/routes.txt");
  EXPECT_NE(rt.find("route risk-pagerduty,risk-slack alertname=ModelDown,model=fraud,"
                    "severity=page,team=risk\n"),
            std::string::npos);
  EXPECT_NE(rt.find("route risk-pagerduty,risk-slack alertname=ModelDown,model=fraud,"
                    "severity=page,team=risk,tier=9\n"),
            std::string::npos);
  EXPECT_NE(rt.find("route ml-platform-pagerduty,ml-platform-slack alertname=SomeAlert,"
                    "severity=page\n"),
            std::string::npos);
  EXPECT_NE(rt.find("route ml-platform-fallback alertname=SomeAlert\n"), std::string::npos);
}

TEST_F(RoutingTest, NotificationTitleNamesEveryAlertOfTheGroup) {
  const OutputFiles files = Generate();
  const std::string& tmpl = files.at("alertmanager/templates/modelwatch.tmpl");
  EXPECT_NE(tmpl.find("define \"modelwatch.alertnames\""), std::string::npos);
  EXPECT_NE(tmpl.find("{{ template \"modelwatch.alertnames\" . }}{{ with .CommonLabels.model"),
            std::string::npos);
  const YAML::Node am = YAML::Load(files.at("alertmanager/alertmanager.yml"));
  const YAML::Node pd = Receiver(am, "risk-pagerduty")["pagerduty_configs"][0];
  EXPECT_EQ(pd["class"].as<std::string>(), "{{ template \"modelwatch.alertnames\" . }}");
  // P0 (tier 1 or no tier) and P1 (tiers 2, 3) differ in PagerDuty severity and details.
  EXPECT_EQ(pd["severity"].as<std::string>(), "{{ template \"modelwatch.pagerduty_severity\" . }}");
  EXPECT_EQ(pd["details"]["priority"].as<std::string>(),
            "{{ template \"modelwatch.priority\" . }}");
  EXPECT_NE(tmpl.find("define \"modelwatch.priority\" }}{{ if or (eq .CommonLabels.tier \"2\") "
                      "(eq .CommonLabels.tier \"3\") }}P1{{ else }}P0{{ end }}"),
            std::string::npos);
}

TEST(RouteCasesTest, ASelfCheckAcceptsSeveralReceiversPerCase) {
  auto cases = ParseRouteCases("route a-pagerduty,a-slack alertname=X,severity=page\n");
  ASSERT_TRUE(cases);
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_EQ((*cases)[0].receiver, "a-pagerduty,a-slack");
}

}  // namespace
}  // namespace modelwatch

namespace modelwatch {
namespace {

TEST_F(RoutingTest, ExporterDownPagesThePlatformBeforeAnyModelDownAndInhibitsModelAlerts) {
  const OutputFiles files = Generate();
  EXPECT_LT(ExporterDownFor(config_.fleet), config_.fleet.Tier(1).model_down_after);
  const RuleFile fleet_rules = BuildFleetRules(config_.fleet);
  ASSERT_EQ(fleet_rules.groups.size(), 2u);
  const RuleGroup& meta = fleet_rules.groups[1];
  ASSERT_EQ(meta.alerts.size(), MetaAlertNames().size());
  for (const AlertRule& a : meta.alerts) {
    std::map<std::string, std::string> l(a.labels.begin(), a.labels.end());
    EXPECT_EQ(l["team"], "ml-platform") << a.name;
    EXPECT_EQ(l.count("model"), 0u) << a.name;
  }
  EXPECT_EQ(meta.alerts[0].name, "ExporterDown");
  EXPECT_NE(meta.alerts[0].expr.find("absent(up{job=\"modelwatch\"})"), std::string::npos);
  const std::string& am = files.at("alertmanager/alertmanager.yml");
  const Labels down = {{"alertname", "ExporterDown"},
                       {"job", "modelwatch"},
                       {"severity", "page"},
                       {"team", "ml-platform"}};
  const Labels model_down = {{"alertname", "ModelDown"},
                             {"model", "fraud"},
                             {"severity", "page"},
                             {"team", "risk"},
                             {"tier", "1"}};
  EXPECT_TRUE(*Inhibits(am, down, model_down));
  EXPECT_FALSE(*Inhibits(am, model_down, down));
  const Labels rule_failures = {
      {"alertname", "RuleEvaluationFailures"}, {"severity", "ticket"}, {"team", "ml-platform"}};
  EXPECT_FALSE(*Inhibits(am, down, rule_failures));
  // The promtool file exercises every meta-alert, firing and silent (SelfCheck counts them).
  const std::string& tests = files.at("tests/modelwatch.test.yml");
  for (const std::string& name : MetaAlertNames()) {
    EXPECT_NE(tests.find("alertname: " + name), std::string::npos) << name;
  }
  EXPECT_TRUE(SelfCheck(files).empty());
}

}  // namespace
}  // namespace modelwatch

namespace modelwatch {
namespace {

TEST_F(RoutingTest, EscalationPagesTheLeadAfterTheWindow) {
  std::string fleet = kFleet;
  fleet.replace(
      fleet.find("    slack: {api_url_file: /s/risk/slack}\n"),
      std::string("    slack: {api_url_file: /s/risk/slack}\n").size(),
      "    slack: {api_url_file: /s/risk/slack}\n"
      "    lead: {email: lead@example.com, pagerduty: {routing_key_file: /s/risk/lead}}\n");
  fleet += "routing: {escalate_after: 20m}\n";
  const OutputFiles files = Generate(fleet);
  const RuleFile rules = BuildFleetRules(config_.fleet);
  const AlertRule& esc = rules.groups[1].alerts.back();
  EXPECT_EQ(esc.name, "PageEscalation");
  EXPECT_EQ(esc.for_duration, Seconds(1200));
  const YAML::Node am = YAML::Load(files.at("alertmanager/alertmanager.yml"));
  const YAML::Node lead = Receiver(am, "risk-lead");
  EXPECT_EQ(lead["pagerduty_configs"][0]["routing_key_file"].as<std::string>(), "/s/risk/lead");
  EXPECT_EQ(lead["email_configs"][0]["to"].as<std::string>(), "lead@example.com");
  const std::string& rt = files.at("tests/routes.txt");
  EXPECT_NE(rt.find("route risk-lead alertname=PageEscalation"), std::string::npos);
  // search has no lead: its team is paged again.
  EXPECT_NE(rt.find("route search-pagerduty alertname=PageEscalation"), std::string::npos);
  EXPECT_NE(files.at("tests/modelwatch.test.yml").find("alertname: PageEscalation"),
            std::string::npos);
  EXPECT_TRUE(SelfCheck(files).empty());
}

}  // namespace
}  // namespace modelwatch

namespace modelwatch {
namespace {

TEST_F(RoutingTest, EveryRunbookSaysHowToSilenceAFalseAlarmPerModel) {
  const OutputFiles files = Generate();
  int runbooks = 0;
  for (const auto& [path, md] : files) {
    if (path.rfind("runbooks/", 0) != 0) continue;
    ++runbooks;
    EXPECT_NE(md.find("## How to silence a false alarm"), std::string::npos) << path;
  }
  EXPECT_GT(runbooks, 10);
  const std::string& drift = files.at("runbooks/FeatureDrift.md");
  EXPECT_NE(drift.find("  alertname=\"FeatureDrift\" model=\"fraud\" feature=\"<feature>\""),
            std::string::npos);
  EXPECT_NE(drift.find("  alertname=\"FeatureDrift\" model=\"ranker\" feature=\"<feature>\""),
            std::string::npos);
  EXPECT_NE(files.at("runbooks/ModelDown.md").find("amtool silence add"), std::string::npos);
  EXPECT_NE(files.at("runbooks/ExporterDown.md")
                .find("  alertname=\"ExporterDown\" team=\"ml-platform\""),
            std::string::npos);
}

}  // namespace
}  // namespace modelwatch
