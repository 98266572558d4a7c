// RulesEmitter: rules/<model>.rules.yml (recording + alerting rules) and
// rules/modelwatch.rules.yml (Watchdog); with the prometheus-operator format also
// kubernetes/<model>.prometheusrule.yaml.
#ifndef MODELWATCH_RULEGEN_RULES_EMITTER_H_
#define MODELWATCH_RULEGEN_RULES_EMITTER_H_

#include <string>

#include "rulegen/emitter.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

class RulesEmitter : public Emitter {
 public:
  const char* Name() const override { return "rules"; }
  std::unique_ptr<EmitterRun> Start(const ConfigSet& config) const override;
};

// Wraps every rule file in a PrometheusRule custom resource (monitoring.coreos.com/v1).
class PrometheusOperatorEmitter : public Emitter {
 public:
  const char* Name() const override { return "prometheus-operator"; }
  std::unique_ptr<EmitterRun> Start(const ConfigSet& config) const override;
};

// The `groups:` YAML of a rule file, every line indented by `indent` spaces.
std::string RuleGroupsYaml(const RuleFile& file, int indent);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_RULES_EMITTER_H_
