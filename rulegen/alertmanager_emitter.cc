#include "rulegen/alertmanager_emitter.h"

#include <set>
#include <sstream>

#include "core/duration.h"
#include "rulegen/rule_model.h"
#include "rulegen/templates.h"
#include "rulegen/text.h"

namespace modelwatch {
namespace {

struct Team {
  std::string name;
  std::string slack;
  std::string pagerduty;
  std::string email;
  std::set<int> tiers;
  std::vector<const ModelConfig*> models;
  // Secret files, resolved: the team's own (modelwatch.yaml teams.<team>), else the fleet's.
  std::string pagerduty_key_file;
  std::string slack_url_file;
  std::string lead_email;
  std::string lead_pagerduty_key_file;
  bool platform = false;
};

bool HasChannel(const Team& t) {
  return !t.email.empty() || !t.slack_url_file.empty() || !t.pagerduty_key_file.empty();
}

// Teams by name; a team's channels come from its first model (by name) that sets them. The
// platform team (modelwatch.yaml `platform`) is always present: it owns the fleet alerts and
// every alert without a known team.
std::map<std::string, Team> CollectTeams(const ConfigSet& config) {
  std::map<std::string, Team> teams;
  for (const ModelConfig& m : config.models) {
    Team& t = teams[m.owner.team];
    t.name = m.owner.team;
    if (t.slack.empty()) t.slack = m.owner.slack;
    if (t.pagerduty.empty()) t.pagerduty = m.owner.pagerduty;
    if (t.email.empty()) t.email = m.owner.email;
    t.tiers.insert(m.tier);
    t.models.push_back(&m);
  }
  const PlatformConfig& pc = config.fleet.platform;
  Team& p = teams[pc.owner.team];
  p.name = pc.owner.team;
  p.platform = true;
  if (!pc.owner.slack.empty()) p.slack = pc.owner.slack;
  if (!pc.owner.pagerduty.empty()) p.pagerduty = pc.owner.pagerduty;
  if (!pc.owner.email.empty()) p.email = pc.owner.email;
  const ReceiverSecrets& r = config.fleet.receivers;
  for (auto& [name, t] : teams) {
    auto it = config.fleet.teams.find(name);
    const TeamReceivers own = it == config.fleet.teams.end() ? TeamReceivers{} : it->second;
    t.pagerduty_key_file = own.pagerduty_routing_key_file.empty() ? r.pagerduty_routing_key_file
                                                                  : own.pagerduty_routing_key_file;
    t.slack_url_file =
        own.slack_api_url_file.empty() ? r.slack_api_url_file : own.slack_api_url_file;
    t.lead_email = own.lead_email;
    t.lead_pagerduty_key_file = own.lead_pagerduty_routing_key_file;
  }
  // A platform team with no channel at all (nothing configured) borrows those of the team
  // owning the most critical model (lowest tier, then name): its on-call is reachable.
  if (!HasChannel(p)) {
    const ModelConfig* critical = nullptr;
    for (const ModelConfig& m : config.models) {
      if (!critical || m.tier < critical->tier) critical = &m;
    }
    if (critical && critical->owner.team != p.name) {
      const Team& c = teams.at(critical->owner.team);
      p.slack = c.slack;
      p.pagerduty = c.pagerduty;
      p.email = c.email;
      p.pagerduty_key_file = c.pagerduty_key_file;
      p.slack_url_file = c.slack_url_file;
    }
  }
  return teams;
}

// Alerts a model's DegradationScore page stands for: its description lists their signals.
const std::vector<std::string>& DegradationSymptoms() {
  static const std::vector<std::string> kSymptoms = {"FeatureDrift",      "PredictionDrift",
                                                     "PositiveRateShift", "ConfidenceDrop",
                                                     "EntropyRise",       "AnomalousRequests"};
  return kSymptoms;
}

// A YAML single-quoted matcher: 'name="value"'.
std::string SingleQuoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string Matcher(const std::string& name, const std::string& value, const char* op = "=") {
  return SingleQuoted(name + op + YamlQuote(value));
}

std::string SlackConfig(const Team& t) {
  std::string y = "    slack_configs:\n";
  // The team's own webhook: a Slack app's webhook posts to its own channel only and ignores
  // `channel` (kept for legacy webhooks).
  y += "      - api_url_file: " + YamlQuote(t.slack_url_file) + "\n";
  y += "        send_resolved: true\n";
  if (!t.slack.empty()) y += "        channel: " + YamlQuote(t.slack) + "\n";
  y += "        title: '{{ template \"modelwatch.title\" . }}'\n";
  y += "        text: '{{ template \"modelwatch.text\" . }}'\n";
  return y;
}

std::string EmailConfig(const std::string& to) {
  std::string y = "    email_configs:\n";
  y += "      - to: " + YamlQuote(to) + "\n";
  y += "        send_resolved: true\n";
  y += "        headers:\n          Subject: '{{ template \"modelwatch.title\" . }}'\n";
  y += "        text: '{{ template \"modelwatch.text\" . }}'\n";
  return y;
}

std::string PagerDutyConfig(const Team& t, const std::string& key_file, const ReceiverSecrets& r) {
  std::string y = "    pagerduty_configs:\n";
  y += "      - routing_key_file: " + YamlQuote(key_file) + "\n";
  if (!r.pagerduty_url.empty()) y += "        url: " + YamlQuote(r.pagerduty_url) + "\n";
  y += "        send_resolved: true\n";
  // P0 (a tier-1 model, or a page without a tier such as the platform's) -> PagerDuty
  // severity critical; P1 (tiers 2 and 3) -> error.
  y += "        severity: '{{ template \"modelwatch.pagerduty_severity\" . }}'\n";
  if (!t.pagerduty.empty()) y += "        group: " + YamlQuote(t.pagerduty) + "\n";
  // One incident per model: the group may hold several alertnames.
  y += "        class: '{{ template \"modelwatch.alertnames\" . }}'\n";
  y += "        component: '{{ .CommonLabels.model }}'\n";
  y += "        description: '{{ template \"modelwatch.priority\" . }} {{ template "
       "\"modelwatch.title\" . }}'\n";
  y += "        details:\n";
  y += "          summary: '{{ template \"modelwatch.text\" . }}'\n";
  y += "          alerts: '{{ template \"modelwatch.alertnames\" . }}'\n";
  y += "          priority: '{{ template \"modelwatch.priority\" . }}'\n";
  y += "          tier: '{{ .CommonLabels.tier }}'\n";
  y += "          runbook: '{{ (index .Alerts 0).Annotations.runbook_url }}'\n";
  y += "          dashboard: '{{ (index .Alerts 0).Annotations.dashboard_url }}'\n";
  return y;
}

struct Want {
  bool pagerduty = false;
  bool slack = false;
  bool email = false;
};

// A receiver with the wanted integrations, else whatever the team has (so that nothing a
// team should see is dropped because a secret file is not configured).
std::string Receiver(const std::string& name, const Team& t, const ReceiverSecrets& r, Want w) {
  const bool pd = !t.pagerduty_key_file.empty();
  const bool slack = !t.slack_url_file.empty();
  const bool email = !t.email.empty();
  std::string y = "  - name: " + YamlScalar(name) + "\n";
  bool any = false;
  if (w.pagerduty && pd) {
    y += PagerDutyConfig(t, t.pagerduty_key_file, r);
    any = true;
  }
  if (w.slack && slack) {
    y += SlackConfig(t);
    any = true;
  }
  if (w.email && email) {
    y += EmailConfig(t.email);
    any = true;
  }
  if (!any) {
    if (slack) y += SlackConfig(t);
    if (email) y += EmailConfig(t.email);
    if (!slack && !email && pd) y += PagerDutyConfig(t, t.pagerduty_key_file, r);
  }
  return y;
}

std::string Labels(const std::map<std::string, std::string>& l) {
  std::string s;
  for (const auto& [k, v] : l) s += (s.empty() ? "" : ",") + k + "=" + v;
  return s;
}

std::string ActionBranches() {
  std::string t;
  bool first = true;
  for (const std::string& a : AlertCatalogue()) {
    for (Severity s : {Severity::kPage, Severity::kTicket, Severity::kInfo}) {
      t += std::string(first ? "{{ if " : "{{ else if ") + "and (eq $a \"" + a + "\") (eq $s \"" +
           SeverityName(s) + "\") }}" + RecommendedAction(a, s);
      first = false;
    }
  }
  return t + "{{ else }}investigate{{ end }}";
}

std::string ActionTable() {
  std::string t;
  for (const std::string& a : AlertCatalogue()) {
    t += "{{/*   " + a + ": page " + RecommendedAction(a, Severity::kPage) + ", ticket " +
         RecommendedAction(a, Severity::kTicket) + " */}}\n";
  }
  return t;
}

// Route timings of a tier, at `pad`.
std::string Timings(const TierDefaults& td, const std::string& pad) {
  return pad + "group_wait: " + FormatDuration(td.group_wait) + "\n" + pad +
         "group_interval: " + FormatDuration(td.group_interval) + "\n" + pad +
         "repeat_interval: " + FormatDuration(td.repeat_interval) + "\n";
}

// The severity routes of a team, at `pad` (the list items' indentation).
std::string SeverityRoutes(const Team& t, const std::string& pad) {
  std::string y;
  y += pad + "- receiver: " + YamlScalar(t.name + "-pagerduty") + "\n";
  y += pad + "  matchers: [" + Matcher("severity", "page") + "]\n";
  y += pad + "  # One incident per model: every page of the model joins one group.\n";
  y += pad + "  group_by: [" + std::string(kPageGroupBy) + "]\n";
  y += pad + "  continue: true\n";
  y += pad + "# Redundancy: every page is also posted to the team's Slack.\n";
  y += pad + "- receiver: " + YamlScalar(t.name + "-slack") + "\n";
  y += pad + "  matchers: [" + Matcher("severity", "page") + "]\n";
  y += pad + "  group_by: [" + std::string(kPageGroupBy) + "]\n";
  y += pad + "- receiver: " + YamlScalar(t.name + "-slack") + "\n";
  y += pad + "  matchers: [" + Matcher("severity", "ticket") + "]\n";
  y += pad + "- receiver: " + YamlScalar(t.name + "-email") + "\n";
  y += pad + "  matchers: [" + Matcher("severity", "info") + "]\n";
  return y;
}

// alertmanager.yml's `global` section: SMTP, Slack and PagerDuty settings of the fleet.
std::string GlobalSettings(const ReceiverSecrets& r) {
  std::string y;
  y += "global:\n";
  y += "  resolve_timeout: 5m\n";
  y += "  smtp_smarthost: " + YamlQuote(r.email_smarthost) + "\n";
  y += "  smtp_from: " + YamlQuote(r.email_from) + "\n";
  y += std::string("  smtp_require_tls: ") + (r.email_require_tls ? "true" : "false") + "\n";
  if (!r.email_auth_username.empty()) {
    y += "  smtp_auth_username: " + YamlQuote(r.email_auth_username) + "\n";
  }
  if (!r.email_auth_password_file.empty()) {
    y += "  smtp_auth_password_file: " + YamlQuote(r.email_auth_password_file) + "\n";
  }
  if (!r.slack_api_url_file.empty()) {
    y += "  slack_api_url_file: " + YamlQuote(r.slack_api_url_file) + "\n";
  }
  if (!r.pagerduty_url.empty()) y += "  pagerduty_url: " + YamlQuote(r.pagerduty_url) + "\n";
  return y;
}

// A team's subtree of the routing tree (an item of the root route's `routes`): the escalation
// route, then per tier of its models and for alerts without a known tier, the severity routes.
std::string TeamRoute(const Team& t, const FleetConfig& fleet) {
  const int default_tier = fleet.routing.default_tier;
  const TierDefaults& dt = fleet.Tier(default_tier);
  const std::string& name = t.name;
  std::string models;
  for (const ModelConfig* m : t.models) models += (models.empty() ? "" : ", ") + m->name;
  std::string y;
  y += "    # Team " + name + ": " + (models.empty() ? "no models" : models) +
       (t.platform ? " (platform team: fleet alerts and alerts without a known team)" : "") + ".\n";
  y += "    - receiver: " + YamlScalar(name + "-fallback") + "\n";
  y += "      matchers: [" + Matcher("team", name) + "]\n";
  y += "      routes:\n";
  if (fleet.routing.escalate_after.count() > 0) {
    // Before the severity routes: the escalation is a page to someone else.
    const bool lead = !t.lead_email.empty() || !t.lead_pagerduty_key_file.empty();
    y += "        # Escalation after routing.escalate_after: " +
         std::string(lead ? "the team lead." : "no lead configured, the team is paged again.") +
         "\n";
    y += "        - receiver: " + YamlScalar(name + (lead ? "-lead" : "-pagerduty")) + "\n";
    y += "          matchers: [" + Matcher("alertname", "PageEscalation") + "]\n";
    y += "          group_by: [" + std::string(kPageGroupBy) + "]\n";
    y += Timings(dt, "          ");
  }
  for (int tier : t.tiers) {
    y += "        - receiver: " + YamlScalar(name + "-fallback") + "\n";
    y += "          matchers: [" + Matcher("tier", std::to_string(tier)) + "]\n";
    y += Timings(fleet.Tier(tier), "          ");
    y += "          routes:\n";
    y += SeverityRoutes(t, "            ");
  }
  y += "        # Without a known tier: routing.default_tier (" + std::to_string(default_tier) +
       ").\n";
  y += "        - receiver: " + YamlScalar(name + "-fallback") + "\n";
  y += Timings(dt, "          ");
  y += "          routes:\n";
  y += SeverityRoutes(t, "            ");
  return y;
}

// alertmanager.yml's `route`: the Watchdog heartbeat, one subtree per team, and the platform
// team's catch-all for alerts without a known team.
std::string RouteTree(const ConfigSet& config, const std::map<std::string, Team>& teams) {
  const FleetConfig& fleet = config.fleet;
  const TierDefaults& dt = fleet.Tier(fleet.routing.default_tier);
  const Team& platform = teams.at(PlatformTeam(config));
  std::string y;
  y += "route:\n";
  y += "  # Alerts no route below matches go to the platform team (" + platform.name + ").\n";
  y += "  receiver: " + YamlScalar(platform.name + "-fallback") + "\n";
  y += "  group_by: [alertname, model]\n";
  y += Timings(fleet.Tier(2), "  ");
  y += "  routes:\n";
  y += "    # The Watchdog heartbeat: always firing, re-sent every minute.\n";
  y += "    - receiver: heartbeat\n";
  y += "      matchers: [" + Matcher("alertname", "Watchdog") + "]\n";
  y += "      group_wait: 0s\n      group_interval: 1m\n      repeat_interval: 1m\n";
  for (const auto& [name, t] : teams) y += TeamRoute(t, fleet);
  y += "    # Alerts without a known team: the platform team, routing.default_tier timings.\n";
  y += "    - receiver: " + YamlScalar(platform.name + "-fallback") + "\n";
  y += Timings(dt, "      ");
  y += "      routes:\n";
  y += SeverityRoutes(platform, "        ");
  return y;
}

// alertmanager.yml's `receivers`: the heartbeat, and per team its pagerduty, slack, email,
// fallback and (when configured) lead receivers.
std::string Receivers(const FleetConfig& fleet, const std::map<std::string, Team>& teams) {
  const ReceiverSecrets& r = fleet.receivers;
  std::string y;
  y += "receivers:\n";
  y += "  - name: heartbeat\n";
  y += "    webhook_configs:\n";
  y += "      - url: " + YamlQuote(fleet.heartbeat_url) + "\n";
  y += "        send_resolved: false\n";
  for (const auto& [name, t] : teams) {
    y += Receiver(name + "-pagerduty", t, r, {true, false, false});
    y += Receiver(name + "-slack", t, r, {false, true, false});
    y += Receiver(name + "-email", t, r, {false, false, true});
    y += Receiver(name + "-fallback", t, r, {false, true, true});
    if (!t.lead_email.empty() || !t.lead_pagerduty_key_file.empty()) {
      y += "  - name: " + YamlScalar(name + "-lead") + "\n";
      if (!t.lead_pagerduty_key_file.empty()) {
        y += PagerDutyConfig(t, t.lead_pagerduty_key_file, r);
      }
      if (!t.lead_email.empty()) y += EmailConfig(t.lead_email);
    }
  }
  return y;
}

// alertmanager.yml's `inhibit_rules` (the same for every configuration).
std::string InhibitRules() {
  std::string y;
  y += "inhibit_rules:\n";
  y += "  # A page silences the ticket of the same condition (same alert, model and feature).\n";
  y += "  - source_matchers: [" + Matcher("severity", "page") + "]\n";
  y += "    target_matchers: [" + Matcher("severity", "ticket") + "]\n";
  y += "    equal: [alertname, model, feature]\n";
  std::string symptoms;
  for (const auto& s : ModelDownSymptoms()) symptoms += (symptoms.empty() ? "" : "|") + s;
  y += "  # While a model is down, its symptom alerts are noise.\n";
  y += "  - source_matchers: [" + Matcher("alertname", "ModelDown") + "]\n";
  y += "    target_matchers: [" + Matcher("alertname", symptoms, "=~") + "]\n";
  y += "    equal: [model]\n";
  std::string drift;
  for (const auto& s : DegradationSymptoms()) drift += (drift.empty() ? "" : "|") + s;
  y += "  # The model-level quality page lists its contributing signals (drift, confidence,\n";
  y +=
      "  # entropy, anomalies, errors) and their trend: the separate symptom alerts are demoted.\n";
  y += "  - source_matchers: [" + Matcher("alertname", "DegradationScore") + ", " +
       Matcher("severity", "page") + "]\n";
  y += "    target_matchers: [" + Matcher("alertname", drift, "=~") + "]\n";
  y += "    equal: [model]\n";
  y +=
      "  # While no exporter answers, every model's series are gone: the model alerts (ModelDown\n";
  y += "  # first) are consequences, and the platform team is paged once by ExporterDown.\n";
  y += "  - source_matchers: [" + Matcher("alertname", "ExporterDown") + "]\n";
  y += "    target_matchers: [" + Matcher("model", ".+", "=~") + "]\n";
  y += "  - source_matchers: [" + Matcher("alertname", "ExporterDown") + "]\n";
  y += "    target_matchers: [" + Matcher("alertname", "ExporterScrapeFailures") + "]\n";
  y += "    equal: [job]\n";
  return y;
}

// The label set of one of a model's alerts in tests/routes.txt: model, team and tier, the
// alertname and severity, and any `extra` labels.
class ModelAlertLabels {
 public:
  explicit ModelAlertLabels(const ModelConfig& m)
      : base_{{"model", m.name}, {"team", m.owner.team}, {"tier", std::to_string(m.tier)}} {}

