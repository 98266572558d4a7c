#include "rulegen/exporter_manifests.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rulegen/text.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfigMount = "/etc/modelwatch/models";
constexpr const char* kStateDir = "/var/lib/modelwatch";
constexpr const char* kHostLogDir = "/var/log/modelwatch";
constexpr const char* kPort = "9841";
constexpr std::size_t kConfigMapLimit = 1024 * 1024;  // Kubernetes' limit on a ConfigMap

Result<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError("cannot read " + path.string() + " for the Kubernetes manifests");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `path` (absolute, as the loader resolved it) at its place in the container: relative to the
// config directory as on this machine, under kConfigMount.
std::string InContainer(const fs::path& config_dir, const std::string& path) {
  const fs::path rel = fs::absolute(path).lexically_normal().lexically_relative(config_dir);
  return (fs::path(kConfigMount) / rel).lexically_normal().string();
}

// The directory part of a glob: the components before the first with a wildcard, without the
// last component when it is the file pattern.
fs::path GlobDirectory(const std::string& glob) {
  fs::path dir;
  const fs::path p = fs::absolute(glob).lexically_normal();
  for (auto it = p.begin(); it != p.end(); ++it) {
    if (it->string().find_first_of("*?[") != std::string::npos) return dir;
    if (std::next(it) == p.end()) return dir;  // a plain file name
    dir /= *it;
  }
  return dir;
}

fs::path CommonDirectory(const std::vector<fs::path>& dirs) {
  fs::path common = dirs.front();
  for (const fs::path& d : dirs) {
    fs::path next;
    auto a = common.begin(), b = d.begin();
    for (; a != common.end() && b != d.end() && *a == *b; ++a, ++b) next /= *a;
    common = next;
  }
  return common;
}

// A DNS-1123 name from `s`: lower case, other characters as '-'.
std::string DnsName(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  }
  return s;
}

// `text` as the value of a YAML mapping entry at `indent`: a literal block when it reads
// back unchanged, else a double-quoted scalar.
std::string YamlText(const std::string& text, int indent) {
  const bool block_safe = !text.empty() && text.back() == '\n' && text.front() != ' ' &&
                          (text.size() < 2 || text[text.size() - 2] != '\n') &&
                          text.find_first_of("\t\r") == std::string::npos &&
                          text.find(" \n") == std::string::npos &&
                          text.find("\n\n\n") == std::string::npos;
  if (!block_safe) return " " + YamlQuote(text) + "\n";
  return " |\n" + Indent(text, indent);
}

std::string ConfigMap(const std::string& name,
                      const std::vector<std::pair<std::string, std::string>>& data) {
  std::string y = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n";
  y += "  labels:\n    app.kubernetes.io/name: modelwatch-exporter\n";
  y += "    app.kubernetes.io/part-of: modelwatch\n";
  y += "data:\n";
  for (const auto& [key, text] : data) y += "  " + YamlScalar(key) + ":" + YamlText(text, 4);
  return y;
}

struct Mount {
  std::string volume, path, sub_path;
  bool read_only = true;
};

struct Layout {
  std::vector<std::pair<std::string, std::string>> model_files;  // file name, text
  struct Baseline {
    std::string config_map, volume, file, mount_path, text;
  };
  std::vector<Baseline> baselines;
  std::string log_mount;  // where the log volume goes in the container
};

