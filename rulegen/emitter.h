// The emitter interface: one emitter per kind of generated output.
#ifndef MODELWATCH_RULEGEN_EMITTER_H_
#define MODELWATCH_RULEGEN_EMITTER_H_

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "core/config.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

// Relative output path (e.g. "rules/fraud-detector.rules.yml") -> file content.
using OutputFiles = std::map<std::string, std::string>;

// Where emitters hand the files they generate, each one complete, as soon as it is made, so
// that a fleet's output need not be held in memory at once (generate writes each file to disk
// and frees it). Thread-safe: Add() may be called from several threads at once.
class FileSink {
 public:
  virtual ~FileSink() = default;
  virtual void Add(std::string path, std::string content) = 0;
  // The file `head` + `content`. A sink that writes files writes the two one after the other
  // instead of joining them (a copy of the whole file; runbooks and routing cases are MBs).
  virtual void AddWithHead(std::string path, std::string_view head, std::string content) {
    content.insert(0, head);
    Add(std::move(path), std::move(content));
  }
};

// Collects the files into an OutputFiles map (a second file with the same path replaces the
// first). Thread-safe.
class MapSink : public FileSink {
 public:
  explicit MapSink(OutputFiles& files) : files_(files) {}
  void Add(std::string path, std::string content) override {
    std::lock_guard<std::mutex> lock(mu_);
    files_[std::move(path)] = std::move(content);
  }

 private:
  std::mutex mu_;
  OutputFiles& files_;
};

// One pass of an emitter over a config set (Emitter::Start). Model() is called once for every
// model, with the rules built for it (BuildModelRules, built once and shared by every
// emitter); calls for different models may run at the same time on different threads, in any
// order, so a run that keeps something across models keeps it by `index` (the model's
// position in ConfigSet::models). Finish() is called once, after every Model() call has
// returned, with the fleet's own rules (BuildFleetRules). Output must not depend on the order
// or the threads of the Model() calls. Either may throw std::exception on a broken
// installation (e.g. missing templates), not on user input: the config has been validated.
class EmitterRun {
 public:
  virtual ~EmitterRun() = default;
  virtual void Model(std::size_t index, const ModelConfig& model, const RuleFile& rules,
                     FileSink& out) = 0;
  virtual void Finish(const RuleFile& fleet_rules, FileSink& out) = 0;
};

// Produces some of the files of `modelwatch-rulegen generate`. Implementations are
// stateless and deterministic: the same ConfigSet gives byte-identical files.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual const char* Name() const = 0;
  // Starts a pass over `config` (already validated), which must outlive the run.
  virtual std::unique_ptr<EmitterRun> Start(const ConfigSet& config) const = 0;
  // Whether its runs read the RuleFiles they are given. When no emitter of a pass does, no
  // rules are built and the runs get empty RuleFiles (a config without tier defaults, as
  // some tests build, can then be emitted).
  virtual bool ReadsRules() const { return true; }
  // The whole pass on this thread: every file of this emitter into `out`.
  void Emit(const ConfigSet& config, OutputFiles& out) const;
};

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_EMITTER_H_
