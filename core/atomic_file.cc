#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace modelwatch {

namespace {

std::string Reason(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string DirectoryOf(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<AtomicFileWriter> AtomicFileWriter::Create(std::string path, mode_t mode) {
  // A fixed name, so that a temporary file a crash left behind is reused, not piled up. It is
  // removed first so that O_EXCL creates it afresh with `mode` (less the umask).
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return MakeError(Reason("cannot create", tmp));
  return AtomicFileWriter(std::move(path), std::move(tmp), fd);
}

AtomicFileWriter::AtomicFileWriter(std::string path, std::string tmp, int fd)
    : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)), tmp_(std::move(other.tmp_)), fd_(other.fd_) {
  other.fd_ = -1;
  other.tmp_.clear();
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

Result<void> AtomicFileWriter::Write(std::string_view data) {
  if (fd_ < 0) return MakeError("cannot write " + path_ + ": the writer is spent");
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = Reason("cannot write", tmp_);
      Abandon();
      return MakeError(why);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> AtomicFileWriter::Commit() {
  if (fd_ < 0) return MakeError("cannot write " + path_ + ": the writer is spent");
  if (::fsync(fd_) != 0) {
    const std::string why = Reason("cannot flush", tmp_);
    Abandon();
    return MakeError(why);
  }
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    const std::string why = Reason("cannot close", tmp_);
    Abandon();
    return MakeError(why);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string why = Reason("cannot rename " + tmp_ + " to", path_);
    Abandon();
    return MakeError(why);
  }
  tmp_.clear();  // it is the target now
  const std::string dir = DirectoryOf(path_);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return MakeError(Reason("cannot open the directory", dir));
  const bool synced = ::fsync(dfd) == 0;
  const std::string why = synced ? "" : Reason("cannot flush the directory", dir);
  ::close(dfd);
  if (!synced) return MakeError(why);
  return {};
}

Result<void> WriteFileAtomically(const std::string& path, std::string_view content, mode_t mode) {
  auto writer = AtomicFileWriter::Create(path, mode);
  if (!writer) return tl::unexpected(writer.error());
  if (auto ok = writer->Write(content); !ok) return ok;
  return writer->Commit();
}

}  // namespace modelwatch
