#include "rulegen/rules_emitter.h"

#include "core/duration.h"
#include "rulegen/text.h"

namespace modelwatch {
namespace {

// `key: value` where value may span lines (then a literal block scalar).
std::string KeyValue(const std::string& key, const std::string& value, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  if (value.find('\n') == std::string::npos && YamlScalar(value) == value) {
    return pad + key + ": " + value + "\n";
  }
  if (value.find('\n') == std::string::npos && value.find('"') == std::string::npos) {
    return pad + key + ": " + YamlQuote(value) + "\n";
  }
  if (value.find('\n') != std::string::npos || key == "expr") {
    return pad + key + ": |-\n" + Indent(value, indent + 2) + "\n";
  }
  return pad + key + ": " + YamlQuote(value) + "\n";
}

}  // namespace

std::string RuleGroupsYaml(const RuleFile& file, int indent) {
  std::string y = "groups:\n";
  for (const RuleGroup& g : file.groups) {
    y += "  - name: " + YamlScalar(g.name) + "\n";
    y += "    interval: " + FormatDuration(g.interval) + "\n";
    y += "    rules:\n";
    for (const RecordingRule& r : g.recording) {
      y += "      - record: " + YamlScalar(r.record) + "\n";
      y += KeyValue("expr", r.expr, 8);
      if (!r.labels.empty()) {
        y += "        labels:\n";
        for (const auto& [k, v] : r.labels) y += "          " + k + ": " + YamlScalar(v) + "\n";
      }
    }
    for (const AlertRule& a : g.alerts) {
      y += "      - alert: " + a.name + "\n";
      y += KeyValue("expr", a.expr, 8);
      if (a.for_duration.count() > 0) y += "        for: " + FormatDuration(a.for_duration) + "\n";
      if (a.keep_firing_for.count() > 0) {
        y += "        keep_firing_for: " + FormatDuration(a.keep_firing_for) + "\n";
      }
      y += "        labels:\n";
      for (const auto& [k, v] : a.labels) y += "          " + k + ": " + YamlScalar(v) + "\n";
      y += "        annotations:\n";
      y += KeyValue("summary", ToGoTemplate(a.summary), 10);
      y += KeyValue("description", ToGoTemplate(a.description), 10);
      y += KeyValue("runbook_url", a.runbook_url, 10);
      y += KeyValue("dashboard_url", a.dashboard_url, 10);
      if (!a.sample_url.empty()) y += KeyValue("sample_url", a.sample_url, 10);
    }
  }
  return Indent(y, indent);
}

namespace {

// Each rule file as soon as its rules are built.
class RulesRun : public EmitterRun {
 public:
  void Model(std::size_t, const ModelConfig&, const RuleFile& rules, FileSink& out) override {
    for (const RuleFile& f : TierFiles(rules)) out.Add(f.path, RuleGroupsYaml(f, 0));
  }
  void Finish(const RuleFile& fleet_rules, FileSink& out) override {
    out.Add(fleet_rules.path, RuleGroupsYaml(fleet_rules, 0));
  }
};

// Each rule file wrapped in a PrometheusRule resource.
class PrometheusOperatorRun : public EmitterRun {
 public:
  void Model(std::size_t, const ModelConfig&, const RuleFile& rules, FileSink& out) override {
    if (rules.local_path.empty()) {
      Add(rules, "", out);
      return;
    }
    // Two tiers: one resource per tier, told apart by the label modelwatch/tier (local or
    // global), which a ThanosRuler's ruleSelector picks and the Prometheus' leaves out
    // (docs/scale-out.md, "Two tiers").
    const std::vector<RuleFile> tiers = TierFiles(rules);
    Add(tiers[0], "local", out);
    Add(tiers[1], "global", out);
  }
  void Finish(const RuleFile& fleet_rules, FileSink& out) override { Add(fleet_rules, "", out); }

 private:
  static void Add(const RuleFile& f, const std::string& tier, FileSink& out) {
    const std::string suffix = tier.empty() ? "" : "-" + tier;
    const std::string name = (f.model.empty() ? "modelwatch" : "modelwatch-" + f.model) + suffix;
    std::string y = "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n";
    y += "  name: " + YamlScalar(name) + "\n";
    y += "  labels:\n    app.kubernetes.io/managed-by: modelwatch-rulegen\n";
    if (!f.model.empty()) y += "    modelwatch/model: " + YamlScalar(f.model) + "\n";
    if (!tier.empty()) y += "    modelwatch/tier: " + tier + "\n";
    y += "spec:\n" + RuleGroupsYaml(f, 2);
    out.Add("kubernetes/" + (f.model.empty() ? std::string("modelwatch") : f.model) +
                (tier.empty() ? "" : "." + tier) + ".prometheusrule.yaml",
            std::move(y));
  }
};

}  // namespace

std::unique_ptr<EmitterRun> RulesEmitter::Start(const ConfigSet&) const {
  return std::make_unique<RulesRun>();
}

std::unique_ptr<EmitterRun> PrometheusOperatorEmitter::Start(const ConfigSet&) const {
  return std::make_unique<PrometheusOperatorRun>();
}

}  // namespace modelwatch
