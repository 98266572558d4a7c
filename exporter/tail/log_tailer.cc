#include "exporter/tail/log_tailer.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "core/hash.h"

namespace modelwatch {
namespace {

constexpr std::size_t kHeadBytes = 1024;  // fingerprint: first bytes of a file
constexpr std::size_t kTailBytes = 64;    // fingerprint: bytes just before an offset
constexpr std::size_t kBufferBytes = 256 * 1024;
constexpr std::size_t kMaxClosed = 64;  // remembered positions of closed rotated files
constexpr int kStateVersion = 1;

std::string Hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

bool ParseHex(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  out = v;
  return true;
}

// The clock file systems stamp mtimes with, so "modified since our scan" compares like with
// like (a fine-grained reading could be later than the mtime of a write that followed it).
std::int64_t CoarseRealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::int64_t MtimeNs(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// Reads exactly n bytes at offset. False on error or end of file.
bool PreadFull(int fd, std::uint64_t offset, std::size_t n, std::string& out) {
  out.resize(n);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

// Appends data to tail, keeping only its last kTailBytes bytes.
void KeepLast(std::string& tail, const char* data, std::size_t n) {
  if (n >= kTailBytes) {
    tail.assign(data + n - kTailBytes, kTailBytes);
    return;
  }
  tail.append(data, n);
  if (tail.size() > kTailBytes) tail.erase(0, tail.size() - kTailBytes);
}

std::string DirName(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

bool IsCompressedName(std::string_view name) {
  for (std::string_view ext : {".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".Z"}) {
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return true;
  }
  return false;
}

// The directory a pattern's matches can appear in, as far as it is fixed: the part before
// the first wildcard, up to its last slash.
std::string PatternDir(const std::string& pattern) {
  std::size_t wild = pattern.find_first_of("*?[");
  std::string fixed = wild == std::string::npos ? pattern : pattern.substr(0, wild);
  return DirName(fixed.empty() || fixed.back() != '/' ? fixed : fixed + "x");
}

struct DirEntry {
  std::string name;
  std::uint64_t ino;
};

std::vector<DirEntry> ListDir(const std::string& dir) {
  std::vector<DirEntry> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    out.push_back({std::move(name), static_cast<std::uint64_t>(e->d_ino)});
  }
  closedir(d);
  return out;
}

}  // namespace

struct LogTailer::SavedPosition {
  std::string path;
  std::string matched_path;  // the name the patterns last matched it under
  bool rotated = false;      // already counted as rotated away when saved
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t offset = 0;
  std::uint64_t head_len = 0;
  std::uint64_t head_hash = 0;
  std::uint64_t tail_len = 0;
  std::uint64_t tail_hash = 0;

  // Strong enough to recognise a file by content alone (at least one line delivered).
  bool HasFingerprint() const { return offset > 0 && head_len > 0 && tail_len > 0; }
  // Taken on a file that had bytes: with (device, inode) it tells a recycled inode apart.
  // A position taken on an empty file says nothing the "new file" rules do not.
  bool HasHead() const { return head_len > 0; }

  // True if the file open as fd (of `size` bytes) holds the bytes this position was taken on.
  bool MatchesHead(int fd, std::uint64_t size) const {
    std::string buf;
    return head_len > 0 && size >= head_len && PreadFull(fd, 0, head_len, buf) &&
           Fnv1a64Of(buf) == head_hash;
  }

  bool MatchesContent(int fd, std::uint64_t size) const {
    if (size < offset || size < head_len) return false;
    std::string buf;
    if (head_len > 0 && (!PreadFull(fd, 0, head_len, buf) || Fnv1a64Of(buf) != head_hash)) {
      return false;
    }
    if (tail_len > 0 &&
        (!PreadFull(fd, offset - tail_len, tail_len, buf) || Fnv1a64Of(buf) != tail_hash)) {
      return false;
    }
    return true;
  }

  nlohmann::json ToJson() const {
    return {{"path", path},         {"matched_path", matched_path},
            {"rotated", rotated},   {"dev", dev},
            {"ino", ino},           {"offset", offset},
            {"head_len", head_len}, {"head_hash", Hex(head_hash)},
            {"tail_len", tail_len}, {"tail_hash", Hex(tail_hash)}};
  }

  static Result<SavedPosition> FromJson(const nlohmann::json& j) {
    SavedPosition p;
    if (!j.is_object()) return MakeError("tailer state: file entry is not an object");
    auto get_u64 = [&](const char* key, std::uint64_t& out) {
      auto it = j.find(key);
      if (it == j.end() || !it->is_number_unsigned()) return false;
      out = it->get<std::uint64_t>();
      return true;
    };
    auto get_hex = [&](const char* key, std::uint64_t& out) {
      auto it = j.find(key);
      return it != j.end() && it->is_string() && ParseHex(it->get<std::string>(), out);
    };
    auto path = j.find("path");
    if (path == j.end() || !path->is_string()) return MakeError("tailer state: bad \"path\"");
    p.path = path->get<std::string>();
    auto matched_path = j.find("matched_path");
    p.matched_path = matched_path != j.end() && matched_path->is_string()
                         ? matched_path->get<std::string>()
                         : p.path;
    auto rotated = j.find("rotated");
    p.rotated = rotated != j.end() && rotated->is_boolean() && rotated->get<bool>();
    if (!get_u64("dev", p.dev) || !get_u64("ino", p.ino) || !get_u64("offset", p.offset) ||
        !get_u64("head_len", p.head_len) || !get_u64("tail_len", p.tail_len) ||
        !get_hex("head_hash", p.head_hash) || !get_hex("tail_hash", p.tail_hash)) {
      return MakeError("tailer state: bad or missing field in entry for " + p.path);
    }
    if (p.head_len > kHeadBytes || p.tail_len > kTailBytes || p.tail_len > p.offset) {
      return MakeError("tailer state: inconsistent fingerprint for " + p.path);
    }
    return p;
  }
};

struct LogTailer::Match {
  std::string path;
  std::uint64_t dev;
  std::uint64_t ino;
};

struct LogTailer::TailedFile {
  TailedFile() = default;
  TailedFile(const TailedFile&) = delete;
  TailedFile& operator=(const TailedFile&) = delete;
  ~TailedFile() {
    if (fd >= 0) close(fd);
  }

  int fd = -1;
  std::string path;          // the name it was last seen under
  std::string matched_path;  // the name the patterns last matched it under (or the name of
                             // the file it is a generation of)
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t read_offset = 0;  // bytes consumed (delivered, skipped or held)
  std::uint64_t offset = 0;       // after the last delivered or skipped line
  std::uint64_t size = 0;         // at the last fstat
  std::int64_t mtime_ns = 0;      // at the last fstat
  std::string head;               // first min(kHeadBytes, read_offset) bytes
  std::string read_tail;          // last bytes before read_offset
  std::string offset_tail;        // last bytes before offset
  std::string partial;            // held bytes of the unfinished line
  bool discarding = false;        // inside an over-long line: skip to the next newline
  bool discard_silently = false;  // ... which is not ours to count (started mid-line)
  bool matched = true;            // found by the patterns at the last scan
  bool rotated = false;           // no longer matched; closed once drained and idle
  bool idle = false;
  Clock::TimePoint idle_since{};

  SavedPosition Position() const {
    SavedPosition p;
    p.path = path;
    p.matched_path = matched_path.empty() ? path : matched_path;
    p.rotated = rotated;
    p.dev = dev;
    p.ino = ino;
    p.offset = offset;
    p.head_len = head.size();
    p.head_hash = Fnv1a64Of(head);
    p.tail_len = offset_tail.size();
    p.tail_hash = Fnv1a64Of(offset_tail);
    return p;
  }
};

// inotify on directories; without inotify, WaitForChange() just sleeps.
class LogTailer::Watcher {
 public:
  Watcher() : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}
  ~Watcher() {
    if (fd_ >= 0) close(fd_);
  }
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  void Set(const std::set<std::string>& dirs) {
    if (fd_ < 0) return;
    constexpr std::uint32_t kMask = IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                    IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF;
    std::map<std::string, int> next;
    for (const std::string& dir : dirs) {
      // Adding an existing watch is cheap and returns its descriptor; a directory that was
      // recreated gets a new one.
      int wd = inotify_add_watch(fd_, dir.c_str(), kMask);
      if (wd >= 0) next[dir] = wd;
    }
    for (const auto& [dir, wd] : wds_) {
      if (next.count(dir) == 0) inotify_rm_watch(fd_, wd);
    }
    wds_ = std::move(next);
  }

  bool Wait(std::chrono::milliseconds timeout) {
    if (fd_ < 0) {
      std::this_thread::sleep_for(timeout);
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, timeout.count())));
    if (r <= 0) return false;
    alignas(inotify_event) char buf[16384];
    while (read(fd_, buf, sizeof buf) > 0) {
    }
    return true;
  }

