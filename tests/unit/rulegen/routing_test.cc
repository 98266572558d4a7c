// Routing and paging of the generated Alertmanager configuration: per-team secret files,
// the platform team as the root's receiver, untiered pages, one page group per model.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/config_loader.h"
#include "rulegen/alertmanager_emitter.h"
#include "rulegen/checker.h"
#include "rulegen/generator.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

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
    const fs::path dir = fs::path(testing::TempDir()) / "routing_test";
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
      ASSERT_TRUE(r["group_by"]) << r;
      ASSERT_EQ(r["group_by"].size(), 2u);
      EXPECT_EQ(r["group_by"][0].as<std::string>(), "team");
      EXPECT_EQ(r["group_by"][1].as<std::string>(), "model");
    }
  });
  // risk: tier 1 + untiered; search: tier 3 + untiered; platform: untiered; no team: 1.
  EXPECT_EQ(page_routes, 6);
  // routes.txt holds the untiered and unknown-team cases `check` runs through amtool.
  const std::string& rt = files.at("tests/routes.txt");
  EXPECT_NE(rt.find("route risk-pagerduty alertname=ModelDown,model=fraud,severity=page,"
                    "team=risk\n"),
            std::string::npos);
  EXPECT_NE(rt.find("route risk-pagerduty alertname=ModelDown,model=fraud,severity=page,"
                    "team=risk,tier=9\n"),
            std::string::npos);
  EXPECT_NE(rt.find("route ml-platform-pagerduty alertname=SomeAlert,severity=page\n"),
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
}

TEST(RouteCasesTest, ASelfCheckAcceptsSeveralReceiversPerCase) {
  auto cases = ParseRouteCases("route a-pagerduty,a-slack alertname=X,severity=page\n");
  ASSERT_TRUE(cases);
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_EQ((*cases)[0].receiver, "a-pagerduty,a-slack");
}

}  // namespace
}  // namespace modelwatch
