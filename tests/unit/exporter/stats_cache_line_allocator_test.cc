#include <gtest/gtest.h>

#include <cstdint>

#include "exporter/stats/cache_line_allocator.h"

namespace modelwatch {
namespace {

TEST(CacheLineAllocatorTest, BlocksStartOnALineAndKeepTheirValues) {
  // Every size, also across growth: the block starts on a line (so a small array shares no
  // line with what malloc put before it) and holds what was written.
  for (std::size_t n = 1; n <= 100; ++n) {
    CacheLineVector<char> bytes(n, 'x');
    CacheLineVector<std::uint64_t> words;
    for (std::size_t i = 0; i < n; ++i) words.push_back(i * 7);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(bytes.data()) % kCacheLineBytes, 0u) << n;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(words.data()) % kCacheLineBytes, 0u) << n;
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(bytes[i], 'x');
      EXPECT_EQ(words[i], i * 7);
    }
  }
}

}  // namespace
}  // namespace modelwatch
