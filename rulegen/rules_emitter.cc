#include "rulegen/rules_emitter.h"

#include <string_view>

#include "core/duration.h"
#include "rulegen/text.h"

namespace modelwatch {
namespace {

// Appends `key: value` where value may span lines (then a literal block scalar).
void AppendKeyValue(std::string& y, std::string_view key, const std::string& value, int indent) {
  y.append(static_cast<std::size_t>(indent), ' ').append(key);
  const bool multiline = value.find('\n') != std::string::npos;
  if (!multiline && YamlScalar(value) == value) {
    y.append(": ").append(value) += '\n';
  } else if (multiline || (key == "expr" && value.find('"') != std::string::npos)) {
    y.append(": |-\n").append(Indent(value, indent + 2)) += '\n';
  } else {
    y += ": ";
    AppendYamlQuote(y, value);
    y += '\n';
  }
}

}  // namespace

std::string RuleGroupsYaml(const RuleFile& file, int indent) {
  std::string y = "groups:\n";
  auto scalar_line = [&y](std::string_view prefix, std::string_view value) {
    y += prefix;
    AppendYamlScalar(y, value);
    y += '\n';
  };
  for (const RuleGroup& g : file.groups) {
    scalar_line("  - name: ", g.name);
    y.append("    interval: ").append(FormatDuration(g.interval)) += '\n';
    y += "    rules:\n";
    for (const RecordingRule& r : g.recording) {
      scalar_line("      - record: ", r.record);
      AppendKeyValue(y, "expr", r.expr, 8);
      if (!r.labels.empty()) {
        y += "        labels:\n";
        for (const auto& [k, v] : r.labels) scalar_line("          " + k + ": ", v);
      }
    }
    for (const AlertRule& a : g.alerts) {
      y.append("      - alert: ").append(a.name) += '\n';
      AppendKeyValue(y, "expr", a.expr, 8);
      if (a.for_duration.count() > 0) {
        y.append("        for: ").append(FormatDuration(a.for_duration)) += '\n';
      }
      if (a.keep_firing_for.count() > 0) {
        y.append("        keep_firing_for: ").append(FormatDuration(a.keep_firing_for)) += '\n';
      }
      y += "        labels:\n";
      for (const auto& [k, v] : a.labels) scalar_line("          " + k + ": ", v);
      y += "        annotations:\n";
      AppendKeyValue(y, "summary", ToGoTemplate(a.summary), 10);
      AppendKeyValue(y, "description", ToGoTemplate(a.description), 10);
      AppendKeyValue(y, "runbook_url", a.runbook_url, 10);
      AppendKeyValue(y, "dashboard_url", a.dashboard_url, 10);
      if (!a.sample_url.empty()) AppendKeyValue(y, "sample_url", a.sample_url, 10);
    }
  }
  return indent == 0 ? y : Indent(y, indent);
}

namespace {

// Each rule file as soon as its rules are built.
class RulesRun : public EmitterRun {
 public:
  void Model(std::size_t, const ModelConfig&, const RuleFile& rules, FileSink& out) override {
    if (rules.local_path.empty()) {  // one tier: the file itself, without TierFiles' copy
      out.Add(rules.path, RuleGroupsYaml(rules, 0));
    } else {
      for (const RuleFile& f : TierFiles(rules)) out.Add(f.path, RuleGroupsYaml(f, 0));
    }
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
