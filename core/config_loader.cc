#include "core/config_loader.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

bool IsModelFileName(const std::string& name) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return (ends_with(".yaml") || ends_with(".yml")) && name != "modelwatch.yaml" &&
         name != "modelwatch.yml";
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// One model file read and parsed: nothing when it cannot be read; `failure` when parsing threw.
struct ParsedFile {
  std::optional<MultiResult<ModelConfig>> model;
  std::exception_ptr failure;
};

// Reads and parses the model files `paths` on up to one thread per core, each file on one
// thread (a file's parse is independent of every other's). In a fleet of a thousand models
// the parse is a large part of `modelwatch-rulegen generate` (docs/rulegen.md, "Performance").
// The results are in the order of `paths`, so what the caller makes of them is the same as
// one file after the other.
std::vector<ParsedFile> ParseModelFiles(const std::vector<std::string>& paths,
                                        const LoadOptions& options) {
  std::vector<ParsedFile> parsed(paths.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < paths.size();) {
      try {
        if (auto text = ReadFile(paths[i])) {
          parsed[i].model = ParseModelConfig(*text, paths[i], options);
        }
      } catch (...) {
        parsed[i].failure = std::current_exception();
      }
    }
  };
  const std::size_t threads =
      std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), paths.size());
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return parsed;
}

}  // namespace

MultiResult<ConfigSet> LoadConfigDir(const std::string& dir, const LoadOptions& options) {
  std::vector<Error> errors;
  ConfigSet set;
  set.dir = dir;
  for (int t = 1; t <= 3; ++t) set.fleet.tiers[t] = DefaultTier(t);

  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return tl::unexpected(std::vector<Error>{
        Error{SourceLocation{dir, 0, 0}, "config directory does not exist or is not a directory"}});
  }
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) names.push_back(entry.path().filename().string());
  }
  if (ec) {
    return tl::unexpected(std::vector<Error>{
        Error{SourceLocation{dir, 0, 0}, "cannot list the config directory: " + ec.message()}});
  }
  std::sort(names.begin(), names.end());

  auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  if (has("modelwatch.yaml") && has("modelwatch.yml")) {
    errors.push_back(Error{SourceLocation{JoinPath(dir, "modelwatch.yml"), 1, 1},
                           "both modelwatch.yaml and modelwatch.yml: the fleet settings must be "
                           "in one file (remove one)"});
  }
  for (const std::string fleet_name : {"modelwatch.yaml", "modelwatch.yml"}) {
    if (!has(fleet_name.c_str())) continue;
    const std::string path = JoinPath(dir, fleet_name);
    auto text = ReadFile(path);
    if (!text) {
      errors.push_back(Error{SourceLocation{path, 0, 0}, "cannot read the file"});
      continue;
    }
    auto fleet = ParseFleetConfig(*text, path);
    if (fleet) {
      set.fleet = std::move(*fleet);
    } else {
      errors.insert(errors.end(), fleet.error().begin(), fleet.error().end());
    }
  }

  // modelwatch.yaml's drift.engine is the default of every model file that sets none.
  LoadOptions model_options = options;
  if (set.fleet.drift_engine_location.line > 0) {
    model_options.default_drift_engine = set.fleet.drift_engine;
    const SourceLocation& at = set.fleet.drift_engine_location;
    model_options.default_drift_engine_origin =
        at.file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
  }
  std::vector<std::string> paths;
  for (const auto& name : names) {
    if (IsModelFileName(name)) paths.push_back(JoinPath(dir, name));
  }
  std::vector<ParsedFile> parsed = ParseModelFiles(paths, model_options);
  std::map<std::string, SourceLocation> seen_names;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    if (parsed[i].failure) std::rethrow_exception(parsed[i].failure);
    if (!parsed[i].model) {
      errors.push_back(Error{SourceLocation{path, 0, 0}, "cannot read the file"});
      continue;
    }
    MultiResult<ModelConfig>& model = *parsed[i].model;
    if (!model) {
      errors.insert(errors.end(), model.error().begin(), model.error().end());
      continue;
    }
    auto [it, inserted] = seen_names.emplace(model->name, model->location);
    if (!inserted) {
      errors.push_back(Error{model->location, "model \"" + model->name +
                                                  "\" is already defined in " + it->second.file +
                                                  ":" + std::to_string(it->second.line)});
      continue;
    }
    set.models.push_back(std::move(*model));
  }
  // teams.<team> in modelwatch.yaml must name a team that owns a model (or the platform):
  // a misspelt team would silently leave the real team on the shared secret files.
  if (!set.fleet.teams.empty() && !set.models.empty()) {
    std::set<std::string> owners = {set.fleet.platform.owner.team};
    for (const ModelConfig& m : set.models) owners.insert(m.owner.team);
    for (const auto& [team, tr] : set.fleet.teams) {
      if (owners.count(team)) continue;
      std::string known;
      for (const auto& o : owners) known += (known.empty() ? "" : ", ") + o;
      errors.push_back(Error{tr.location, "teams." + team +
                                              ": no model is owned by this team and it is not "
                                              "the platform team (teams: " +
                                              known + ")"});
    }
  }
  if (set.models.empty() && errors.empty()) {
    errors.push_back(Error{SourceLocation{dir, 0, 0},
                           "no model files (*.yaml, *.yml other than modelwatch.yaml) found"});
  }
  if (!errors.empty()) {
    SortErrors(errors);
    return tl::unexpected(std::move(errors));
  }
  std::sort(set.models.begin(), set.models.end(),
            [](const ModelConfig& a, const ModelConfig& b) { return a.name < b.name; });
  return set;
}

}  // namespace modelwatch
