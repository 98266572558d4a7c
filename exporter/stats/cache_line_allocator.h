// An allocator whose blocks start on a cache line and fill whole lines, for the small arrays
// the per-record path writes (drift scratch, histogram buckets). With several ingest threads
// in one process, such an array shares no cache line with another model's data, which another
// thread may be writing at the same time (false sharing): malloc packs small blocks of
// different models next to each other, since every model is built on the same thread.
//
// Stateless; any two instances are equal.
#ifndef MODELWATCH_EXPORTER_STATS_CACHE_LINE_ALLOCATOR_H_
#define MODELWATCH_EXPORTER_STATS_CACHE_LINE_ALLOCATOR_H_

#include <cstddef>
#include <new>
#include <vector>

namespace modelwatch {

// 64 bytes: the line of x86-64 and of most ARM cores (std::hardware_destructive_interference_size
// is not stable across compiler versions, so it is not used in an ABI-visible place).
inline constexpr std::size_t kCacheLineBytes = 64;

template <typename T>
struct CacheLineAllocator {
  using value_type = T;

  CacheLineAllocator() = default;
  template <typename U>
  constexpr CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}  // NOLINT: rebinding

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T) - kCacheLineBytes) throw std::bad_alloc();
    const std::size_t bytes =
        (n * sizeof(T) + kCacheLineBytes - 1) / kCacheLineBytes * kCacheLineBytes;
    return static_cast<T*>(::operator new (bytes, std::align_val_t{kCacheLineBytes}));
  }
  void deallocate(T* p, std::size_t) noexcept {
    ::operator delete (p, std::align_val_t{kCacheLineBytes});
  }

  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
};

// A std::vector whose elements sit on cache lines of their own (see above).
template <typename T>
using CacheLineVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_STATS_CACHE_LINE_ALLOCATOR_H_