 private:
  int fd_;
  std::map<std::string, int> wds_;
};

const Clock* SteadyClock() {
  class Steady : public Clock {
   public:
    TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  };
  static const Steady clock;
  return &clock;
}

LogTailer::LogTailer(LogTailerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : SteadyClock()),
      buffer_(kBufferBytes),
      watcher_(std::make_unique<Watcher>()) {
  if (options_.max_line_bytes == 0) options_.max_line_bytes = 1;
  UpdateWatches();
}

LogTailer::~LogTailer() = default;

void LogTailer::ExpandPatterns(std::vector<Match>& out) const {
  std::set<std::pair<std::uint64_t, std::uint64_t>> seen;
  for (const std::string& pattern : options_.patterns) {
    glob_t g{};
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) {
        struct stat st {};
        if (stat(g.gl_pathv[i], &st) != 0 || !S_ISREG(st.st_mode)) continue;
        auto id = std::make_pair(static_cast<std::uint64_t>(st.st_dev),
                                 static_cast<std::uint64_t>(st.st_ino));
        if (!seen.insert(id).second) continue;  // a hard link or overlapping patterns
        out.push_back({g.gl_pathv[i], id.first, id.second});
      }
    }
    globfree(&g);
  }
}

bool LogTailer::IsMatched(const std::string& path) const {
  for (const std::string& pattern : options_.patterns) {
    if (fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) return true;
  }
  return false;
}

