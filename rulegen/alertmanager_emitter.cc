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
};

// Teams by name; a team's channels come from its first model (by name) that sets them.
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
  return teams;
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
  y += "      - send_resolved: true\n";
  if (!t.slack.empty()) y += "        channel: " + YamlQuote(t.slack) + "\n";
  y += "        title: '{{ template \"modelwatch.title\" . }}'\n";
  y += "        text: '{{ template \"modelwatch.text\" . }}'\n";
  return y;
}

std::string EmailConfig(const Team& t) {
  std::string y = "    email_configs:\n";
  y += "      - to: " + YamlQuote(t.email) + "\n";
  y += "        send_resolved: true\n";
  y += "        headers:\n          Subject: '{{ template \"modelwatch.title\" . }}'\n";
  y += "        text: '{{ template \"modelwatch.text\" . }}'\n";
  return y;
}

std::string PagerDutyConfig(const Team& t, const ReceiverSecrets& r) {
  std::string y = "    pagerduty_configs:\n";
  y += "      - routing_key_file: " + YamlQuote(r.pagerduty_routing_key_file) + "\n";
  if (!r.pagerduty_url.empty()) y += "        url: " + YamlQuote(r.pagerduty_url) + "\n";
  y += "        send_resolved: true\n";
  y += "        severity: critical\n";
  if (!t.pagerduty.empty()) y += "        group: " + YamlQuote(t.pagerduty) + "\n";
  y += "        class: '{{ .CommonLabels.alertname }}'\n";
  y += "        component: '{{ .CommonLabels.model }}'\n";
  y += "        description: '{{ template \"modelwatch.title\" . }}'\n";
  y += "        details:\n";
  y += "          summary: '{{ template \"modelwatch.text\" . }}'\n";
  y += "          runbook: '{{ .CommonAnnotations.runbook_url }}'\n";
  y += "          dashboard: '{{ .CommonAnnotations.dashboard_url }}'\n";
  return y;
}

struct Channels {
  bool slack = false;
  bool email = false;
  bool pagerduty = false;
};

Channels Available(const Team& t, const ReceiverSecrets& r) {
  return {!r.slack_api_url_file.empty(), !t.email.empty(), !r.pagerduty_routing_key_file.empty()};
}