  std::map<std::string, std::string> operator()(
      const std::string& alert, const std::string& sev,
      std::map<std::string, std::string> extra = {}) const {
    auto l = base_;
    l["alertname"] = alert;
    l["severity"] = sev;
    for (auto& [k, v] : extra) l[k] = v;
    return l;
  }

 private:
  std::map<std::string, std::string> base_;
};

// The platform team's cases: alerts without a known team, the meta-alerts (the alerts of the
// fleet-wide rule file), page escalations, and what ExporterDown inhibits.
std::string PlatformRouteCases(const ConfigSet& config, const std::map<std::string, Team>& teams,
                               const RuleFile& fleet_rules, const std::string& exporter_down) {
  const std::string p = PlatformTeam(config);
  std::string rt;
  rt += "# Alerts without a known team go to the platform team, pages to its PagerDuty.\n";
  rt += "route " + p + "-pagerduty," + p + "-slack alertname=ModelDown,model=unknown," +
        "severity=page,team=no-such-team,tier=1\n";
  rt += "route " + p + "-pagerduty," + p + "-slack alertname=SomeAlert,severity=page\n";
  rt += "route " + p + "-slack alertname=SomeAlert,severity=ticket\n";
  rt += "route " + p + "-fallback alertname=SomeAlert\n";
  rt += "# Meta-alerts page or ticket the platform team; ExporterDown inhibits model alerts.\n";
  for (const RuleGroup& g : fleet_rules.groups) {
    for (const AlertRule& a : g.alerts) {
      if (a.name == "Watchdog") continue;
      std::map<std::string, std::string> l(a.labels.begin(), a.labels.end());
      l["alertname"] = a.name;
      rt += "route " + p +
            (a.severity == Severity::kPage ? "-pagerduty," + p + "-slack " : "-slack ") +
            Labels(l) + "\n";
    }
  }
  if (config.fleet.routing.escalate_after.count() > 0) {
    for (const auto& [name, t] : teams) {
      const bool lead = !t.lead_email.empty() || !t.lead_pagerduty_key_file.empty();
      rt += "route " + name + (lead ? "-lead" : "-pagerduty") +
            " alertname=PageEscalation,escalation=lead,model=m,severity=page,team=" + name +
            ",tier=1\n";
    }
  }
  rt += "no-inhibit " + exporter_down +
        " alertname=RuleEvaluationFailures,rule_group=g,severity=ticket,team=" + p + "\n";
  rt += "inhibit " + exporter_down + " alertname=ExporterScrapeFailures,instance=a:9841,job=" +
        config.fleet.platform.exporter_job + ",severity=ticket,team=" + p + "\n";
  return rt;
}

// Where a model's alerts are routed: each alertname and severity of its rule file `f` once,
// then ModelDown at the severities and tiers no rule has (info, none, no tier, an unknown
// tier). Fills `present` (the model's alertnames) and `both` (those with a page and a ticket).
std::string ModelRouteCases(const ModelConfig& m, const RuleFile& f, std::set<std::string>& present,
                            std::set<std::string>& both) {
  const ModelAlertLabels with(m);
  const std::string& t = m.owner.team;
  std::string rt;
  std::set<std::pair<std::string, std::string>> seen;
  std::map<std::string, int> count;
  for (const RuleGroup& g : f.groups) {
    for (const AlertRule& a : g.alerts) {
      if (++count[a.name] == 2) both.insert(a.name);
      if (!seen.insert({a.name, SeverityName(a.severity)}).second) continue;
      std::map<std::string, std::string> l(a.labels.begin(), a.labels.end());
      l["alertname"] = a.name;
      const std::string to = a.severity == Severity::kPage     ? t + "-pagerduty," + t + "-slack"
                             : a.severity == Severity::kTicket ? t + "-slack"
                                                               : t + "-email";
      rt += "route " + to + " " + Labels(l) + "\n";
    }
  }
  for (const auto& [name, n] : count) present.insert(name);
  rt += "route " + t + "-email " + Labels(with("ModelDown", "info")) + "\n";
  rt += "route " + t + "-fallback " + Labels(with("ModelDown", "unknown")) + "\n";
  // A page without a tier, or with a tier the team has no route for, still pages
  // (routing.default_tier timings).
  auto untiered = with("ModelDown", "page");
  untiered.erase("tier");
  const std::string paged = t + "-pagerduty," + t + "-slack ";
  rt += "route " + paged + Labels(untiered) + "\n";
  untiered["tier"] = "9";
  rt += "route " + paged + Labels(untiered) + "\n";
  untiered["severity"] = "ticket";
  rt += "route " + t + "-slack " + Labels(untiered) + "\n";
  return rt;
}

// What a model's alerts inhibit and what they must not: DegradationScore over its symptoms,
// a page over the ticket of the same alert, ModelDown over its symptoms, ExporterDown over
// the model's alerts. `present` and `both` as ModelRouteCases fills them.
std::string ModelInhibitCases(const ModelConfig& m, const std::set<std::string>& present,
                              const std::set<std::string>& both, const std::string& exporter_down) {
  const ModelAlertLabels with(m);
  std::string rt;
  if (present.count("DegradationScore")) {
    for (const std::string& s : DegradationSymptoms()) {
      if (!present.count(s)) continue;
      for (const char* sev : {"page", "ticket"}) {
        rt += "inhibit " + Labels(with("DegradationScore", "page")) + " " + Labels(with(s, sev)) +
              "\n";
      }
      rt += "no-inhibit " + Labels(with("DegradationScore", "ticket")) + " " +
            Labels(with(s, "page")) + "\n";
    }
    rt += "no-inhibit " + Labels(with("DegradationScore", "page")) + " " +
          Labels(with("HighErrorRate", "ticket")) + "\n";
  }
  for (const std::string& a : both) {
    rt += "inhibit " + Labels(with(a, "page")) + " " + Labels(with(a, "ticket")) + "\n";
    rt += "no-inhibit " + Labels(with(a, "ticket")) + " " + Labels(with(a, "page")) + "\n";
    auto other = with(a, "page");
    other["model"] = m.name + "-other";
    rt += "no-inhibit " + Labels(other) + " " + Labels(with(a, "ticket")) + "\n";
  }
  if (both.count("FeatureDrift")) {
    rt += "inhibit " + Labels(with("FeatureDrift", "page", {{"feature", "a"}, {"window", "1h"}})) +
          " " + Labels(with("FeatureDrift", "ticket", {{"feature", "a"}, {"window", "24h"}})) +
          "\n";
    rt += "no-inhibit " + Labels(with("FeatureDrift", "page", {{"feature", "a"}})) + " " +
          Labels(with("FeatureDrift", "ticket", {{"feature", "b"}})) + "\n";
  }
  const std::string down_sev = m.tier <= 2 ? "page" : "ticket";
  for (const std::string& s : ModelDownSymptoms()) {
    if (!present.count(s)) continue;
    rt += "inhibit " + Labels(with("ModelDown", down_sev)) + " " + Labels(with(s, "ticket")) + "\n";
    auto other = with("ModelDown", down_sev);
    other["model"] = m.name + "-other";
    rt += "no-inhibit " + Labels(other) + " " + Labels(with(s, "ticket")) + "\n";
  }
  for (const char* s :
       {"LowLabelMatchRate", "PerformanceBelowRetrainThreshold", "CalibrationDrift"}) {
    if (!present.count(s)) continue;
    rt += "no-inhibit " + Labels(with("ModelDown", down_sev)) + " " + Labels(with(s, "ticket")) +
          "\n";
  }
  rt += "no-inhibit " + Labels(with("ModelDown", down_sev)) + " " +
        Labels({{"alertname", "Watchdog"}, {"severity", "info"}}) + "\n";
  // ExporterDown silences every model's alerts, ModelDown first.
  for (const std::string& s : {std::string("ModelDown"), std::string("FeatureDrift")}) {
    if (!present.count(s)) continue;
    rt += "inhibit " + exporter_down + " " + Labels(with(s, s == "ModelDown" ? down_sev : "page")) +
          "\n";
  }
  return rt;
}

// The ExporterDown alert as the inhibition cases write it.
std::string ExporterDownLabels(const ConfigSet& config) {
  return "alertname=ExporterDown,job=" + config.fleet.platform.exporter_job +
         ",severity=page,team=" + PlatformTeam(config);
}

// A model's part of tests/routes.txt: its routing and inhibition cases.
std::string ModelCases(const ModelConfig& m, const RuleFile& f, const std::string& exporter_down) {
  std::set<std::string> present;
  std::set<std::string> both;  // alertnames with page and ticket
  std::string rt = ModelRouteCases(m, f, present, both);
  rt += ModelInhibitCases(m, present, both, exporter_down);
  return rt;
}

}  // namespace

std::string PlatformTeam(const ConfigSet& config) { return config.fleet.platform.owner.team; }

namespace {

// Everything at the end: the routing tree, receivers and routing cases span the fleet and
// read only the config.
class AlertmanagerRun : public EmitterRun {
 public:
  explicit AlertmanagerRun(const ConfigSet& config)
      : config_(config),
        exporter_down_(ExporterDownLabels(config)),
        model_cases_(config.models.size()) {}

