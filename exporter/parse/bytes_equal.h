// a == b for the short strings of the per-record path (keys, feature names, versions, class
// names), compared in place 8 bytes at a time instead of through a call to memcmp, which
// dominated when such names are compared once or more per field of every record.
#ifndef MODELWATCH_EXPORTER_PARSE_BYTES_EQUAL_H_
#define MODELWATCH_EXPORTER_PARSE_BYTES_EQUAL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace modelwatch {

inline bool BytesEqual(std::string_view a, std::string_view b) {
  std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  while (n >= 8) {
    std::uint64_t x, y;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, q, 8);
    if (x != y) return false;
    p += 8;
    q += 8;
    n -= 8;
  }
  if (n >= 4) {  // 4..7 bytes: the first four and the last four (overlapping)
    std::uint32_t x0, y0, x1, y1;
    std::memcpy(&x0, p, 4);
    std::memcpy(&y0, q, 4);
    std::memcpy(&x1, p + n - 4, 4);
    std::memcpy(&y1, q + n - 4, 4);
    return x0 == y0 && x1 == y1;
  }
  // 0..3 bytes: the first, middle and last (which cover them), without a loop's branches.
  if (n == 0) return true;
  return ((p[0] ^ q[0]) | (p[n / 2] ^ q[n / 2]) | (p[n - 1] ^ q[n - 1])) == 0;
}

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_PARSE_BYTES_EQUAL_H_