LogTailer::TailedFile* LogTailer::Find(std::uint64_t dev, std::uint64_t ino) {
  for (auto& f : files_) {
    if (f->dev == dev && f->ino == ino) return f.get();
  }
  return nullptr;
}

std::unique_ptr<LogTailer::TailedFile> LogTailer::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) {  // ENOENT: gone since the scan
      ++counters_.open_errors;
      std::string entry = path + ": " + std::strerror(errno);
      auto& list = counters_.unreadable;
      if (std::find(list.begin(), list.end(), entry) == list.end()) list.push_back(entry);
    }
    return nullptr;
  }
  auto f = std::make_unique<TailedFile>();
  f->fd = fd;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ++counters_.open_errors;
    return nullptr;
  }
  f->path = path;
  f->dev = static_cast<std::uint64_t>(st.st_dev);
  f->ino = static_cast<std::uint64_t>(st.st_ino);
  f->size = static_cast<std::uint64_t>(st.st_size);
  f->mtime_ns = MtimeNs(st);
  return f;
}

void LogTailer::Track(std::unique_ptr<TailedFile> f, std::uint64_t offset,
                      bool skip_first_partial) {
  f->offset = f->read_offset = offset;
  std::string buf;
  if (PreadFull(f->fd, 0, std::min<std::uint64_t>(kHeadBytes, offset), buf)) f->head = buf;
  std::size_t tail = std::min<std::uint64_t>(kTailBytes, offset);
  if (PreadFull(f->fd, offset - tail, tail, buf)) f->read_tail = f->offset_tail = buf;
  f->discarding = f->discard_silently = skip_first_partial;
  if (f->matched) f->matched_path = f->path;
  f->size = std::max(f->size, offset);
  files_.push_back(std::move(f));
}

