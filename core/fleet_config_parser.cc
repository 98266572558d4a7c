// The fleet file parser (modelwatch.yaml): receivers, teams, platform, routing, tiers and
// links, each section checked and its errors reported at their line:column.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "core/config_loader.h"
#include "core/config_parse.h"
#include "core/yaml_reader.h"

namespace modelwatch {
namespace {

using config_parse::IsName;
using config_parse::ParseYaml;
using config_parse::Resolve;

// "host:port" with a port in 1..65535 (Alertmanager's smarthost); IPv6 hosts in brackets.
bool IsHostPort(const std::string& s) {
  const std::size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  const std::string port = s.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const int p = std::stoi(port);
  return p >= 1 && p <= 65535 && s.find_first_of(" \t/") == std::string::npos;
}

// An address Alertmanager's mail.ParseAddress takes: local@domain (optionally "Name <...>").
bool IsEmailAddress(std::string s) {
  if (const std::size_t lt = s.find('<'); lt != std::string::npos && s.back() == '>') {
    s = s.substr(lt + 1, s.size() - lt - 2);
  }
  const std::size_t at = s.find('@');
  return at != std::string::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == std::string::npos && s.find_first_of(" \t<>") == std::string::npos;
}

const std::vector<std::string> kFleetKeys = {"receivers", "tiers",   "links", "teams",
                                             "platform",  "routing", "drift"};
const std::vector<std::string> kFleetDriftKeys = {"engine", "tiers"};
const std::vector<std::string> kTeamKeys = {"pagerduty", "slack", "lead"};
const std::vector<std::string> kLeadKeys = {"email", "pagerduty"};
const std::vector<std::string> kPlatformKeys = {"team", "slack", "pagerduty", "email",
                                                "exporter_job"};
const std::vector<std::string> kRoutingKeys = {"default_tier", "escalate_after"};
const std::vector<std::string> kReceiverKeys = {"pagerduty", "slack", "email", "heartbeat"};
const std::vector<std::string> kTierKeys = {"evaluation_interval", "for",
                                            "model_down_after",    "group_wait",
                                            "group_interval",      "repeat_interval"};
const std::vector<std::string> kLinkKeys = {"runbook_base_url", "dashboard_base_url"};

class FleetParser {
 public:
  explicit FleetParser(YamlReader& r) : r_(r) {}

  FleetConfig Parse(const YAML::Node& root) {
    FleetConfig f;
    f.file = r_.file();
    for (int t = 1; t <= 3; ++t) f.tiers[t] = DefaultTier(t);
    if (root.IsNull() || !root.IsDefined()) return f;  // an empty file is valid
    if (!r_.CheckMapping(root, kFleetKeys, "modelwatch.yaml")) return f;
    ParseReceivers(r_.Child(root, "receivers", "modelwatch.yaml", false), f.receivers, f);
    ParseTiers(r_.Child(root, "tiers", "modelwatch.yaml", false), f);
    ParseTeams(r_.Child(root, "teams", "modelwatch.yaml", false), f);
    ParsePlatform(r_.Child(root, "platform", "modelwatch.yaml", false), f.platform);
    ParseRouting(r_.Child(root, "routing", "modelwatch.yaml", false), f.routing);
    ParseDrift(r_.Child(root, "drift", "modelwatch.yaml", false), f);
    YAML::Node links = r_.Child(root, "links", "modelwatch.yaml", false);
    if (links.IsDefined() && r_.CheckMapping(links, kLinkKeys, "links")) {
      for (const char* key : {"runbook_base_url", "dashboard_base_url"}) {
        YAML::Node n = r_.Child(links, key, "links", false);
        if (auto s = r_.String(n, std::string("links.") + key)) {
          (std::string_view(key) == "runbook_base_url" ? f.runbook_base_url
                                                       : f.dashboard_base_url) = *s;
          CheckUrl(n, std::string("links.") + key, *s);
        }
      }
    }
    return f;
  }

