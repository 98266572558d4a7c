#include "core/command.h"

#include <iostream>
#include <utility>

namespace modelwatch {

std::optional<ConfigSet> LoadConfigOrReport(const std::string& dir, const LoadOptions& options) {
  auto config = LoadConfigDir(dir, options);
  if (!config) {
    for (const auto& e : config.error()) std::cerr << e.ToString() << "\n";
    std::cerr << config.error().size() << (config.error().size() == 1 ? " error\n" : " errors\n");
    return std::nullopt;
  }
  return std::move(*config);
}

std::vector<const ModelConfig*> SelectModels(const ConfigSet& config, const std::string& name,
                                             const std::string& dir) {
  std::vector<const ModelConfig*> models;
  for (const ModelConfig& m : config.models) {
    if (name.empty() || m.name == name) models.push_back(&m);
  }
  if (models.empty()) {
    std::string names;
    for (const auto& m : config.models) names += (names.empty() ? "" : ", ") + m.name;
    std::cerr << "error: no model \"" << name << "\" in " << dir
              << " (models: " << (names.empty() ? "none" : names) << ")\n";
  }
  return models;
}

}  // namespace modelwatch