void LogTailer::Poll(const Sink& sink) {
  if (polled_) prev_scan_time_ns_ = scan_time_ns_;
  scan_time_ns_ = CoarseRealtimeNs();
  poll_budget_ = options_.max_bytes_per_poll;
  matches_.clear();
  counters_.unreadable.clear();
  ExpandPatterns(matches_);

  if (restored_pending_) {
    restored_pending_ = false;
    ApplyRestoredPositions(matches_);
  }

  // Which open files are still matched, and under which name.
  std::vector<char> was_matched(files_.size());
  std::vector<std::string> old_path(files_.size());
  for (std::size_t i = 0; i < files_.size(); ++i) {
    was_matched[i] = files_[i]->matched;
    old_path[i] = files_[i]->path;
    files_[i]->matched = false;
  }
  std::vector<char> known(matches_.size());
  for (std::size_t i = 0; i < matches_.size(); ++i) {
    TailedFile* f = Find(matches_[i].dev, matches_[i].ino);
    if (f == nullptr) continue;
    known[i] = 1;
    f->matched = true;
    f->rotated = false;
    f->path = f->matched_path = matches_[i].path;
  }
  std::vector<std::pair<std::string, std::string>> rotated_from;  // (dir, base)
  for (std::size_t i = 0; i < was_matched.size(); ++i) {
    TailedFile& f = *files_[i];
    bool moved = was_matched[i] && (!f.matched || f.path != old_path[i]);
    if (!f.matched) f.rotated = true;
    if (moved) {
      ++counters_.rotations;
      rotated_from.emplace_back(DirName(old_path[i]), BaseName(old_path[i]));
    }
  }

  // Open files first, oldest first (a rotated file before the file that replaced it). Files
  // found while reading (copies of truncated files) are appended and read in this pass.
  for (std::size_t i = 0; i < files_.size(); ++i) ReadFile(*files_[i], sink);

  // Generations created and rotated away since the last scan (several rotations between
  // two polls, or a copytruncate of a file we had not read a line of yet, which no
  // fingerprint can reveal): searched for next to every rotated file and in every directory
  // whose entries changed since the previous scan. Searched only now, so that a copytruncate
  // copy is first claimed by the file it was copied from, at that file's offset.
  if (prev_scan_time_ns_ > 0) {
    std::set<std::pair<std::string, std::string>> searches(rotated_from.begin(),
                                                           rotated_from.end());
    std::map<std::string, bool> dir_changed;
    for (const auto& f : files_) {
      const std::string& name = f->matched_path.empty() ? f->path : f->matched_path;
      std::string dir = DirName(name);
      auto it = dir_changed.find(dir);
      if (it == dir_changed.end()) {
        struct stat st {};
        bool changed = stat(dir.c_str(), &st) != 0 || MtimeNs(st) >= prev_scan_time_ns_;
        it = dir_changed.emplace(dir, changed).first;
      }
      if (it->second) searches.emplace(dir, BaseName(name));
    }
    std::size_t first_new = files_.size();
    for (const auto& [dir, base] : searches) {
      FindMissedGenerations(dir, base, prev_scan_time_ns_);
    }
    for (std::size_t i = first_new; i < files_.size(); ++i) ReadFile(*files_[i], sink);
  }

  // Newly matched files.
  for (std::size_t i = 0; i < matches_.size(); ++i) {
    if (known[i] || Find(matches_[i].dev, matches_[i].ino) != nullptr) continue;
    std::unique_ptr<TailedFile> f = Open(matches_[i].path);
    if (f == nullptr || Find(f->dev, f->ino) != nullptr) continue;
    std::uint64_t offset = 0;
    bool skip = false;
    bool decided = false;
    // A file we closed earlier that is matched again (renamed back).
    for (const SavedPosition& pos : closed_) {
      if (pos.HasHead() && pos.dev == f->dev && pos.ino == f->ino &&
          pos.MatchesContent(f->fd, f->size)) {
        offset = pos.offset;
        decided = true;
        break;
      }
    }
    if (!decided) decided = CopyOfOpenFile(*f, offset, skip);
    if (!decided && !polled_ && !restored_any_ && options_.start_at == StartAt::kEnd) {
      // Start after the last newline, so a line being written now is delivered whole.
      offset = AfterLastNewline(*f, skip);
    }
    TailedFile* added = f.get();
    Track(std::move(f), offset, skip);
    ReadFile(*added, sink);
  }

  // Close rotated files that are drained and idle.
  const Clock::TimePoint now = clock_->Now();
  std::vector<std::unique_ptr<TailedFile>> kept;
  kept.reserve(files_.size());
  for (auto& f : files_) {
    bool drained = f->read_offset >= f->size;
    if (!f->rotated || !drained) {
      kept.push_back(std::move(f));
      continue;
    }
    if (!f->idle) {
      f->idle = true;
      f->idle_since = now;
    }
    if (now - f->idle_since < options_.rotate_wait) {
      kept.push_back(std::move(f));
      continue;
    }
    if (!f->partial.empty() || (f->discarding && !f->discard_silently)) {
      ++counters_.partial_lines_dropped;
    }
    closed_.push_back(f->Position());
    if (closed_.size() > kMaxClosed) closed_.erase(closed_.begin());
  }
  files_ = std::move(kept);

  polled_ = true;
  scanned_ = true;
  UpdateWatches();
}