  // The model's routing cases, kept until Finish writes tests/routes.txt in model order.
  void Model(std::size_t index, const ModelConfig& m, const RuleFile& rules, FileSink&) override {
    model_cases_.at(index) = ModelCases(m, rules, exporter_down_);
  }

  void Finish(const RuleFile& fleet_rules, FileSink& out) override {
    const auto teams = CollectTeams(config_);
    out.Add("alertmanager/alertmanager.yml",
            GlobalSettings(config_.fleet.receivers) + "templates:\n  - templates/*.tmpl\n" +
                RouteTree(config_, teams) + Receivers(config_.fleet, teams) + InhibitRules());

    std::string missing;
    out.Add("alertmanager/templates/modelwatch.tmpl",
            RenderTemplate(TemplateText("alertmanager/modelwatch.tmpl"),
                           {{"action_branches", ActionBranches()}, {"action_table", ActionTable()}},
                           &missing));

    // tests/routes.txt: the routing and inhibition cases of the whole configuration.
    std::string rt;
    rt += "# Routing cases: route <receiver> <labels>; checked with `amtool config routes test`.\n";
    rt += "# Inhibition cases: inhibit|no-inhibit <source labels> <target labels>; checked by\n";
    rt += "# `modelwatch-rulegen check` against alertmanager.yml's inhibit_rules.\n";
    rt += "route heartbeat alertname=Watchdog,severity=info\n";
    rt += PlatformRouteCases(config_, teams, fleet_rules, exporter_down_);
    std::size_t size = rt.size();
    for (const std::string& c : model_cases_) size += c.size();
    rt.reserve(size);
    for (std::string& c : model_cases_) {
      rt += c;
      std::string().swap(c);
    }
    out.Add("tests/routes.txt", std::move(rt));
  }

