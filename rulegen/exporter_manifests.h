// Kubernetes manifests that run modelwatch-exporter beside the model servers, written with
// `generate --format=prometheus-operator` under kubernetes/exporter/:
//
//   configmap-models.yaml     ConfigMap modelwatch-models: every model file of the config
//                             directory and modelwatch.yaml, as written
//   configmap-baselines.yaml  a ConfigMap modelwatch-baseline-<model> per baseline file
//   daemonset.yaml            one exporter per node, reading the node's prediction and label
//                             logs from the hostPath /var/log/modelwatch, state in the
//                             hostPath /var/lib/modelwatch
//   service.yaml              Service modelwatch-exporter (port `metrics`) over its pods
//   servicemonitor.yaml       ServiceMonitor scraping that Service every 30 s
//   sidecar-patch.yaml        a strategic-merge patch that adds the exporter to a model
//                             server's pod instead, sharing an emptyDir the server logs into
//   podmonitor-sidecar.yaml   PodMonitor scraping the sidecars
//
// Container layout: the config directory is /etc/modelwatch/models, and every path a config
// names (baseline, source and label globs) keeps its place relative to it, so a config that
// works from its directory works unchanged in the pod (`../baselines/x.json` is
// /etc/modelwatch/baselines/x.json). The log volume is mounted at the deepest directory that
// holds every source and label glob.
#ifndef MODELWATCH_RULEGEN_EXPORTER_MANIFESTS_H_
#define MODELWATCH_RULEGEN_EXPORTER_MANIFESTS_H_

#include "core/config.h"
#include "core/error.h"
#include "rulegen/emitter.h"

namespace modelwatch {

// Adds the files above to `out`, reading the model files and baselines `config` was loaded
// from. Errors: a file that cannot be read; logs inside the config directory (the config
// mount would hide them); a model without source paths.
Result<void> AddExporterManifests(const ConfigSet& config, OutputFiles& out);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_EXPORTER_MANIFESTS_H_