bool LogTailer::CopyOfOpenFile(const TailedFile& f, std::uint64_t& offset, bool& skip) {
  // A copy of a file we are reading (e.g. `cp app.log app.log.bak`, or a copytruncate copy
  // made before the truncation): its lines up to where we are were delivered already.
  for (auto& g : files_) {
    SavedPosition pos = g->Position();
    if (!pos.HasFingerprint() || !pos.MatchesContent(f.fd, f.size)) continue;
    offset = std::min(f.size, g->read_offset);
    skip = false;
    if (offset > pos.offset) {
      std::string last;
      skip = !PreadFull(f.fd, offset - 1, 1, last) || last[0] != '\n';
    }
    return true;
  }
  return false;
}

void LogTailer::ReadFile(TailedFile& f, const Sink& sink) {
  struct stat st {};
  if (fstat(f.fd, &st) != 0) {
    ++counters_.read_errors;
    return;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::int64_t mtime = MtimeNs(st);
  if ((size != f.size || mtime != f.mtime_ns) && Replaced(f, size)) OnTruncated(f, sink);
  f.size = size;
  f.mtime_ns = mtime;
  // Read up to the size seen now, so that a writer faster than us cannot keep Poll() busy,
  // and no more than the poll's budget: the rest waits for the next Poll() (which scans
  // first), and WaitForChange() says so at once.
  const std::uint64_t before = f.read_offset;
  const std::uint64_t target = std::min(size, before + poll_budget_);
  if (target < size) pending_bytes_ = true;
  while (f.read_offset < target) {
    std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), target - f.read_offset));
    ssize_t n = pread(f.fd, buffer_.data(), want, static_cast<off_t>(f.read_offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ++counters_.read_errors;
      pending_bytes_ = true;
      break;
    }
    if (n == 0) break;  // truncated meanwhile: seen at the next fstat
    Consume(f, buffer_.data(), static_cast<std::size_t>(n), sink);
  }
  if (f.read_offset != before) f.idle = false;
  poll_budget_ -= std::min(poll_budget_, f.read_offset - before);
  f.size = std::max(f.size, f.read_offset);
}

