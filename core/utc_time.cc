#include "core/utc_time.h"

#include <cmath>
#include <ctime>

namespace modelwatch {

std::string FormatUtc(double t, const char* format) {
  const std::time_t s = static_cast<std::time_t>(std::floor(t));
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::string Rfc3339(double t) { return FormatUtc(t, "%Y-%m-%dT%H:%M:%SZ"); }

}  // namespace modelwatch
