#include "rulegen/changed_models.h"

#include <filesystem>
#include <string_view>
#include <vector>

#include "rulegen/checker.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

// Runs git in `dir`; its output, or an error naming the command and what git said.
Result<std::string> Git(const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git", "-C", dir};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv);
  if (r.status != 0) {
    while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' ')) {
      r.output.pop_back();
    }
    return MakeError("git " + args.front() + " in " + dir + " failed" +
                     (r.output.empty() ? std::string() : ": " + r.output));
  }
  return r.output;
}

// Absolute, with symlinks resolved as far as the path exists (a deleted file still maps).
fs::path Normal(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  fs::path canonical = fs::weakly_canonical(abs, ec);
  return ec ? abs.lexically_normal() : canonical;
}

}  // namespace

Result<ChangedModels> ModelsChangedSince(const ConfigSet& config, const std::string& ref) {
  auto top = Git(config.dir, {"rev-parse", "--show-toplevel"});
  if (!top) return tl::unexpected(top.error());
  while (!top->empty() && top->back() == '\n') top->pop_back();
  if (ref.empty() || ref.front() == '-' ||
      !Git(*top, {"rev-parse", "--verify", "--quiet", ref + "^{commit}"})) {
    return MakeError("--changed=" + ref + ": not a commit of the git repository at " + *top);
  }
  // Paths relative to the top: what differs from `ref` in the working tree (renames as a
  // deletion and an addition), then the untracked files.
  auto diff = Git(*top, {"diff", "--name-only", "-z", "--no-renames", ref, "--"});
  if (!diff) return tl::unexpected(diff.error());
  auto untracked = Git(*top, {"ls-files", "-z", "--others", "--exclude-standard"});
  if (!untracked) return tl::unexpected(untracked.error());
  std::set<fs::path> changed;
  for (std::string_view list : {std::string_view(*diff), std::string_view(*untracked)}) {
    while (!list.empty()) {
      const std::size_t end = list.find('\0');
      const std::string_view name = list.substr(0, end);
      if (!name.empty()) changed.insert(Normal(fs::path(*top) / fs::path(name)));
      if (end == std::string_view::npos) break;
      list.remove_prefix(end + 1);
    }
  }
  ChangedModels result;
  // The fleet file feeds every model's output; added, edited or deleted, all are changed.
  const fs::path dir = Normal(config.dir);
  for (const fs::path& p : changed) {
    if (p.parent_path() == dir &&
        (p.filename() == "modelwatch.yaml" || p.filename() == "modelwatch.yml")) {
      result.all = true;
      return result;
    }
  }
  for (const ModelConfig& m : config.models) {
    if (changed.count(Normal(m.file)) ||
        (!m.baseline.empty() && changed.count(Normal(m.baseline)))) {
      result.models.insert(m.name);
    }
  }
  return result;
}

}  // namespace modelwatch