void LogTailer::Consume(TailedFile& f, const char* data, std::size_t n, const Sink& sink) {
  if (f.read_offset < kHeadBytes && f.head.size() == f.read_offset) {
    f.head.append(data, std::min<std::size_t>(n, kHeadBytes - f.read_offset));
  }
  const std::size_t max = options_.max_line_bytes;
  auto deliver = [&](const char* line, std::size_t len, const char* newline) {
    current_line_ = {f.dev, f.ino, f.read_offset + static_cast<std::uint64_t>(newline - data) + 1};
    if (len > 0 && line[len - 1] == '\r') --len;
    ++counters_.lines_delivered;
    sink(std::string_view(line, len));
  };
  const char* p = data;
  const char* const end = data + n;
  const char* last_newline = nullptr;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
    if (nl == nullptr) {
      // Hold a partial last line until its newline arrives, but never more than max bytes.
      std::size_t rest = end - p;
      if (!f.discarding) {
        if (f.partial.size() + rest > max) {
          f.discarding = true;
          f.partial.clear();
        } else {
          f.partial.append(p, rest);
        }
      }
      break;
    }
    std::size_t len = nl - p;
    if (f.discarding) {
      if (!f.discard_silently) ++counters_.lines_too_long;
      f.discarding = f.discard_silently = false;
    } else if (f.partial.empty()) {
      if (len > max) {
        ++counters_.lines_too_long;
      } else {
        deliver(p, len, nl);
      }
    } else if (f.partial.size() + len > max) {
      ++counters_.lines_too_long;
      f.partial.clear();
    } else {
      f.partial.append(p, len);
      deliver(f.partial.data(), f.partial.size(), nl);
      f.partial.clear();
    }
    last_newline = nl;
    p = nl + 1;
  }
  if (last_newline != nullptr) {
    std::size_t upto = last_newline + 1 - data;
    f.offset = f.read_offset + upto;
    if (upto >= kTailBytes) {
      f.offset_tail.assign(last_newline + 1 - kTailBytes, kTailBytes);
    } else {
      f.offset_tail = f.read_tail;
      KeepLast(f.offset_tail, data, upto);
    }
  }
  KeepLast(f.read_tail, data, n);
  f.read_offset += n;
  counters_.bytes_read += n;
}

bool LogTailer::Replaced(TailedFile& f, std::uint64_t size) {
  if (size < f.read_offset) return true;
  std::string buf;
  if (!f.head.empty() && (!PreadFull(f.fd, 0, f.head.size(), buf) || buf != f.head)) {
    return true;
  }
  if (!f.read_tail.empty() &&
      (!PreadFull(f.fd, f.read_offset - f.read_tail.size(), f.read_tail.size(), buf) ||
       buf != f.read_tail)) {
    return true;
  }
  return false;
}

void LogTailer::OnTruncated(TailedFile& f, const Sink& sink) {
  ++counters_.truncations;
  ++counters_.rotations;
  const SavedPosition old = f.Position();
  const bool had_partial = !f.partial.empty();
  f.read_offset = f.offset = 0;
  f.size = 0;
  f.head.clear();
  f.read_tail.clear();
  f.offset_tail.clear();
  f.partial.clear();
  f.discarding = f.discard_silently = false;
  const std::string dir = DirName(f.path);
  const std::string base = BaseName(f.path);
  // The copy logrotate made holds the lines written between our last read and the copy.
  std::size_t first_new = files_.size();
  bool found = old.HasFingerprint() && FindCopy(old, dir, base);
  if (had_partial && !found) ++counters_.partial_lines_dropped;
  if (prev_scan_time_ns_ > 0) FindMissedGenerations(dir, base, prev_scan_time_ns_);
  // Read those now, before the refilled file: they hold the older lines.
  for (std::size_t i = first_new; i < files_.size(); ++i) ReadFile(*files_[i], sink);
}

bool LogTailer::FindCopy(const SavedPosition& pos, const std::string& dir,
                         const std::string& base) {
  std::vector<std::string> candidates;
  for (const DirEntry& e : ListDir(dir)) {
    if (e.name.size() > base.size() && e.name.compare(0, base.size(), base) == 0 &&
        !IsCompressedName(e.name)) {
      candidates.push_back(JoinPath(dir, e.name));
    }
  }
  for (const Match& m : matches_) candidates.push_back(m.path);
  for (const std::string& path : candidates) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<std::uint64_t>(st.st_size) < pos.offset ||
        Find(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)) !=
            nullptr) {
      continue;
    }
    std::unique_ptr<TailedFile> f = Open(path);
    if (f == nullptr || Find(f->dev, f->ino) != nullptr || !pos.MatchesContent(f->fd, f->size)) {
      continue;
    }
    f->matched = IsMatched(path);
    f->rotated = !f->matched;
    f->matched_path = pos.matched_path;
    Track(std::move(f), pos.offset, false);
    return true;
  }
  return false;
}

