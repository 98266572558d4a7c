// Keyed hashing of request and entity identifiers, so that no identifier is stored in clear.
//
// SipHash-2-4 with a 128-bit secret key. The key lives in a file in the state directory,
// generated from the system's random source on first start and reused afterwards, so hashes
// stay stable across restarts (the prediction store joins labels on them) while someone who
// reads the store without the key cannot test guessed identifiers against it.
#ifndef MODELWATCH_EXPORTER_GROUNDTRUTH_KEYED_HASH_H_
#define MODELWATCH_EXPORTER_GROUNDTRUTH_KEYED_HASH_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace modelwatch {

// Immutable after construction. Thread-safe.
class KeyedHasher {
 public:
  using Key = std::array<std::uint8_t, 16>;

  explicit KeyedHasher(const Key& key);

  // Loads the key from `<state_dir>/groundtruth.key`, creating the directory and a new
  // random key (file mode 0600, written to a temporary file and renamed) when absent.
  // Returns an error when the file exists with a size other than 16 bytes or cannot be
  // read or written.
  static Result<KeyedHasher> FromStateDir(const std::string& state_dir);

  // SipHash-2-4 of `data`. Never returns 0 (0 is reserved for "no identifier").
  std::uint64_t Hash(std::string_view data) const;

  // SipHash-2-4 of `data` followed by the 8 bytes of `extra` (little endian).
  std::uint64_t Hash(std::string_view data, std::uint64_t extra) const;

 private:
  std::uint64_t k0_;
  std::uint64_t k1_;
};

// The name of the key file inside the state directory.
inline constexpr const char* kKeyFileName = "groundtruth.key";

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_GROUNDTRUTH_KEYED_HASH_H_
