#include "rulegen/meta_rules.h"

#include <algorithm>

#include "core/duration.h"
#include "rulegen/series.h"
#include "rulegen/text.h"

namespace modelwatch {
namespace {

TextPiece Lit(std::string s) { return {TextPiece::Kind::kLiteral, std::move(s)}; }
TextPiece Label(std::string name) { return {TextPiece::Kind::kLabel, std::move(name)}; }
TextPiece Pct() { return {TextPiece::Kind::kValuePercent, ""}; }
TextPiece Fmt(std::string f) { return {TextPiece::Kind::kValueFormat, std::move(f)}; }

AlertRule MetaAlert(const FleetConfig& fleet, const std::string& name, Severity sev) {
  AlertRule a;
  a.name = name;
  a.severity = sev;
  a.labels = {{"severity", SeverityName(sev)}, {"team", fleet.platform.owner.team}};
  a.runbook_url = RunbookUrl(fleet, name);
  a.dashboard_url = fleet.dashboard_base_url + "/" + series::kOverviewDashboardUid;
  return a;
}

}  // namespace

Seconds ExporterDownFor(const FleetConfig& fleet) {
  Seconds shortest = fleet.Tier(1).model_down_after;
  for (const auto& [tier, td] : fleet.tiers) shortest = std::min(shortest, td.model_down_after);
  return std::max(Seconds(shortest.count() / 2), fleet.Tier(1).evaluation_interval);
}

const std::vector<std::string>& MetaAlertNames() {
  static const std::vector<std::string> kNames = {"ExporterDown", "ExporterScrapeFailures",
                                                  "AlertmanagerNotificationsFailing",
                                                  "RuleEvaluationFailures"};
  return kNames;
}

RuleGroup BuildMetaRules(const FleetConfig& fleet) {
  RuleGroup g{"modelwatch-meta", fleet.Tier(1).evaluation_interval, {}, {}};
  // The loader rejects quotes and backslashes in exporter_job.
  const std::string up = "up{job=\"" + fleet.platform.exporter_job + "\"}";

  AlertRule down = MetaAlert(fleet, "ExporterDown", Severity::kPage);
  down.expr = "sum by (job) (" + up + ") == 0\nor\nabsent(" + up + ")";
  down.for_duration = ExporterDownFor(fleet);
  down.signal = "sum by (job) (" + up + ")";
  down.trigger = "no target of job " + fleet.platform.exporter_job +
                 " answers its scrape (or the job has no target) for " +
                 FormatDuration(down.for_duration);
  down.summary = {Lit("Exporter job "), Label("job"), Lit(" is down")};
  down.description = {
      Lit("Prometheus cannot scrape any modelwatch exporter of job "), Label("job"),
      Lit(" (up == 0, or no target at all). Every model's series are gone: their ModelDown and "
          "other model alerts are inhibited while this fires.")};
  g.alerts.push_back(std::move(down));

  AlertRule flaky = MetaAlert(fleet, "ExporterScrapeFailures", Severity::kTicket);
  const std::string w = kScrapeFailureWindow;
  flaky.signal = "1 - avg_over_time(" + up + "[" + w + "])";
  // Only while the target answers now: a target that is down is ExporterDown's case.
  flaky.expr =
      "(" + flaky.signal + ") > " + FormatNumber(kScrapeFailureRatio) + "\nand\n" + up + " == 1";
  flaky.comparison = Comparison::kAbove;
  flaky.threshold = kScrapeFailureRatio;
  flaky.trigger = "more than " + FormatNumber(kScrapeFailureRatio * 100) +
                  "% of a target's scrapes failed over " + w + " and its last scrape succeeded";
  flaky.summary = {Lit("Scrapes of exporter "), Label("instance"), Lit(" fail")};
  flaky.description = {Pct(),
                       Lit(" of the scrapes of "),
                       Label("instance"),
                       Lit(" (job "),
                       Label("job"),
                       Lit(") failed over the last " + w +
                           ": its metrics have gaps (timeouts, restarts, an overloaded host).")};
  g.alerts.push_back(std::move(flaky));

  AlertRule am = MetaAlert(fleet, "AlertmanagerNotificationsFailing", Severity::kPage);
  am.signal = "sum by (integration) (increase(alertmanager_notifications_failed_total[10m]))";
  am.expr = am.signal + " > 0";
  am.for_duration = Seconds(300);
  am.comparison = Comparison::kAbove;
  am.threshold = 0;
  am.trigger =
      "Alertmanager failed to deliver notifications through an integration in every "
      "10m window for 5m";
  am.summary = {Lit("Alertmanager cannot deliver "), Label("integration"), Lit(" notifications")};
  am.description = {Lit("Alertmanager failed "), Fmt("%.0f"), Lit(" "), Label("integration"),
                    Lit(" notifications in the last 10m: pages or tickets are not reaching "
                        "people. This page also posts to Slack and e-mail.")};
  g.alerts.push_back(std::move(am));

  AlertRule rules = MetaAlert(fleet, "RuleEvaluationFailures", Severity::kTicket);
  rules.signal = "sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total[10m]))";
  rules.expr = rules.signal + " > 0";
  rules.comparison = Comparison::kAbove;
  rules.threshold = 0;
  rules.trigger = "a rule group's evaluation failed in the last 10m";
  rules.summary = {Lit("Rule evaluation fails in group "), Label("rule_group")};
  rules.description = {Fmt("%.0f"), Lit(" evaluations of rule group "), Label("rule_group"),
                       Lit(" failed in the last 10m: its alerts cannot fire.")};
  g.alerts.push_back(std::move(rules));

  if (fleet.routing.escalate_after.count() > 0) {
    // Alertmanager cannot see PagerDuty acknowledgements: a page still firing after the
    // escalation window is escalated to the team lead (docs/alerts.md pairs it with a
    // PagerDuty escalation policy).
    AlertRule esc;
    esc.name = "PageEscalation";
    esc.severity = Severity::kPage;
    esc.labels = {{"severity", "page"}, {"escalation", "lead"}};
    esc.runbook_url = RunbookUrl(fleet, esc.name);
    esc.dashboard_url = fleet.dashboard_base_url + "/" + series::kOverviewDashboardUid;
    esc.signal =
        "count by (model, team, tier) (ALERTS{alertstate=\"firing\",severity=\"page\","
        "alertname!~\"PageEscalation|Watchdog\"})";
    esc.expr = esc.signal + " > 0";
    esc.for_duration = fleet.routing.escalate_after;
    esc.comparison = Comparison::kAbove;
    esc.threshold = 0;
    esc.trigger = "a page of the model has been firing for " +
                  FormatDuration(fleet.routing.escalate_after) + " (routing.escalate_after)";
    esc.summary = {Lit("Page for "), Label("model"), Lit(" (team "), Label("team"),
                   Lit(") still firing after " + FormatDuration(fleet.routing.escalate_after))};
    esc.description = {Fmt("%.0f"), Lit(" paging alerts of "), Label("model"),
                       Lit(" have fired for " + FormatDuration(fleet.routing.escalate_after) +
                           " without resolving: escalated to the team lead.")};
    g.alerts.push_back(std::move(esc));
  }
  return g;
}

}  // namespace modelwatch