std::string ExporterContainer(const std::string& name, const Layout& layout,
                              const std::string& volume_prefix, int indent) {
  std::string y;
  y += "- name: " + name + "\n";
  y += "  image: modelwatch-exporter:" MODELWATCH_VERSION "\n";
  y += "  args:\n";
  y += std::string("    - --config.dir=") + kConfigMount + "\n";
  y += std::string("    - --state.dir=") + kStateDir + "\n";
  y += std::string("    - --web.listen-address=:") + kPort + "\n";
  y += "  env:\n    - name: TMPDIR  # SQLite's temporary files (large sorts)\n";
  y += "      value: /tmp\n";
  y += std::string("  ports:\n    - name: metrics\n      containerPort: ") + kPort +
       "\n      protocol: TCP\n";
  y += "  readinessProbe:  # ready once every source has been scanned\n";
  y += "    httpGet: {path: /-/ready, port: metrics}\n    periodSeconds: 10\n";
  y += "  livenessProbe:\n";
  y += "    httpGet: {path: /-/healthy, port: metrics}\n    periodSeconds: 30\n";
  y += "    failureThreshold: 3\n";
  y += "  resources:\n    requests: {cpu: 100m, memory: 128Mi}\n    limits: {memory: 512Mi}\n";
  y += "  securityContext:\n    allowPrivilegeEscalation: false\n";
  y += "    readOnlyRootFilesystem: true\n    capabilities: {drop: [ALL]}\n";
  std::vector<Mount> mounts;
  mounts.push_back({volume_prefix + "models", kConfigMount, "", true});
  for (const auto& b : layout.baselines) {
    mounts.push_back({volume_prefix + b.volume, b.mount_path, b.file, true});
  }
  mounts.push_back({volume_prefix + "logs", layout.log_mount, "", true});
  mounts.push_back({volume_prefix + "state", kStateDir, "", false});
  mounts.push_back({volume_prefix + "tmp", "/tmp", "", false});
  y += "  volumeMounts:\n";
  for (const Mount& m : mounts) {
    y += "    - name: " + m.volume + "\n      mountPath: " + YamlScalar(m.path) + "\n";
    if (!m.sub_path.empty()) y += "      subPath: " + YamlScalar(m.sub_path) + "\n";
    if (m.read_only) y += "      readOnly: true\n";
  }
  return Indent(y, indent);
}

// The volumes both variants share (config, baselines, scratch), under `volume_prefix`.
std::string ConfigVolumes(const Layout& layout, const std::string& volume_prefix) {
  std::string y = "- name: " + volume_prefix + "models\n  configMap: {name: modelwatch-models}\n";
  for (const auto& b : layout.baselines) {
    y += "- name: " + volume_prefix + b.volume + "\n  configMap: {name: " + b.config_map + "}\n";
  }
  y += "- name: " + volume_prefix + "tmp\n  emptyDir: {}\n";
  return y;
}

const char* kPodSecurity =
    "securityContext:\n"
    "  runAsNonRoot: true\n"
    "  runAsUser: 65532\n"
    "  runAsGroup: 65532\n"
    "  seccompProfile: {type: RuntimeDefault}\n";

const char* kLabels =
    "  labels:\n"
    "    app.kubernetes.io/name: modelwatch-exporter\n"
    "    app.kubernetes.io/part-of: modelwatch\n";

}  // namespace

