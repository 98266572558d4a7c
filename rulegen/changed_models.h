// Which models a change touches, for `modelwatch-rulegen check --changed=<git-ref>`: a pull
// request that edits one model's config or baseline needs that model's promtool tests and
// routing cases, not the whole fleet's.
#ifndef MODELWATCH_RULEGEN_CHANGED_MODELS_H_
#define MODELWATCH_RULEGEN_CHANGED_MODELS_H_

#include <set>
#include <string>

#include "core/config.h"
#include "core/error.h"

namespace modelwatch {

struct ChangedModels {
  // Every model counts as changed: the fleet file (modelwatch.yaml) changed, which feeds
  // every model's rules, routes and dashboards.
  bool all = false;
  std::set<std::string> models;  // by name; empty when `all`
};

// Compares the working tree of the git repository holding `config.dir` (committed, staged,
// unstaged and untracked files) with `ref`. A model changed when its YAML file or its
// baseline file differs from `ref` or is new. Files outside the repository (a baseline
// behind a symlinked directory, say) are invisible to git and never count as changed.
// Errors: not a git repository, `ref` is not a commit, git not found.
Result<ChangedModels> ModelsChangedSince(const ConfigSet& config, const std::string& ref);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_CHANGED_MODELS_H_
