// The exporter's durable state: one JSON document in one file under --state.dir, holding the
// tailers' positions and every tracker's counts, written so that a crash at any moment
// leaves either the previous or the new checkpoint, never a mix.
#ifndef MODELWATCH_EXPORTER_STATE_CHECKPOINT_H_
#define MODELWATCH_EXPORTER_STATE_CHECKPOINT_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.h"

namespace modelwatch {

inline constexpr int kCheckpointFormatVersion = 1;

// <dir>/checkpoint.json
std::string CheckpointPath(const std::string& dir);

// Writes `state` to a temporary file in `dir`, fsyncs it, renames it over CheckpointPath(dir)
// and fsyncs the directory. Creates `dir` (one level) if missing. Returns the bytes written.
Result<std::size_t> WriteCheckpoint(const std::string& dir, const nlohmann::json& state);

// Reads the checkpoint of `dir` and returns the `state` given to WriteCheckpoint(). Returns nullopt
// when there is none, an error when it exists but cannot be read or parsed.
Result<std::optional<nlohmann::json>> ReadCheckpoint(const std::string& dir);

// Moves a damaged state file aside, for inspection, to `<path>.corrupt-<unix seconds>` (with
// its SQLite `-wal` and `-shm` companions when present). Returns the new path.
Result<std::string> QuarantineFile(const std::string& path);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_STATE_CHECKPOINT_H_