Result<void> AddExporterManifests(const ConfigSet& config, OutputFiles& out) {
  const fs::path config_dir = fs::absolute(config.dir).lexically_normal();
  Layout layout;
  // The config directory's model files and fleet file, as the loader reads them.
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(config_dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  if (ec) return MakeError("cannot list " + config_dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::size_t models_bytes = 0;
  for (const fs::path& f : files) {
    auto text = ReadWhole(f);
    if (!text) return tl::unexpected(text.error());
    models_bytes += text->size();
    layout.model_files.emplace_back(f.filename().string(), std::move(*text));
  }
  if (models_bytes > kConfigMapLimit) {
    return MakeError("the model files of " + config_dir.string() + " hold " +
                     std::to_string(models_bytes) +
                     " bytes: more than a ConfigMap's 1 MiB (split the directory)");
  }
  std::vector<fs::path> log_dirs;
  std::set<std::string> config_maps;
  for (const ModelConfig& m : config.models) {
    for (const std::string& p : m.source.paths) log_dirs.push_back(GlobDirectory(p));
    if (m.ground_truth) {
      for (const std::string& p : m.ground_truth->paths) log_dirs.push_back(GlobDirectory(p));
    }
    if (m.baseline.empty()) continue;
    auto text = ReadWhole(m.baseline);
    if (!text) return tl::unexpected(text.error());
    if (text->size() > kConfigMapLimit) {
      return MakeError(m.baseline + " (baseline of " + m.name + ") is " +
                       std::to_string(text->size()) + " bytes: more than a ConfigMap's 1 MiB");
    }
    Layout::Baseline b;
    b.config_map = "modelwatch-baseline-" + DnsName(m.name);
    if (!config_maps.insert(b.config_map).second) {
      b.config_map += "-" + std::to_string(layout.baselines.size());
    }
    b.volume = "baseline-" + std::to_string(layout.baselines.size());
    b.file = fs::path(m.baseline).filename().string();
    b.mount_path = InContainer(config_dir, m.baseline);
    b.text = std::move(*text);
    layout.baselines.push_back(std::move(b));
  }
  if (log_dirs.empty()) return MakeError("no model names a source path to mount");
  const fs::path log_root = CommonDirectory(log_dirs);
  const std::string log_mount = InContainer(config_dir, log_root.string());
  const std::string config_mount = kConfigMount;
  if (log_mount == "/" || log_mount == config_mount ||
      log_mount.rfind(config_mount + "/", 0) == 0 || config_mount.rfind(log_mount + "/", 0) == 0) {
    return MakeError("the prediction and label logs (under " + log_root.string() +
                     ") must be in a directory of their own, outside " + config_dir.string() +
                     ", to be mounted beside the config in a pod");
  }
  layout.log_mount = log_mount;

  const std::string dir = "kubernetes/exporter/";
  out[dir + "configmap-models.yaml"] = ConfigMap("modelwatch-models", layout.model_files);
  std::string baselines;
  for (const auto& b : layout.baselines) {
    if (!baselines.empty()) baselines += "---\n";
    baselines += ConfigMap(b.config_map, {{b.file, b.text}});
  }
  if (!baselines.empty()) out[dir + "configmap-baselines.yaml"] = baselines;

  // DaemonSet: one exporter per node over the node's logs.
  std::string ds = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: modelwatch-exporter\n";
  ds += kLabels;
  ds += "spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: modelwatch-exporter\n";
  ds += "  template:\n    metadata:\n" + Indent(kLabels, 4) + "    spec:\n";
  ds += Indent(kPodSecurity, 6);
  ds += "      terminationGracePeriodSeconds: 30\n      containers:\n";
  ds += ExporterContainer("exporter", layout, "", 8);
  ds += "      volumes:\n";
  std::string ds_volumes = ConfigVolumes(layout, "");
  ds_volumes += "- name: logs  # where the model servers of the node write their logs\n";
  ds_volumes += std::string("  hostPath: {path: ") + kHostLogDir + ", type: Directory}\n";
  ds_volumes += "- name: state  # checkpoint and ground-truth store: kept across restarts;\n";
  ds_volumes += "  # the directory must be writable by uid 65532\n";
  ds_volumes += std::string("  hostPath: {path: ") + kStateDir + ", type: DirectoryOrCreate}\n";
  ds += Indent(ds_volumes, 8);
  out[dir + "daemonset.yaml"] = ds;

  std::string svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: modelwatch-exporter\n";
  svc += kLabels;
  svc += "spec:\n  selector:\n    app.kubernetes.io/name: modelwatch-exporter\n";
  svc += std::string("  ports:\n    - name: metrics\n      port: ") + kPort +
         "\n      targetPort: metrics\n      protocol: TCP\n";
  out[dir + "service.yaml"] = svc;

  std::string sm = "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n";
  sm += "  name: modelwatch-exporter\n";
  sm += kLabels;
  sm += "spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: modelwatch-exporter\n";
  sm += "  endpoints:\n    - port: metrics\n      interval: 30s\n";
  out[dir + "servicemonitor.yaml"] = sm;

  // Sidecar: a strategic-merge patch for a model server's Deployment (or StatefulSet).
  std::string patch =
      "# Adds the exporter to a model server's pods:\n"
      "#   kubectl patch deployment MODEL-SERVER --patch-file sidecar-patch.yaml\n"
      "# The model server must write its prediction (and label) logs into the volume\n"
      "# modelwatch-logs: add to its container\n"
      "#   volumeMounts: [{name: modelwatch-logs, mountPath: " +
      layout.log_mount +
      "}]\n"
      "# The exporter's state is in an emptyDir: it lives as long as the pod.\n";
  patch += "spec:\n  template:\n    metadata:\n      labels:\n";
  patch += "        modelwatch/exporter: sidecar\n    spec:\n      containers:\n";
  patch += ExporterContainer("modelwatch-exporter", layout, "modelwatch-", 8);
  patch += "      volumes:\n";
  std::string sc_volumes = ConfigVolumes(layout, "modelwatch-");
  sc_volumes += "- name: modelwatch-logs\n  emptyDir: {}\n";
  sc_volumes += "- name: modelwatch-state\n  emptyDir: {}\n";
  patch += Indent(sc_volumes, 8);
  out[dir + "sidecar-patch.yaml"] = patch;

  std::string pm = "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata:\n";
  pm += "  name: modelwatch-exporter-sidecars\n";
  pm += kLabels;
  pm += "spec:\n  selector:\n    matchLabels:\n      modelwatch/exporter: sidecar\n";
  pm += "  podMetricsEndpoints:\n    - port: metrics\n      interval: 30s\n";
  out[dir + "podmonitor-sidecar.yaml"] = pm;
  return {};
}

}  // namespace modelwatch
