// modelwatch.yaml: per-team secret files, the platform owner, routing defaults, SMTP auth.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/config_loader.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

std::string ErrorsOf(const MultiResult<FleetConfig>& r) {
  std::string out;
  if (r) return out;
  for (const auto& e : r.error()) out += e.ToString() + "\n";
  return out;
}

TEST(FleetConfigTest, ParsesTeamsPlatformAndRouting) {
  auto r = ParseFleetConfig(R"(receivers:
  email: {smarthost: "smtp.example.com:587", auth_username: alerts@example.com,
          auth_password_file: /s/smtp}
teams:
  risk:
    pagerduty: {routing_key_file: /s/risk/pd}
    slack: {api_url_file: /s/risk/slack}
    lead: {email: lead@example.com, pagerduty: {routing_key_file: /s/risk/lead-pd}}
  search:
    slack: {api_url_file: /s/search/slack}
platform: {team: ml-platform, email: platform@example.com, exporter_job: mw}
routing: {default_tier: 2, escalate_after: 30m}
)",
                            "cfg/modelwatch.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  EXPECT_EQ(r->receivers.email_auth_username, "alerts@example.com");
  EXPECT_EQ(r->receivers.email_auth_password_file, "/s/smtp");
  ASSERT_EQ(r->teams.size(), 2u);
  EXPECT_EQ(r->teams.at("risk").pagerduty_routing_key_file, "/s/risk/pd");
  EXPECT_EQ(r->teams.at("risk").slack_api_url_file, "/s/risk/slack");
  EXPECT_EQ(r->teams.at("risk").lead_email, "lead@example.com");
  EXPECT_EQ(r->teams.at("risk").lead_pagerduty_routing_key_file, "/s/risk/lead-pd");
  EXPECT_EQ(r->teams.at("search").pagerduty_routing_key_file, "");
  EXPECT_EQ(r->teams.at("search").slack_api_url_file, "/s/search/slack");
  EXPECT_EQ(r->platform.owner.team, "ml-platform");
  EXPECT_EQ(r->platform.owner.email, "platform@example.com");
  EXPECT_EQ(r->platform.exporter_job, "mw");
  EXPECT_EQ(r->routing.default_tier, 2);
  EXPECT_EQ(r->routing.escalate_after, Seconds(1800));
}

TEST(FleetConfigTest, DefaultsWithoutTheNewSections) {
  auto r = ParseFleetConfig("receivers: {}\n", "modelwatch.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  EXPECT_TRUE(r->teams.empty());
  EXPECT_EQ(r->platform.owner.team, "platform");
  EXPECT_FALSE(r->platform.configured);
  EXPECT_EQ(r->platform.exporter_job, "modelwatch");
  EXPECT_EQ(r->routing.default_tier, 1);
  EXPECT_EQ(r->routing.escalate_after, Seconds(0));
}

TEST(FleetConfigTest, SmtpPasswordWithoutUsernameAuthenticatesAsTheSender) {
  auto r = ParseFleetConfig(R"(receivers:
  email:
    smarthost: "smtp.example.com:587"
    from: alerts@example.com
    auth_password_file: /s/smtp
)",
                            "cfg/modelwatch.yaml");
  ASSERT_TRUE(r) << ErrorsOf(r);
  EXPECT_EQ(r->receivers.email_auth_username, "alerts@example.com");
  auto bad = ParseFleetConfig("receivers:\n  email: {auth_username: a@example.com}\n", "f.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(ErrorsOf(bad),
            "f.yaml:2:26: error: receivers.email.auth_username needs "
            "receivers.email.auth_password_file\n");
}

TEST(FleetConfigTest, RejectsInlineSecretsUnknownKeysAndBadValues) {
  auto r = ParseFleetConfig(R"(teams:
  risk:
    pagerduty: {routing_key: abc}
    slack: {api_url: "https://hooks.slack.com/x", api_url_file: /s}
    lead: {}
  Bad_Team: {}
  ok:
    phone: 123
platform: {team: "Not A Name", email: nobody}
routing: {default_tier: 4, escalate: 5m}
)",
                            "m.yaml");
  ASSERT_FALSE(r);
  const std::string e = ErrorsOf(r);
  EXPECT_NE(e.find("m.yaml:3:30: error: teams.risk.pagerduty.routing_key would put a secret"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("m.yaml:4:22: error: teams.risk.slack.api_url would put a secret"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("m.yaml:5:11: error: teams.risk.lead needs email or pagerduty"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("m.yaml:6:3: error: team \"Bad_Team\" must match"), std::string::npos) << e;
  EXPECT_NE(e.find("m.yaml:8:5: error: unknown key \"phone\""), std::string::npos) << e;
  EXPECT_NE(e.find("m.yaml:9:18: error: platform.team \"Not A Name\""), std::string::npos) << e;
  EXPECT_NE(e.find("m.yaml:9:39: error: platform.email \"nobody\""), std::string::npos) << e;
  EXPECT_NE(e.find("m.yaml:10:25: error: \"routing.default_tier\" must be in [1, 3]"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("m.yaml:10:28: error: unknown key \"escalate\""), std::string::npos) << e;
}

TEST(FleetConfigTest, TeamsMustOwnAModelOrBeThePlatform) {
  const fs::path dir = fs::path(testing::TempDir()) / "fleet_teams";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "churn.yaml") << R"(model: churn
owner: {team: risk-ml}
tier: 2
task: binary_classification
source: {paths: ["logs/*.jsonl"]}
)";
  std::ofstream(dir / "modelwatch.yaml") << R"(platform: {team: ml-platform}
teams:
  risk-ml: {slack: {api_url_file: /s/a}}
  ml-platform: {slack: {api_url_file: /s/b}}
  risk-m: {slack: {api_url_file: /s/c}}
)";
  auto r = LoadConfigDir(dir.string());
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().size(), 1u);
  EXPECT_EQ(r.error()[0].ToString(),
            (dir / "modelwatch.yaml").string() +
                ":5:3: error: teams.risk-m: no model is owned by this team and it is not the "
                "platform team (teams: ml-platform, risk-ml)");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace modelwatch
