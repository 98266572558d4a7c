// AlertmanagerEmitter: alertmanager/alertmanager.yml (per-team routing subtrees, receivers,
// inhibition), alertmanager/templates/modelwatch.tmpl (notification texts, rendered from
// templates/alertmanager/) and tests/routes.txt (routing and inhibition cases).
//
// Receivers: <team>-pagerduty (severity page), <team>-slack (ticket), <team>-email (info),
// <team>-fallback (anything else of the team), heartbeat (Watchdog) and the root's fallback.
// Secrets appear only as *_file paths from modelwatch.yaml.
#ifndef MODELWATCH_RULEGEN_ALERTMANAGER_EMITTER_H_
#define MODELWATCH_RULEGEN_ALERTMANAGER_EMITTER_H_

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "rulegen/emitter.h"

namespace modelwatch {

class AlertmanagerEmitter : public Emitter {
 public:
  const char* Name() const override { return "alertmanager"; }
  void Emit(const ConfigSet& config, OutputFiles& out) const override;
};

// The root route's receiver (alerts without a known team).
inline constexpr const char* kRootReceiver = "fallback";

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
