#include "exporter/state/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"

namespace modelwatch {

namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

std::string CheckpointPath(const std::string& dir) { return dir + "/checkpoint.json"; }

Result<std::size_t> WriteCheckpoint(const std::string& dir, const nlohmann::json& state) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return MakeError(Errno("cannot create state directory", dir));
  }
  const std::string path = CheckpointPath(dir);
  // {"format_version":1,"state":...} without copying `state`.
  std::string data =
      "{\"format_version\":" + std::to_string(kCheckpointFormatVersion) +
      ",\"state\":" + state.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "}\n";
  if (auto ok = WriteFileAtomically(path, data); !ok) return tl::unexpected(ok.error());
  return data.size();
}

Result<std::optional<nlohmann::json>> ReadCheckpoint(const std::string& dir) {
  const std::string path = CheckpointPath(dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<nlohmann::json>();
    return MakeError(Errno("cannot open", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError("checkpoint " + path + " is not valid JSON");
  }
  const auto version = j.find("format_version");
  if (version == j.end() || !version->is_number_integer() || *version != kCheckpointFormatVersion) {
    return MakeError("checkpoint " + path + ": unsupported format_version");
  }
  if (!j.contains("state")) return MakeError("checkpoint " + path + ": no state");
  return std::optional<nlohmann::json>(std::move(j["state"]));
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
