// LogTailer: follows the files matched by a set of glob patterns and hands every complete
// line to a callback, across log rotation, truncation and restarts.
//
// Design (see also docs/tailing.md):
//
// * Identity. A file is identified by (device, inode) while we hold it open, and by
//   (device, inode) plus a fingerprint when we do not (after a restart, or after we closed
//   it): the fingerprint is a 64-bit FNV-1a hash of its first min(1024, bytes read) bytes
//   ("head") and a hash of the up to 64 bytes just before the saved offset ("tail"). Both must
//   match the file's current bytes for an offset to be reused; otherwise the file is new to us
//   (inode reuse, or content replaced while we were down) and is read from offset 0.
//
// * Rename + create (logrotate's default). Every open file is read through its own fd, so a
//   renamed or deleted file is read to its end wherever it went; there is no time limit while
//   bytes remain. A file no longer matched by any pattern ("rotated away") is closed once it
//   has been at its end for `rotate_wait` (the writer may still append to its old fd until it
//   reopens). The file that appears under the old name, however late, is new: read from 0.
//   When a rotation is seen, or a directory holding a tailed file had entries added, renamed
//   or removed since the previous poll (its mtime), the directory is also searched for
//   generations we never saw (several rotations between two polls, or a copytruncate of a
//   file before we read a line of it): regular files named `<tailed file's name><suffix>`
//   (app.log.1, app.log-20250101; compressed suffixes .gz .bz2 .xz .zst .lz4 .zip .Z
//   skipped), not matched by the patterns, not open, modified since the previous poll's scan.
//   They are read from 0, or from a remembered offset if we closed that very file earlier
//   (the last 64 closed files are remembered, also across restarts), or past what we read if
//   they are a copy of a file we are reading.
//
// * Copytruncate. Truncation is detected by size < offset, or when the head or the bytes just
//   before our offset no longer match what we read (a truncate followed at once by a refill
//   larger than the old offset keeps the size growing, so size alone would miss it). The file
//   is then read again from 0, and the copy logrotate made is looked up among the same
//   `<name><suffix>` files (and the pattern matches) by fingerprint; if found, the copy is read
//   from our old offset to its end, so lines written between our last read and the copy are
//   not lost. Lines written between the copy and the truncation are lost by copytruncate
//   itself, as with every tailer. A new pattern-matched file whose fingerprint matches a file we
//   are reading (a copy of it) starts where that file is, not at 0.
//
// * Lines. A line is the bytes up to '\n', without it; a trailing '\r' is stripped. A partial
//   last line is held (not delivered, not counted in the saved offset) until its newline
//   arrives. A line longer than `max_line_bytes` (counting bytes before '\n', '\r' included) is
//   never buffered whole: the tailer discards until the next newline and counts it once, when
//   that newline arrives. The file keeps being tailed. The sink is called synchronously: a slow
//   sink slows reading, nothing is dropped.
//
// * Start position. `start_at` applies only to files present at the first Poll() of a tailer
//   that was not given a saved state: kBeginning reads them from 0; kEnd starts after their last
//   newline (a line being written at that moment is delivered whole once complete). Files that
//   appear later, or any file unknown to a restored state, are read from 0. Call
//   RestoreState() only when a saved state exists (a tailer for a newly configured source is a
//   first start).
//
// * Restart. SaveState() records, for every open file, the offset just after the last
//   delivered newline (a held partial line or a partly skipped long line is read again after a
//   restart), so a checkpoint taken right after Poll() matches the lines delivered so far.
//   On the first Poll() after RestoreState(), a saved file is looked up by inode in its saved
//   directory (so app.log renamed to app.log.1 while we were down is read from the saved offset
//   to its end even when app.log.1 is not matched by the patterns), or, failing that, by
//   fingerprint (a copytruncate copy). Generations created while we were down are found as
//   above (modified since the saved scan time). A position saved while its file was still
//   empty is not used: whatever that inode holds now is treated as a new file.
//
// * Not followed: rotated files compressed (app.log.1.gz) or moved to another directory
//   before we saw them (their unread lines are lost; after a restart the position is counted
//   in `positions_lost`), and generations deleted while we were down. A copy of a file made
//   before we delivered a line of it cannot be told from a new file and is read from 0.
//
// * Waiting. WaitForChange() blocks on inotify watches of the directories of the patterns (the
//   part before the first wildcard) and of every matched file, or until the timeout, whichever
//   comes first; the timeout is the safety poll (renamed files in other directories, file
//   systems without inotify).
#ifndef MODELWATCH_EXPORTER_TAIL_LOG_TAILER_H_
#define MODELWATCH_EXPORTER_TAIL_LOG_TAILER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "exporter/tail/clock.h"