 private:
  const ConfigSet& config_;
  const std::string exporter_down_;
  std::vector<std::string> model_cases_;  // by the model's index, until Finish
};

}  // namespace

std::unique_ptr<EmitterRun> AlertmanagerEmitter::Start(const ConfigSet& config) const {
  return std::make_unique<AlertmanagerRun>(config);
}

Result<std::vector<RouteCase>> ParseRouteCases(const std::string& text) {
  std::vector<RouteCase> cases;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto parse_labels = [](const std::string& s, std::map<std::string, std::string>& out) {
    std::istringstream ls(s);
    std::string kv;
    while (std::getline(ls, kv, ',')) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return false;
      out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return !out.empty();
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string kind, a, b, extra;
    ls >> kind >> a >> b >> extra;
    RouteCase c;
    bool ok = !b.empty() && extra.empty();
    if (ok && kind == "route") {
      c.receiver = a;
      ok = parse_labels(b, c.labels);
    } else if (ok && (kind == "inhibit" || kind == "no-inhibit")) {
      c.kind = kind == "inhibit" ? RouteCase::Kind::kInhibit : RouteCase::Kind::kNoInhibit;
      ok = parse_labels(a, c.source) && parse_labels(b, c.labels);
    } else {
      ok = false;
    }
    if (!ok) return MakeError("malformed case: " + line, SourceLocation{"routes.txt", n, 1});
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace modelwatch
