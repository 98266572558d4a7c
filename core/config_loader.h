// Loads and validates a config directory: `*.yaml`/`*.yml` model files plus an optional
// `modelwatch.yaml` with fleet settings.
#ifndef MODELWATCH_CORE_CONFIG_LOADER_H_
#define MODELWATCH_CORE_CONFIG_LOADER_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace modelwatch {

enum class BaselineCheck { kRequireExisting, kAllowMissing };

struct LoadOptions {
  // `modelwatch-exporter baseline` builds the file, so it may not exist yet.
  BaselineCheck baseline = BaselineCheck::kRequireExisting;
  // The engine of a model whose file sets no drift.engine (modelwatch.yaml's drift.engine),
  // and where that was set ("modelwatch.yaml:3:11"; empty for the built-in default).
  DriftEngine default_drift_engine = DriftEngine::kExporter;
  std::string default_drift_engine_origin;
};

// Loads every model file in `dir`. On failure returns every error found, sorted by file and
// line, each located at the offending node (a missing key at its parent mapping).
// Never throws.
MultiResult<ConfigSet> LoadConfigDir(const std::string& dir, const LoadOptions& options = {});

// Parses one model file's text (no directory-level checks such as duplicate names; baseline
// existence checked as in `options`). `file` is used for error locations and relative paths.
// Never throws. Used by the fuzzer and by tests.
MultiResult<ModelConfig> ParseModelConfig(std::string_view yaml_text, const std::string& file,
                                          const LoadOptions& options = {});

// Parses modelwatch.yaml text. Never throws.
MultiResult<FleetConfig> ParseFleetConfig(std::string_view yaml_text, const std::string& file);

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_CONFIG_LOADER_H_
