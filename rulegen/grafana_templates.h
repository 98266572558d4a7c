// The dashboard templates (top-level dashboards/ directory) that the Grafana emitter fills.
//
// Templates are plain JSON/YAML files with `@key@` tokens in their strings; the emitter
// loads them, replaces the tokens and appends the generated panels. Keeping the look of the
// dashboards (panel options, refresh, time range, variables) in data lets a team change it
// without touching C++.
#ifndef MODELWATCH_RULEGEN_GRAFANA_TEMPLATES_H_
#define MODELWATCH_RULEGEN_GRAFANA_TEMPLATES_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace modelwatch {

// Insertion-ordered JSON, so that generated dashboards are byte-identical on every run.
using Json = nlohmann::ordered_json;

struct DashboardTemplates {
  Json model;                // model.json: a per-model dashboard without panels
  Json overview;             // overview.json: the fleet overview without panels
  Json panels;               // panels.json: per panel type, the panel every panel starts from
  std::string provisioning;  // provisioning.yml: Grafana's file-provider YAML
};

// The directory holding the templates: $MODELWATCH_DASHBOARD_TEMPLATES when set and
// non-empty, else the source tree's dashboards/.
std::string DefaultDashboardTemplateDir();

// Reads model.json, overview.json, panels.json and provisioning.yml from `dir`. Returns an
// error naming the file for a missing file, invalid JSON, or a panels.json entry that is
// not an object.
Result<DashboardTemplates> LoadDashboardTemplates(const std::string& dir);

// Replaces every `@key@` of `vars` in every string value of `doc` (recursively). Tokens
// without an entry in `vars` are left as they are.
void FillTokens(Json& doc, const std::map<std::string, std::string>& vars);

// The same for a text.
std::string FillTokens(std::string text, const std::map<std::string, std::string>& vars);

// Returns the panel of `type` from panels.json (a deep copy) with `type` set. Unknown types
// give a panel holding only `type`.
Json PanelFromTemplate(const DashboardTemplates& templates, const std::string& type);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_GRAFANA_TEMPLATES_H_
