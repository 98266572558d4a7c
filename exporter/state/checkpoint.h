// The exporter's durable state under --state.dir: a manifest, `checkpoint.json`, holding the
// tailers' positions and line counts, and one file per model under `checkpoint.models/` holding
// that model's counts and windows (the bulk of the state). A checkpoint rewrites only the models
// that changed since the last one; the others keep their files. A crash at any moment leaves
// the previous or the new checkpoint, never a mix:
//
//   1. each changed model's part goes to a new file, `checkpoint.models/<model>.<sequence>.json` (a
//   name
//      no manifest on disk refers to), written in full and fsync'd; then the directory;
//   2. the manifest naming every model's file is replaced atomically (core/atomic_file.h);
//   3. only then are the files no manifest names any more removed.
//
// Before step 2 completes, the old manifest and the files it names are all still there.
#ifndef MODELWATCH_EXPORTER_STATE_CHECKPOINT_H_
#define MODELWATCH_EXPORTER_STATE_CHECKPOINT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace modelwatch {

// 2: manifest plus one file per model. 1 (the whole state in checkpoint.json) is still read.
inline constexpr int kCheckpointFormatVersion = 2;

// <dir>/checkpoint.json, the manifest.
std::string CheckpointPath(const std::string& dir);

// A checkpoint read back: `state` is the document the exporter saved, each model's part merged
// into state["models"][model]; `sequence` numbers the write that made it.
struct LoadedCheckpoint {
  nlohmann::json state;
  std::uint64_t sequence = 0;
};

// Reads the checkpoint of `dir`. Returns nullopt when there is none, an error when it exists
// but it, or a model file it names, cannot be read or parsed (then none of it is used).
Result<std::optional<LoadedCheckpoint>> ReadCheckpoint(const std::string& dir);

// Writes checkpoints of one state directory. Not thread-safe.
class CheckpointWriter {
 public:
  // `sequence`: that of the checkpoint restored at start (0 without one); new file names
  // continue after it, so none replaces a file the manifest on disk names.
  CheckpointWriter(std::string dir, std::uint64_t sequence);

  struct Written {
    std::size_t bytes_written = 0;  // manifest plus the parts written now
    std::size_t total_bytes = 0;    // manifest plus every part it names
    std::size_t parts_written = 0;
  };

  // The part to save now for a model (its counts), or nullopt to keep the model's file of the
  // last successful Write(). Called once per model, one model at a time: only one model's
  // part is in memory at once.
  using PartOf = std::function<std::optional<nlohmann::json>(const std::string& model)>;

  // Writes one checkpoint of the models `models` (a model not listed is dropped). `state` is
  // saved in the manifest itself (keep it small: positions, counters). A model HasPart() is
  // false for must get a part. On error the checkpoint on disk is the previous one.
  Result<Written> Write(const nlohmann::json& state, const std::vector<std::string>& models,
                        const PartOf& part_of);

  // Whether the last successful Write() saved a part of `model`.
  bool HasPart(const std::string& model) const { return files_.count(model) > 0; }

 private:
  struct PartFile {
    std::string name;  // under <dir>/models/
    std::size_t bytes = 0;
  };
  void RemoveUnnamedFiles() const;

  std::string dir_;
  std::uint64_t sequence_;
  std::map<std::string, PartFile> files_;  // what the manifest on disk names
};

// Moves a damaged state file aside, for inspection, to `<path>.corrupt-<unix seconds>` (with
// its SQLite `-wal` and `-shm` companions when present). Returns the new path.
Result<std::string> QuarantineFile(const std::string& path);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_STATE_CHECKPOINT_H_
