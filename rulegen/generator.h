// Runs the registered emitters over a config set and writes their output atomically.
#ifndef MODELWATCH_RULEGEN_GENERATOR_H_
#define MODELWATCH_RULEGEN_GENERATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "rulegen/emitter.h"

namespace modelwatch {

enum class OutputFormat { kPrometheus, kPrometheusOperator };

// The emitters of `format`, in registration order.
std::vector<std::unique_ptr<Emitter>> MakeEmitters(OutputFormat format);

// Runs every emitter and marks each file "generated — do not edit" (a YAML/text `#` comment,
// an HTML comment in Markdown, a template comment in .tmpl; JSON files carry it in their own
// description). Deterministic: the same config gives byte-identical files.
OutputFiles Generate(const ConfigSet& config, OutputFormat format);

// Generate(), and for kPrometheusOperator the exporter's own Kubernetes manifests
// (exporter_manifests.h), which read the model files and baselines from disk.
Result<OutputFiles> GenerateFiles(const ConfigSet& config, OutputFormat format);

// The header line(s) Generate() puts on `path` ("" for JSON).
std::string GeneratedHeader(const std::string& path);

// Replaces the directory `out_dir` with exactly `files`: everything is written into a fresh
// temporary directory next to out_dir, which then takes out_dir's place in one rename
// (renameat2 RENAME_EXCHANGE where supported). On any error the previous out_dir is left
// untouched and the temporary directory is removed. Rejects absolute paths and `..`.
Result<void> WriteOutputAtomically(const std::string& out_dir, const OutputFiles& files);

// Compares `files` with the content of `out_dir`: returns the relative paths that differ,
// are missing from out_dir, or exist in out_dir but are not generated, sorted, each prefixed
// with "changed: ", "missing: " or "extra: ".
std::vector<std::string> StaleFiles(const std::string& out_dir, const OutputFiles& files);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_GENERATOR_H_
