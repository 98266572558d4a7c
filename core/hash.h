// FNV-1a: the one fast, unkeyed hash of the project, for values written to disk or into
// generated files (file fingerprints in tail positions, baseline and layout ids, dashboard
// UIDs), so its results must never change. Not for hash tables keyed by untrusted input:
// exporter/groundtruth/keyed_hash.h (SipHash with a secret key) is.
//
// Header-only, constexpr, no state but the running value. Thread-compatible.
#ifndef MODELWATCH_CORE_HASH_H_
#define MODELWATCH_CORE_HASH_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace modelwatch {

// FNV-1a 64, fed piece by piece: the same value as Fnv1a64Of over the concatenated bytes.
class Fnv1a64 {
 public:
  constexpr void Add(std::string_view bytes) {
    for (unsigned char c : bytes) {
      h_ ^= c;
      h_ *= 1099511628211ULL;
    }
  }
  // The object representation of `value` (a double, an integer), e.g. for content hashes.
  template <typename T>
  void AddBytesOf(const T& value) {
    Add(std::string_view(reinterpret_cast<const char*>(&value), sizeof value));
  }
  constexpr std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 14695981039346656037ULL;
};

constexpr std::uint64_t Fnv1a64Of(std::string_view bytes) {
  Fnv1a64 h;
  h.Add(bytes);
  return h.value();
}

// FNV-1a 32 (for short suffixes of generated names).
constexpr std::uint32_t Fnv1a32Of(std::string_view bytes) {
  std::uint32_t h = 2166136261U;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 16777619U;
  }
  return h;
}

// The published test vectors (Fowler, Noll, Vo), checked at compile time.
static_assert(Fnv1a64Of("") == 0xcbf29ce484222325ULL);
static_assert(Fnv1a64Of("a") == 0xaf63dc4c8601ec8cULL);
static_assert(Fnv1a64Of("foobar") == 0x85944171f73967e8ULL);
static_assert(Fnv1a32Of("") == 0x811c9dc5U);
static_assert(Fnv1a32Of("a") == 0xe40c292cU);
static_assert(Fnv1a32Of("foobar") == 0xbf9cf968U);

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_HASH_H_
