#include "core/atomic_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
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

// Opens `path` read-only with `flags`, fsyncs and closes it. `kind` goes into the messages.
Result<void> Sync(const std::string& path, int flags, const std::string& kind) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return MakeError(Reason("cannot open" + kind, path));
  if (::fsync(fd) != 0) {
    const std::string why = Reason("cannot flush" + kind, path);
    ::close(fd);
    return MakeError(why);
  }
  if (::close(fd) != 0) return MakeError(Reason("cannot close" + kind, path));
  return {};
}

// fsyncs every file and directory under `root`, then `root` itself.
Result<void> SyncTree(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    const std::string path = it->path().string();
    if (fs::is_directory(status)) {
      if (auto ok = SyncDirectory(path); !ok) return ok;
    } else if (fs::is_regular_file(status)) {
      if (auto ok = SyncFile(path); !ok) return ok;
    }
  }
  if (ec) return MakeError("cannot list " + root + ": " + ec.message());
  return SyncDirectory(root);
}

// Atomically exchanges two paths. Returns false (errno set) if unsupported.
bool ExchangePaths(const std::string& a, const std::string& b) {
#ifdef SYS_renameat2
  return ::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
#else
  errno = ENOSYS;
  return false;
#endif
}

// After a successful swap: the parent is fsync'd, so the swap is on disk, and `previous` (the
// replaced tree) is removed. Returns the first error, which says that the target was replaced.
Result<void> FinishSwap(const std::string& target, const std::string& previous) {
  auto synced = SyncDirectory(DirectoryOf(target));
  std::error_code ec;
  std::filesystem::remove_all(previous, ec);
  if (!synced) return MakeError("replaced " + target + ", but " + synced.error().message);
  if (ec) {
    return MakeError("replaced " + target + ", but cannot remove the previous tree " + previous +
                     ": " + ec.message());
  }
  return {};
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
  return SyncDirectory(DirectoryOf(path_));
}

Result<void> WriteFileAtomically(const std::string& path, std::string_view content, mode_t mode) {
  auto writer = AtomicFileWriter::Create(path, mode);
  if (!writer) return tl::unexpected(writer.error());
  if (auto ok = writer->Write(content); !ok) return ok;
  return writer->Commit();
}

Result<void> SyncFile(const std::string& path) { return Sync(path, 0, ""); }

Result<void> SyncDirectory(const std::string& path) {
  return Sync(path, O_DIRECTORY, " the directory");
}

namespace {

// syncfs(2) of the file system holding `path`.
Result<void> SyncFileSystemOf(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY);
  if (fd < 0) return MakeError(Reason("cannot open the directory", path));
  if (::syncfs(fd) != 0) {
    const std::string why = Reason("cannot flush the file system of", path);
    ::close(fd);
    return MakeError(why);
  }
  if (::close(fd) != 0) return MakeError(Reason("cannot close the directory", path));
  return {};
}

}  // namespace

Result<void> ReplaceDirectoryAtomically(const std::string& staged, const std::string& target,
                                        StagedSync sync) {
  if (auto ok = sync == StagedSync::kFileSystem ? SyncFileSystemOf(staged) : SyncTree(staged);
      !ok) {
    return ok;
  }
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) {
    if (errno != ENOENT) return MakeError(Reason("cannot inspect", target));
    if (::rename(staged.c_str(), target.c_str()) != 0) {
      return MakeError(Reason("cannot rename into", target));
    }
    return SyncDirectory(DirectoryOf(target));
  }
  if (!S_ISDIR(st.st_mode)) return MakeError(target + " exists and is not a directory");
  // `staged` holds the previous tree after an exchange.
  if (ExchangePaths(staged, target)) return FinishSwap(target, staged);
  // No atomic exchange here: move the old tree aside, move the new one in.
  const std::string previous = staged + ".old";
  if (::rename(target.c_str(), previous.c_str()) != 0) {
    return MakeError(Reason("cannot move " + target + " aside to", previous));
  }
  if (::rename(staged.c_str(), target.c_str()) != 0) {
    const std::string why = Reason("cannot rename into", target);
    if (::rename(previous.c_str(), target.c_str()) != 0) {
      return MakeError(why + "; " +
                       Reason("and cannot move the previous tree back from", previous));
    }
    if (auto ok = SyncDirectory(DirectoryOf(target)); !ok) {
      return MakeError(why + "; moved the previous tree back, but " + ok.error().message);
    }
    return MakeError(why);
  }
  return FinishSwap(target, previous);
}

}  // namespace modelwatch