void LogTailer::FindMissedGenerations(const std::string& dir, const std::string& base,
                                      std::int64_t since_ns) {
  struct Candidate {
    std::int64_t mtime_ns;
    std::string path;
  };
  std::vector<Candidate> candidates;
  for (const DirEntry& e : ListDir(dir)) {
    if (e.name.size() <= base.size() || e.name.compare(0, base.size(), base) != 0 ||
        IsCompressedName(e.name)) {
      continue;
    }
    std::string path = JoinPath(dir, e.name);
    if (IsMatched(path)) continue;  // read from 0 as a newly matched file
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
        MtimeNs(st) < since_ns ||
        Find(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)) !=
            nullptr) {
      continue;
    }
    candidates.push_back({MtimeNs(st), std::move(path)});
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.mtime_ns < b.mtime_ns || (a.mtime_ns == b.mtime_ns && a.path > b.path);
  });
  for (const Candidate& c : candidates) {
    std::unique_ptr<TailedFile> f = Open(c.path);
    if (f == nullptr || Find(f->dev, f->ino) != nullptr) continue;
    std::uint64_t offset = 0;
    bool skip = false;
    bool decided = false;
    for (const SavedPosition& pos : closed_) {
      if (pos.HasHead() && pos.dev == f->dev && pos.ino == f->ino &&
          pos.MatchesContent(f->fd, f->size)) {
        offset = pos.offset;
        decided = true;
        break;
      }
    }
    if (!decided) CopyOfOpenFile(*f, offset, skip);
    f->matched = false;
    f->rotated = true;
    f->matched_path = JoinPath(dir, base);
    Track(std::move(f), offset, skip);
  }
}

std::uint64_t LogTailer::AfterLastNewline(const TailedFile& f, bool& skip) const {
  std::uint64_t pos = f.size;
  std::uint64_t searched = 0;
  std::string chunk;
  while (pos > 0 && searched <= options_.max_line_bytes) {
    std::uint64_t n = std::min<std::uint64_t>(pos, 64 * 1024);
    if (!PreadFull(f.fd, pos - n, n, chunk)) break;
    std::size_t nl = chunk.rfind('\n');
    if (nl != std::string::npos) return pos - n + nl + 1;
    pos -= n;
    searched += n;
  }
  if (pos > 0) {
    skip = true;  // an over-long unfinished line: skip it without counting
    return f.size;
  }
  return 0;
}

void LogTailer::ApplyRestoredPositions(const std::vector<Match>& matches) {
  std::set<std::pair<std::string, std::string>> dirs;
  for (const SavedPosition& pos : restored_) {
    const std::string dir = DirName(pos.path);
    dirs.emplace(DirName(pos.matched_path), BaseName(pos.matched_path));
    if (Find(pos.dev, pos.ino) != nullptr) continue;  // duplicate entry
    if (!pos.HasHead()) continue;  // empty when saved: whatever is there now is new
    // By inode: under a matched name, or under any name in its old directory.
    std::vector<std::string> candidates;
    for (const Match& m : matches) {
      if (m.dev == pos.dev && m.ino == pos.ino) candidates.push_back(m.path);
    }
    for (const DirEntry& e : ListDir(dir)) {
      if (e.ino == pos.ino) candidates.push_back(JoinPath(dir, e.name));
    }
    bool found = false;
    bool unreadable = false;
    for (const std::string& path : candidates) {
      std::unique_ptr<TailedFile> f = Open(path);
      unreadable = unreadable || f == nullptr;
      if (f == nullptr || f->dev != pos.dev || f->ino != pos.ino) continue;
      std::uint64_t offset = pos.offset;
      bool skip = false;
      if (!pos.MatchesContent(f->fd, f->size)) {
        // The same file (inode and first bytes) with an offset that does not fit it (past
        // its end, or edited): reading it again from 0 would count its lines twice.
        if (!pos.MatchesHead(f->fd, f->size)) continue;
        ++counters_.positions_invalid;
        offset = AfterLastNewline(*f, skip);
      }
      f->matched = IsMatched(path);
      f->rotated = !f->matched;
      // Renamed away while nobody watched (during a reload or while the exporter was down):
      // a rotation the running tailer would have counted.
      if (f->rotated && !pos.rotated) ++counters_.rotations;
      f->matched_path = pos.matched_path;
      Track(std::move(f), offset, skip);
      found = true;
      break;
    }
    // By content: a copytruncate copy made while we were down.
    if (!found && pos.HasFingerprint()) {
      found = FindCopy(pos, DirName(pos.matched_path), BaseName(pos.matched_path));
    }
    if (!found && unreadable) {
      // Its file cannot be opened now (e.g. permissions): remember the position, so that
      // the file resumes there once it can be opened instead of being read again from 0.
      closed_.push_back(pos);
      if (closed_.size() > kMaxClosed) closed_.erase(closed_.begin());
      continue;
    }
    if (!found) ++counters_.positions_lost;
  }
  for (const Match& m : matches) dirs.emplace(DirName(m.path), BaseName(m.path));
  if (prev_scan_time_ns_ > 0) {
    for (const auto& [dir, base] : dirs) FindMissedGenerations(dir, base, prev_scan_time_ns_);
  }
  restored_.clear();
}

