// A scanner for plain JSON: the subset that model servers write in practice — printable ASCII,
// strings without backslash escapes, and only spaces between tokens. RecordParser reads a plain
// line with it straight into a record and leaves every other line to simdjson.
//
// Every function is strict where JSON is (numbers, literals, nesting) and gives up (returns
// false) on anything outside the subset, so that a line it accepts is valid JSON and reads the
// same as simdjson reads it: the same strings byte for byte, the same numbers (correctly
// rounded both ways: an exact product or quotient of two exactly represented doubles, or
// std::from_chars). It never decides that a line is invalid; the caller then asks simdjson.
//
// The text must be followed by a NUL byte and then at least 7 more readable bytes (the
// parser's padded copy of the line), so that the scanner stops at the end and reads strings
// eight bytes at a time.
#ifndef MODELWATCH_EXPORTER_PARSE_PLAIN_JSON_H_
#define MODELWATCH_EXPORTER_PARSE_PLAIN_JSON_H_

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <system_error>

namespace modelwatch::plain_json {

inline void SkipSpaces(const char*& p) {
  while (*p == ' ') ++p;
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The bytes a plain string cannot hold: controls (below 0x20), DEL and non-ASCII, the quote
// and the backslash. The lowest bit set in the result marks the first such byte of `word`
// in memory order (little-endian); bits above it may be spurious.
inline std::uint64_t StopBytes(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  constexpr std::uint64_t kHigh = kOnes << 7;
  auto equal = [&](unsigned char c) {
    const std::uint64_t x = word ^ (kOnes * c);
    return (x - kOnes) & ~x & kHigh;
  };
  const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHigh;
  return below_space | (word & kHigh) | equal('"') | equal('\\') | equal(0x7f);
}

// `p` is just after an opening quote. Reads the string up to its closing quote into `out`
// and moves `p` past the quote; false for anything a plain string cannot hold.
inline bool ScanString(const char*& p, std::string_view& out) {
  const char* begin = p;
  const char* q = p;
  if constexpr (std::endian::native == std::endian::little) {
    for (;; q += 8) {
      std::uint64_t word;
      std::memcpy(&word, q, 8);
      if (const std::uint64_t hits = StopBytes(word)) {
        q += std::countr_zero(hits) / 8;
        break;
      }
    }
  } else {
    while (static_cast<unsigned char>(*q) >= 0x20 && static_cast<unsigned char>(*q) < 0x7f &&
           *q != '"' && *q != '\\') {
      ++q;
    }
  }
  if (*q != '"') return false;
  out = std::string_view(begin, static_cast<std::size_t>(q - begin));
  p = q + 1;
  return true;
}

// Reads a JSON number at `p` into `out` and moves `p` past it. False for a malformed number,
// and for one whose value is not a finite double (simdjson's path decides those).
inline bool ScanNumber(const char*& p, double& out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char* start = p;
  const char* q = p;
  const bool negative = *q == '-';
  if (negative) ++q;
  std::uint64_t mantissa = 0;  // exact while digits <= 19
  int digits = 0;              // digits read into `mantissa`, leading zeros of a fraction included
  int exponent = 0;
  if (*q == '0') {
    ++q;  // a digit after a leading zero is where the caller's delimiter must be: rejected
  } else if (IsDigit(*q)) {
    for (; IsDigit(*q); ++q, ++digits) mantissa = mantissa * 10 + static_cast<unsigned>(*q - '0');
  } else {
    return false;
  }
  if (*q == '.') {
    ++q;
    if (!IsDigit(*q)) return false;
    for (; IsDigit(*q); ++q, ++digits, --exponent) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*q - '0');
    }
  }
  if (*q == 'e' || *q == 'E') {
    ++q;
    bool negative_exponent = false;
    if (*q == '+' || *q == '-') negative_exponent = *q++ == '-';
    if (!IsDigit(*q)) return false;
    int e = 0;
    for (; IsDigit(*q); ++q) {
      if (e < 100000) e = e * 10 + (*q - '0');
    }
    exponent += negative_exponent ? -e : e;
  }
  p = q;
  // Clinger's fast path: a mantissa below 2^53 and a power of ten up to 1e22 are both exact
  // doubles, so one multiplication or division rounds the exact value once, correctly.
  if (digits <= 15 && exponent >= -22 && exponent <= 22) {
    double v = static_cast<double>(mantissa);
    v = exponent < 0 ? v / kPow10[-exponent] : v * kPow10[exponent];
    out = negative ? -v : v;
    return true;
  }
  // The text is a whole JSON number, which from_chars reads whole; a value beyond a double's
  // range either way (1e400, 1e-400) is result_out_of_range, left to simdjson.
  return std::from_chars(start, q, out).ec == std::errc();
}

// Checks `word` spelled at `p` (true, false, null) and moves past it.
inline bool ScanLiteral(const char*& p, std::string_view word) {
  if (std::memcmp(p, word.data(), word.size()) != 0) return false;
  p += word.size();
  return true;
}

// Skips one value at `p` (after any spaces before it), checking it is plain JSON, nested at
// most `depth_left` levels deeper. Moves `p` past it; false when it is not plain JSON.
inline bool SkipValue(const char*& p, int depth_left) {
  SkipSpaces(p);
  switch (*p) {
    case '"': {
      ++p;
      std::string_view s;
      return ScanString(p, s);
    }
    case 't':
      return ScanLiteral(p, "true");
    case 'f':
      return ScanLiteral(p, "false");
    case 'n':
      return ScanLiteral(p, "null");
    case '{': {
      if (depth_left <= 0) return false;
      ++p;
      SkipSpaces(p);
      if (*p == '}') {
        ++p;
        return true;
      }
      for (;;) {
        std::string_view key;
        SkipSpaces(p);
        if (*p != '"') return false;
        ++p;
        if (!ScanString(p, key)) return false;
        SkipSpaces(p);
        if (*p != ':') return false;
        ++p;
        if (!SkipValue(p, depth_left - 1)) return false;
        SkipSpaces(p);
        if (*p == '}') {
          ++p;
          return true;
        }
        if (*p != ',') return false;
        ++p;
      }
    }
    case '[': {
      if (depth_left <= 0) return false;
      ++p;
      SkipSpaces(p);
      if (*p == ']') {
        ++p;
        return true;
      }
      for (;;) {
        if (!SkipValue(p, depth_left - 1)) return false;
        SkipSpaces(p);
        if (*p == ']') {
          ++p;
          return true;
        }
        if (*p != ',') return false;
        ++p;
      }
    }
    default: {
      double ignored;
      return ScanNumber(p, ignored);
    }
  }
}

}  // namespace modelwatch::plain_json

#endif  // MODELWATCH_EXPORTER_PARSE_PLAIN_JSON_H_
