// Replacing a file atomically and durably: readers see the old content or the new, never a
// part, and after a crash (kill -9, power loss) the file holds one of the two. (A directory
// replaced as a whole: ReplaceDirectoryAtomically, at the end.)
//
// The content goes to a temporary file next to the target (same directory, so the rename
// cannot cross file systems), which is written in full, fsync'd and closed, then renamed over
// the target; then the directory is fsync'd, so the rename itself is on disk. Every step's
// result is checked. On any failure the temporary file is removed, the target is left as it
// was, and the error names the step, the file and the system's reason.
//
// The temporary file is `<path>.tmp`, so one left by a crash is replaced by the next write, not
// piled up. One writer per path at a time: a second one started meanwhile makes the first fail
// (its temporary file is gone), never mixes the two contents.
#ifndef MODELWATCH_CORE_ATOMIC_FILE_H_
#define MODELWATCH_CORE_ATOMIC_FILE_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "core/error.h"

namespace modelwatch {

// A file being written, that replaces `path` on Commit() and vanishes if never committed.
class AtomicFileWriter {
 public:
  // Creates the temporary file `<path>.tmp` (mode `mode`, less the umask).
  static Result<AtomicFileWriter> Create(std::string path, mode_t mode = 0644);

  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();  // removes the temporary file unless committed

  // Appends `data` (all of it, or an error).
  Result<void> Write(std::string_view data);
  // fsync, close, rename over the target, fsync the directory. Call at most once; after an
  // error nothing is left behind and the writer is spent.
  Result<void> Commit();

 private:
  AtomicFileWriter(std::string path, std::string tmp, int fd);
  void Abandon();

  std::string path_;
  std::string tmp_;
  int fd_ = -1;
};

// Replaces `path` with `content` as above.
Result<void> WriteFileAtomically(const std::string& path, std::string_view content,
                                 mode_t mode = 0644);

// fsync of the file `path` (its content is on disk), or of the directory `path` (its entries
// are: files created, renamed or removed in it). Errors name the step, the path and the reason.
Result<void> SyncFile(const std::string& path);
Result<void> SyncDirectory(const std::string& path);

// Replaces the directory `target` as a whole with `staged`, a complete directory written
// beside it (same parent, so no rename crosses file systems): readers see the old tree or the
// new one, and after a crash the target holds one of the two. (Where the kernel cannot exchange
// two paths, the old tree is renamed to `<staged>.old` just before the new one is renamed in:
// a crash between the two leaves no target, and the old tree there.)
//
// Every file and directory under `staged`, and `staged` itself, is fsync'd first (see
// StagedSync below); then
// `staged` is renamed to `target` (exchanged with it where the kernel can, else the old one is
// moved aside and the new one moved in); then the parent directory is fsync'd and the previous
// tree removed. A missing `target` is created; one that is not a directory is an error. Every
// step's result is checked. On failure before the swap `target` is left as it was (if moving
// it back is what failed, the error says where the previous tree is) and `staged` is left to
// the caller; a failure after it (flushing the parent, removing the previous tree) leaves the
// new tree in place and its error begins "replaced TARGET, but".
//
// With StagedSync::kFileSystem the tree is put on disk by one syncfs(2) of its file system
// instead of an fsync per file: the same guarantee for the tree (and its errors are reported,
// Linux 5.8 and later), in one call, but it also waits for any other dirty data of that file
// system. For trees of thousands of files, where the fsyncs one by one take seconds.
enum class StagedSync { kEachFile, kFileSystem };
Result<void> ReplaceDirectoryAtomically(const std::string& staged, const std::string& target,
                                        StagedSync sync = StagedSync::kEachFile);

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_ATOMIC_FILE_H_