 private:
  // Secrets are never written inline: only *_file keys, whose paths are kept as written
  // (they are paths on the Alertmanager host, not relative to this repository).
  // An absolute http(s) URL with a host, as Alertmanager and Grafana need; "" is unset.
  void CheckUrl(const YAML::Node& node, const std::string& key_path, const std::string& url) {
    if (url.empty()) return;
    const std::size_t scheme = url.find("://");
    const std::string prefix = scheme == std::string::npos ? "" : url.substr(0, scheme);
    const std::size_t host_end = url.find_first_of("/?#", scheme + 3);
    const std::string host =
        scheme == std::string::npos
            ? ""
            : url.substr(scheme + 3,
                         host_end == std::string::npos ? std::string::npos : host_end - scheme - 3);
    if ((prefix != "http" && prefix != "https") || host.empty() ||
        url.find_first_of(" \t") != std::string::npos) {
      r_.AddError(node, key_path + " \"" + url + "\" is not an http:// or https:// URL");
    }
  }

  void ParseReceivers(const YAML::Node& node, ReceiverSecrets& s, FleetConfig& f) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kReceiverKeys, "receivers")) return;
    auto section = [&](const std::string& name, const std::vector<std::string>& keys,
                       const std::vector<std::string>& inline_secrets) -> YAML::Node {
      YAML::Node n = r_.Child(node, name, "receivers", false);
      if (!n.IsDefined()) return n;
      std::vector<std::string> allowed = keys;
      allowed.insert(allowed.end(), inline_secrets.begin(), inline_secrets.end());
      if (!r_.CheckMapping(n, allowed, "receivers." + name)) {
        return YAML::Node(YAML::NodeType::Undefined);
      }
      for (const auto& secret : inline_secrets) {
        YAML::Node v = r_.Child(n, secret, "receivers." + name, false);
        if (v.IsDefined()) {
          r_.AddError(v, "receivers." + name + "." + secret +
                             " would put a secret in generated files; use " + secret +
                             "_file with the path of a file holding it");
        }
      }
      return n;
    };
    auto str = [&](const YAML::Node& parent, const std::string& key, const std::string& path,
                   std::string& out) {
      if (auto v = r_.String(r_.Child(parent, key, path, false), path + "." + key)) out = *v;
    };
    if (YAML::Node pd = section("pagerduty", {"routing_key_file", "url"}, {"routing_key"});
        pd.IsDefined()) {
      str(pd, "routing_key_file", "receivers.pagerduty", s.pagerduty_routing_key_file);
      str(pd, "url", "receivers.pagerduty", s.pagerduty_url);
      CheckUrl(r_.Child(pd, "url", "receivers.pagerduty", false), "receivers.pagerduty.url",
               s.pagerduty_url);
    }
    if (YAML::Node sl = section("slack", {"api_url_file"}, {"api_url"}); sl.IsDefined()) {
      str(sl, "api_url_file", "receivers.slack", s.slack_api_url_file);
    }
    if (YAML::Node em = section(
            "email", {"smarthost", "from", "auth_username", "auth_password_file", "require_tls"},
            {"auth_password"});
        em.IsDefined()) {
      str(em, "smarthost", "receivers.email", s.email_smarthost);
      if (!s.email_smarthost.empty() && !IsHostPort(s.email_smarthost)) {
        r_.AddError(
            r_.Child(em, "smarthost", "receivers.email", false),
            "receivers.email.smarthost \"" + s.email_smarthost +
                "\" is not host:port (Alertmanager needs the port, e.g. smtp.example.com:587)");
      }
      str(em, "from", "receivers.email", s.email_from);
      if (!s.email_from.empty() && !IsEmailAddress(s.email_from)) {
        r_.AddError(r_.Child(em, "from", "receivers.email", false),
                    "receivers.email.from \"" + s.email_from + "\" is not an email address");
      }
      str(em, "auth_username", "receivers.email", s.email_auth_username);
      str(em, "auth_password_file", "receivers.email", s.email_auth_password_file);
      // Alertmanager authenticates only with a username: a password alone is never used.
      // The sender address is the usual SMTP user name.
      if (!s.email_auth_password_file.empty() && s.email_auth_username.empty()) {
        s.email_auth_username = s.email_from;
      }
      if (!s.email_auth_username.empty() && s.email_auth_password_file.empty()) {
        r_.AddError(r_.Child(em, "auth_username", "receivers.email", false),
                    "receivers.email.auth_username needs receivers.email.auth_password_file");
      }
      if (auto b = r_.Bool(r_.Child(em, "require_tls", "receivers.email", false),
                           "receivers.email.require_tls")) {
        s.email_require_tls = *b;
      }
    }
    if (YAML::Node hb = section("heartbeat", {"url"}, {}); hb.IsDefined()) {
      str(hb, "url", "receivers.heartbeat", f.heartbeat_url);
      CheckUrl(r_.Child(hb, "url", "receivers.heartbeat", false), "receivers.heartbeat.url",
               f.heartbeat_url);
    }
  }

  // A `*_file` path: a non-empty string; an inline secret next to it is rejected.
  void SecretFile(const YAML::Node& parent, const std::string& key, const std::string& path,
                  std::string& out) {
    YAML::Node v = r_.Child(parent, key, path, false);
    if (auto s = r_.String(v, path + "." + key)) {
      if (s->empty()) {
        r_.AddError(v, path + "." + key + " is empty; give the path of the file");
      } else {
        out = *s;
      }
    }
  }

  // teams.<team>: {pagerduty: {routing_key_file}, slack: {api_url_file},
  //                lead: {email, pagerduty: {routing_key_file}}}
  void ParseTeams(const YAML::Node& node, FleetConfig& f) {
    if (!node.IsDefined()) return;
    if (!node.IsMap()) {
      r_.AddError(
          node, "teams must be a mapping of team name to its receivers, not " + DescribeNode(node));
      return;
    }
    std::vector<std::string> names;
    for (const auto& kv : node) {
      if (kv.first.IsScalar()) names.push_back(kv.first.Scalar());
    }
    if (!r_.CheckMapping(node, names, "teams")) return;  // duplicate team keys
    for (const auto& kv : node) {
      const std::string team = kv.first.Scalar();
      const std::string path = "teams." + team;
      if (!IsName(team)) {
        r_.AddError(kv.first, "team \"" + team +
                                  "\" must match [a-z0-9_-]+ (it names Alertmanager receivers)");
        continue;
      }
      const YAML::Node t = kv.second;
      TeamReceivers& tr = f.teams[team];
      tr.location = r_.Locate(kv.first);
      if (t.IsNull()) continue;
      if (!r_.CheckMapping(t, kTeamKeys, path)) continue;
      auto secret_section = [&](const YAML::Node& parent, const std::string& name,
                                const std::string& parent_path, const std::string& file_key,
                                const std::string& inline_key, std::string& out) {
        YAML::Node n = r_.Child(parent, name, parent_path, false);
        if (!n.IsDefined()) return;
        const std::string p = parent_path + "." + name;
        if (!r_.CheckMapping(n, {file_key, inline_key}, p)) return;
        if (YAML::Node v = r_.Child(n, inline_key, p, false); v.IsDefined()) {
          r_.AddError(v, p + "." + inline_key + " would put a secret in generated files; use " +
                             file_key + " with the path of a file holding it");
        }
        SecretFile(n, file_key, p, out);
      };
      secret_section(t, "pagerduty", path, "routing_key_file", "routing_key",
                     tr.pagerduty_routing_key_file);
      secret_section(t, "slack", path, "api_url_file", "api_url", tr.slack_api_url_file);
      YAML::Node lead = r_.Child(t, "lead", path, false);
      if (lead.IsDefined() && r_.CheckMapping(lead, kLeadKeys, path + ".lead")) {
        YAML::Node email = r_.Child(lead, "email", path + ".lead", false);
        if (auto s = r_.String(email, path + ".lead.email")) {
          if (s->find('@') == std::string::npos) {
            r_.AddError(email, path + ".lead.email \"" + *s + "\" is not an email address");
          } else {
            tr.lead_email = *s;
          }
        }
        secret_section(lead, "pagerduty", path + ".lead", "routing_key_file", "routing_key",
                       tr.lead_pagerduty_routing_key_file);
        if (tr.lead_email.empty() && tr.lead_pagerduty_routing_key_file.empty()) {
          r_.AddError(lead, path + ".lead needs email or pagerduty.routing_key_file");
        }
      }
    }
  }

  void ParsePlatform(const YAML::Node& node, PlatformConfig& p) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kPlatformKeys, "platform")) return;
    p.configured = true;
    YAML::Node team = r_.Child(node, "team", "platform", false);
    if (auto s = r_.String(team, "platform.team")) {
      if (!IsName(*s)) {
        r_.AddError(team, "platform.team \"" + *s +
                              "\" must match [a-z0-9_-]+ (it names Alertmanager receivers)");
      } else {
        p.owner.team = *s;
      }
    }
    if (auto s = r_.String(r_.Child(node, "slack", "platform", false), "platform.slack")) {
      p.owner.slack = *s;
    }
    if (auto s = r_.String(r_.Child(node, "pagerduty", "platform", false), "platform.pagerduty")) {
      p.owner.pagerduty = *s;
    }
    YAML::Node email = r_.Child(node, "email", "platform", false);
    if (auto s = r_.String(email, "platform.email")) {
      if (s->find('@') == std::string::npos) {
        r_.AddError(email, "platform.email \"" + *s + "\" is not an email address");
      } else {
        p.owner.email = *s;
      }
    }
    YAML::Node job = r_.Child(node, "exporter_job", "platform", false);
    if (auto s = r_.String(job, "platform.exporter_job")) {
      if (s->empty() || s->find_first_of("\"\\\n") != std::string::npos) {
        r_.AddError(job, "platform.exporter_job must be a Prometheus job name");
      } else {
        p.exporter_job = *s;
      }
    }
  }

  // `drift.engine`: the default of every model file that sets none (docs/scale-out.md);
  // `drift.tiers`: one or two tiers of promql rules.
  void ParseDrift(const YAML::Node& node, FleetConfig& f) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kFleetDriftKeys, "drift")) return;
    YAML::Node engine = r_.Child(node, "engine", "drift", false);
    if (auto s = r_.Choice(engine, "drift.engine", {"exporter", "promql"})) {
      f.drift_engine = *s == "promql" ? DriftEngine::kPromql : DriftEngine::kExporter;
      f.drift_engine_location = r_.Locate(engine);
    }
    // `drift.tiers`: where the promql engine's rules run (docs/scale-out.md, "Two tiers").
    YAML::Node tiers = r_.Child(node, "tiers", "drift", false);
    if (auto t = r_.Integer(tiers, "drift.tiers")) {
      if (r_.InRange(tiers, "drift.tiers", static_cast<double>(*t), 1, 2)) {
        f.drift_tiers = static_cast<int>(*t);
      }
    }
  }

  void ParseRouting(const YAML::Node& node, RoutingConfig& rc) {
    if (!node.IsDefined() || !r_.CheckMapping(node, kRoutingKeys, "routing")) return;
    YAML::Node tier = r_.Child(node, "default_tier", "routing", false);
    if (auto t = r_.Integer(tier, "routing.default_tier")) {
      if (r_.InRange(tier, "routing.default_tier", static_cast<double>(*t), 1, 3)) {
        rc.default_tier = static_cast<int>(*t);
      }
    }
    if (auto d = r_.DurationOrZero(r_.Child(node, "escalate_after", "routing", false),
                                   "routing.escalate_after")) {
      rc.escalate_after = *d;
    }
  }

  void ParseTiers(const YAML::Node& node, FleetConfig& f) {
    if (!node.IsDefined()) return;
    if (!r_.CheckMapping(node, {"1", "2", "3"}, "tiers")) return;
    for (int t = 1; t <= 3; ++t) {
      const std::string key = std::to_string(t);
      YAML::Node tier = r_.Child(node, key, "tiers", false);
      if (!tier.IsDefined() || !r_.CheckMapping(tier, kTierKeys, "tiers." + key)) continue;
      TierDefaults& td = f.tiers[t];
      std::map<std::string, Seconds*> targets = {{"evaluation_interval", &td.evaluation_interval},
                                                 {"for", &td.for_duration},
                                                 {"model_down_after", &td.model_down_after},
                                                 {"group_wait", &td.group_wait},
                                                 {"group_interval", &td.group_interval},
                                                 {"repeat_interval", &td.repeat_interval}};
      for (const auto& [k, target] : targets) {
        if (auto v =
                r_.Duration(r_.Child(tier, k, "tiers." + key, false), "tiers." + key + "." + k)) {
          *target = *v;
        }
      }
    }
  }

  YamlReader& r_;
};

}  // namespace

MultiResult<FleetConfig> ParseFleetConfig(std::string_view yaml_text, const std::string& file) {
  YamlReader r(file);
  FleetConfig f;
  try {
    auto doc = ParseYaml(yaml_text, r);
    if (doc) {
      FleetParser parser(r);
      f = parser.Parse(*doc);
    }
  } catch (const std::exception& e) {
    r.AddError(SourceLocation{file, 0, 0}, std::string("cannot read the file: ") + e.what());
  }
  if (!r.errors().empty()) {
    SortErrors(r.errors());
    return tl::unexpected(std::move(r.errors()));
  }
  return f;
}

}  // namespace modelwatch
