#include "exporter/state/checkpoint.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/atomic_file.h"

namespace modelwatch {

namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string PartDir(const std::string& dir) { return dir + "/checkpoint.models"; }

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A part file name as the writer makes it: <model>.<sequence>.json, the model matching
// [a-z0-9_-]+ (so a manifest read from disk cannot name a file elsewhere).
bool IsPartFileName(const std::string& name) {
  const std::size_t dot = name.find('.');
  if (dot == 0 || dot == std::string::npos) return false;
  for (std::size_t i = 0; i < dot; ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  const std::string rest = name.substr(dot + 1);
  const std::size_t json = rest.size() - std::min<std::size_t>(rest.size(), 5);
  if (rest.size() <= 5 || rest.compare(json, 5, ".json") != 0) return false;
  for (std::size_t i = 0; i < json; ++i) {
    if (rest[i] < '0' || rest[i] > '9') return false;
  }
  return true;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(Errno("cannot open", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return MakeError(Errno("cannot read", path));
  return buffer.str();
}

// Writes `data` to the new file `path` and fsyncs it; on failure removes what was written.
Result<void> WriteNewFile(const std::string& path, const std::string& data) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return MakeError(Errno("cannot create", path));
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) {
      const std::string err = Errno("cannot write", path);
      ::unlink(path.c_str());
      return MakeError(err);
    }
  }
  if (auto synced = SyncFile(path); !synced) {
    ::unlink(path.c_str());
    return tl::unexpected(synced.error());
  }
  return {};
}

}  // namespace

std::string CheckpointPath(const std::string& dir) { return dir + "/checkpoint.json"; }

Result<std::optional<LoadedCheckpoint>> ReadCheckpoint(const std::string& dir) {
  const std::string path = CheckpointPath(dir);
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    return std::optional<LoadedCheckpoint>();
  }
  auto text = ReadWholeFile(path);
  if (!text) return tl::unexpected(text.error());
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError("checkpoint " + path + " is not valid JSON");
  }
  const auto version = j.find("format_version");
  if (version == j.end() || !version->is_number_integer() ||
      (*version != 1 && *version != kCheckpointFormatVersion)) {
    return MakeError("checkpoint " + path + ": unsupported format_version");
  }
  const auto state = j.find("state");
  if (state == j.end() || !state->is_object()) {
    return MakeError("checkpoint " + path + ": no state");
  }
  LoadedCheckpoint loaded;
  loaded.state = std::move(*state);
  if (*version == 1) return std::optional<LoadedCheckpoint>(std::move(loaded));

  const auto sequence = j.find("sequence");
  const auto parts = j.find("parts");
  if (sequence == j.end() || !sequence->is_number_unsigned() || parts == j.end() ||
      !parts->is_object()) {
    return MakeError("checkpoint " + path + ": no sequence or parts");
  }
  loaded.sequence = sequence->get<std::uint64_t>();
  nlohmann::json& models = loaded.state["models"];
  if (models.is_null()) models = nlohmann::json::object();
  if (!models.is_object()) return MakeError("checkpoint " + path + ": models is not an object");
  for (const auto& [model, file] : parts->items()) {
    if (!file.is_string() || !IsPartFileName(file.get<std::string>())) {
      return MakeError("checkpoint " + path + ": model " + model + " names no valid part file");
    }
    const std::string part_path = PartDir(dir) + "/" + file.get<std::string>();
    auto part_text = ReadWholeFile(part_path);
    if (!part_text) return tl::unexpected(part_text.error());
    nlohmann::json part = nlohmann::json::parse(*part_text, nullptr, false);
    if (part.is_discarded() || !part.is_object() || !part.contains("model") ||
        part["model"] != model || !part.contains("state") || !part["state"].is_object()) {
      return MakeError("checkpoint part " + part_path + " is not the state of model " + model);
    }
    nlohmann::json& into = models[model];
    if (into.is_null()) into = nlohmann::json::object();
    if (!into.is_object()) return MakeError("checkpoint " + path + ": model " + model);
    for (auto& [key, value] : part["state"].items()) into[key] = std::move(value);
  }
  return std::optional<LoadedCheckpoint>(std::move(loaded));
}

CheckpointWriter::CheckpointWriter(std::string dir, std::uint64_t sequence)
    : dir_(std::move(dir)), sequence_(sequence) {}

Result<CheckpointWriter::Written> CheckpointWriter::Write(const nlohmann::json& state,
                                                          const std::vector<std::string>& models,
                                                          const PartOf& part_of) {
  const std::string part_dir = PartDir(dir_);
  for (const std::string& d : {dir_, part_dir}) {
    if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
      return MakeError(Errno("cannot create state directory", d));
    }
  }
  const std::uint64_t sequence = ++sequence_;
  Written written;
  std::map<std::string, PartFile> files;
  std::vector<std::string> new_files;
  const auto forget_new_files = [&] {
    for (const std::string& f : new_files) ::unlink((part_dir + "/" + f).c_str());
  };
  for (const std::string& model : models) {
    std::optional<nlohmann::json> part = part_of(model);
    if (!part) {
      auto kept = files_.find(model);
      if (kept == files_.end()) {
        forget_new_files();
        return MakeError("checkpoint: no state for model " + model);
      }
      files.insert(*kept);
      continue;
    }
    PartFile file{model + "." + std::to_string(sequence) + ".json", 0};
    std::string data = "{\"model\":" + Dump(model) + ",\"state\":" + Dump(*part) + "}\n";
    part.reset();
    if (auto ok = WriteNewFile(part_dir + "/" + file.name, data); !ok) {
      forget_new_files();
      return tl::unexpected(ok.error());
    }
    new_files.push_back(file.name);
    file.bytes = data.size();
    written.bytes_written += data.size();
    ++written.parts_written;
    files.emplace(model, std::move(file));
  }
  if (!new_files.empty()) {
    if (auto ok = SyncDirectory(part_dir); !ok) {
      forget_new_files();
      return tl::unexpected(ok.error());
    }
  }
  nlohmann::json names = nlohmann::json::object();
  for (const auto& [model, file] : files) names[model] = file.name;
  const std::string manifest = "{\"format_version\":" + std::to_string(kCheckpointFormatVersion) +
                               ",\"sequence\":" + std::to_string(sequence) +
                               ",\"parts\":" + Dump(names) + ",\"state\":" + Dump(state) + "}\n";
  if (auto ok = WriteFileAtomically(CheckpointPath(dir_), manifest); !ok) {
    forget_new_files();
    return tl::unexpected(ok.error());
  }
  files_ = std::move(files);
  written.bytes_written += manifest.size();
  written.total_bytes = manifest.size();
  for (const auto& [model, file] : files_) written.total_bytes += file.bytes;
  RemoveUnnamedFiles();
  return written;
}

void CheckpointWriter::RemoveUnnamedFiles() const {
  std::set<std::string> named;
  for (const auto& [model, file] : files_) named.insert(file.name);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(PartDir(dir_), ec)) {
    const std::string name = entry.path().filename().string();
    // Older parts, and files a crash left half-written before their manifest.
    if (named.count(name) == 0) std::filesystem::remove(entry.path(), ec);
  }
}

Result<std::string> QuarantineFile(const std::string& path) {
  const std::string target = path + ".corrupt-" + std::to_string(::time(nullptr));
  if (::rename(path.c_str(), target.c_str()) != 0) {
    return MakeError(Errno("cannot move aside", path));
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string side = path + suffix;
    if (::access(side.c_str(), F_OK) == 0) ::rename(side.c_str(), (target + suffix).c_str());
  }
  return target;
}

}  // namespace modelwatch
