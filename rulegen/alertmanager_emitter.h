// AlertmanagerEmitter: alertmanager/alertmanager.yml (per-team routing subtrees, receivers,
// inhibition), alertmanager/templates/modelwatch.tmpl (notification texts, rendered from
// templates/alertmanager/) and tests/routes.txt (routing and inhibition cases).
//
// Receivers: <team>-pagerduty (severity page), <team>-slack (ticket), <team>-email (info),
// <team>-fallback (anything else of the team) for every team owning a model and for the
// platform team, and heartbeat (Watchdog). Secrets appear only as *_file paths from
// modelwatch.yaml: a team's own files (teams.<team>) or else the fleet's (receivers).
//
// One line of tests/routes.txt may name several receivers (`a,b`, in routing-tree order)
// when an alert is delivered to more than one.
#ifndef MODELWATCH_RULEGEN_ALERTMANAGER_EMITTER_H_
#define MODELWATCH_RULEGEN_ALERTMANAGER_EMITTER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "rulegen/emitter.h"

namespace modelwatch {

class AlertmanagerEmitter : public Emitter {
 public:
  const char* Name() const override { return "alertmanager"; }
  std::unique_ptr<EmitterRun> Start(const ConfigSet& config) const override;
};

// The platform team (modelwatch.yaml platform.team): its <team>-fallback receiver is the root
// route's receiver, and it owns ExporterDown, the meta-alerts and alerts without a known team.
std::string PlatformTeam(const ConfigSet& config);

// group_by of every severity="page" route: one notification group, hence one PagerDuty
// incident, per model and team, whatever alerts of the model page.
inline constexpr const char* kPageGroupBy = "team, model";

// One line of tests/routes.txt.
//   route <receiver> <name>=<value> ...           amtool must route the labels to <receiver>
//   inhibit <source labels> <target labels>       the target is inhibited while source fires
//   no-inhibit <source labels> <target labels>    it is not
// Label sets are written `name=value,name=value`.
struct RouteCase {
  enum class Kind { kRoute, kInhibit, kNoInhibit };
  Kind kind = Kind::kRoute;
  std::string receiver;
  std::map<std::string, std::string> labels;  // route: the alert; inhibit: the target
  std::map<std::string, std::string> source;  // inhibit only
};

// Parses tests/routes.txt. Lines starting with '#' and blank lines are skipped. Returns an
// error naming the line for malformed input.
Result<std::vector<RouteCase>> ParseRouteCases(const std::string& text);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_ALERTMANAGER_EMITTER_H_