namespace modelwatch {

struct LogTailerOptions {
  std::vector<std::string> patterns;  // absolute glob(3) patterns
  StartAt start_at = StartAt::kEnd;
  std::size_t max_line_bytes = 1 << 20;
  std::chrono::milliseconds poll_interval{1000};  // WaitForChange()'s default timeout
  std::chrono::milliseconds rotate_wait{5000};    // keep a drained rotated file open this long
  // Bytes one Poll() reads at most, over all files. A tailer behind its writer still scans
  // for new and rotated files (and holds them open) at least once per this much data, so a
  // generation that is rotated and deleted while the backlog is read is not lost.
  std::uint64_t max_bytes_per_poll = 16 << 20;
  const Clock* clock = nullptr;  // nullptr: SteadyClock(); must outlive tailer
};

struct TailedFileStats {
  std::string path;             // the name it was last seen under
  std::uint64_t size = 0;       // as of the last Poll()
  std::uint64_t offset = 0;     // after the last delivered line
  std::uint64_t lag_bytes = 0;  // size - offset
  bool rotated = false;         // no longer matched by the patterns; closed once drained
};

// Counters are totals since construction; the rest is the state after the last Poll().
struct LogTailerStats {
  std::uint64_t lines_delivered = 0;
  std::uint64_t lines_too_long = 0;
  std::uint64_t rotations = 0;    // renamed/deleted away, plus truncations: exported as
                                  // modelwatch_file_rotations_total
  std::uint64_t truncations = 0;  // copytruncate-style rotations (a subset of rotations)
  std::uint64_t bytes_read = 0;
  std::uint64_t partial_lines_dropped = 0;  // a rotated file closed with an unfinished line
  std::uint64_t open_errors = 0;
  std::uint64_t read_errors = 0;
  std::uint64_t positions_lost = 0;  // saved positions whose file was not found on restore
  // Saved positions whose file was found (same inode and head) but whose offset does not fit
  // it (past its end, or the bytes before it differ): the file resumes after its last
  // newline instead of being read again from 0.
  std::uint64_t positions_invalid = 0;
  // Matched files that could not be opened (e.g. permissions) at the last Poll(), as
  // "path: reason"; they are retried at every Poll().
  std::vector<std::string> unreadable;
  std::size_t files_open = 0;
  std::uint64_t lag_bytes = 0;  // sum over open files: modelwatch_source_lag_bytes
  std::vector<TailedFileStats> files;
};

// Where a delivered line sits: its file (device and inode) and the offset just after its
// newline.
struct LinePosition {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t end_offset = 0;
};

// Not thread-safe: one thread calls Poll(), WaitForChange(), Stats(), SaveState().
class LogTailer {
 public:
  using Sink = std::function<void(std::string_view line)>;

  explicit LogTailer(LogTailerOptions options);
  ~LogTailer();
  LogTailer(const LogTailer&) = delete;
  LogTailer& operator=(const LogTailer&) = delete;

  // Reads what the files hold now (up to their size when each is visited, so a fast writer
  // cannot keep Poll() from returning) and calls `sink` once per complete line, in file
  // order; rotated-away files before the files that replaced them. `line` is valid only
  // during the call.
  void Poll(const Sink& sink);

  // The position of the line being delivered; valid only during a call of Poll()'s sink.
  const LinePosition& CurrentLine() const { return current_line_; }

  // Blocks until a watched directory reports a change or `timeout` passes. Returns true if
  // something changed or the last Poll() left unread bytes (then without blocking).
  bool WaitForChange(std::chrono::milliseconds timeout);
  bool WaitForChange() { return WaitForChange(options_.poll_interval); }

  // True once a Poll() has completed: every file matching the patterns was opened (or
  // failed to open, see open_errors), or none matched.
  bool Scanned() const { return scanned_; }

  const std::vector<std::string>& patterns() const { return options_.patterns; }

  LogTailerStats Stats() const;

  // Positions of the open files, to be stored with the state derived from the lines
  // delivered so far. Format: {"version":1,"scan_time_ns":…,"files":[{"path","matched_path",
  // "dev","ino","offset","head_len","head_hash","tail_len","tail_hash"}],"closed":[…]}.
  nlohmann::json SaveState() const;

  // Loads positions saved by SaveState(); applied at the next Poll(). Must be called before
  // the first Poll(). Returns an error (and changes nothing) for malformed input.
  Result<void> RestoreState(const nlohmann::json& state);

  struct TailedFile;     // internal
  struct SavedPosition;  // internal

 private:
  LinePosition current_line_;
  struct Match;
  void ExpandPatterns(std::vector<Match>& out) const;
  void ApplyRestoredPositions(const std::vector<Match>& matches);
  void ReadFile(TailedFile& f, const Sink& sink);
  void Consume(TailedFile& f, const char* data, std::size_t n, const Sink& sink);
  bool Replaced(TailedFile& f, std::uint64_t size);
  void OnTruncated(TailedFile& f, const Sink& sink);
  bool CopyOfOpenFile(const TailedFile& f, std::uint64_t& offset, bool& skip);
  bool FindCopy(const SavedPosition& pos, const std::string& dir, const std::string& base);
  void FindMissedGenerations(const std::string& dir, const std::string& base,
                             std::int64_t since_ns);
  TailedFile* Find(std::uint64_t dev, std::uint64_t ino);
  bool IsMatched(const std::string& path) const;
  std::unique_ptr<TailedFile> Open(const std::string& path);
  // The offset just after the last newline of `f` (searching back at most max_line_bytes);
  // sets `skip` when an unfinished over-long line must be skipped.
  std::uint64_t AfterLastNewline(const TailedFile& f, bool& skip) const;
  void Track(std::unique_ptr<TailedFile> f, std::uint64_t offset, bool skip_first_partial);
  void UpdateWatches();

  LogTailerOptions options_;
  const Clock* clock_;
  std::vector<std::unique_ptr<TailedFile>> files_;  // oldest first
  std::vector<SavedPosition> restored_;             // until the first Poll()
  std::vector<SavedPosition> closed_;               // recently closed rotated files
  std::vector<Match> matches_;                      // of the current Poll()
  std::vector<char> buffer_;
  bool polled_ = false;
  bool restored_pending_ = false;
  bool restored_any_ = false;
  bool scanned_ = false;
  bool pending_bytes_ = false;
  std::uint64_t poll_budget_ = 0;       // bytes this Poll() may still read
  std::int64_t scan_time_ns_ = 0;       // CLOCK_REALTIME_COARSE at this Poll()'s scan
  std::int64_t prev_scan_time_ns_ = 0;  // ... at the previous Poll()'s scan (0: none)
  LogTailerStats counters_;             // the counter fields and `unreadable`
  class Watcher;
  std::unique_ptr<Watcher> watcher_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_TAIL_LOG_TAILER_H_