// A receiver with the wanted integration, else whatever the team has (so that nothing a
// team should see is dropped because a secret file is not configured).
std::string Receiver(const std::string& name, const Team& t, const ReceiverSecrets& r, bool want_pd,
                     bool want_slack, bool want_email) {
  const Channels c = Available(t, r);
  std::string y = "  - name: " + YamlScalar(name) + "\n";
  bool any = false;
  if (want_pd && c.pagerduty) {
    y += PagerDutyConfig(t, r);
    any = true;
  }
  if (want_slack && c.slack) {
    y += SlackConfig(t);
    any = true;
  }
  if (want_email && c.email) {
    y += EmailConfig(t);
    any = true;
  }
  if (!any) {
    if (c.slack) y += SlackConfig(t);
    if (c.email) y += EmailConfig(t);
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

}  // namespace

void AlertmanagerEmitter::Emit(const ConfigSet& config, OutputFiles& out) const {
  const FleetConfig& fleet = config.fleet;
  const ReceiverSecrets& r = fleet.receivers;
  const auto teams = CollectTeams(config);
  const TierDefaults& root_tier = fleet.Tier(2);

  std::string y;
  y += "global:\n";
  y += "  resolve_timeout: 5m\n";
  y += "  smtp_smarthost: " + YamlQuote(r.email_smarthost) + "\n";
  y += "  smtp_from: " + YamlQuote(r.email_from) + "\n";
  y += std::string("  smtp_require_tls: ") + (r.email_require_tls ? "true" : "false") + "\n";
  if (!r.email_auth_password_file.empty()) {
    y += "  smtp_auth_password_file: " + YamlQuote(r.email_auth_password_file) + "\n";
  }
  if (!r.slack_api_url_file.empty()) {
    y += "  slack_api_url_file: " + YamlQuote(r.slack_api_url_file) + "\n";
  }
  if (!r.pagerduty_url.empty()) y += "  pagerduty_url: " + YamlQuote(r.pagerduty_url) + "\n";
  y += "templates:\n  - templates/*.tmpl\n";
  y += "route:\n";
  y += std::string("  receiver: ") + kRootReceiver + "\n";
  y += "  group_by: [alertname, model]\n";
  y += "  group_wait: " + FormatDuration(root_tier.group_wait) + "\n";
  y += "  group_interval: " + FormatDuration(root_tier.group_interval) + "\n";
  y += "  repeat_interval: " + FormatDuration(root_tier.repeat_interval) + "\n";
  y += "  routes:\n";
  y += "    # The Watchdog heartbeat: always firing, re-sent every minute.\n";
  y += "    - receiver: heartbeat\n";
  y += "      matchers: [" + Matcher("alertname", "Watchdog") + "]\n";
  y += "      group_wait: 0s\n      group_interval: 1m\n      repeat_interval: 1m\n";
  for (const auto& [name, t] : teams) {
    std::string models;
    for (const ModelConfig* m : t.models) models += (models.empty() ? "" : ", ") + m->name;
    y += "    # Team " + name + ": " + models + ".\n";
    y += "    - receiver: " + YamlScalar(name + "-fallback") + "\n";
    y += "      matchers: [" + Matcher("team", name) + "]\n";
    y += "      routes:\n";
    for (int tier : t.tiers) {
      const TierDefaults& td = fleet.Tier(tier);
      y += "        - receiver: " + YamlScalar(name + "-fallback") + "\n";
      y += "          matchers: [" + Matcher("tier", std::to_string(tier)) + "]\n";
      y += "          group_wait: " + FormatDuration(td.group_wait) + "\n";
      y += "          group_interval: " + FormatDuration(td.group_interval) + "\n";
      y += "          repeat_interval: " + FormatDuration(td.repeat_interval) + "\n";
      y += "          routes:\n";
      for (auto [sev, suffix] :
           {std::pair{"page", "-pagerduty"}, {"ticket", "-slack"}, {"info", "-email"}}) {
        y += "            - receiver: " + YamlScalar(name + suffix) + "\n";
        y += "              matchers: [" + Matcher("severity", sev) + "]\n";
      }
    }
  }
  y += "receivers:\n";
  y += std::string("  - name: ") + kRootReceiver +
       "  # alerts without a known team; modelwatch generates none\n";
  y += "  - name: heartbeat\n";
  y += "    webhook_configs:\n";
  y += "      - url: " + YamlQuote(fleet.heartbeat_url) + "\n";
  y += "        send_resolved: false\n";
  for (const auto& [name, t] : teams) {
    y += Receiver(name + "-pagerduty", t, r, true, false, false);
    y += Receiver(name + "-slack", t, r, false, true, false);
    y += Receiver(name + "-email", t, r, false, false, true);
    y += Receiver(name + "-fallback", t, r, false, true, true);
  }
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
  out["alertmanager/alertmanager.yml"] = y;

  std::string missing;
  out["alertmanager/templates/modelwatch.tmpl"] = RenderTemplate(
      TemplateText("alertmanager/modelwatch.tmpl"),
      {{"action_branches", ActionBranches()}, {"action_table", ActionTable()}}, &missing);

  // Routing and inhibition cases.
  std::string rt;
  rt += "# Routing cases: route <receiver> <labels>; checked with `amtool config routes test`.\n";
  rt += "# Inhibition cases: inhibit|no-inhibit <source labels> <target labels>; checked by\n";
  rt += "# `modelwatch-rulegen check` against alertmanager.yml's inhibit_rules.\n";
  rt += "route heartbeat alertname=Watchdog,severity=info\n";
  rt += std::string("route ") + kRootReceiver +
        " alertname=ModelDown,model=unknown,severity=page,team=no-such-team,tier=1\n";
  for (const RuleFile& f : BuildAllRules(config)) {
    if (f.model.empty()) continue;
    const ModelConfig& m = *config.Find(f.model);
    std::set<std::pair<std::string, std::string>> seen;
    std::set<std::string> both;  // alertnames with page and ticket
    std::map<std::string, int> count;
    for (const RuleGroup& g : f.groups) {
      for (const AlertRule& a : g.alerts) {
        if (++count[a.name] == 2) both.insert(a.name);
        if (!seen.insert({a.name, SeverityName(a.severity)}).second) continue;
        std::map<std::string, std::string> l(a.labels.begin(), a.labels.end());
        l["alertname"] = a.name;
        const std::string suffix = a.severity == Severity::kPage     ? "-pagerduty"
                                   : a.severity == Severity::kTicket ? "-slack"
                                                                     : "-email";
        rt += "route " + m.owner.team + suffix + " " + Labels(l) + "\n";
      }
    }
    std::map<std::string, std::string> base = {
        {"model", m.name}, {"team", m.owner.team}, {"tier", std::to_string(m.tier)}};
    auto with = [&](const std::string& alert, const std::string& sev,
                    std::map<std::string, std::string> extra = {}) {
      auto l = base;
      l["alertname"] = alert;
      l["severity"] = sev;
      for (auto& [k, v] : extra) l[k] = v;
      return l;
    };
    rt += "route " + m.owner.team + "-email " + Labels(with("ModelDown", "info")) + "\n";
    rt += "route " + m.owner.team + "-fallback " + Labels(with("ModelDown", "unknown")) + "\n";
    for (const std::string& a : both) {
      rt += "inhibit " + Labels(with(a, "page")) + " " + Labels(with(a, "ticket")) + "\n";
      rt += "no-inhibit " + Labels(with(a, "ticket")) + " " + Labels(with(a, "page")) + "\n";
      auto other = with(a, "page");
      other["model"] = m.name + "-other";
      rt += "no-inhibit " + Labels(other) + " " + Labels(with(a, "ticket")) + "\n";
    }
    if (both.count("FeatureDrift")) {
      rt += "inhibit " +
            Labels(with("FeatureDrift", "page", {{"feature", "a"}, {"window", "1h"}})) + " " +
            Labels(with("FeatureDrift", "ticket", {{"feature", "a"}, {"window", "24h"}})) + "\n";
      rt += "no-inhibit " + Labels(with("FeatureDrift", "page", {{"feature", "a"}})) + " " +
            Labels(with("FeatureDrift", "ticket", {{"feature", "b"}})) + "\n";
    }
    const std::string down_sev = m.tier <= 2 ? "page" : "ticket";
    std::set<std::string> present;
    for (const auto& [name, n] : count) present.insert(name);
    for (const std::string& s : ModelDownSymptoms()) {
      if (!present.count(s)) continue;
      rt +=
          "inhibit " + Labels(with("ModelDown", down_sev)) + " " + Labels(with(s, "ticket")) + "\n";
      auto other = with("ModelDown", down_sev);
      other["model"] = m.name + "-other";
      rt += "no-inhibit " + Labels(other) + " " + Labels(with(s, "ticket")) + "\n";
    }
    for (const char* s : {"LowLabelMatchRate", "PerformanceBelowRetrainThreshold"}) {
      if (!present.count(s)) continue;
      rt += "no-inhibit " + Labels(with("ModelDown", down_sev)) + " " + Labels(with(s, "ticket")) +
            "\n";
    }
    rt += "no-inhibit " + Labels(with("ModelDown", down_sev)) + " " +
          Labels({{"alertname", "Watchdog"}, {"severity", "info"}}) + "\n";
  }
  out["tests/routes.txt"] = rt;
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
