#include "exporter/state/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace modelwatch {

namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

bool WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::string CheckpointPath(const std::string& dir) { return dir + "/checkpoint.json"; }

Result<std::size_t> WriteCheckpoint(const std::string& dir, const nlohmann::json& state) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return MakeError(Errno("cannot create state directory", dir));
  }
  const std::string path = CheckpointPath(dir);
  const std::string tmp = path + ".tmp";
  // {"format_version":1,"state":...} without copying `state`.
  std::string data =
      "{\"format_version\":" + std::to_string(kCheckpointFormatVersion) +
      ",\"state\":" + state.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "}\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return MakeError(Errno("cannot create", tmp));
  if (!WriteAll(fd, data) || ::fsync(fd) != 0) {
    std::string msg = Errno("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return MakeError(msg);
  }
  if (::close(fd) != 0) return MakeError(Errno("cannot close", tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string msg = Errno("cannot rename to", path);
    ::unlink(tmp.c_str());
    return MakeError(msg);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
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
