// Alerts on the monitoring itself (rules/modelwatch.rules.yml, group "modelwatch-meta"), all
// labelled team=<platform team> and routed to it: ExporterDown (every scrape of the exporter
// job fails, or the job has no target), ExporterScrapeFailures (an exporter target fails some
// of its scrapes), AlertmanagerNotificationsFailing and RuleEvaluationFailures.
#ifndef MODELWATCH_RULEGEN_META_RULES_H_
#define MODELWATCH_RULEGEN_META_RULES_H_

#include <string>
#include <vector>

#include "core/config.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

// The meta-alert group. ExporterDown's `for` is ExporterDownFor(fleet).
RuleGroup BuildMetaRules(const FleetConfig& fleet);

// Half the shortest `model_down_after` of the tiers (at least one tier-1 evaluation
// interval): ExporterDown fires before any model's ModelDown can, so its inhibition of the
// model alerts is in place when they would fire.
Seconds ExporterDownFor(const FleetConfig& fleet);

// The window ExporterScrapeFailures looks back over.
inline constexpr const char* kScrapeFailureWindow = "15m";
// ExporterScrapeFailures fires when more than this share of a target's scrapes failed.
inline constexpr double kScrapeFailureRatio = 0.1;

// The meta alertnames, in group order.
const std::vector<std::string>& MetaAlertNames();

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_META_RULES_H_