void LogTailer::UpdateWatches() {
  std::set<std::string> dirs;
  for (const std::string& pattern : options_.patterns) dirs.insert(PatternDir(pattern));
  for (const Match& m : matches_) dirs.insert(DirName(m.path));
  watcher_->Set(dirs);
}

bool LogTailer::WaitForChange(std::chrono::milliseconds timeout) {
  if (pending_bytes_) {
    pending_bytes_ = false;
    return true;
  }
  return watcher_->Wait(timeout);
}

LogTailerStats LogTailer::Stats() const {
  LogTailerStats s = counters_;
  s.files_open = files_.size();
  s.lag_bytes = 0;
  s.files.clear();
  for (const auto& f : files_) {
    TailedFileStats fs;
    fs.path = f->path;
    fs.size = f->size;
    fs.offset = f->offset;
    fs.lag_bytes = f->size > f->offset ? f->size - f->offset : 0;
    fs.rotated = f->rotated;
    s.lag_bytes += fs.lag_bytes;
    s.files.push_back(std::move(fs));
  }
  return s;
}

nlohmann::json LogTailer::SaveState() const {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : files_) files.push_back(f->Position().ToJson());
  nlohmann::json closed = nlohmann::json::array();
  for (const SavedPosition& pos : closed_) closed.push_back(pos.ToJson());
  return {{"version", kStateVersion},
          {"scan_time_ns", polled_ ? scan_time_ns_ : prev_scan_time_ns_},
          {"files", std::move(files)},
          {"closed", std::move(closed)}};
}

Result<void> LogTailer::RestoreState(const nlohmann::json& state) {
  if (polled_) return MakeError("tailer state: RestoreState() after Poll()");
  if (!state.is_object()) return MakeError("tailer state: not an object");
  auto version = state.find("version");
  if (version == state.end() || !version->is_number_integer() ||
      version->get<int>() != kStateVersion) {
    return MakeError("tailer state: unsupported version");
  }
  auto scan = state.find("scan_time_ns");
  if (scan == state.end() || !scan->is_number_integer()) {
    return MakeError("tailer state: bad \"scan_time_ns\"");
  }
  std::vector<SavedPosition> files;
  std::vector<SavedPosition> closed;
  for (const auto& [key, out] : {std::pair{"files", &files}, std::pair{"closed", &closed}}) {
    auto it = state.find(key);
    if (it == state.end()) continue;
    if (!it->is_array()) return MakeError(std::string("tailer state: \"") + key + "\" not a list");
    for (const auto& entry : *it) {
      Result<SavedPosition> pos = SavedPosition::FromJson(entry);
      if (!pos) return tl::unexpected(pos.error());
      out->push_back(std::move(*pos));
    }
  }
  restored_ = std::move(files);
  closed_ = std::move(closed);
  if (closed_.size() > kMaxClosed) closed_.erase(closed_.begin(), closed_.end() - kMaxClosed);
  prev_scan_time_ns_ = scan->get<std::int64_t>();
  restored_pending_ = true;
  restored_any_ = true;
  return {};
}

}  // namespace modelwatch
