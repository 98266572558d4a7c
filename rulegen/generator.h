// Runs the registered emitters over a config set and writes their output atomically.
#ifndef MODELWATCH_RULEGEN_GENERATOR_H_
#define MODELWATCH_RULEGEN_GENERATOR_H_

#include <cstddef>
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

// Runs `emitters` over `config` into `out`: every model's rules are built once
// (BuildModelRules) and handed to each emitter's run, the models spread over `threads`
// threads (0: one per core); then each run's Finish() with the fleet's rules. Files reach
// `out` as they are made, so memory holds a few models' files at a time, not the fleet's. An
// exception of an emitter is rethrown here after every thread has stopped (the one of the
// lowest model index when several threw).
void RunEmitters(const ConfigSet& config, const std::vector<const Emitter*>& emitters,
                 FileSink& out, unsigned threads = 0);

// Runs every emitter and marks each file "generated — do not edit" (a YAML/text `#` comment,
// an HTML comment in Markdown, a template comment in .tmpl; JSON files carry it in their own
// description). Deterministic: the same config gives byte-identical files.
OutputFiles Generate(const ConfigSet& config, OutputFormat format);

// Generate(), and for kPrometheusOperator the exporter's own Kubernetes manifests
// (exporter_manifests.h), which read the model files and baselines from disk.
Result<OutputFiles> GenerateFiles(const ConfigSet& config, OutputFormat format);

// The header line(s) Generate() puts on `path` ("" for JSON).
std::string GeneratedHeader(const std::string& path);

// GenerateFiles() written to `out_dir` the way WriteOutputAtomically() writes, but streamed:
// each file goes to the temporary directory as soon as it is generated and is freed, so
// memory does not grow with the fleet. On any error (or exception) the previous out_dir is
// left untouched and the temporary directory is removed. Returns the number of files written.
Result<std::size_t> GenerateToDirectory(const ConfigSet& config, OutputFormat format,
                                        const std::string& out_dir);

// Replaces the directory `out_dir` with exactly `files`: everything is written into a fresh
// temporary directory next to out_dir, which then takes out_dir's place in one rename
// (renameat2 RENAME_EXCHANGE where supported), after one syncfs(2) has put the whole new tree
// on disk (StagedSync::kFileSystem in core/atomic_file.h). On any error the previous out_dir is
// left untouched and the temporary directory is removed. Rejects absolute paths and `..`.
Result<void> WriteOutputAtomically(const std::string& out_dir, const OutputFiles& files);

// Compares `files` with the content of `out_dir`: returns the relative paths that differ,
// are missing from out_dir, or exist in out_dir but are not generated, sorted, each prefixed
// with "changed: ", "missing: " or "extra: ".
std::vector<std::string> StaleFiles(const std::string& out_dir, const OutputFiles& files);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_GENERATOR_H_
