// GrafanaEmitter: per-model Grafana dashboards, the fleet overview and Grafana's
// file-provisioning YAML, filled from the templates in the top-level dashboards/ directory.
//
// Panels read the recording rules named in rulegen/series.h wherever one exists, so a
// dashboard shows exactly what an alert evaluates; raw exporter metrics (drift gauges,
// score histogram, self-metrics) fill in the rest. Every rate()/increase() uses
// $__rate_interval, every panel has a unit and a description, and the dashboard's
// description carries the "generated — do not edit" mark. See docs/dashboards.md.
#ifndef MODELWATCH_RULEGEN_GRAFANA_EMITTER_H_
#define MODELWATCH_RULEGEN_GRAFANA_EMITTER_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/config.h"
#include "rulegen/emitter.h"
#include "rulegen/grafana_templates.h"

namespace modelwatch {

// Where the generated provisioning.yml tells Grafana to find the dashboard files.
inline constexpr const char* kGrafanaDashboardPath = "/var/lib/grafana/dashboards/modelwatch";

// Stateless; thread-safe.
class GrafanaEmitter : public Emitter {
 public:
  // `template_dir` holds model.json, overview.json, panels.json and provisioning.yml;
  // empty for the built-in templates.
  explicit GrafanaEmitter(std::string template_dir = DefaultDashboardTemplateDir());

  const char* Name() const override { return "grafana"; }

  // Adds dashboards/<model>.json for every model, dashboards/overview.json and
  // dashboards/provisioning.yml. Throws std::runtime_error when the templates cannot be
  // loaded (a broken installation, not a user error).
  std::unique_ptr<EmitterRun> Start(const ConfigSet& config) const override;
  // Dashboards read the config only (the series names of rulegen/series.h).
  bool ReadsRules() const override { return false; }

 private:
  std::string template_dir_;
};

// The dashboards as the emitter writes them: JSON text as nlohmann's dump(2) writes it, and a
// trailing newline. Panels are written as text as they are laid out, not built as a document
// first (docs/rulegen.md, "Performance").
std::string ModelDashboardText(const ConfigSet& config, const ModelConfig& model,
                               const DashboardTemplates& templates);
std::string OverviewDashboardText(const ConfigSet& config, const DashboardTemplates& templates);

// The same dashboards as JSON documents (parsed from the text, for tests and other emitters).
Json ModelDashboard(const ConfigSet& config, const ModelConfig& model,
                    const DashboardTemplates& templates);
Json OverviewDashboard(const ConfigSet& config, const DashboardTemplates& templates);

// Serialises a dashboard document the way the emitter writes it: dump(2) and a trailing
// newline, byte for byte (DashboardText(ModelDashboard(...)) == ModelDashboardText(...)).
std::string DashboardText(const Json& dashboard);

// For `--format=prometheus-operator`: adds one ConfigMap per dashboard already in `out`
// (every "dashboards/*.json") as kubernetes/grafana-dashboard-<name>.yaml, labelled
// `grafana_dashboard: "1"` so that Grafana's dashboard sidecar loads it. Call after the
// GrafanaEmitter has run. `namespace_name` is the ConfigMaps' namespace ("" for none).
void AddGrafanaConfigMaps(OutputFiles& out, const std::string& namespace_name = "");

// The ConfigMap AddGrafanaConfigMaps makes of one file (its path and content), or nothing when
// `path` is not a dashboard ("dashboards/<name>.json").
std::optional<std::pair<std::string, std::string>> GrafanaConfigMap(
    const std::string& path, const std::string& content, const std::string& namespace_name = "");

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_GRAFANA_EMITTER_H_
